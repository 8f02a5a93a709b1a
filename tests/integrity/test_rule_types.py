"""The invocation rule for package types whose invocation needs no installed files to derive:
an OCI image (the engine runs ``image@sha256`` of the lock) and a remote (a URL of the
server.json). The locks are what ``oci.resolve``/``remote.resolve`` produce for the same
server.json (the OCI digest is written as the registry would answer it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from marketplace.installers import Artifact, Invocation, PackageLock, remote
from marketplace.invocation import invocation_problems, store_server_json
from marketplace.lockfile import LockedTool
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server

NAME = "io.github.test/box"
DIGEST = "sha256:" + "ab" * 32
DOC = {
    "name": NAME,
    "description": "A containerised server.",
    "version": "1.0.0",
    "packages": [
        {
            "registryType": "oci",
            "identifier": "ghcr.io/test/box:1.0.0",
            "transport": {"type": "stdio"},
            "environmentVariables": [{"name": "BOX_TOKEN", "isSecret": True}],
            "packageArguments": [{"type": "positional", "value": "serve"}],
        }
    ],
    "remotes": [{"type": "streamable-http", "url": "https://box.example.com/mcp"}],
}


def locked(settings: Settings, package: PackageLock) -> LockedTool:
    server = parse_server(DOC)
    digest = store_server_json(settings, server.raw)
    return LockedTool(name=NAME, version="1.0.0", registry="", package=package, server_json=digest)


def oci_lock() -> PackageLock:
    from marketplace.installers import KeyValueSpec

    return PackageLock(
        registry_type="oci",
        identifier="ghcr.io/test/box:1.0.0",
        version="1.0.0",
        artifacts=(Artifact(name="ghcr.io/test/box", digest=DIGEST),),
        invocation=Invocation(
            command="docker",
            args=(
                ("run", "-i", "--rm"),
                ("-e", "BOX_TOKEN"),
                (f"ghcr.io/test/box@{DIGEST}",),
                ("serve",),
            ),
            env=(KeyValueSpec(name="BOX_TOKEN", secret=True),),
        ),
    )


def test_oci_runs_only_the_locked_image(mgx_home: Path) -> None:
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    package = oci_lock()
    assert invocation_problems(settings, locked(settings, package)) == []
    inv = package.invocation
    forged = {
        "another image": replace(inv, args=(*inv.args[:2], ("evil/box:latest",), ("serve",))),
        "a mounted host directory": replace(
            inv, args=(*inv.args[:2], ("-v", "/:/host"), *inv.args[2:])
        ),
        "another engine command": replace(inv, command="/bin/sh"),
        "a dropped env name": replace(inv, args=(inv.args[0], *inv.args[2:])),
    }
    for why, invocation in forged.items():
        tool = locked(settings, replace(package, invocation=invocation))
        assert invocation_problems(settings, tool), why
    # The artifact must be the repository server.json names.
    other = replace(package, artifacts=(Artifact(name="docker.io/evil/box", digest=DIGEST),))
    assert invocation_problems(settings, locked(settings, other))


def test_remote_connects_only_to_a_url_of_its_server_json(mgx_home: Path) -> None:
    settings = Settings.from_env({"MGX_HOME": str(mgx_home)})
    server = parse_server(DOC)
    package = remote.resolve(server, server.remotes[0])
    assert invocation_problems(settings, locked(settings, package)) == []
    evil = replace(package, invocation=replace(package.invocation, url="https://evil.example/mcp"))
    (problem,) = invocation_problems(settings, locked(settings, evil))
    assert "is not a remote of its server.json" in problem
