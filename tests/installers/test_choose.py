"""Package choice: the manifest's type, then the preference order among usable runtimes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from marketplace.errors import InstallError, ResolutionError
from marketplace.installers import PREFERENCE, choose_package
from registry_cache.serverjson import Package, Transport, parse_server


def server(*types: str, remote: bool = False) -> Any:
    ids = {
        "pypi": "srv",
        "npm": "srv",
        "oci": "docker.io/o/srv:1",
        "mcpb": "https://x.example/s.mcpb",
        "nuget": "Srv",
        "cargo": "srv",
    }
    packages = []
    for t in types:
        p: dict[str, Any] = {
            "registryType": t,
            "identifier": ids[t],
            "version": "1",
            "transport": {"type": "stdio"},
        }
        if t == "mcpb":
            p["fileSha256"] = "0" * 64
        packages.append(p)
    doc: dict[str, Any] = {
        "name": "io.github.t/srv",
        "description": "d",
        "version": "1",
        "packages": packages,
    }
    if remote:
        doc["remotes"] = [{"type": "streamable-http", "url": "https://x.example/mcp"}]
    return parse_server(doc)


@pytest.fixture
def path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Set PATH to a directory holding only the named executables."""

    def make(*programs: str) -> None:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        for program in programs:
            exe = bindir / program
            exe.write_text("#!/bin/sh\nexit 0\n")
            exe.chmod(0o755)
        monkeypatch.setenv("PATH", str(bindir))

    return make


def kind(choice: Package | Transport) -> str:
    return choice.registry_type if isinstance(choice, Package) else "remote"


def test_preference_order_is_documented() -> None:
    assert PREFERENCE == ("pypi", "npm", "mcpb", "nuget", "oci", "remote")


def test_prefers_by_order_among_usable(path_with) -> None:  # type: ignore[no-untyped-def]
    path_with("node", "npm", "docker")
    assert kind(choose_package(server("oci", "npm", "pypi", remote=True))) == "pypi"
    assert kind(choose_package(server("oci", "npm", remote=True))) == "npm"
    assert kind(choose_package(server("oci", "mcpb"))) == "mcpb"
    assert kind(choose_package(server("oci", remote=True))) == "oci"


def test_skips_types_whose_runtime_is_missing(path_with) -> None:  # type: ignore[no-untyped-def]
    path_with()  # nothing on PATH
    assert kind(choose_package(server("npm", "oci", remote=True))) == "remote"
    with pytest.raises(
        ResolutionError,
        match="npm needs node and npm, not found on PATH; oci needs docker or podman",
    ):
        choose_package(server("npm", "oci"))
    path_with("node")  # npm alone is not enough
    with pytest.raises(ResolutionError, match="npm needs node and npm"):
        choose_package(server("npm"))


def test_manifest_preference_wins(path_with) -> None:  # type: ignore[no-untyped-def]
    path_with()
    assert kind(choose_package(server("pypi", "npm"), preferred_type="npm")) == "npm"
    assert kind(choose_package(server("pypi", remote=True), preferred_type="remote")) == "remote"
    with pytest.raises(ResolutionError, match="has no oci package \\(it has: pypi, npm\\)"):
        choose_package(server("pypi", "npm"), preferred_type="oci")


def test_nuget_is_usable_where_dotnet_is(path_with) -> None:  # type: ignore[no-untyped-def]
    path_with()
    with pytest.raises(
        ResolutionError, match="cannot be installed here: nuget needs dotnet, not found on PATH"
    ):
        choose_package(server("nuget"))
    assert kind(choose_package(server("nuget", remote=True))) == "remote"
    path_with("dotnet", "docker")
    assert kind(choose_package(server("oci", "nuget"))) == "nuget"
    assert kind(choose_package(server("nuget", "mcpb"))) == "mcpb"


def test_unsupported_types_are_explained() -> None:
    with pytest.raises(ResolutionError, match="mgx cannot install cargo packages yet"):
        choose_package(server("cargo"))
    with pytest.raises(InstallError, match="not supported"):
        choose_package(server("cargo", "pypi"), preferred_type="cargo")
    with pytest.raises(ResolutionError, match="no package .*no packages and no remotes"):
        choose_package(server())
