"""`mgx model …` through the real CLI entry point (in process), against loopback servers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from runtime.cli import main
from tests.models.conftest import MetricsServer


def mgx(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_status_stats_remove(
    capsys: pytest.CaptureFixture[str],
    load_servers: list[MetricsServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = load_servers
    code, out, _ = mgx(
        capsys, "model", "add", "pool", "--url", a.url, "--url", b.url + "/",
        "--model", "tiny", "--api-key-env", "POOL_KEY", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == {
        "name": "pool",
        "urls": [a.url, b.url],
        "model": "tiny",
        "api_key_env": "POOL_KEY",
    }
    code, _, err = mgx(capsys, "model", "add", "pool", "--url", a.url, "--model", "x")
    assert code == 2 and "already registered; pass --replace" in err

    code, out, _ = mgx(capsys, "model", "list", "--json")
    (entry,) = json.loads(out)
    assert entry["kind"] == "external" and entry["endpoints"] == [a.url, b.url]

    code, out, _ = mgx(capsys, "model", "status", "pool", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["healthy"] for r in rows] == [True, True]
    assert rows[0]["api_key"] == "$POOL_KEY"  # where the key comes from, never its value

    monkeypatch.setenv("POOL_KEY", "k")
    a.running, b.waiting = 3, 2
    code, out, err = mgx(capsys, "model", "stats", "pool", "--json", "--interval", "0.1")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["stats"]["running"], r["stats"]["waiting"]) for r in rows] == [(3, 0), (0, 2)]

    b.close()
    code, out, _ = mgx(capsys, "model", "stats", "pool", "--json", "--interval", "0.1")
    rows = json.loads(out)
    assert rows[1]["stats"] is None and "cannot read" in rows[1]["error"]

    code, _, err = mgx(capsys, "model", "lora", "load", "pool", "ad", "/x")
    assert code == 1 and "--enable-lora" in err

    assert mgx(capsys, "model", "remove", "pool")[0] == 0
    code, _, err = mgx(capsys, "model", "remove", "pool")
    assert code == 2 and err == "mgx: error: no external endpoint named pool\n"


def test_add_refuses_a_key_value_in_place_of_a_variable_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = mgx(
        capsys, "model", "add", "c", "--url", "https://api.example/v1", "--model", "m",
        "--api-key-env", "sk-live-123",
    )  # fmt: skip
    assert code == 2 and "NAME of an environment variable" in err
    assert "sk-live-123" not in json.dumps(mgx(capsys, "model", "list", "--json")[1])


def test_stats_of_a_url(capsys: pytest.CaptureFixture[str], load_servers: list) -> None:
    a, _ = load_servers
    a.waiting = 7
    code, out, _ = mgx(capsys, "model", "stats", a.url, "--json")
    assert code == 0 and json.loads(out)[0]["stats"]["waiting"] == 7


def test_serve_with_a_python_lacking_vllm_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    code, _, err = mgx(capsys, "model", "serve", str(model), "--python", sys.executable)
    assert code == 1
    assert err.startswith(f"mgx: error: vLLM is not installed for {sys.executable}")
    assert mgx(capsys, "model", "list", "--json")[1].strip() == "[]"


def test_serve_with_a_missing_python(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = mgx(capsys, "model", "serve", "m", "--python", "/nonexistent/python")
    assert code == 1 and "cannot run the vLLM Python /nonexistent/python" in err


def test_stop_and_switch_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = mgx(capsys, "model", "stop", "ghost")
    assert code == 2 and "no managed server named ghost" in err
    code, _, err = mgx(capsys, "model", "switch", "ghost", "other")
    assert code == 2 and "no managed server named ghost" in err


def test_gpus_without_nvidia_smi(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out, _ = mgx(capsys, "model", "gpus", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["gpus"] == [] and report["source"] == "none"


def test_pull_local_directory_and_offline_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = tmp_path / "local-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x" * 100)
    code, out, _ = mgx(capsys, "model", "pull", str(model), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["local"] is True and result["files"] == 2 and result["path"] == str(model)

    code, _, err = mgx(capsys, "model", "pull", str(tmp_path))
    assert code == 2 and "has no config.json" in err
    code, _, err = mgx(capsys, "model", "pull", "not a model id!")
    assert code == 2 and "neither a local directory nor a Hugging Face id" in err

    # In a child process: huggingface_hub reads HF_HUB_OFFLINE once, when first imported.
    import os
    import subprocess

    done = subprocess.run(
        [str(Path(sys.executable).with_name("mgx")), "model", "pull", "org/never-downloaded"],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(
        "mgx: error: HF_HUB_OFFLINE is set and org/never-downloaded is not in"
    )


def test_every_read_command_has_json() -> None:
    from typer.main import get_command

    from runtime.cli.model import app

    group = get_command(app)
    for name in ("list", "status", "stats", "gpus", "pull", "serve", "stop", "switch", "add"):
        params = {p.name for p in group.commands[name].params}
        assert "json_output" in params, name


def test_cli_import_stays_light() -> None:
    import subprocess

    probe = (
        "import sys, runtime.cli, runtime.models; "
        "print(' '.join(m for m in ('prometheus_client', 'huggingface_hub', 'vllm', 'torch', "
        "'httpx') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
