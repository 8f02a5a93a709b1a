"""The exit-code contract of docs/cli.md, held for every command over bad inputs.

0 success, 1 an operation failed, 2 usage or bad input (arguments, mgx.toml, mgx.lock).
Each case runs the real ``mgx`` offline in a fresh directory, set up as the case says.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MGX = [sys.executable, "-c", "import sys; from runtime.entry import main; sys.exit(main())"]

GOOD_MANIFEST = '[tools]\n"io.github.test/echo" = "^1.0.0"\n'
BAD_TOML = "[tools\n"
BAD_SPEC = '[tools]\n"io.github.test/echo" = "^^1"\n'
LOCK_V_STRING = 'version = "1"\n'
LOCK_UNKNOWN = 'version = 1\nflavour = "x"\n'

# (argv, files to write first, expected exit code, fragment of the one-line error or output)
CASES: list[tuple[tuple[str, ...], dict[str, str], int, str]] = [
    (("--version",), {}, 0, "mgx "),
    (("tool",), {}, 0, "install"),
    (("registry",), {}, 0, "serve"),
    (("model",), {}, 0, "serve"),
    (("--bogus",), {}, 2, "No such option"),
    (("nope",), {}, 2, "No such command"),
    (("tool", "search", "time", "--limit", "x"), {}, 2, "--limit"),
    (("tool", "search", "time", "--type", "rust"), {}, 2, "unknown package type"),
    (("tool", "info", "no/such"), {}, 2, "no server named"),
    (("tool", "info", "io.github.modelcontextprotocol/server-time@9.9.9"), {}, 2, "no version"),
    (("tool", "install"), {}, 2, "Missing argument"),
    (("tool", "install", "no-such-server"), {}, 2, "no server named"),
    (("tool", "install", "server-time@>>1"), {}, 2, "invalid version specifier"),
    (("tool", "install", "server-time", "--env", "X"), {}, 2, "--env expects"),
    (("tool", "install", "server-time", "--type", "cargo"), {}, 2, "--type must be"),
    (("tool", "remove", "x"), {}, 2, "no mgx.toml"),
    (("tool", "remove", "x"), {"mgx.toml": GOOD_MANIFEST}, 2, "no tool named"),
    (("tool", "list"), {"mgx.toml": BAD_TOML}, 2, "mgx.toml is not valid TOML"),
    (("tool", "list"), {"mgx.toml": GOOD_MANIFEST, "mgx.lock": LOCK_V_STRING}, 2, "integer 1"),
    (("tool", "list"), {"mgx.toml": GOOD_MANIFEST, "mgx.lock": "x = [\n"}, 2, "not valid TOML"),
    (("tool", "outdated"), {"mgx.toml": BAD_TOML}, 2, "not valid TOML"),
    (("tool", "update", "x"), {}, 2, "no mgx.toml"),
    (("tool", "sync"), {"mgx.toml": BAD_TOML}, 2, "mgx.toml"),
    (
        ("tool", "sync", "--frozen"),
        {"mgx.toml": BAD_TOML, "mgx.lock": "version = 1\n"},
        2,
        "mgx.toml",
    ),
    (("tool", "sync"), {"mgx.toml": BAD_SPEC}, 2, "invalid version specifier"),
    (("tool", "list"), {"mgx.toml": BAD_SPEC}, 2, "mgx.toml"),
    (
        ("tool", "sync", "--frozen"),
        {"mgx.toml": GOOD_MANIFEST, "mgx.lock": LOCK_UNKNOWN},
        2,
        "unknown key",
    ),
    # A lock that parses but no longer satisfies the manifest: the operation fails (1).
    (
        ("tool", "sync", "--frozen"),
        {"mgx.toml": GOOD_MANIFEST, "mgx.lock": "version = 1\n"},
        1,
        "does not satisfy",
    ),
    # No lock yet: the command cannot run until `mgx tool sync` (an operation, 1).
    (("tool", "check", "x"), {"mgx.toml": GOOD_MANIFEST}, 1, "no tools are locked"),
    (("tool", "export", "--client", "emacs"), {"mgx.toml": GOOD_MANIFEST}, 2, "unknown client"),
    (("registry", "add", "x", "notaurl"), {}, 2, "invalid registry URL"),
    (("registry", "remove", "nosuch"), {}, 2, "no registry named"),
    (("registry", "sync", "nosuch"), {}, 2, "no enabled registry"),
    (("model", "stop", "nosuch"), {}, 2, "no managed server"),
    (("model", "remove", "nosuch"), {}, 2, "no external endpoint"),
    (("model", "stats", "nosuch"), {}, 2, "no model named"),
    (("model", "serve"), {}, 2, "Missing argument"),
    (("model", "add", "m", "--url", "notaurl", "--model", "x"), {}, 2, "not an http(s) URL"),
    (("model", "pull", "not a model id"), {}, 2, "neither a local directory"),
    (("agent", "hello"), {}, 2, "--model"),
    (("init", "--list"), {}, 0, "research"),
    (("init", "--template", "nope"), {}, 2, "no template named 'nope'"),
    (("init",), {"mgx.toml": GOOD_MANIFEST}, 2, "already exists"),
    (("init", "--project", "no/such/dir"), {}, 2, "does not exist"),
    (("tool", "usage", "--since", "yesterday"), {}, 2, "--since"),
    (("tool", "recommend", "time", "--limit", "0"), {}, 2, "--limit"),
    (("tool", "recommend", "time", "--project", "no/such/dir"), {}, 2, "does not exist"),
]


def _id(case: tuple[tuple[str, ...], dict[str, str], int, str]) -> str:
    argv, files, code, _ = case
    return f"{' '.join(argv)}[{','.join(sorted(files))}]->{code}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_exit_code_contract(
    case: tuple[tuple[str, ...], dict[str, str], int, str], tmp_path: Path
) -> None:
    argv, files, code, fragment = case
    project = tmp_path / "proj"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("MGX_PROJECT",)},
        "MGX_HOME": str(tmp_path / "home"),
        "MGX_OFFLINE": "1",
    }
    done = subprocess.run(
        [*MGX, *argv], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    if code == 0:
        assert fragment in done.stdout
        return
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mgx: error: "), done.stderr
    assert fragment in lines[0], lines[0]
    # Bad input never leaves a new project behind (an existing one may hold its .mgx/ lock).
    left = {p.name for p in project.iterdir()} - ({".mgx"} if "mgx.toml" in files else set())
    assert left == set(files)
