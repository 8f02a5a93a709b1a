"""MCPB bundles: a zip with a ``manifest.json``, downloaded, digest-checked and unpacked.

The registry stores ``fileSha256`` but never checks it, so mgx requires it and refuses a
download that does not match before reading a byte of it. Unpacking refuses every entry that
could land outside the tool directory (absolute paths, ``..``, backslashes, symlinks pointing
out, entries under a symlink) and caps the unpacked size (zip bombs). The entry point comes
from the manifest: ``server.mcp_config`` ``command``/``args``/``env`` with ``${__dirname}`` →
the tool directory and ``${user_config.KEY}`` → an input the user supplies.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from marketplace.errors import InstallError, VerificationError
from marketplace.installers import _io
from marketplace.installers._model import (
    TOOL_DIR_VAR,
    Artifact,
    InputSpec,
    Invocation,
    KeyValueSpec,
    PackageLock,
)
from marketplace.installers._staging import MARKER
from marketplace.installers._template import (
    InputCollector,
    compile_arguments,
    compile_key_values,
)
from marketplace.installers._validate import (
    validate_download_url,
    validate_env_name,
    validate_file_name,
    validate_input_name,
    validate_relative_path,
)
from marketplace.settings import Settings
from registry_cache.serverjson import Package, ServerVersion

MAX_UNPACKED = 2 << 30  # 2 GiB
MAX_ENTRIES = 200_000
_MCPB_VAR = re.compile(r"\$\{([^}]*)\}")
_FORMATS = {"number": "number", "boolean": "boolean", "directory": "filepath", "file": "filepath"}


def _cache_path(settings: Settings, sha256: str) -> Path:
    return settings.cache_dir / "mcpb" / f"{sha256}.mcpb"


def fetch(settings: Settings, url: str, sha256: str) -> Path:
    """The bundle in mgx's content-addressed cache, downloaded (and digest-checked) if needed."""
    validate_download_url(url, "mcpb URL")
    path = _cache_path(settings, sha256)
    if path.is_file():
        if _io.sha256_file(path) == sha256:
            return path
        path.unlink()  # a corrupted cache entry: fetch it again
    path.parent.mkdir(parents=True, exist_ok=True)
    with _io.http_client() as client:
        _io.download(client, url, path, sha256=sha256, what="mcpb: downloading the bundle")
    return path


# --- resolve ----------------------------------------------------------------------------------


def resolve(
    server: ServerVersion, package: Package, *, settings: Settings, cutoff: str
) -> PackageLock:
    """Download, check and read the bundle's manifest (``cutoff`` does not apply: no deps)."""
    url = package.identifier
    validate_download_url(url, "mcpb URL")
    if not package.file_sha256:
        raise VerificationError(
            f"mcpb: {server.name} gives no fileSha256 for {url}; refusing an unverifiable download"
        )
    sha256 = package.file_sha256.lower()
    bundle = fetch(settings, url, sha256)
    manifest = read_manifest(bundle)
    invocation = _invocation(manifest, package)
    name = PurePosixPath(url.split("?", 1)[0]).name or "bundle.mcpb"
    return PackageLock(
        registry_type="mcpb",
        identifier=url,
        version=package.version or str(manifest.get("version") or server.version),
        artifacts=(Artifact(name=name, digest=f"sha256:{sha256}"),),
        invocation=invocation,
    )


def read_manifest(bundle: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(bundle) as zf:
            try:
                raw = zf.read("manifest.json")
            except KeyError:
                raise InstallError("mcpb: the bundle has no manifest.json") from None
    except zipfile.BadZipFile as exc:
        raise InstallError("mcpb: the download is not a zip archive") from exc
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise InstallError("mcpb: manifest.json is not valid JSON") from exc
    if not isinstance(manifest, dict):
        raise InstallError("mcpb: manifest.json is not an object")
    return manifest


def _invocation(manifest: dict[str, Any], package: Package) -> Invocation:
    server = manifest.get("server")
    config = server.get("mcp_config") if isinstance(server, dict) else None
    if not isinstance(config, dict) or not isinstance(config.get("command"), str):
        raise InstallError("mcpb: manifest.json has no server.mcp_config.command")
    declared_config = manifest.get("user_config")
    user_config: dict[str, Any] = declared_config if isinstance(declared_config, dict) else {}
    inputs = InputCollector()
    declared: dict[str, InputSpec] = {}

    def convert(text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "__dirname":
                return "{" + TOOL_DIR_VAR + "}"
            if key in ("/", "pathSeparator"):
                return "/"
            if key.startswith("user_config."):
                field = key.removeprefix("user_config.")
                spec = user_config.get(field)
                if not isinstance(spec, dict):
                    raise InstallError(f"mcpb: manifest uses undeclared user_config {field!r}")
                validate_input_name(field)
                default = spec.get("default")
                declared[field] = InputSpec(
                    name=field,
                    required=bool(spec.get("required")),
                    secret=bool(spec.get("sensitive")),
                    default="" if default is None or isinstance(default, list) else _text(default),
                    format=_FORMATS.get(str(spec.get("type")), "string"),
                )
                return "{" + field + "}"
            raise InstallError(f"mcpb: manifest uses unsupported variable ${{{key}}}")

        return _MCPB_VAR.sub(sub, text)

    command = convert(config["command"])
    prefix = "{" + TOOL_DIR_VAR + "}/"
    if command.startswith(prefix):
        validate_relative_path(command.removeprefix(prefix), "mcpb command")
    else:
        validate_file_name(command, "mcpb command")  # a program on PATH (node, python3, uv)
    raw_args = config.get("args") or []
    if not isinstance(raw_args, list) or not all(isinstance(a, str) for a in raw_args):
        raise InstallError("mcpb: server.mcp_config.args must be a list of strings")
    groups: list[tuple[str, ...]] = [(convert(a),) for a in raw_args]
    groups += compile_arguments(package.package_arguments, inputs)
    raw_env = config.get("env") or {}
    if not isinstance(raw_env, dict):
        raise InstallError("mcpb: server.mcp_config.env must be an object")
    env: list[KeyValueSpec] = []
    for key in sorted(raw_env):
        validate_env_name(str(key))
        value = convert(_text(raw_env[key]))
        used = [
            declared[m]
            for m in re.findall(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}", value)
            if m in declared
        ]
        env.append(
            KeyValueSpec(
                name=str(key),
                value=value,
                required=any(u.required for u in used),
                secret=any(u.secret for u in used),
            )
        )
    names = {e.name for e in env}
    env += [
        e
        for e in compile_key_values(package.environment_variables, inputs, header=False)
        if e.name not in names
    ]
    all_inputs = {i.name: i for i in (*declared.values(), *inputs.result())}
    return Invocation(
        transport=package.transport.type,
        command=command,
        args=tuple(groups),
        env=tuple(env),
        inputs=tuple(all_inputs.values()),
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- install ----------------------------------------------------------------------------------


def install(lock: PackageLock, work: Path, *, settings: Settings) -> None:
    """Unpack the digest-checked bundle into ``work``."""
    if not lock.artifacts or not lock.artifacts[0].digest.startswith("sha256:"):
        raise VerificationError("mcpb: the lock has no sha256 for the bundle; refusing it")
    sha256 = lock.artifacts[0].digest.removeprefix("sha256:")
    bundle = fetch(settings, lock.identifier, sha256)
    safe_extract(bundle, work)
    command = lock.invocation.command
    prefix = "{" + TOOL_DIR_VAR + "}/"
    if command.startswith(prefix) and not os.access(work / command.removeprefix(prefix), os.X_OK):
        raise InstallError(
            f"mcpb: the bundle's command {command.removeprefix(prefix)} is missing or not "
            "executable"
        )


def safe_extract(bundle: Path, dest: Path) -> None:
    """Unpack ``bundle`` into ``dest`` refusing anything that would escape it (zip-slip)."""
    root = os.path.realpath(dest)
    try:
        zf = zipfile.ZipFile(bundle)
    except zipfile.BadZipFile as exc:
        raise InstallError("mcpb: the bundle is not a zip archive") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise InstallError(f"mcpb: the bundle has more than {MAX_ENTRIES} entries")
        if sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise InstallError(f"mcpb: the bundle unpacks to more than {MAX_UNPACKED >> 20} MiB")
        written = 0
        for info in infos:
            name = info.filename
            _check_member(name)
            target = os.path.join(root, *PurePosixPath(name).parts)
            parent = os.path.dirname(target) if not info.is_dir() else target
            os.makedirs(parent, exist_ok=True)
            # A directory created through an earlier symlink entry would resolve elsewhere.
            if not _inside(os.path.realpath(parent), root):
                raise InstallError(
                    f"mcpb: refusing {name!r}: it would be written outside the bundle directory"
                )
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8", errors="strict")
                resolved = os.path.normpath(os.path.join(os.path.dirname(target), link))
                if os.path.isabs(link) or not _inside(resolved, root):
                    raise InstallError(
                        f"mcpb: refusing symlink {name!r} -> {link!r}: it points outside the bundle"
                    )
                try:
                    os.symlink(link, target)
                except FileExistsError:
                    raise InstallError(
                        f"mcpb: refusing {name!r}: the archive holds it twice"
                    ) from None
                continue
            if os.path.basename(target) == MARKER and os.path.dirname(target) == root:
                raise InstallError(f"mcpb: refusing {name!r}: the name is reserved by mgx")
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(target, flags, 0o755 if mode & 0o111 else 0o644)
            except FileExistsError:
                raise InstallError(f"mcpb: refusing {name!r}: the archive holds it twice") from None
            except OSError as exc:  # e.g. ELOOP: the target is a symlink (O_NOFOLLOW)
                raise InstallError(f"mcpb: refusing {name!r}: {exc.strerror}") from exc
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                while chunk := src.read(1 << 16):
                    written += len(chunk)
                    if written > MAX_UNPACKED:  # sizes in the directory can lie
                        raise InstallError(
                            f"mcpb: the bundle unpacks to more than {MAX_UNPACKED >> 20} MiB"
                        )
                    out.write(chunk)


def _check_member(name: str) -> None:
    if "\x00" in name or "\\" in name:
        raise InstallError(f"mcpb: refusing archive member {name!r}: NUL or backslash in its name")
    path = PurePosixPath(name)
    if (
        path.is_absolute()
        or name.startswith("/")
        or ".." in path.parts
        or (path.parts and ":" in path.parts[0])
    ):
        raise InstallError(
            f"mcpb: refusing archive member {name!r}: it would be written outside the "
            "bundle directory"
        )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)
