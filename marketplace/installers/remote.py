"""Remote servers (streamable-http or sse): nothing to install, only what to connect to.

The lock records the URL template, the transport and the header *names* (values, often
tokens, are supplied at launch from the environment and never written down).
"""

from __future__ import annotations

from pathlib import Path

from marketplace.errors import InstallError
from marketplace.installers._model import Invocation, PackageLock
from marketplace.installers._template import InputCollector, compile_key_values
from marketplace.installers._validate import validate_download_url
from marketplace.settings import Settings
from registry_cache.serverjson import ServerVersion, Transport


def resolve(server: ServerVersion, remote: Transport) -> PackageLock:
    if remote.type not in ("streamable-http", "sse") or not remote.url:
        raise InstallError(f"remote of {server.name} has no usable URL or transport")
    # Placeholders such as https://{tenant}.example.com are checked with a stand-in host.
    validate_download_url(remote.url.replace("{", "x").replace("}", "x"), "remote URL")
    inputs = InputCollector()
    url = inputs.variables(remote.url, remote.variables)
    headers = compile_key_values(remote.headers, inputs, header=True)
    return PackageLock(
        registry_type="remote",
        identifier=server.name,
        version=server.version,
        invocation=Invocation(
            transport=remote.type, url=url, headers=headers, inputs=inputs.result()
        ),
    )


def install(lock: PackageLock, work: Path, *, settings: Settings) -> None:
    """Nothing to fetch: the (empty) tool directory only records that the tool is set up."""
