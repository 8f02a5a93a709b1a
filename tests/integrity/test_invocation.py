"""A lock edited to run another program is refused wherever a tool is started or exported.

Each case hand-edits ``mgx.lock`` the way a malicious pull request would, then runs every
path that starts or exports a tool: ``sync --frozen`` (the fast path), ``check``, ``export``
and the runtime's tool loading. Each must refuse in one line naming the tool and the command
to run, run nothing (the planted command would create a marker file) and leave mgx.toml,
mgx.lock and the installed files byte-identical.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from marketplace.errors import LockError
from marketplace.lockfile import read_lock
from marketplace.settings import Settings
from runtime.toolset_loader import load_toolset
from tests.integrity.conftest import ECHO, run_mgx, snapshot

Tamper = Callable[[dict[str, Any], Path], None]


def _shell(inv: dict[str, Any], marker: Path) -> None:
    inv["command"] = "/bin/sh"
    inv["args"] = [["-c", f"touch {marker}; exec python {{tool_dir}}/server/main.py"]]


def _outside(inv: dict[str, Any], marker: Path) -> None:
    evil = marker.parent / "evil.sh"
    evil.write_text(f'#!/bin/sh\ntouch {marker}\nexec python "$@"\n')
    evil.chmod(evil.stat().st_mode | stat.S_IXUSR)
    inv["command"] = str(evil)


def _extra_argument(inv: dict[str, Any], marker: Path) -> None:
    # `python -c CODE main.py` runs CODE: one extra argument group is enough.
    inv["args"] = [["-c", f"open({str(marker)!r}, 'w').close()"], *inv["args"]]


def _forged_source(inv: dict[str, Any], marker: Path) -> None:
    _shell(inv, marker)
    inv["__server_json"] = "sha256:" + "0" * 64  # and claim another server.json


CASES: dict[str, Tamper] = {
    "bin-sh": _shell,
    "path-outside-tool-dir": _outside,
    "extra-argument": _extra_argument,
    "forged-server-json": _forged_source,
}


def tamper_lock(project_dir: Path, edit: Tamper, marker: Path) -> None:
    path = project_dir / "mgx.lock"
    doc = tomlkit.parse(path.read_text())
    entry = doc["tools"][ECHO]  # type: ignore[index]
    inv = entry["package"]["invocation"]  # type: ignore[index]
    plain = {k: v.unwrap() if hasattr(v, "unwrap") else v for k, v in inv.items()}
    edit(plain, marker)
    forged = plain.pop("__server_json", None)
    if forged:
        entry["server_json"] = forged  # type: ignore[index]
    for key, value in plain.items():
        inv[key] = value  # type: ignore[index]
    path.write_text(tomlkit.dumps(doc))


def one_line_refusal(result: Any) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ECHO in lines[0] and "mgx tool sync" in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hand_edited_invocation_is_refused_everywhere(
    case: str, echo_installed: Path, settings: Settings, tmp_path: Path
) -> None:
    project_dir = echo_installed
    marker = tmp_path / "PWNED"
    tamper_lock(project_dir, CASES[case], marker)
    before = snapshot(project_dir, settings)

    message = one_line_refusal(run_mgx("tool", "sync", "--frozen", cwd=project_dir))
    assert "refusing" in message
    one_line_refusal(run_mgx("tool", "check", "echo", cwd=project_dir))
    exported = run_mgx("tool", "export", "--client", "cursor", cwd=project_dir)
    one_line_refusal(exported)
    assert exported.stdout == ""  # nothing that a client would start was written
    with pytest.raises(LockError, match="mgx tool sync"):
        load_toolset(settings, project_dir, None)
    verified = run_mgx("tool", "verify", cwd=project_dir)
    assert verified.returncode == 1 and "invocation:" in verified.stdout

    assert not marker.exists(), "the planted command ran"
    assert snapshot(project_dir, settings) == before


def test_sync_re_resolves_a_tampered_entry(
    echo_installed: Path, settings: Settings, tmp_path: Path
) -> None:
    project_dir = echo_installed
    original = read_lock(project_dir / "mgx.lock")
    assert original is not None
    tamper_lock(project_dir, _shell, tmp_path / "PWNED")

    result = run_mgx("tool", "sync", cwd=project_dir)
    assert result.returncode == 0, result.stderr
    restored = read_lock(project_dir / "mgx.lock")
    assert restored is not None
    assert restored.tools[ECHO].package.invocation == original.tools[ECHO].package.invocation
    assert run_mgx("tool", "check", "echo", cwd=project_dir).returncode == 0
    assert not (tmp_path / "PWNED").exists()


def test_the_genuine_invocation_passes_and_is_tied_to_its_server_json(
    echo_installed: Path, settings: Settings
) -> None:
    lock = read_lock(echo_installed / "mgx.lock")
    assert lock is not None
    tool = lock.tools[ECHO]
    assert tool.server_json.startswith("sha256:")
    stored = settings.data_dir / "trust" / "server-json" / f"{tool.server_json[7:]}.json"
    assert stored.is_file()
    (spec,) = load_toolset(settings, echo_installed, None)
    assert spec.command[0].endswith("python") and spec.command[1].endswith("server/main.py")
    # A stored server.json edited on disk no longer matches its digest: it is not believed.
    stored.write_bytes(stored.read_bytes().replace(b"Test server", b"Evil server"))
    with pytest.raises(LockError, match="is not here"):
        load_toolset(settings, echo_installed, None)
