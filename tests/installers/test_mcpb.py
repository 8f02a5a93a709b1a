"""mcpb bundles over real loopback HTTP: digest check, zip-slip, atomic install, interrupts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from marketplace.check import check_server
from marketplace.errors import InstallError, VerificationError
from marketplace.installers import (
    PackageLock,
    cleanup_staging,
    install_package,
    is_installed,
    resolve_invocation,
    resolve_package,
    tool_dir,
    uninstall,
)
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server
from tests.installers.conftest import TINY_SERVER, LoopbackHTTP

SECRET = "bundle-secret-7f3a9c"
MANIFEST = {
    "manifest_version": "0.2",
    "name": "tiny-bundle",
    "version": "0.3.0",
    "server": {
        "type": "python",
        "entry_point": "server/main.py",
        "mcp_config": {
            "command": "python",
            "args": [
                "${__dirname}/server/main.py",
                "--name",
                "bundle-tiny",
                "--require-env",
                "BUNDLE_TOKEN",
            ],
            "env": {"BUNDLE_TOKEN": "${user_config.token}"},
        },
    },
    "user_config": {
        "token": {"type": "string", "title": "Token", "sensitive": True, "required": True}
    },
}


def make_bundle(
    files: dict[str, bytes | str] | None = None,
    *,
    symlinks: dict[str, str] | None = None,
    manifest: dict[str, Any] | None = None,
) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore")  # duplicate names are one of the attacks tested
        zf.writestr("manifest.json", json.dumps(manifest or MANIFEST))
        for name, data in (
            files if files is not None else {"server/main.py": TINY_SERVER.read_text()}
        ).items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def server_for(url: str, sha: str | None) -> Any:
    package: dict[str, Any] = {
        "registryType": "mcpb",
        "identifier": url,
        "transport": {"type": "stdio"},
    }
    if sha:
        package["fileSha256"] = sha
    return parse_server(
        {
            "name": "io.github.test/tiny-bundle",
            "description": "d",
            "version": "0.3.0",
            "packages": [package],
        }
    )


def publish(loopback: LoopbackHTTP, body: bytes, path: str = "/tiny.mcpb") -> Any:
    loopback.serve_bytes(path, body)
    return server_for(loopback.url + path, hashlib.sha256(body).hexdigest())


def leftovers(settings: Settings) -> list[str]:
    if not settings.staging_dir.exists():
        return []
    return sorted(p.name for p in settings.staging_dir.iterdir())


def test_bundle_installs_checks_and_uninstalls(
    settings: Settings,
    loopback: LoopbackHTTP,
    venv_python_on_path: str,
    mgx_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = publish(loopback, make_bundle())
    lock = resolve_package(server, server.packages[0], settings=settings)
    assert lock.artifacts[0].digest == "sha256:" + server.packages[0].file_sha256
    assert lock.invocation.command == "python"
    assert lock.invocation.args[0] == ("{tool_dir}/server/main.py",)
    assert [(i.name, i.required, i.secret) for i in lock.invocation.inputs] == [
        ("token", True, True)
    ]
    assert PackageLock.from_dict(lock.to_dict()) == lock

    path = install_package(lock, settings=settings)
    assert path == tool_dir(settings, lock) and is_installed(settings, lock)
    assert (path / "server" / "main.py").is_file()
    assert install_package(lock, settings=settings) == path  # idempotent

    monkeypatch.setenv("MGX_TEST_BUNDLE_TOKEN", SECRET)
    spec = resolve_invocation(
        settings, lock, env_bindings={"token": "MGX_TEST_BUNDLE_TOKEN"}, arg_values={}
    )
    assert spec.command[1] == str(path / "server" / "main.py")
    assert spec.env == {"BUNDLE_TOKEN": SECRET}
    result = check_server(spec, timeout=60)
    assert result.server_name == "bundle-tiny" and "echo" in result.tools

    # The secret went to the server's environment only: no file under MGX_HOME holds it.
    for file in mgx_home.rglob("*"):
        if file.is_file() and not file.is_symlink():
            assert SECRET.encode() not in file.read_bytes(), file
    assert SECRET not in json.dumps(lock.to_dict())

    assert uninstall(settings, lock) is True
    assert not is_installed(settings, lock) and not path.exists()
    assert uninstall(settings, lock) is False
    assert leftovers(settings) == []


def test_download_not_matching_file_sha256_is_refused(
    settings: Settings, loopback: LoopbackHTTP
) -> None:
    body = make_bundle()
    loopback.serve_bytes("/tiny.mcpb", body + b"tampered")
    server = server_for(loopback.url + "/tiny.mcpb", hashlib.sha256(body).hexdigest())
    with pytest.raises(VerificationError, match="sha256 mismatch"):
        resolve_package(server, server.packages[0], settings=settings)
    assert not list((settings.cache_dir / "mcpb").glob("*"))


def test_tampered_artifact_at_install_leaves_nothing(
    settings: Settings, loopback: LoopbackHTTP
) -> None:
    server = publish(loopback, make_bundle())
    lock = resolve_package(server, server.packages[0], settings=settings)
    # The file changes on the server after locking (and the cache is cold).
    for cached in (settings.cache_dir / "mcpb").glob("*"):
        cached.unlink()
    loopback.serve_bytes("/tiny.mcpb", make_bundle({"server/main.py": "print('evil')"}))
    with pytest.raises(VerificationError, match="sha256 mismatch"):
        install_package(lock, settings=settings)
    assert not is_installed(settings, lock) and not tool_dir(settings, lock).exists()
    assert leftovers(settings) == []

    # A lock whose digest was edited is refused the same way.
    forged = PackageLock.from_dict(
        {**lock.to_dict(), "artifacts": [{"name": "tiny.mcpb", "digest": "sha256:" + "0" * 64}]}
    )
    with pytest.raises(VerificationError):
        install_package(forged, settings=settings)
    assert not tool_dir(settings, forged).exists()


def test_missing_file_sha256_is_refused(settings: Settings, loopback: LoopbackHTTP) -> None:
    loopback.serve_bytes("/tiny.mcpb", make_bundle())
    server = server_for(loopback.url + "/tiny.mcpb", None)
    with pytest.raises(VerificationError, match="no fileSha256"):
        resolve_package(server, server.packages[0], settings=settings)


@pytest.mark.parametrize(
    ("files", "symlinks", "fragment"),
    [
        ({"../escaped.txt": "x"}, None, "outside the bundle"),
        ({"server/../../escaped.txt": "x"}, None, "outside the bundle"),
        ({"/tmp/mgx-absolute-escape.txt": "x"}, None, "outside the bundle"),
        ({"server\\..\\..\\escaped.txt": "x"}, None, "backslash"),
        ({}, {"link": "../../.."}, "points outside"),
        ({}, {"abs": "/etc"}, "points outside"),
        ({"dup.txt": "a"}, {"dup.txt": "other.txt"}, "twice"),
    ],
)
def test_zip_slip_is_refused(
    settings: Settings,
    loopback: LoopbackHTTP,
    tmp_path: Path,
    files: dict[str, str],
    symlinks: dict[str, str] | None,
    fragment: str,
) -> None:
    server = publish(loopback, make_bundle({"server/main.py": "x", **files}, symlinks=symlinks))
    lock = resolve_package(server, server.packages[0], settings=settings)
    with pytest.raises(InstallError, match=fragment):
        install_package(lock, settings=settings)
    assert not tool_dir(settings, lock).exists()
    assert leftovers(settings) == []
    assert not (settings.data_dir / "escaped.txt").exists()
    assert not (settings.staging_dir.parent / "escaped.txt").exists()
    assert not Path("/tmp/mgx-absolute-escape.txt").exists()


def test_symlink_inside_the_bundle_is_kept(settings: Settings, loopback: LoopbackHTTP) -> None:
    server = publish(
        loopback,
        make_bundle(
            {"server/main.py": "x", "lib/real.txt": "data"},
            symlinks={"server/alias.txt": "../lib/real.txt"},
        ),
    )
    lock = resolve_package(server, server.packages[0], settings=settings)
    path = install_package(lock, settings=settings)
    assert (path / "server" / "alias.txt").read_text() == "data"


def test_unsupported_manifest_variable_is_refused(
    settings: Settings, loopback: LoopbackHTTP
) -> None:
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["server"]["mcp_config"]["args"] = ["${DOCUMENTS}/x"]
    server = publish(loopback, make_bundle(manifest=manifest))
    with pytest.raises(InstallError, match=r"unsupported variable \$\{DOCUMENTS\}"):
        resolve_package(server, server.packages[0], settings=settings)


def test_concurrent_installs_of_one_lock_agree(settings: Settings, loopback: LoopbackHTTP) -> None:
    server = publish(loopback, make_bundle())
    lock = resolve_package(server, server.packages[0], settings=settings)
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(install_package(lock, settings=settings))
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [tool_dir(settings, lock)] * 4
    assert is_installed(settings, lock) and leftovers(settings) == []


# --- interrupted installs (a real subprocess, stopped mid-download) -----------------------------

# SIGINT gets Python's KeyboardInterrupt handler back, as in a terminal: a child of a runner
# started with SIGINT ignored (a background job without job control, nohup, some CI) inherits
# the ignore, and Python then leaves SIGINT ignored, so the interrupt would never arrive.
INSTALL_SCRIPT = """
import json, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from marketplace.installers import PackageLock, install_package
from marketplace.settings import Settings
install_package(PackageLock.from_dict(json.loads(sys.argv[1])), settings=Settings.from_env())
"""


STALL_LIMIT = 600.0


def _stalling_route(
    loopback: LoopbackHTTP, body: bytes, release: threading.Event, started: threading.Event
) -> None:
    def handler(req: Any) -> None:
        req.send_response(200)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body[: len(body) // 2])
        req.wfile.flush()
        started.set()
        # The connection stays open, the rest unsent, until the test has interrupted the
        # client (the bound only keeps a broken test from holding a thread forever).
        release.wait(STALL_LIMIT)

    loopback.routes[("GET", "/tiny.mcpb")] = handler


def _stalled_install(
    settings: Settings, loopback: LoopbackHTTP, mgx_home: Path
) -> tuple[bytes, PackageLock, threading.Event, threading.Event, subprocess.Popen[bytes]]:
    """An install in a subprocess whose download stalls halfway until ``release`` is set."""
    body = make_bundle({"server/main.py": "x" * 200_000})
    server = publish(loopback, body)
    lock = resolve_package(server, server.packages[0], settings=settings)
    for cached in (settings.cache_dir / "mcpb").glob("*"):
        cached.unlink()  # so the install downloads (and stalls) instead of using the cache
    release, started = threading.Event(), threading.Event()
    _stalling_route(loopback, body, release, started)
    env = {**os.environ, "MGX_HOME": str(mgx_home), "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", INSTALL_SCRIPT, json.dumps(lock.to_dict())],
        env=env,
        stderr=subprocess.PIPE,
    )
    return body, lock, release, started, proc


def _wait_partial_download(
    settings: Settings, proc: subprocess.Popen[bytes], timeout: float = 60.0
) -> None:
    """Until the client has written received bytes to its ``.part`` file: the download is then
    provably under way and stalled (the server holds back the second half)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"the install ended before it stalled: {err[-2000:]}")
        parts = list((settings.cache_dir / "mcpb").glob("*.part"))
        if any(p.stat().st_size > 0 for p in parts if p.exists()):
            return
        time.sleep(0.02)
    pytest.fail("the client never received the first half of the download")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_install_leaves_nothing_installed(
    settings: Settings, loopback: LoopbackHTTP, mgx_home: Path, sig: signal.Signals
) -> None:
    body, lock, release, started, proc = _stalled_install(settings, loopback, mgx_home)
    try:
        assert started.wait(60), "the install never started downloading"
        _wait_partial_download(settings, proc)
        assert any(p.startswith("install-") for p in leftovers(settings))  # mid-install
        proc.send_signal(sig)
        proc.wait(60)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode != 0
    assert not is_installed(settings, lock) and not tool_dir(settings, lock).exists()
    if sig == signal.SIGINT:
        assert leftovers(settings) == []  # KeyboardInterrupt: cleaned up on the way out
        assert b"KeyboardInterrupt" in (proc.stderr.read() if proc.stderr else b"")
    else:
        assert leftovers(settings)  # kill -9 leaves debris ...
        removed = cleanup_staging(settings)  # ... which the next run removes
        assert removed and leftovers(settings) == []
    assert not list((settings.cache_dir / "mcpb").glob("*.mcpb"))  # no half file in the cache
    # The next attempt succeeds.
    loopback.serve_bytes("/tiny.mcpb", body)
    assert install_package(lock, settings=settings) == tool_dir(settings, lock)


def test_cleanup_spares_a_live_install(
    settings: Settings, loopback: LoopbackHTTP, mgx_home: Path
) -> None:
    _, lock, release, started, proc = _stalled_install(settings, loopback, mgx_home)
    try:
        assert started.wait(60)
        _wait_partial_download(settings, proc)
        assert cleanup_staging(settings) == []  # its lock is held: not debris
        assert any(p.startswith("install-") for p in leftovers(settings))
    finally:
        release.set()
        proc.kill()
        proc.wait(10)
