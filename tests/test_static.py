"""Static checks as tests: the tree stays ruff-clean and the library type-checks under
``mypy --strict`` (configured in pyproject.toml: ``[tool.mypy]`` and ``[tool.ruff]``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _show(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_ruff_check_is_clean() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, _show(result)


def test_ruff_format_is_clean() -> None:
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, _show(result)


@pytest.mark.parametrize(
    "targets",
    [
        pytest.param(["-p", "registry_cache"], id="registry_cache"),
        pytest.param(["-p", "runtime"], id="runtime"),
        pytest.param(["-p", "marketplace"], id="marketplace"),
    ],
)
def test_mypy_strict_is_clean(targets: list[str]) -> None:
    result = _run("mypy", "--strict", *targets)
    assert result.returncode == 0, _show(result)
