"""`mgx model` defects found in issue 11 (section 5): an unreachable external endpoint shown
as up, `stats` exiting 0 with nothing read, `serve --dry-run` needing vLLM installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from runtime.cli import main
from tests.helpers import free_port

from .conftest import MetricsServer


def mgx(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_probes_external_endpoints(
    capsys: pytest.CaptureFixture[str], load_servers: list[MetricsServer]
) -> None:
    live, _ = load_servers
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    assert (
        mgx(capsys, "model", "add", "pool", "--url", live.url, "--url", dead, "--model", "m")[0]
        == 0
    )
    assert mgx(capsys, "model", "add", "gone", "--url", dead, "--model", "m")[0] == 0
    code, out, _ = mgx(capsys, "model", "list", "--json")
    assert code == 0
    alive = {e["name"]: e["alive"] for e in json.loads(out)}
    assert alive == {"gone": 0, "pool": 1}
    code, out, _ = mgx(capsys, "model", "list")
    assert "0/1" in out and "1/2" in out


def test_stats_with_no_readable_endpoint_fails(capsys: pytest.CaptureFixture[str]) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    assert mgx(capsys, "model", "add", "gone", "--url", dead, "--model", "m")[0] == 0
    code, out, err = mgx(capsys, "model", "stats", "gone", "--interval", "0.1")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("mgx: error: no endpoint of gone could be read")
    assert "cannot read" not in out  # the table's data columns hold data, not the error
    code, out, err = mgx(capsys, "model", "stats", "gone", "--json", "--interval", "0.1")
    assert code == 1 and json.loads(out)[0]["stats"] is None


def test_serve_dry_run_without_vllm_prints_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    code, out, err = mgx(
        capsys, "model", "serve", str(model), "--python", sys.executable, "--dry-run",
        "--no-fit-check",
    )  # fmt: skip
    assert code == 0, err
    assert "vllm" in out and str(model) in out
    assert f"vLLM is not installed for {sys.executable}" in err
