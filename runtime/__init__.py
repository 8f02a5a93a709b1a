"""Agents on local models (vLLM) that call the MCP tools locked by the marketplace."""

import logging as _logging

# The library never prints: without this, Python's last-resort handler writes warnings such
# as "restarting MCP server ..." to stderr as bare lines, even under --json. The CLI reports
# restarts from the servers' status instead; --debug (or an application) can add a handler.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())
