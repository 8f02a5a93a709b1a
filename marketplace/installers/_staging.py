"""Where installs live, and how they get there atomically.

Each install has a content-addressed directory ``tools_dir/<type>-<name>-<version>-<key>``,
where ``key`` hashes everything that decides *what* is installed (artifacts, closure, options),
so two locks that install the same files share a directory and a changed closure never
overwrites one in use. An install is built in ``staging_dir/<random>`` while this process holds
``<random>.lock`` (an OS file lock, released even by ``kill -9``); the completion marker is
written last and the directory is renamed into place in one ``rename``. A staging directory
whose lock nobody holds is debris of a killed run and ``cleanup_staging`` removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from marketplace._fs import fsync_dir
from marketplace.errors import InstallError
from marketplace.installers._files import write_file_manifest
from marketplace.installers._model import PackageLock
from marketplace.settings import Settings

MARKER = ".mgx-installed.json"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def install_key(lock: PackageLock) -> str:
    """A digest of what the install contains (not of how it is invoked)."""
    identity = {
        "registry_type": lock.registry_type,
        "identifier": lock.identifier,
        "version": lock.version,
        "registry_base_url": lock.registry_base_url,
        "artifacts": [a.to_dict() for a in lock.artifacts],
        "closure": [c.to_dict() for c in lock.closure],
        "python": lock.python,
        "allow_scripts": lock.allow_scripts,
    }
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def _slug(text: str, limit: int) -> str:
    text = text.rstrip("/").rsplit("/", 1)[-1] if "://" in text else text
    return _SLUG.sub("-", text).strip("-.")[:limit] or "x"


def tool_dir(settings: Settings, lock: PackageLock) -> Path:
    """The install directory of ``lock`` (it may not exist yet)."""
    name = "-".join(
        (
            lock.registry_type,
            _slug(lock.identifier, 60),
            _slug(lock.version or "0", 40),
            install_key(lock)[:16],
        )
    )
    return settings.tools_dir / name


def is_installed(settings: Settings, lock: PackageLock) -> bool:
    """True when the install is complete: its marker (written last) names this lock's key."""
    marker = tool_dir(settings, lock) / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("key") == install_key(lock)


def write_marker(directory: Path, lock: PackageLock) -> None:
    data = {
        "key": install_key(lock),
        "registry_type": lock.registry_type,
        "identifier": lock.identifier,
        "version": lock.version,
    }
    path = directory / MARKER
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, sort_keys=True, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


class Staged:
    """A staging directory this process holds (its OS file lock is held until released)."""

    def __init__(self, settings: Settings) -> None:
        from filelock import FileLock  # imported lazily: keeps `import marketplace` light

        settings.staging_dir.mkdir(parents=True, exist_ok=True)
        settings.tools_dir.mkdir(parents=True, exist_ok=True)
        # The lock exists (and is held) before the directory does, so cleanup_staging can
        # never mistake a directory being built for debris.
        self.path = settings.staging_dir / f"install-{secrets.token_hex(8)}"
        self._guard = FileLock(str(self.path) + ".lock")
        self._guard.acquire()
        try:
            self.path.mkdir()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Give up the lock (and the lock file); the directory itself is left as it is."""
        with contextlib.suppress(OSError):
            os.unlink(str(self.path) + ".lock")
        self._guard.release()

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()


# Trees a resolver already installed while resolving (npm), waiting for install_package to
# adopt them; keyed by staging dir and install key. Whatever is not adopted is removed at exit
# (and, after a crash, by cleanup_staging: nobody holds its lock any more).
_PREPARED: dict[tuple[str, str], Staged] = {}


def keep_prepared(settings: Settings, lock: PackageLock, staged: Staged) -> None:
    """Offer ``staged`` (holding exactly ``lock``) to the next ``install_package(lock)``."""
    import atexit

    if not _PREPARED:
        atexit.register(_discard_prepared)
    old = _PREPARED.pop((str(settings.staging_dir), install_key(lock)), None)
    if old is not None:
        old.discard()
    _PREPARED[(str(settings.staging_dir), install_key(lock))] = staged


def take_prepared(settings: Settings, lock: PackageLock) -> Staged | None:
    """The tree a resolver prepared for ``lock`` in this process, if any (handed over once)."""
    return _PREPARED.pop((str(settings.staging_dir), install_key(lock)), None)


def _discard_prepared() -> None:
    while _PREPARED:
        _PREPARED.popitem()[1].discard()


@contextlib.contextmanager
def staging(
    settings: Settings, lock: PackageLock, *, adopt: Staged | None = None
) -> Iterator[Path]:
    """Yield a fresh staging directory; on a clean exit rename it to ``tool_dir(lock)``.

    ``adopt`` is a staging directory already filled (see ``take_prepared``) to use instead of a
    fresh one. On any exception (``KeyboardInterrupt`` included) the staging directory is
    removed and the exception propagates. When the target appeared meanwhile (a concurrent
    install of the same lock) the finished copy is simply dropped.
    """
    staged = adopt or Staged(settings)
    work = staged.path
    try:
        try:
            yield work
            write_file_manifest(work)  # every file's sha256, for `mgx tool verify`
            write_marker(work, lock)
            target = tool_dir(settings, lock)
            _commit(work, target, settings, lock)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    finally:
        staged.release()


def _commit(work: Path, target: Path, settings: Settings, lock: PackageLock) -> None:
    if target.exists() and not is_installed(settings, lock):
        _discard(target, settings)  # an incomplete dir with our name (should not happen)
    try:
        os.rename(work, target)
    except OSError:
        if is_installed(settings, lock):  # a concurrent run finished first: same content
            shutil.rmtree(work, ignore_errors=True)
            return
        raise
    fsync_dir(target.parent)


def _discard(path: Path, settings: Settings) -> None:
    """Make ``path`` disappear at once (one rename into staging), then delete it."""
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    trash = settings.staging_dir / f"trash-{secrets.token_hex(8)}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InstallError(f"cannot remove {path}: {exc.strerror}") from exc
    shutil.rmtree(trash, ignore_errors=True)


def uninstall(settings: Settings, lock: PackageLock) -> bool:
    """Remove the install of ``lock``; returns whether there was one. Atomic for readers."""
    target = tool_dir(settings, lock)
    if not target.exists():
        return False
    _discard(target, settings)
    return True


def cleanup_staging(settings: Settings) -> list[Path]:
    """Remove staging leftovers of killed runs (those whose lock no live process holds).

    Staging names are random and used by one run only, so holding a leftover's lock means
    its owner is gone.
    """
    from filelock import FileLock, Timeout

    removed: list[Path] = []
    if not settings.staging_dir.is_dir():
        return removed
    names = {p.name.removesuffix(".lock") for p in settings.staging_dir.iterdir()}
    for name in sorted(names):
        entry = settings.staging_dir / name
        guard = FileLock(str(entry) + ".lock")
        try:
            guard.acquire(timeout=0)
        except Timeout:
            continue  # a live install owns it
        try:
            if entry.exists():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            with contextlib.suppress(OSError):
                os.unlink(str(entry) + ".lock")
        finally:
            guard.release()
    return removed
