"""The one place where the runtime reads what the marketplace produced: lock -> ServerSpecs.

``mgx.lock`` pins every tool (its ``PackageLock``, with the invocation) and names tool sets;
``mgx.toml`` binds each tool's env vars / inputs to environment variables and gives argument
values. The marketplace turns one locked tool into a ``LaunchSpec`` (absolute argv, env,
transport, URL, headers), failing on missing required values before anything starts; this
module maps launch specs onto the runtime's ``ServerSpec``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.tools import ServerSpec

if TYPE_CHECKING:
    from marketplace.installers import LaunchSpec

__all__ = ["server_spec"]


def server_spec(name: str, launch: LaunchSpec) -> ServerSpec:
    """The ``ServerSpec`` for a marketplace ``LaunchSpec`` (``name``: the tool's short name,
    which prefixes its functions: ``name__tool``)."""
    transport = launch.transport if launch.transport in ("stdio", "sse") else "streamable-http"
    return ServerSpec(
        name=name,
        transport=transport,
        command=tuple(launch.command),
        env=dict(launch.env),
        cwd=launch.cwd,
        url=launch.url or None,
        headers=dict(launch.headers),
    )
