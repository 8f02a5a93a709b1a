"""Subprocesses and HTTP for the installers, with their failures turned into ``InstallError``.

Commands are argv lists (never a shell). A failing command's error names the command and
quotes the last lines of its stderr, which is where uv/npm/docker say what went wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from marketplace import _process
from marketplace.errors import InstallError, VerificationError

TIMEOUT = 600.0  # a large dependency closure on a slow machine


_ERROR_PREFIXES = ("error", "cause", "caused by", "npm error", "npm err!", "fatal")


def tail(text: str, lines: int = 3, width: int = 400) -> str:
    """The last non-empty lines of ``text`` joined on one line (for one-line errors)."""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    joined = " | ".join(kept[-lines:])
    return joined[-width:]


_LOG_HINT = "log of this run"  # npm: "A complete log of this run can be found in: PATH"


def summarize(text: str, lines: int = 3, width: int = 400) -> str:
    """The lines of a tool's stderr that say what went wrong (uv/npm/pip prefix them).

    Lines are kept whole, never cut mid-word: npm's last error line is the path of its debug
    log, and a path cut mid-name is worse than none. A line that mentions a log file is kept
    in preference to the middle ones.
    """
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in kept if line.lower().startswith(_ERROR_PREFIXES)]
    if not errors:
        return tail(text, lines, width)
    chosen = errors[:lines]
    log = next((line for line in errors if _LOG_HINT in line.lower()), None)
    if log is not None and log not in chosen:
        chosen = [*chosen[: lines - 1], log]
    while len(chosen) > 1 and len(" | ".join(chosen)) > width:
        chosen.pop(-2 if log is not None and chosen[-1] == log else -1)
    joined = " | ".join(chosen)
    return joined if len(joined) <= width else joined[: width - 1] + "…"


def run(
    argv: Sequence[str],
    *,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = TIMEOUT,
) -> str:
    """Run ``argv`` and return its stdout; raise ``InstallError`` saying ``what`` failed."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        # Leashed, in its own group: uv/npm/pip/docker and their children die with mgx.
        proc = _process.run(argv, cwd=cwd, env=full_env, input=input, timeout=timeout)
    except FileNotFoundError as exc:
        raise InstallError(f"{what}: {argv[0]!r} not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"{what}: timed out after {timeout:g}s") from exc
    if proc.returncode != 0:
        detail = summarize(proc.stderr) or tail(proc.stdout) or f"exit status {proc.returncode}"
        raise InstallError(f"{what} failed: {detail}")
    return proc.stdout


def http_client(**kwargs: Any) -> Any:
    """An httpx client with mgx's defaults (imported lazily: CLI start-up stays light)."""
    import httpx

    kwargs.setdefault("timeout", httpx.Timeout(30.0, read=120.0))
    kwargs.setdefault("follow_redirects", True)
    kwargs.setdefault("headers", {"User-Agent": "mgx"})
    kwargs.setdefault("transport", httpx.HTTPTransport(retries=2))
    return httpx.Client(**kwargs)


@contextlib.contextmanager
def http_errors(what: str) -> Iterator[None]:
    """Translate httpx failures into ``InstallError`` at the boundary."""
    import httpx

    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise InstallError(
            f"{what}: {exc.response.status_code} {exc.response.reason_phrase} "
            f"from {exc.request.url}"
        ) from exc
    except httpx.HTTPError as exc:
        raise InstallError(f"{what}: {type(exc).__name__}: {exc}") from exc


def get_json(client: Any, url: str, *, what: str, headers: Mapping[str, str] | None = None) -> Any:
    with http_errors(what):
        response = client.get(url, headers=dict(headers or {}))
        response.raise_for_status()
    try:
        return response.json()
    except ValueError as exc:
        raise InstallError(f"{what}: {url} did not answer JSON") from exc


def download(
    client: Any,
    url: str,
    dest: Path,
    *,
    sha256: str | None,
    what: str,
    limit: int = 2 << 30,
    sha512: str | None = None,
) -> str:
    """Stream ``url`` into ``dest``; returns the sha256 hex. Refuses a mismatch or > ``limit``.

    ``sha512`` (hex), when given, is checked as well (NuGet publishes SHA-512 only). The file
    is written next to ``dest`` and renamed only after the digests matched, so a
    half-downloaded or tampered file never sits at ``dest``.
    """
    # A name of its own: two runs fetching the same file must not write into one another.
    partial = dest.with_name(f"{dest.name}.{secrets.token_hex(6)}.part")
    digest = hashlib.sha256()
    digest512 = hashlib.sha512() if sha512 is not None else None
    size = 0
    try:
        with http_errors(what), client.stream("GET", url) as response:
            response.raise_for_status()
            with open(partial, "wb") as fh:
                for chunk in response.iter_bytes(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        raise InstallError(f"{what}: {url} is larger than {limit >> 20} MiB")
                    digest.update(chunk)
                    if digest512 is not None:
                        digest512.update(chunk)
                    fh.write(chunk)
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256.lower():
            raise VerificationError(
                f"{what}: sha256 mismatch for {url}: expected {sha256.lower()}, got {actual}; "
                "the file was not installed"
            )
        if digest512 is not None and sha512 is not None:
            got = digest512.hexdigest()
            if got != sha512.lower():
                raise VerificationError(
                    f"{what}: sha512 mismatch for {url}: expected {sha512.lower()[:32]}…, "
                    f"got {got[:32]}…; the file was not installed"
                )
        os.replace(partial, dest)
        return actual
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def sha256_file(path: Path) -> str:
    return _hash_file(path, hashlib.sha256())


def sha512_file(path: Path) -> str:
    return _hash_file(path, hashlib.sha512())


def _hash_file(path: Path, digest: Any) -> str:
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return str(digest.hexdigest())
