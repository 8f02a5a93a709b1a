"""Real vLLM tier: the CPU wheel serving a tiny random-weight model started by `mgx model serve`.

Slow (the session server takes about a minute to start on 2 cores; the switch test starts two
more), so marked ``vllm``. See conftest.py for how vLLM is installed and the model made.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import httpx
import jsonschema
import pytest

from marketplace.settings import Settings
from runtime.models import ModelTarget, pick_endpoint, resolve_target
from runtime.models.families import FAMILIES
from tests.models.conftest import MGX, SERVER_NAME, free_port, run_mgx

pytestmark = pytest.mark.vllm

SHARED_PREFIX = (
    "You are a careful assistant. " + "The quick brown fox jumps over the lazy dog. " * 40
)


def _chat(target: ModelTarget, content: str, *, max_tokens: int = 8, **extra) -> dict:
    return {
        "model": target.model,
        "messages": [
            {"role": "system", "content": SHARED_PREFIX},
            {"role": "user", "content": content},
        ],
        "max_tokens": max_tokens,
        **extra,
    }


def test_health_models_and_status(vllm_server: ModelTarget, vllm_server_home: Path) -> None:
    base = vllm_server.endpoints[0]
    assert base.startswith("http://127.0.0.1:") and base.endswith("/v1")
    assert vllm_server.api_key is None  # loopback: no key
    assert httpx.get(base.removesuffix("/v1") + "/health", timeout=10).status_code == 200
    models = httpx.get(f"{base}/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == [vllm_server.model]

    done = run_mgx("model", "status", "--json", home=vllm_server_home)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert row["name"] == SERVER_NAME and row["healthy"] is True and row["process_alive"] is True
    assert row["parser"] == "hermes"  # detected from the template's <tool_call> marker
    assert Path(row["log_path"]).read_text().count("Starting vLLM") >= 1


async def test_streaming_chat(vllm_server: ModelTarget) -> None:
    base = await pick_endpoint(vllm_server)
    body = _chat(
        vllm_server,
        "stream please",
        max_tokens=12,
        stream=True,
        ignore_eos=True,  # vLLM extension: a random model may stop at once otherwise
        stream_options={"include_usage": True},
    )
    chunks, finish, usage, done, events = [], None, None, False, 0
    async with httpx.AsyncClient(timeout=120) as client:
        async with client.stream("POST", f"{base}/chat/completions", json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                payload = line.removeprefix("data: ")
                if payload == "[DONE]":
                    done = True
                    break
                event = json.loads(payload)
                events += 1
                usage = event.get("usage") or usage
                for choice in event.get("choices", []):
                    if choice["delta"].get("content"):
                        chunks.append(choice["delta"]["content"])
                    finish = choice.get("finish_reason") or finish
    assert done and finish == "length"
    # vLLM merges the deltas a slow reader has not taken yet, so the number of content chunks
    # varies; the stream still has the role chunk, content, the finish and the usage events.
    assert events >= 3 and "".join(chunks)
    assert usage["completion_tokens"] == 12 and usage["prompt_tokens"] > 100


async def test_stats_reflect_real_traffic(vllm_server: ModelTarget, vllm_server_home: Path) -> None:
    async with httpx.AsyncClient(timeout=120) as client:
        replies = await asyncio.gather(
            *(
                client.post(
                    f"{vllm_server.endpoints[0]}/chat/completions",
                    json=_chat(vllm_server, f"question {i}", max_tokens=16, ignore_eos=True),
                )
                for i in range(4)
            )
        )
    assert all(r.status_code == 200 for r in replies)
    generated = sum(r.json()["usage"]["completion_tokens"] for r in replies)
    assert generated == 64

    done = run_mgx("model", "stats", SERVER_NAME, "--json", home=vllm_server_home)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    stats = row["stats"]
    assert row["error"] is None and row["url"] == vllm_server.endpoints[0]
    assert stats["running"] == 0 and stats["waiting"] == 0
    assert stats["generation_tokens_total"] >= generated
    assert stats["prompt_tokens_total"] >= 4 * 100
    # Four prompts share a ~500-token prefix: later ones hit the prefix cache.
    assert stats["prefix_cache_hit_rate"] > 0.2
    assert 0 < stats["ttft_mean_s"] < 60 and stats["ttft_p50_s"] > 0
    assert 0.0 <= stats["kv_cache_usage"] <= 1.0
    assert stats["generation_tokens_per_s"] == 0.0  # idle during the two scrapes


def test_stats_watch_streams_json_lines(vllm_server: ModelTarget, vllm_server_home: Path) -> None:
    env = {**os.environ, "MGX_HOME": str(vllm_server_home)}
    process = subprocess.Popen(
        [MGX, "model", "stats", SERVER_NAME, "--watch", "--json", "--interval", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell that started pytest in the background may have left SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines = [process.stdout.readline() for _ in range(2)]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    for line in lines:
        snapshot = json.loads(line)
        assert snapshot["endpoints"][0]["stats"]["running"] >= 0
    assert process.returncode == 130


async def test_json_schema_response_format_is_enforced(vllm_server: ModelTarget) -> None:
    # The constrained retry of the tool-calling client relies on this: even a random model
    # must produce JSON that matches the schema when vLLM's guided decoding is on.
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": ["add"]},
            "arguments": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }
    body = _chat(
        vllm_server,
        "call add",
        max_tokens=200,
        response_format={"type": "json_schema", "json_schema": {"name": "call", "schema": schema}},
    )
    async with httpx.AsyncClient(timeout=120) as client:
        reply = await client.post(f"{vllm_server.endpoints[0]}/chat/completions", json=body)
    assert reply.status_code == 200
    content = reply.json()["choices"][0]["message"]["content"]
    jsonschema.validate(json.loads(content), schema)


def test_lora_and_sleep_refused_with_clear_errors(
    vllm_server: ModelTarget, vllm_server_home: Path
) -> None:
    lora = run_mgx(
        "model", "lora", "load", SERVER_NAME, "ad", "/nonexistent", home=vllm_server_home
    )
    assert lora.returncode == 1
    assert "--enable-lora" in lora.stderr and lora.stderr.startswith("mgx: error:")
    sleep = run_mgx("model", "sleep", SERVER_NAME, home=vllm_server_home)
    assert sleep.returncode == 1 and "--enable-sleep-mode" in sleep.stderr
    again = run_mgx("model", "serve", "whatever", "--name", SERVER_NAME, home=vllm_server_home)
    assert again.returncode == 1 and "already served" in again.stderr


def test_family_parsers_exist_in_vllm(vllm_python: Path) -> None:
    probe = (
        "from vllm.tool_parsers import ToolParserManager as M; "
        "print('\\n'.join(sorted(M.list_registered())))"
    )
    done = subprocess.run(
        [str(vllm_python), "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    registered = set(done.stdout.split())
    assert {family.parser for family in FAMILIES} <= registered


def test_failed_start_is_reported_and_cleaned_up(
    vllm_python: Path, tmp_path: Path, mgx_home: Path
) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "no_such_arch"}))
    port = free_port()
    done = run_mgx(
        "model", "serve", str(broken), "--python", str(vllm_python), "--port", str(port),
        "--tool-call-parser", "none", home=mgx_home, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("mgx: error: vLLM exited with code")
    assert "log:" in done.stderr
    assert run_mgx("model", "list", "--json", home=mgx_home).stdout.strip() == "[]"
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_api_key_off_loopback_then_switch(
    vllm_python: Path, tiny_model_dir: Path, tmp_path: Path, mgx_home: Path
) -> None:
    second = tmp_path / "tiny-copy"
    shutil.copytree(tiny_model_dir, second)
    port = free_port()
    served = run_mgx(
        "model", "serve", str(tiny_model_dir), "--python", str(vllm_python), "--name", "keyed",
        "--host", "0.0.0.0", "--port", str(port), "--dtype", "float32",
        "--max-model-len", "1024", "--json", home=mgx_home, timeout=700,
    )  # fmt: skip
    assert served.returncode == 0, served.stderr
    try:
        record = json.loads(served.stdout)
        key_file = Path(record["api_key_file"])
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert len(key) >= 32
        state_text = (mgx_home / "state" / "models" / "servers" / f"keyed@{port}.json").read_text()
        assert key not in state_text and key not in served.stdout + served.stderr
        assert key not in Path(record["log_path"]).read_text()
        assert key not in " ".join(record["argv"])
        assert key.encode() not in Path(f"/proc/{record['pid']}/cmdline").read_bytes()

        base = f"http://127.0.0.1:{port}/v1"
        assert httpx.get(f"{base}/models", timeout=10).status_code == 401
        target = resolve_target("keyed", settings=Settings.from_env({"MGX_HOME": str(mgx_home)}))
        assert target.api_key == key
        ok = httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert ok.status_code == 200

        switched = run_mgx(
            "model", "switch", "keyed", str(second), "--json", home=mgx_home, timeout=700
        )
        assert switched.returncode == 0, switched.stderr
        (new,) = json.loads(switched.stdout)
        assert new["port"] == port and new["pid"] != record["pid"]
        assert new["host"] == "0.0.0.0" and new["api_key_file"] == str(key_file)
        models = httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert [m["id"] for m in models.json()["data"]] == [str(second)]
        assert not Path(f"/proc/{record['pid']}").exists()  # the old server is gone
    finally:
        stopped = run_mgx("model", "stop", "keyed", "--json", home=mgx_home, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    pid = json.loads(stopped.stdout)[0]["pid"]
    assert not Path(f"/proc/{pid}").exists()
    # Nothing of that process group survives (vLLM's engine core runs as a child).
    survivors = subprocess.run(
        ["pgrep", "-g", str(pid)], capture_output=True, text=True, check=False
    )
    assert survivors.stdout.strip() == ""


def test_dry_run_plans_without_starting(vllm_python: Path, tmp_path: Path, mgx_home: Path) -> None:
    py = str(vllm_python)

    def plan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_mgx("model", "serve", "--python", py, "--dry-run", "--json", *args,
                       home=mgx_home, env=env)  # fmt: skip

    exposed = plan("Qwen/Qwen2.5-7B-Instruct", "--host", "0.0.0.0", "--", "--seed", "7")
    assert exposed.returncode == 0, exposed.stderr
    data = json.loads(exposed.stdout)
    assert data["parser"] == "hermes" and data["family"] == "qwen"
    argv = data["argv"]
    assert argv[:3] == [py, "-m", "vllm.entrypoints.openai.api_server"]
    assert argv[argv.index("--tool-call-parser") + 1] == "hermes"
    assert "--enable-auto-tool-choice" in argv and argv[-2:] == ["--seed", "7"]
    assert data["api_key_file"].endswith("keys/Qwen2.5-7B-Instruct.key")
    assert not Path(data["api_key_file"]).exists()  # a dry run writes nothing

    templates = tmp_path / "vllm-checkout" / "examples"
    templates.mkdir(parents=True)
    (templates / "tool_chat_template_llama3.1_json.jinja").write_text("{{ messages }}")
    llama = plan(
        "meta-llama/Llama-3.1-8B-Instruct",
        env={"MGX_VLLM_TEMPLATES": str(templates.parent)},
    )
    argv = json.loads(llama.stdout)["argv"]
    assert argv[argv.index("--tool-call-parser") + 1] == "llama3_json"
    assert argv[argv.index("--chat-template") + 1] == str(
        templates / "tool_chat_template_llama3.1_json.jinja"
    )
    without = json.loads(plan("meta-llama/Llama-3.1-8B-Instruct").stdout)
    assert "--chat-template" not in without["argv"]
    assert any("MGX_VLLM_TEMPLATES" in note for note in without["notes"])

    off = json.loads(plan("Qwen/Qwen2.5-7B-Instruct", "--tool-call-parser", "none").stdout)
    assert "--enable-auto-tool-choice" not in off["argv"]

    missing = plan("Qwen/Qwen2.5-7B-Instruct", "--chat-template", str(tmp_path / "nope.jinja"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr

    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = plan("Qwen/Qwen2.5-7B-Instruct", "--port", str(port))
    assert taken.returncode == 1 and f"port {port} on 127.0.0.1 is already in use" in taken.stderr
