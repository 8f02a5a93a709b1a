"""Managed vLLM servers: plan the command line, start, wait for health, stop, switch.

A managed server is ``PYTHON -m vllm.entrypoints.openai.api_server …`` run as a detached
process group (so ``mgx model serve`` can return while it keeps serving), with its output in
``logs/NAME@PORT.log`` and a state record written atomically. ``PYTHON`` is configurable
(``--python`` / ``MGX_VLLM_PYTHON``) because vLLM usually lives in its own environment (CUDA
wheels; the CPU wheel for testing). The module entry point is used rather than the ``vllm``
console script, which some builds (the community CPU wheel) ship broken.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from marketplace._process import run
from marketplace.settings import Settings
from runtime.errors import ModelNotFoundError, ModelServerError
from runtime.models.families import Detection, detect_family, find_template
from runtime.models.gpu import FitCheck, check_fit, detect_gpus, estimate_footprint
from runtime.models.pull import local_model_dir
from runtime.models.state import ServerRecord, StateStore, check_name, is_loopback

VLLM_MODULE = "vllm.entrypoints.openai.api_server"
DEFAULT_PORT = 8000
PORT_SEARCH = 100


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """Everything ``mgx model serve`` accepts; stored in the record so switch can reuse it."""

    model: str
    name: str | None = None
    port: int | None = None
    host: str = "127.0.0.1"
    python: str | None = None
    gpu_memory_utilization: float | None = None
    tensor_parallel_size: int | None = None
    pipeline_parallel_size: int | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    dtype: str | None = None
    enable_lora: bool = False
    enable_prefix_caching: bool = False
    enable_sleep_mode: bool = False
    tool_call_parser: str | None = None  # None: from the family table; "none": no tool calling
    chat_template: str | None = None  # a path, or None for the table's recommendation
    served_model_name: str | None = None
    gpus: str | None = None  # CUDA_VISIBLE_DEVICES for this server, e.g. "0" or "2,3"
    replica: bool = False  # add an endpoint to an existing name instead of refusing
    check_fit: bool = True
    extra: tuple[str, ...] = ()  # passed to vLLM verbatim (e.g. --distributed-executor-backend ray)
    env: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["extra"] = list(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServeOptions:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["extra"] = tuple(fields.get("extra", ()))
        return cls(**fields)


@dataclass(frozen=True, kw_only=True)
class LaunchPlan:
    """The resolved command: what would run, and why (``mgx model serve --dry-run`` shows it)."""

    name: str
    port: int
    argv: tuple[str, ...]
    env_overrides: dict[str, str]  # names only are shown to users (values may be secrets)
    served_model: str
    model_arg: str
    detection: Detection
    parser: str | None
    chat_template: str | None
    fit: FitCheck
    api_key_file: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ServeResult:
    record: ServerRecord
    plan: LaunchPlan
    seconds: float


def vllm_python(explicit: str | None = None) -> str:
    """The interpreter that runs vLLM: ``--python``, then ``$MGX_VLLM_PYTHON``, then this one."""
    return explicit or os.environ.get("MGX_VLLM_PYTHON") or sys.executable


def default_name(model: str) -> str:
    """A state-file-safe name from a model id or path (``Qwen/Qwen2.5-7B`` -> ``Qwen2.5-7B``)."""
    base = Path(model.rstrip("/")).name or "model"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._") or "model"
    return cleaned[:64]


def plan_launch(options: ServeOptions, *, settings: Settings, dry_run: bool = False) -> LaunchPlan:
    """Resolve names, port, tool-calling flags and the GPU check into a command line.

    Raises ModelServerError before anything starts when the name is taken, the port is busy,
    vLLM is not importable by the chosen Python, or the model cannot fit on the GPUs.
    """
    store = StateStore(settings)
    name = check_name(options.name or default_name(options.model))
    existing = store.servers(name)
    if existing and not options.replica:
        raise ModelServerError(
            f"{name} is already served at {existing[0].url}; stop it first, pass --replica to add "
            "another endpoint, or choose another --name"
        )
    if store.external(name) is not None:
        raise ModelServerError(f"{name} names an external endpoint; choose another --name")
    python = vllm_python(options.python)
    # A dry run shows the command even where vLLM is not installed (yet): that is a note.
    vllm_missing: str | None = None
    try:
        _check_vllm_importable(python)
    except ModelServerError as exc:
        if not dry_run:
            raise
        vllm_missing = str(exc)

    model_dir = local_model_dir(options.model, settings=settings)
    model_arg = str(model_dir) if model_dir else options.model
    # A path is served under its absolute path (vLLM's own default); a pulled model keeps its
    # Hub id, so clients name it the same whether it was pulled first or not.
    is_path = Path(options.model).expanduser().is_dir()
    served = options.served_model_name or (model_arg if is_path else options.model)
    port = options.port or _free_port(options.host)
    if options.port and not _port_free(options.host, options.port):
        raise ModelServerError(f"port {options.port} on {options.host} is already in use")

    notes: list[str] = [vllm_missing] if vllm_missing else []
    detection = detect_family(
        options.model if model_dir is None else model_arg, model_dir=model_dir
    )
    parser = options.tool_call_parser or detection.parser
    if parser == "none":
        parser = None
    template = options.chat_template
    if (
        template is not None
        and not Path(template).expanduser().is_file()
        and template != "tool_use"
    ):
        raise ModelServerError(f"chat template {template} does not exist")
    if (
        template is None
        and options.tool_call_parser is None
        and detection.family is not None
        and detection.chat_template
    ):
        found = find_template(detection.chat_template)
        if found is not None:
            template = str(found)
        else:
            notes.append(
                f"vLLM recommends {detection.chat_template} for {detection.family.name}; it is "
                "not installed with vLLM: set MGX_VLLM_TEMPLATES to a vLLM checkout's examples/ "
                "or pass --chat-template (using the model's own template meanwhile)"
            )
    if parser is None and options.tool_call_parser != "none":
        notes.append(f"tool calling not enabled: {detection.reason}")

    report = detect_gpus()
    gpu_indices = _indices(options.gpus)
    fit = check_fit(
        estimate_footprint(model_dir, dtype=options.dtype) if model_dir else None,
        report,
        gpu_memory_utilization=options.gpu_memory_utilization or 0.9,
        tensor_parallel_size=options.tensor_parallel_size or 1,
        pipeline_parallel_size=options.pipeline_parallel_size or 1,
        max_model_len=options.max_model_len,
        gpu_indices=gpu_indices,
        shared_fractions=_shared_fractions(store, report),
    )
    if fit.fits is False and options.check_fit:
        raise ModelServerError(fit.message + " (--no-fit-check to start anyway)")
    notes.extend(fit.warnings)

    argv: list[str] = [python, "-m", VLLM_MODULE, "--model", model_arg]
    argv += ["--served-model-name", served, "--host", options.host, "--port", str(port)]
    for flag, value in (
        ("--gpu-memory-utilization", options.gpu_memory_utilization),
        ("--tensor-parallel-size", options.tensor_parallel_size),
        ("--pipeline-parallel-size", options.pipeline_parallel_size),
        ("--max-model-len", options.max_model_len),
        ("--max-num-seqs", options.max_num_seqs),
        ("--dtype", options.dtype),
    ):
        if value is not None:
            argv += [flag, str(value)]
    env: dict[str, str] = dict(options.env)
    if options.enable_lora:
        argv.append("--enable-lora")
        env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"  # lets `mgx model lora load` work
    if options.enable_prefix_caching:
        argv.append("--enable-prefix-caching")
    if options.enable_sleep_mode:
        argv.append("--enable-sleep-mode")
        env["VLLM_SERVER_DEV_MODE"] = "1"  # /sleep and /wake_up are dev-mode endpoints
    if parser:
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", parser]
    if template:
        argv += ["--chat-template", template]
    argv += list(options.extra)
    if options.gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = options.gpus
    key_file = None
    if not is_loopback(options.host):
        # Reachable from other machines: never without a key. The key goes to vLLM through
        # VLLM_API_KEY, not argv, so it does not show up in `ps`.
        key_file = str(store.key_path(name))
        notes.append(f"listening on {options.host}: requests need the API key in {key_file}")
    return LaunchPlan(
        name=name,
        port=port,
        argv=tuple(argv),
        env_overrides=env,
        served_model=served,
        model_arg=model_arg,
        detection=detection,
        parser=parser,
        chat_template=template,
        fit=fit,
        api_key_file=key_file,
        notes=tuple(notes),
    )


async def start_server(
    options: ServeOptions, *, settings: Settings, timeout: float = 900.0
) -> ServeResult:
    """Start a managed vLLM server and return once ``/health`` answers 200.

    On failure (the process exits, or ``timeout`` passes) the process group is killed, the
    record removed, and ModelServerError names the last error line of the log.
    """
    store = StateStore(settings)
    began = time.monotonic()
    with store.locked():
        plan = plan_launch(options, settings=settings)
        env = {**os.environ, **plan.env_overrides}
        if plan.api_key_file:
            from runtime.models.state import read_api_key

            env["VLLM_API_KEY"] = read_api_key(store.ensure_api_key(plan.name))
        log_path = store.log_path(plan.name, plan.port)
        with open(log_path, "ab") as log:
            log.write(f"\n=== mgx: starting {' '.join(plan.argv)}\n".encode())
            log.flush()
            try:
                # Not leashed (marketplace._process), by design: a managed server is detached and
                # keeps serving after `mgx model serve` returns; `mgx model stop` ends its group.
                process = subprocess.Popen(
                    plan.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,  # own process group: stop kills vLLM's workers too
                )
            except OSError as exc:
                raise ModelServerError(f"cannot run {plan.argv[0]}: {exc.strerror}") from exc
        record = ServerRecord(
            name=plan.name,
            model=options.model,
            served_model=plan.served_model,
            host=options.host,
            port=plan.port,
            pid=process.pid,
            python=plan.argv[0],
            argv=plan.argv,
            log_path=str(log_path),
            started_at=time.time(),
            parser=plan.parser,
            chat_template=plan.chat_template,
            api_key_file=plan.api_key_file,
            gpus=options.gpus,
            gpu_memory_utilization=options.gpu_memory_utilization,
            options=replace(options, name=plan.name, port=plan.port).to_json(),
        )
        store.save_server(record)
    try:
        await _wait_healthy(process, record, timeout=timeout)
    except BaseException:
        _kill_group(process.pid, grace=10.0)
        _reap(process)
        with store.locked():
            store.remove_server(record)
        raise
    return ServeResult(record=record, plan=plan, seconds=time.monotonic() - began)


@asynccontextmanager
async def running_server(
    options: ServeOptions, *, settings: Settings, timeout: float = 900.0
) -> AsyncIterator[ServerRecord]:
    """Start a server for the duration of a block and always stop it (tests, benchmarks)."""
    result = await start_server(options, settings=settings, timeout=timeout)
    try:
        yield result.record
    finally:
        stop_servers(result.record.name, settings=settings, port=result.record.port)


def stop_servers(
    name: str, *, settings: Settings, port: int | None = None, grace: float = 30.0
) -> list[ServerRecord]:
    """Stop ``name``'s servers (or the one on ``port``): SIGTERM, then SIGKILL after ``grace``."""
    store = StateStore(settings)
    with store.locked():
        records = [r for r in store.servers(name) if port is None or r.port == port]
        if not records:
            raise ModelNotFoundError(f"no managed server named {name}; see `mgx model list`")
        for record in records:
            if is_alive(record):
                _kill_group(record.pid, grace=grace)
            store.remove_server(record)
    return records


async def switch_model(
    name: str, new_model: str, *, settings: Settings, timeout: float = 900.0, **overrides: Any
) -> list[ServeResult]:
    """Stop ``name`` and serve ``new_model`` on the same host/port(s) with the same flags.

    Tool-call parser and chat template are detected again for the new model unless given in
    ``overrides`` (any ServeOptions field).
    """
    store = StateStore(settings)
    records = store.servers(name)
    if not records:
        raise ModelNotFoundError(f"no managed server named {name}; see `mgx model list`")
    stop_servers(name, settings=settings)
    results = []
    for index, record in enumerate(records):
        previous = ServeOptions.from_json(record.options)
        options = replace(
            previous,
            model=new_model,
            name=name,
            port=record.port,
            tool_call_parser=None,
            chat_template=None,
            served_model_name=None,
            replica=index > 0,
        )
        options = replace(options, **overrides)
        await _wait_port_free(record.host, record.port, timeout=30.0)
        results.append(await start_server(options, settings=settings, timeout=timeout))
    return results


def is_alive(record: ServerRecord) -> bool:
    """True when the recorded pid is still the vLLM process mgx started (not a reused pid)."""
    pid = record.pid
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our (exited) child
    except ChildProcessError:
        pass
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return False
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            return False
        return VLLM_MODULE.encode() in cmdline or record.argv[2].encode() in cmdline
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return sys.platform != "linux"


async def check_health(url: str, *, timeout: float = 3.0) -> bool:
    """GET ``/health`` beside the API root of ``url``; True on HTTP 200."""
    import httpx

    root = url.rstrip("/").removesuffix("/v1")
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(f"{root}/health")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def _wait_healthy(
    process: subprocess.Popen[bytes], record: ServerRecord, *, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise ModelServerError(
                f"vLLM exited with code {code} while starting: {_last_error(Path(record.log_path))}"
                f" (log: {record.log_path})"
            )
        if await check_health(record.url, timeout=2.0):
            return
        await asyncio.sleep(0.5)
    raise ModelServerError(
        f"vLLM did not answer /health within {timeout:.0f}s (log: {record.log_path})"
    )


def _last_error(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-200:]
    except OSError:
        return "no log"
    # Prefer the exception line of a traceback; vLLM logs many INFO lines around it.
    for line in reversed(lines):
        stripped = line.strip()
        if re.match(r"^(\(\w+ pid=\d+\) )?[A-Za-z_.]*(Error|Exception)\b.*:", stripped):
            return stripped[:300]
    for line in reversed(lines):
        if "ERROR" in line or "error:" in line:
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else "empty log"


def _kill_group(pid: int, *, grace: float) -> None:
    try:
        pgid: int | None = os.getpgid(pid)
    except ProcessLookupError:
        return
    if pgid == os.getpgid(0):  # never signal our own group (the record would be wrong)
        pgid = None
    try:
        os.killpg(pgid, signal.SIGTERM) if pgid else os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _pid_running(pid):
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(pgid, signal.SIGKILL) if pgid else os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if pgid:
        # vLLM's engine and worker processes share the group; make sure none outlive it.
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _pid_running(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _check_vllm_importable(python: str) -> None:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"
    try:
        done = run([python, "-c", probe], timeout=60)
    except OSError as exc:
        raise ModelServerError(f"cannot run the vLLM Python {python}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ModelServerError(f"the vLLM Python {python} did not answer within 60s") from exc
    if done.returncode != 0:
        raise ModelServerError(
            f"vLLM is not installed for {python}: install it there (pip install vllm; on a "
            "machine without a GPU see docs/vllm.md for the CPU wheel) or pass --python / set "
            "MGX_VLLM_PYTHON to the Python of an environment that has it"
        )


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host if host not in ("", "*") else "0.0.0.0", port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    for port in range(DEFAULT_PORT, DEFAULT_PORT + PORT_SEARCH):
        if _port_free(host, port):
            return port
    raise ModelServerError(
        f"no free port in {DEFAULT_PORT}-{DEFAULT_PORT + PORT_SEARCH - 1} on {host}; pass --port"
    )


async def _wait_port_free(host: str, port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _port_free(host, port):
        if time.monotonic() > deadline:
            raise ModelServerError(f"port {port} is still in use after stopping the old model")
        await asyncio.sleep(0.3)


def _indices(gpus: str | None) -> tuple[int, ...] | None:
    if gpus is None:
        return None
    try:
        return tuple(int(part) for part in gpus.split(",") if part.strip())
    except ValueError as exc:
        raise ModelServerError(f"--gpus takes GPU indices like 0 or 2,3, not {gpus!r}") from exc


def _shared_fractions(store: StateStore, report: Any) -> dict[int, float]:
    """Memory fractions already claimed per GPU by the other managed servers that are alive."""
    shares: dict[int, float] = {}
    everyone = tuple(g.index for g in report.gpus)
    for record in store.servers():
        if not is_alive(record):
            continue
        indices = _indices(record.gpus) or everyone
        for index in indices:
            shares[index] = shares.get(index, 0.0) + (record.gpu_memory_utilization or 0.9)
    return shares
