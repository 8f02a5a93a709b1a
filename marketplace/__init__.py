"""Find, verify, pin and install MCP servers: registry client, resolver, installers, lockfile."""
