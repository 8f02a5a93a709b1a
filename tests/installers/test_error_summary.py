"""One-line installer errors keep npm's log path whole (it was cut mid-name)."""

from __future__ import annotations

from pathlib import Path

from marketplace.installers._io import summarize

# Recorded stderr of `npm install @modelcontextprotocol/server-does-not-exist-xyz@1.0.0`, npm 10.
NPM_404 = (Path(__file__).with_name("npm_404_stderr.txt")).read_text(encoding="utf-8")
LOG = "/root/.npm/_logs/2026-12-02T11_36_03_363Z-debug-0.log"


def test_npm_log_path_is_kept_whole() -> None:
    line = summarize(NPM_404)
    assert line.startswith("npm error code E404")
    assert line.endswith(LOG) and len(line) <= 400


def test_lines_are_dropped_whole_never_cut() -> None:
    line = summarize(NPM_404, width=160)
    assert line.endswith(LOG)
    assert all(part in NPM_404 for part in line.split(" | "))


def test_a_single_overlong_line_is_marked_as_cut() -> None:
    line = summarize("error: " + "x" * 600, width=100)
    assert len(line) == 100 and line.endswith("…")
