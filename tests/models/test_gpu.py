"""GPU detection and the will-it-fit estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.models.gpu import (
    OVERHEAD_BYTES,
    Footprint,
    GiB,
    Gpu,
    GpuReport,
    MiB,
    check_fit,
    detect_gpus,
    estimate_footprint,
    parse_nvidia_smi,
)

# The shape of `nvidia-smi --query-gpu=index,name,memory.total,memory.free
# --format=csv,noheader,nounits` (MiB), including a name with a comma and an N/A row.
SMI = """\
0, NVIDIA H100 80GB HBM3, 81559, 80000
1, NVIDIA A100-SXM4-40GB, 40960, 1024
2, GRID T4-16C, Inc., 16384, 16000
3, NVIDIA vGPU, [N/A], [N/A]
"""


def test_parse_nvidia_smi() -> None:
    gpus = parse_nvidia_smi(SMI)
    assert [g.index for g in gpus] == [0, 1, 2]
    assert gpus[0].name == "NVIDIA H100 80GB HBM3"
    assert gpus[0].total_bytes == 81559 * MiB and gpus[0].free_bytes == 80000 * MiB
    assert gpus[2].name == "GRID T4-16C, Inc."


def test_no_nvidia_smi_means_no_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: nvidia-smi is not found
    report = detect_gpus(nvidia_smi="nvidia-smi")
    assert report.gpus == () and report.source == "none"
    assert "nvidia-smi not found" in report.detail
    fit = check_fit(Footprint(weight_bytes=GiB, kv_bytes_per_token=1, dtype_bytes=2), report)
    assert fit.fits is None and "skipped" in fit.message


def _checkpoint(root: Path, *, weight_bytes: int, **config: object) -> Path:
    root.mkdir()
    base = {
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "hidden_size": 4096,
        "torch_dtype": "bfloat16",
    }
    (root / "config.json").write_text(json.dumps({**base, **config}))
    with open(root / "model.safetensors", "wb") as handle:
        handle.truncate(weight_bytes)  # sparse: the size is what counts
    return root


def test_estimate_footprint_llama_8b_shape(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path / "m", weight_bytes=16 * GiB)
    footprint = estimate_footprint(path)
    assert footprint.weight_bytes == 16 * GiB
    # 2 (K and V) x 32 layers x 8 KV heads x 128 head_dim x 2 bytes = 128 KiB per token
    assert footprint.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2
    assert estimate_footprint(path, dtype="float32").kv_bytes_per_token == 2 * 32 * 8 * 128 * 4
    assert estimate_footprint(tmp_path) is None  # no config.json


def _report(*gpus: tuple[int, int]) -> GpuReport:
    return GpuReport(
        gpus=tuple(
            Gpu(index=i, name="gpu", total_bytes=total * GiB, free_bytes=free * GiB)
            for i, (total, free) in enumerate(gpus)
        ),
        source="nvidia-smi",
    )


FOOTPRINT = Footprint(weight_bytes=16 * GiB, kv_bytes_per_token=128 * 1024, dtype_bytes=2)


def test_fits_on_an_80g_gpu() -> None:
    fit = check_fit(FOOTPRINT, _report((80, 79)), max_model_len=32768)
    assert fit.fits is True
    assert fit.need_bytes_per_gpu == 16 * GiB + 4 * GiB + OVERHEAD_BYTES
    assert fit.budget_bytes_per_gpu == int(80 * GiB * 0.9)


def test_too_big_for_one_24g_gpu_but_fits_with_tensor_parallel() -> None:
    long_context = check_fit(FOOTPRINT, _report((24, 24)), max_model_len=131072)
    assert long_context.fits is False
    assert "does not fit" in long_context.message and "--max-model-len" in long_context.message
    split = check_fit(
        FOOTPRINT, _report((24, 24), (24, 24)), max_model_len=65536, tensor_parallel_size=2
    )
    assert split.fits is True
    assert split.need_bytes_per_gpu == 8 * GiB + 4 * GiB + OVERHEAD_BYTES


def test_more_parallelism_than_gpus_is_refused() -> None:
    fit = check_fit(FOOTPRINT, _report((80, 80)), tensor_parallel_size=2, pipeline_parallel_size=2)
    assert fit.fits is False and "4 GPUs" in fit.message and "Ray" in fit.message


def test_busy_gpu_is_refused_with_the_free_memory_named() -> None:
    fit = check_fit(FOOTPRINT, _report((80, 30)), max_model_len=4096, gpu_memory_utilization=0.9)
    assert fit.fits is False and "30.0 GiB free" in fit.message
    assert check_fit(FOOTPRINT, _report((80, 30)), gpu_memory_utilization=0.35).fits is True


def test_shared_fractions_warn_when_oversubscribed() -> None:
    fit = check_fit(
        FOOTPRINT,
        _report((80, 80), (80, 80)),
        gpu_memory_utilization=0.5,
        gpu_indices=(1,),
        shared_fractions={1: 0.6, 0: 0.9},
    )
    assert fit.warnings == ("GPU 1: memory fractions of managed servers add up to 1.10 > 1",)
    ok = check_fit(
        FOOTPRINT, _report((80, 80)), gpu_memory_utilization=0.4, shared_fractions={0: 0.5}
    )
    assert ok.warnings == ()


def test_bad_fraction_and_unknown_model() -> None:
    assert check_fit(FOOTPRINT, _report((80, 80)), gpu_memory_utilization=1.5).fits is False
    unknown = check_fit(None, _report((80, 80)))
    assert unknown.fits is None and "not local" in unknown.message
