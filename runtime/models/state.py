"""On-disk state of managed model servers and registered external endpoints.

Layout under ``Settings.model_state_dir``::

    servers/NAME@PORT.json   one managed vLLM process (a model may have several: replicas)
    external/NAME.json       an OpenAI-compatible endpoint mgx does not run
    logs/NAME@PORT.log       the server's stdout+stderr
    keys/NAME.key            generated API key (0600), only for non-loopback servers
    .lock                    file lock held by every mutation

Writes are atomic (temp file in the same directory, fsync, ``os.replace``), so a reader never
sees half a record. Secret values never enter the JSON files; only the key file's path does.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from marketplace._fs import atomic_write
from marketplace.settings import Settings
from runtime.errors import ModelServerError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    """Names become file names: letters, digits, ``.``, ``_``, ``-``; at most 64 characters."""
    if not _NAME.match(name):
        raise ModelServerError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' (max 64)"
        )
    return name


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as exposed


def connect_host(host: str) -> str:
    """The address a client on this machine uses to reach a server bound to ``host``."""
    if host in ("0.0.0.0", "", "*"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True, kw_only=True)
class ServerRecord:
    """One managed vLLM server process."""

    name: str
    model: str  # what the user asked for (id or path)
    served_model: str  # the id vLLM reports in /v1/models and expects in requests
    host: str
    port: int
    pid: int
    python: str
    argv: tuple[str, ...]
    log_path: str
    started_at: float
    parser: str | None = None
    chat_template: str | None = None
    api_key_file: str | None = None
    gpus: str | None = None  # CUDA_VISIBLE_DEVICES given to the server, if any
    gpu_memory_utilization: float | None = None
    options: dict[str, Any] = field(default_factory=dict)  # ServeOptions, to restart it

    @property
    def key(self) -> str:
        return f"{self.name}@{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the OpenAI-compatible API (ends in ``/v1``)."""
        return f"http://{connect_host(self.host)}:{self.port}/v1"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["argv"] = list(self.argv)
        data["url"] = self.url
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerRecord:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["argv"] = tuple(fields.get("argv", ()))
        return cls(**fields)


@dataclass(frozen=True, kw_only=True)
class ExternalRecord:
    """An OpenAI-compatible endpoint that mgx does not manage (SGLang, Ollama, a cloud API)."""

    name: str
    urls: tuple[str, ...]
    model: str
    api_key_env: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["urls"] = list(self.urls)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExternalRecord:
        return cls(
            name=data["name"],
            urls=tuple(data["urls"]),
            model=data["model"],
            api_key_env=data.get("api_key_env"),
        )


class StateStore:
    """Reads and atomically writes the records under ``settings.model_state_dir``."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.model_state_dir
        self.servers_dir = self.root / "servers"
        self.external_dir = self.root / "external"
        self.logs_dir = self.root / "logs"
        self.keys_dir = self.root / "keys"

    @contextmanager
    def locked(self, timeout: float = 60.0) -> Iterator[None]:
        """Hold the state lock (every mutation runs under it)."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(self.root / ".lock"), timeout=timeout):
                yield
        except Timeout as exc:
            raise ModelServerError(
                f"another mgx command holds {self.root / '.lock'}; try again when it finishes"
            ) from exc

    # --- managed servers -----------------------------------------------------------------
    def servers(self, name: str | None = None) -> list[ServerRecord]:
        """Managed server records (all, or those of ``name``), sorted by name then port."""
        records = []
        for path in sorted(self.servers_dir.glob("*.json")) if self.servers_dir.is_dir() else ():
            try:
                record = ServerRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ModelServerError(f"corrupt state file {path}: {exc}; remove it") from exc
            if name is None or record.name == name:
                records.append(record)
        return sorted(records, key=lambda r: (r.name, r.port))

    def save_server(self, record: ServerRecord) -> Path:
        path = self.servers_dir / f"{record.key}.json"
        atomic_write(path, json.dumps(record.to_json(), indent=2) + "\n", mode=0o644)
        return path

    def remove_server(self, record: ServerRecord) -> None:
        (self.servers_dir / f"{record.key}.json").unlink(missing_ok=True)

    def log_path(self, name: str, port: int) -> Path:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        return self.logs_dir / f"{name}@{port}.log"

    # --- external endpoints --------------------------------------------------------------
    def externals(self) -> list[ExternalRecord]:
        records = []
        paths = sorted(self.external_dir.glob("*.json")) if self.external_dir.is_dir() else []
        for path in paths:
            try:
                records.append(ExternalRecord.from_json(json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ModelServerError(f"corrupt state file {path}: {exc}; remove it") from exc
        return records

    def external(self, name: str) -> ExternalRecord | None:
        return next((r for r in self.externals() if r.name == name), None)

    def save_external(self, record: ExternalRecord) -> None:
        path = self.external_dir / f"{record.name}.json"
        atomic_write(path, json.dumps(record.to_json(), indent=2) + "\n", mode=0o644)

    def remove_external(self, name: str) -> bool:
        path = self.external_dir / f"{name}.json"
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    # --- API keys ------------------------------------------------------------------------
    def key_path(self, name: str) -> Path:
        return self.keys_dir / f"{name}.key"

    def ensure_api_key(self, name: str) -> Path:
        """Create (once) a random API key for ``name``, readable only by this user."""
        path = self.key_path(name)
        if path.is_file():
            return path
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.keys_dir, 0o700)
        atomic_write(path, secrets.token_urlsafe(32) + "\n", mode=0o600)
        return path


def read_api_key(path: str | Path) -> str:
    """The key stored at ``path`` (never logged or printed by mgx)."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ModelServerError(f"cannot read the API key file {path}: {exc.strerror}") from exc
