"""Real installs from PyPI and npm: resolve, install, MCP handshake + tools/list, uninstall.

These talk to the package registries (``-m network``); uv's and npm's caches keep reruns fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from marketplace.check import check_server
from marketplace.errors import VerificationError
from marketplace.installers import (
    PackageLock,
    install_package,
    is_installed,
    resolve_invocation,
    resolve_package,
    tool_dir,
    uninstall,
)
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server

pytestmark = pytest.mark.network

SECRET = "net-secret-d41d8cd98f"


def server(kind: str, identifier: str, version: str, **extra: Any) -> Any:
    return parse_server(
        {
            "name": f"io.github.test/{identifier.replace('@', '').replace('/', '-')}",
            "description": "d",
            "version": version,
            "packages": [
                {
                    "registryType": kind,
                    "identifier": identifier,
                    "version": version,
                    "transport": {"type": "stdio"},
                    **extra,
                }
            ],
        }
    )


def toml(lock: PackageLock) -> str:
    return tomlkit.dumps({"package": lock.to_dict()})


def no_leftovers(settings: Settings) -> bool:
    return not settings.staging_dir.exists() or not any(settings.staging_dir.iterdir())


def test_pypi_mcp_server_time(
    settings: Settings, mgx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = server(
        "pypi",
        "mcp-server-time",
        "2025.9.25",
        packageArguments=[
            {
                "type": "named",
                "name": "--local-timezone",
                "value": "{tz}",
                "variables": {"tz": {"default": "UTC"}},
            }
        ],
        environmentVariables=[{"name": "MGX_TEST_SECRET", "isSecret": True}],
    )
    lock = resolve_package(srv, srv.packages[0], settings=settings)
    assert lock.version == "2025.9.25" and lock.python
    assert lock.cutoff.startswith("2025-09-")  # the upload time of its files
    names = {d.name for d in lock.closure}
    assert {"mcp-server-time", "mcp", "pydantic"} <= names
    assert all(h.startswith("sha256:") for d in lock.closure for h in d.hashes)
    assert all(a.digest.startswith("sha256:") for a in lock.artifacts)
    assert lock.invocation.command == "{tool_dir}/venv/bin/mcp-server-time"
    text = toml(lock)
    assert str(mgx_home) not in text and "/root" not in text  # nothing machine-specific

    path = install_package(lock, settings=settings)
    assert is_installed(settings, lock) and no_leftovers(settings)
    monkeypatch.setenv("MGX_TEST_SECRET", SECRET)
    spec = resolve_invocation(settings, lock, env_bindings={}, arg_values={})
    assert spec.command[1:] == ("--local-timezone", "UTC")
    assert spec.env == {"MGX_TEST_SECRET": SECRET}
    result = check_server(spec, timeout=120)
    assert {"get_current_time", "convert_time"} <= set(result.tools)
    for file in path.rglob("*"):  # the secret went to the process, never to disk
        if file.is_file() and not file.is_symlink() and file.stat().st_size < 5 << 20:
            assert SECRET.encode() not in file.read_bytes(), file
    assert SECRET not in text
    assert uninstall(settings, lock) and not path.exists()


def test_pypi_time_mcp_pypi_needs_its_publish_date(settings: Settings) -> None:
    srv = server("pypi", "time-mcp-pypi", "1.0.6")
    lock = resolve_package(srv, srv.packages[0], settings=settings)
    assert lock.cutoff == "2025-09-12T02:14:45Z"  # upload time of its files, rounded up
    # Same inputs -> byte-identical lock data.
    assert toml(resolve_package(srv, srv.packages[0], settings=settings)) == toml(lock)
    install_package(lock, settings=settings)
    spec = resolve_invocation(settings, lock, env_bindings={}, arg_values={})
    assert check_server(spec, timeout=120).tools == ["get_current_utc_time"]

    # Resolved against today, the same version no longer starts (dependency rot).
    today = resolve_package(srv, srv.packages[0], settings=settings, cutoff="now")
    assert today.cutoff == "now" and today.closure != lock.closure
    install_package(today, settings=settings)
    with pytest.raises(Exception, match="failed to start") as info:
        check_server(
            resolve_invocation(settings, today, env_bindings={}, arg_values={}), timeout=120
        )
    assert "ImportError" in str(info.value) or "Error" in str(info.value)
    assert uninstall(settings, lock) and uninstall(settings, today)


def test_pypi_tampered_hash_is_refused(settings: Settings) -> None:
    srv = server("pypi", "time-mcp-pypi", "1.0.6")
    lock = resolve_package(srv, srv.packages[0], settings=settings)
    # Installed once, so uv's cache holds every genuine file: the forged lock below is refused
    # on the cache-first (--offline) path as well as online.
    install_package(lock, settings=settings)
    assert uninstall(settings, lock)
    data = lock.to_dict()
    for dep in data["closure"]:
        if dep["name"] == "anyio":
            dep["hashes"] = ["sha256:" + "0" * 64]
    forged = PackageLock.from_dict(data)
    with pytest.raises(VerificationError, match="does not match the lock"):
        install_package(forged, settings=settings)
    assert not is_installed(settings, forged) and not tool_dir(settings, forged).exists()
    assert no_leftovers(settings)


def test_pypi_install_with_a_cold_uv_cache_goes_online(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Installs try uv's cache first (resolving just filled it); an empty cache must fall
    # through to the index, still hash-checked.
    srv = server("pypi", "time-mcp-pypi", "1.0.6")
    lock = resolve_package(srv, srv.packages[0], settings=settings)
    cold = tmp_path / "cold-uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cold))
    path = install_package(lock, settings=settings)
    assert is_installed(settings, lock)
    assert any(cold.iterdir())  # the files came from the index into the new cache
    spec = resolve_invocation(settings, lock, env_bindings={}, arg_values={})
    assert check_server(spec, timeout=120).tools == ["get_current_utc_time"]
    assert uninstall(settings, lock) and not path.exists()


@pytest.mark.npm
def test_npm_server_everything(settings: Settings, mgx_home: Path) -> None:
    srv = server("npm", "@modelcontextprotocol/server-everything", "2025.9.25")
    lock = resolve_package(srv, srv.packages[0], settings=settings)
    top = next(
        d for d in lock.closure if d.name == "node_modules/@modelcontextprotocol/server-everything"
    )
    assert top.version == "2025.9.25"
    assert lock.artifacts[0].digest == top.hashes[0] and top.hashes[0].startswith("sha512-")
    assert lock.cutoff.startswith("20") and not lock.allow_scripts
    assert len(lock.closure) > 20
    assert lock.invocation.command == "{tool_dir}/node_modules/.bin/mcp-server-everything"
    assert toml(resolve_package(srv, srv.packages[0], settings=settings)) == toml(lock)
    assert str(mgx_home) not in toml(lock)

    path = install_package(lock, settings=settings)
    assert is_installed(settings, lock) and no_leftovers(settings)
    installed = json.loads((path / "node_modules" / ".package-lock.json").read_text())
    assert installed["packages"][top.name]["integrity"] == top.hashes[0]
    spec = resolve_invocation(settings, lock, env_bindings={}, arg_values={})
    result = check_server(spec, timeout=120)
    assert {"echo", "add"} <= set(result.tools)
    adopted_lockfile = (path / "package-lock.json").read_text()
    assert uninstall(settings, lock) and not path.exists()

    # Without a tree left by the resolution (a reinstall, sync --frozen) it is `npm ci` of the
    # lock, giving the same directory as the tree adopted from the resolution.
    assert install_package(lock, settings=settings) == path and is_installed(settings, lock)
    assert (path / "package-lock.json").read_text() == adopted_lockfile
    assert no_leftovers(settings)
    assert uninstall(settings, lock) and not path.exists()

    # A lock whose integrity was edited is refused by npm ci; nothing is left installed.
    data = lock.to_dict()
    for dep in data["closure"]:
        if dep["name"] == top.name:
            dep["hashes"] = ["sha512-" + "A" * 86 + "=="]
    data["artifacts"][0]["digest"] = "sha512-" + "A" * 86 + "=="
    forged = PackageLock.from_dict(data)
    with pytest.raises(VerificationError):
        install_package(forged, settings=settings)
    assert not tool_dir(settings, forged).exists() and no_leftovers(settings)


def test_pypi_install_without_uv_uses_venv_and_pip(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = server("pypi", "time-mcp-pypi", "1.0.6")
    lock = resolve_package(srv, srv.packages[0], settings=settings)
    monkeypatch.setenv("MGX_NO_UV", "1")
    path = install_package(lock, settings=settings)
    assert (path / "venv" / "bin" / "pip").exists()  # built by python -m venv, not uv
    shebang = (path / "venv" / "bin" / "time-mcp-pypi").read_text().splitlines()[0]
    assert shebang == f"#!{path}/venv/bin/python"  # rewritten from the staging path
    spec = resolve_invocation(settings, lock, env_bindings={}, arg_values={})
    assert check_server(spec, timeout=120).tools == ["get_current_utc_time"]
    # pip enforces the hashes too.
    data = lock.to_dict()
    assert any(d["name"] == "sniffio" for d in data["closure"])
    data["closure"] = [
        {**d, "hashes": ["sha256:" + "1" * 64]} if d["name"] == "sniffio" else d
        for d in data["closure"]
    ]
    forged = PackageLock.from_dict(data)
    with pytest.raises(VerificationError):
        install_package(forged, settings=settings)
    assert not tool_dir(settings, forged).exists() and no_leftovers(settings)
