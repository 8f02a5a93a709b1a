"""Merge mgx's entries into a client's config, and take exactly those out again.

Every write: the file is parsed (a broken config is refused, never overwritten), only mgx's
members change, a backup of the original is kept next to it before mgx first changes it
(``NAME.mgx-backup``), and the new text replaces the old atomically with the same mode.
What mgx wrote is recorded in ``<state dir>/clients.json`` (file, entry name, a digest of the
entry): ``remove`` takes out those entries only, and leaves one the user has since edited.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketplace.clients._entries import Launch, render
from marketplace.clients._table import CLIENTS, Client, Where, client_by_id
from marketplace.errors import ConfigError

if TYPE_CHECKING:
    from marketplace.settings import Settings

__all__ = [
    "ClientChange",
    "ClientStatus",
    "add_entries",
    "client_servers",
    "list_clients",
    "remove_entries",
]

BACKUP_SUFFIX = ".mgx-backup"


@dataclass(frozen=True, kw_only=True)
class ClientChange:
    client: str
    path: Path
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # mgx entries edited by hand: left in place
    backup: Path | None = None
    diff: str = ""
    written: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ClientStatus:
    client: str
    name: str
    path: Path
    present: bool
    mgx_entries: list[str]
    other_servers: list[str]
    error: str = ""


# --- documents ---------------------------------------------------------------------------------


def _open(client: Client, text: str, where: str) -> Any:
    if client.format == "toml":
        from marketplace.clients._toml import TomlDocument

        return TomlDocument(text, where=where)
    if client.format == "yaml":
        from marketplace.clients._yaml import YamlDocument

        return YamlDocument(text, where=where)
    from marketplace.clients._jsonc import JsoncDocument

    return JsoncDocument(text, where=where)


def _servers(client: Client, doc: Any) -> dict[str, Any]:
    """The client's servers by name (Continue keeps a list of ``{name: ...}``)."""
    data: Any = doc.data()
    for key in client.container:
        data = data.get(key) if isinstance(data, dict) else None
    if isinstance(data, list):
        return {str(s.get("name")): s for s in data if isinstance(s, dict) and s.get("name")}
    return dict(data) if isinstance(data, dict) else {}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


# --- the record of what mgx wrote --------------------------------------------------------------


def _state_path(settings: Settings) -> Path:
    return settings.state_dir / "clients.json"


def _load_state(settings: Settings) -> dict[str, Any]:
    try:
        state = json.loads(_state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _save_state(settings: Settings, state: dict[str, Any]) -> None:
    from marketplace._fs import atomic_write

    atomic_write(_state_path(settings), json.dumps(state, indent=1, sort_keys=True) + "\n")


# --- operations --------------------------------------------------------------------------------


def client_servers(client_id: str, where: Where) -> tuple[Path, dict[str, Any]]:
    """A client's config path and its servers by name (empty when the file does not exist)."""
    client = client_by_id(client_id)
    path = client.path(where)
    if not path.exists():
        return path, {}
    return path, _servers(client, _open(client, _read(path), str(path)))


def list_clients(settings: Settings, where: Where) -> list[ClientStatus]:
    """Every known client: whether its config exists, mgx's entries and the other servers."""
    state = _load_state(settings)
    out = []
    for client in CLIENTS:
        if client.workspace and where.project is None:
            continue
        path = client.path(where)
        recorded = set(state.get(str(path), {}).get("entries", {}))
        mine: list[str] = []
        others: list[str] = []
        error = ""
        if path.exists():
            try:
                servers = _servers(client, _open(client, _read(path), str(path)))
                mine = sorted(n for n in servers if n in recorded)
                others = sorted(n for n in servers if n not in recorded)
            except ConfigError as exc:
                error = str(exc)
        out.append(
            ClientStatus(
                client=client.id,
                name=client.name,
                path=path,
                present=path.exists(),
                mgx_entries=mine,
                other_servers=others,
                error=error,
            )
        )
    return out


def add_entries(
    settings: Settings,
    client_id: str,
    launches: list[Launch],
    *,
    where: Where,
    dry_run: bool = False,
) -> ClientChange:
    """Merge ``launches`` into the client's config (replacing mgx's own earlier entries)."""
    client = client_by_id(client_id)
    path = client.path(where)
    existed = path.exists()
    if existed:
        _refuse_symlink_loop(path)
    elif not path.parent.is_dir() and not client.workspace:
        raise ConfigError(
            f"{client.name} does not seem to be installed: {path.parent} does not exist"
        )
    original = _read(path) if existed else ""
    doc = _open(client, original, str(path))
    state = _load_state(settings)
    record = state.get(str(path), {"client": client.id, "entries": {}})
    current = _servers(client, doc)
    notes: list[str] = []
    created = doc.ensure_object(client.container) if client.format != "yaml" else False
    if client.format == "yaml":
        created = not doc.has_object(client.container)
    added = []
    for launch in launches:
        if launch.name in current and launch.name not in record["entries"]:
            raise ConfigError(
                f"{path} already has a server named {launch.name!r} that mgx did not write; "
                "remove or rename it first"
            )
        entry, entry_notes = render(client, launch)
        notes.extend(entry_notes)
        if client.format == "yaml":
            doc.set_member(client.container, launch.name, entry, as_list=client.shape == "continue")
        else:
            doc.set_member(client.container, launch.name, entry)
        record["entries"][launch.name] = _digest(entry)
        added.append(launch.name)
    record.setdefault("created_file", not existed)
    record.setdefault("created_container", bool(created))
    new = doc.text
    change = ClientChange(
        client=client.id,
        path=path,
        added=added,
        diff=_diff(path, original, new),
        notes=sorted(set(notes)),
        backup=_backup_path(path) if existed else None,
    )
    if dry_run or new == original:
        return change
    backup = _write(path, original, new, existed)
    state[str(path)] = record
    _save_state(settings, state)
    return ClientChange(**{**change.__dict__, "written": True, "backup": backup})


def remove_entries(
    settings: Settings, client_id: str, *, where: Where, dry_run: bool = False
) -> ClientChange:
    """Take out the entries mgx wrote into the client's config, and nothing else."""
    client = client_by_id(client_id)
    path = client.path(where)
    state = _load_state(settings)
    record = state.get(str(path))
    if not path.exists() or not record or not record.get("entries"):
        return ClientChange(client=client.id, path=path, notes=["no mgx entries here"])
    original = _read(path)
    doc = _open(client, original, str(path))
    current = _servers(client, doc)
    removed, kept = [], []
    for name, digest in sorted(record["entries"].items()):
        if name not in current:
            removed.append(name)  # already gone: forget it
            continue
        if _digest(current[name]) != digest:
            kept.append(name)
            continue
        doc.delete_member(client.container, name)
        removed.append(name)
    if record.get("created_container") and not _servers(client, doc):
        doc.delete_if_empty(client.container)
    new = doc.text
    notes = [f"{n} was changed since mgx wrote it; left in place" for n in kept]
    delete_file = bool(record.get("created_file")) and not kept and _is_empty(client, doc)
    change = ClientChange(
        client=client.id,
        path=path,
        removed=removed,
        kept=kept,
        diff=_diff(path, original, "" if delete_file else new),
        notes=notes,
    )
    if dry_run:
        return change
    if delete_file:
        path.unlink()
    elif new != original:
        _write(path, original, new, True)
    record["entries"] = {n: d for n, d in record["entries"].items() if n in kept}
    if record["entries"]:
        state[str(path)] = record
    else:
        state.pop(str(path), None)
    _save_state(settings, state)
    return ClientChange(**{**change.__dict__, "written": True})


# --- helpers -----------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _refuse_symlink_loop(path: Path) -> None:
    try:
        path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"cannot resolve {path}: {exc}") from exc


def _backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def _write(path: Path, original: str, new: str, existed: bool) -> Path | None:
    """Back the original up (once: the first change), then replace the file atomically."""
    from marketplace._fs import atomic_write

    backup = None
    target = path.resolve() if existed else path  # a symlinked config stays a symlink
    if existed:
        backup = _backup_path(path)
        if not backup.exists():
            atomic_write(backup, original)
    atomic_write(target, new)
    return backup


def _diff(path: Path, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=str(path),
        tofile=str(path),
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _is_empty(client: Client, doc: Any) -> bool:
    data = doc.data()
    return not data or data == {client.container[0]: {}}
