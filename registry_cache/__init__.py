"""The local store of MCP Registry data: SQLite + FTS5, the bundled snapshot, ``/v0.1`` server."""
