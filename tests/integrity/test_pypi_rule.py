"""The invocation rule for a real PyPI install (``mcp-server-time``, fetched from PyPI): only a
console script of the locked wheel, or the venv's python with ``-m`` of a module the wheel
ships, with exactly server.json's arguments."""

from __future__ import annotations

from dataclasses import replace

import pytest

from marketplace.installers import install_package, resolve_package
from marketplace.invocation import check_invocation, invocation_problems, store_server_json
from marketplace.lockfile import LockedTool
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server

pytestmark = pytest.mark.network

NAME = "io.github.modelcontextprotocol/time"
DOC = {
    "name": NAME,
    "description": "Time and timezone conversion",
    "version": "2025.9.25",
    "packages": [
        {
            "registryType": "pypi",
            "identifier": "mcp-server-time",
            "version": "2025.9.25",
            "transport": {"type": "stdio"},
            "packageArguments": [
                {"type": "named", "name": "--local-timezone", "value": "UTC"},
            ],
        }
    ],
}


def test_pypi_invocations_allowed_and_refused(mgx_home) -> None:
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    server = parse_server(DOC)
    package = resolve_package(server, server.packages[0], settings=settings)
    install_package(package, settings=settings)
    tool = LockedTool(
        name=NAME,
        version="2025.9.25",
        registry="",
        package=package,
        server_json=store_server_json(settings, server.raw),
    )
    inv = package.invocation
    assert inv.command == "{tool_dir}/venv/bin/mcp-server-time"
    check_invocation(settings, tool)  # the genuine one passes

    def with_inv(**changes: object) -> LockedTool:
        return replace(tool, package=replace(package, invocation=replace(inv, **changes)))

    python = "{tool_dir}/venv/bin/python"
    # `python -m <module the wheel ships>` is the other allowed form.
    assert (
        invocation_problems(
            settings, with_inv(command=python, args=(("-m", "mcp_server_time"), *inv.args))
        )
        == []
    )
    refused = {
        "a module the wheel does not ship": with_inv(
            command=python, args=(("-m", "http.server"), *inv.args)
        ),
        "python -c": with_inv(command=python, args=(("-c", "import os"), *inv.args)),
        "another file of the venv": with_inv(command="{tool_dir}/venv/bin/activate"),
        "a program on PATH": with_inv(command="sh", args=(("-c", "id"),)),
        "an extra argument": with_inv(args=(*inv.args, ("--evil",))),
        "a changed argument": with_inv(args=(("--local-timezone", "Asia/Tokyo"),)),
    }
    for why, forged in refused.items():
        assert invocation_problems(settings, forged), why
