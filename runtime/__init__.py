"""Agents on local models (vLLM) that call the MCP tools locked by the marketplace."""
