"""GPUs on this machine, and whether a model fits on them before vLLM is started.

vLLM takes ``gpu_memory_utilization x total memory`` of every GPU it uses and fails (after a
minute or more of loading) when the weights plus the KV cache for one full-length sequence do
not fit, or when less memory is free than it wants to take. Checking first gives a clear
message in a second instead. The estimate is deliberately simple:

    per GPU  = weights / (tp x pp) + kv_per_token x max_model_len / (tp x pp) + overhead
    budget   = gpu_memory_utilization x total memory

Weights come from the checkpoint's file sizes (safetensors or .bin), the KV cache per token from
``config.json`` (2 x layers x kv_heads x head_dim x dtype bytes). Several managed servers may
share a GPU with explicit fractions; a sum of fractions above 1 on one GPU is reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from marketplace._process import run

MiB = 1024 * 1024
GiB = 1024 * MiB
# CUDA context, activations and sampler buffers: vLLM's own profiling usually lands near this.
OVERHEAD_BYTES = 1 * GiB
DTYPE_BYTES = {
    "float32": 4, "fp32": 4, "float": 4,
    "float16": 2, "fp16": 2, "half": 2, "bfloat16": 2, "bf16": 2,
    "fp8": 1, "float8": 1, "int8": 1,
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Gpu:
    index: int
    name: str
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True, kw_only=True)
class GpuReport:
    """What detection found; ``source`` says how (``nvml``, ``nvidia-smi`` or ``none``)."""

    gpus: tuple[Gpu, ...]
    source: str
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Footprint:
    """Memory a model needs, independent of how it is split over GPUs."""

    weight_bytes: int
    kv_bytes_per_token: int | None
    dtype_bytes: int


@dataclass(frozen=True, kw_only=True)
class FitCheck:
    """The verdict: ``fits`` is None when there is nothing to check against (no GPU)."""

    fits: bool | None
    message: str
    need_bytes_per_gpu: int | None = None
    budget_bytes_per_gpu: int | None = None
    warnings: tuple[str, ...] = ()


def detect_gpus(*, nvidia_smi: str | None = None) -> GpuReport:
    """GPUs and their free memory, from NVML when ``pynvml`` is importable, else nvidia-smi."""
    if nvidia_smi is None:
        report = _from_nvml()
        if report is not None:
            return report
    exe = shutil.which(nvidia_smi or "nvidia-smi")
    if exe is None:
        return GpuReport(gpus=(), source="none", detail="nvidia-smi not found: no NVIDIA GPU")
    try:
        done = run(
            [
                exe,
                "--query-gpu=index,name,memory.total,memory.free",
                "--format=csv,noheader,nounits",
            ],
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return GpuReport(gpus=(), source="none", detail=f"nvidia-smi failed: {exc}")
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        detail = reason[0] if reason else f"exit {done.returncode}"
        return GpuReport(gpus=(), source="none", detail=f"nvidia-smi failed: {detail}")
    return GpuReport(gpus=parse_nvidia_smi(done.stdout), source="nvidia-smi")


def parse_nvidia_smi(text: str) -> tuple[Gpu, ...]:
    """Parse ``--query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits``."""
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        try:
            total, free = int(float(parts[-2])), int(float(parts[-1]))
        except ValueError:
            continue  # "[N/A]" on some virtual GPUs
        name = ", ".join(parts[1:-2])  # a name may itself contain ", "
        gpus.append(
            Gpu(index=int(parts[0]), name=name, total_bytes=total * MiB, free_bytes=free * MiB)
        )
    return tuple(gpus)


def _from_nvml() -> GpuReport | None:
    try:
        import pynvml  # optional (nvidia-ml-py); not a dependency of mgx
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # pynvml raises its own NVMLError family when there is no driver
        return None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(
                Gpu(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    total_bytes=int(memory.total),
                    free_bytes=int(memory.free),
                )
            )
        return GpuReport(gpus=tuple(gpus), source="nvml")
    finally:
        pynvml.nvmlShutdown()


def estimate_footprint(model_dir: Path, *, dtype: str | None = None) -> Footprint | None:
    """Estimate a local checkpoint's memory needs; None when ``model_dir`` has no config."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    text_config = config.get("text_config") if isinstance(config.get("text_config"), dict) else {}
    merged = {**config, **text_config}
    dtype_name = (dtype if dtype and dtype != "auto" else None) or str(
        merged.get("torch_dtype") or merged.get("dtype") or "bfloat16"
    )
    dtype_bytes = DTYPE_BYTES.get(dtype_name.lower().replace("torch.", ""), 2)
    files = list(model_dir.glob("*.safetensors")) or list(model_dir.glob("*.bin"))
    weight_bytes = sum(f.stat().st_size for f in files)
    layers = merged.get("num_hidden_layers")
    heads = merged.get("num_attention_heads")
    kv_heads = merged.get("num_key_value_heads") or heads
    hidden = merged.get("hidden_size")
    head_dim = merged.get("head_dim") or (hidden // heads if hidden and heads else None)
    kv = None
    if layers and kv_heads and head_dim:
        kv = 2 * int(layers) * int(kv_heads) * int(head_dim) * dtype_bytes
    return Footprint(weight_bytes=weight_bytes, kv_bytes_per_token=kv, dtype_bytes=dtype_bytes)


def check_fit(
    footprint: Footprint | None,
    report: GpuReport,
    *,
    gpu_memory_utilization: float = 0.9,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    max_model_len: int | None = None,
    gpu_indices: tuple[int, ...] | None = None,
    shared_fractions: dict[int, float] | None = None,
) -> FitCheck:
    """Say whether ``footprint`` fits the GPUs in ``report`` with these vLLM settings.

    ``shared_fractions`` maps GPU index -> memory fraction already given to other managed
    servers on it; ``gpu_indices`` restricts the check to the GPUs the server will see.
    """
    if not 0 < gpu_memory_utilization <= 1:
        return FitCheck(fits=False, message="--gpu-memory-utilization must be in (0, 1]")
    if not report.gpus:
        return FitCheck(fits=None, message=f"memory check skipped ({report.detail or 'no GPU'})")
    gpus = [g for g in report.gpus if gpu_indices is None or g.index in gpu_indices]
    world = tensor_parallel_size * pipeline_parallel_size
    if world > len(gpus):
        return FitCheck(
            fits=False,
            message=(
                f"tensor_parallel_size x pipeline_parallel_size = {world} GPUs, but only "
                f"{len(gpus)} visible here; lower them, or deploy over several nodes with Ray "
                "(see docs/vllm.md)"
            ),
        )
    used = sorted(gpus, key=lambda g: g.index)[:world]
    warnings = []
    for gpu in used:
        shared = (shared_fractions or {}).get(gpu.index, 0.0)
        if shared + gpu_memory_utilization > 1.0 + 1e-9:
            warnings.append(
                f"GPU {gpu.index}: memory fractions of managed servers add up to "
                f"{shared + gpu_memory_utilization:.2f} > 1"
            )
    budget = min(int(g.total_bytes * gpu_memory_utilization) for g in used)
    smallest_free = min(used, key=lambda g: g.free_bytes)
    if footprint is None:
        return FitCheck(
            fits=None,
            message="memory check skipped (model not local: no config.json to estimate from)",
            budget_bytes_per_gpu=budget,
            warnings=tuple(warnings),
        )
    weights = footprint.weight_bytes // world
    kv = 0
    if footprint.kv_bytes_per_token and max_model_len:
        kv = footprint.kv_bytes_per_token * max_model_len // world
    need = weights + kv + OVERHEAD_BYTES
    detail = (
        f"needs ~{need / GiB:.1f} GiB per GPU (weights {weights / GiB:.1f} GiB + KV cache "
        f"{kv / GiB:.1f} GiB for {max_model_len or '?'} tokens + {OVERHEAD_BYTES / GiB:.0f} GiB "
        f"overhead), budget {budget / GiB:.1f} GiB = {gpu_memory_utilization:g} x "
        f"{min(g.total_bytes for g in used) / GiB:.1f} GiB"
    )
    if need > budget:
        return FitCheck(
            fits=False,
            message=(
                f"model does not fit: {detail}; raise --tensor-parallel-size or "
                "--gpu-memory-utilization, lower --max-model-len, or use a quantised model"
            ),
            need_bytes_per_gpu=need,
            budget_bytes_per_gpu=budget,
            warnings=tuple(warnings),
        )
    wanted = int(smallest_free.total_bytes * gpu_memory_utilization)
    if smallest_free.free_bytes < wanted:
        return FitCheck(
            fits=False,
            message=(
                f"GPU {smallest_free.index} has {smallest_free.free_bytes / GiB:.1f} GiB free but "
                f"--gpu-memory-utilization {gpu_memory_utilization:g} asks vLLM to take "
                f"{wanted / GiB:.1f} GiB; lower the fraction or stop what uses that GPU"
            ),
            need_bytes_per_gpu=need,
            budget_bytes_per_gpu=budget,
            warnings=tuple(warnings),
        )
    return FitCheck(
        fits=True,
        message=f"fits: {detail}",
        need_bytes_per_gpu=need,
        budget_bytes_per_gpu=budget,
        warnings=tuple(warnings),
    )
