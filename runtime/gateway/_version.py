"""mgx's version, as the gateway reports it to MCP clients and servers (``serverInfo``).

``importlib.metadata.version`` costs tens of milliseconds on a cold start (it imports the
email parser and reads every distribution's metadata), a third of the gateway's whole start.
The installed distribution's ``dist-info`` folder name carries the version already, so the
import path is listed for it first.
"""

from __future__ import annotations

import functools
import os
import re
import sys

__all__ = ["mgx_version"]

_DIST_INFO = re.compile(r"^mgx-([^-]+)\.dist-info$", re.IGNORECASE)


@functools.cache
def mgx_version() -> str:
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            match = _DIST_INFO.match(name)
            if match:
                return match.group(1)
    try:
        from importlib.metadata import version

        return version("mgx")
    except Exception:
        return "0"
