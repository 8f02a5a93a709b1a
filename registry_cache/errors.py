"""Exceptions raised by the registry cache.

CacheError
└── ServerJsonError   a server.json document violates the schema (message names the field)
"""

from __future__ import annotations


class CacheError(Exception):
    """Root of every error the registry cache raises on purpose."""

    exit_code = 1


class ServerJsonError(CacheError, ValueError):
    pass
