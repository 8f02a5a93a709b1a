"""PyPI packages: one isolated virtual environment per tool, filled with exactly the lock.

Resolve: the package's files (and their upload times) come from the index's JSON simple API
(PEP 691/700); the entry point from the wheel's ``entry_points.txt``; the whole dependency
closure, with the sha256 of every allowed file, from ``uv pip compile --generate-hashes
--universal --exclude-newer <cutoff>`` (universal: one lock for every platform), which runs
while the wheel downloads: from uv's cache first when its index pages postdate the cutoff
(the same answer, see ``_compile_from_cache``), online otherwise.

Install: ``uv venv --relocatable`` then ``uv pip install --require-hashes --no-deps`` of the
locked requirements, so a file whose digest is not in the lock is refused and nothing outside
the closure can be pulled in; ``--offline`` (uv's cache only) first, then online on a miss.
Without uv: ``python -m venv`` and pip with the same flags.

The server is started through its own executable in the tool directory, not through
``uvx``/``npx``, so server.json ``runtimeArguments`` (meant for those launchers) are not applied;
``packageArguments`` are.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from marketplace.errors import InstallError, ResolutionError, VerificationError
from marketplace.installers import _io
from marketplace.installers._cutoff import NOW, choose_cutoff
from marketplace.installers._model import Artifact, Invocation, LockedDependency, PackageLock
from marketplace.installers._staging import tool_dir
from marketplace.installers._template import (
    InputCollector,
    compile_arguments,
    compile_key_values,
)
from marketplace.installers._validate import (
    validate_file_name,
    validate_identifier,
    validate_version,
)
from marketplace.settings import Settings
from registry_cache.serverjson import Package, ServerVersion

DEFAULT_BASE = "https://pypi.org"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
VENV = "venv"
REQUIREMENTS = "mgx-requirements.txt"


def canonical(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_uv() -> str | None:
    """The uv binary of the ``uv`` package (a dependency of mgx), or None.

    ``MGX_NO_UV=1`` makes installs use ``python -m venv`` + pip instead (resolution still
    needs uv: pip cannot compile a hashed closure as of a date).
    """
    if os.environ.get("MGX_NO_UV") == "1":
        return None
    try:
        import uv

        found = uv.find_uv_bin()
    except Exception:  # missing package or binary: fall back to venv + pip
        return None
    return found if found and os.access(found, os.X_OK) else None


def _python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _index_url(base: str) -> str:
    return base.rstrip("/") + "/simple"


# --- resolve ----------------------------------------------------------------------------------


def resolve(
    server: ServerVersion, package: Package, *, settings: Settings, cutoff: str
) -> PackageLock:
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version

    name = package.identifier
    validate_identifier("pypi", name)
    base = (package.registry_base_url or DEFAULT_BASE).rstrip("/")
    index = _index_url(base)
    with _io.http_client() as client:
        project = _io.get_json(
            client,
            f"{index}/{canonical(name)}/",
            what=f"pypi: looking up {name}",
            headers={"Accept": SIMPLE_JSON},
        )
        files_by_version: dict[str, list[dict[str, Any]]] = {}
        for entry in project.get("files", []):
            filename = entry.get("filename", "")
            try:
                if filename.endswith(".whl"):
                    file_version = parse_wheel_filename(filename)[1]
                else:
                    file_version = parse_sdist_filename(filename)[1]
            except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
                continue
            files_by_version.setdefault(str(file_version), []).append(entry)
        version = package.version or _latest(files_by_version)
        validate_version(version)
        try:
            wanted = str(Version(version))
        except InvalidVersion as exc:
            raise ResolutionError(f"pypi: {version!r} is not a valid version of {name}") from exc
        files = files_by_version.get(wanted, [])
        if not files:
            recent = sorted(files_by_version, key=Version)[-8:]
            raise ResolutionError(
                f"pypi: {name} has no files for version {version} "
                f"(recent versions: {', '.join(recent) or 'none'})"
            )
        artifacts = tuple(
            sorted(
                (
                    Artifact(name=f["filename"], digest="sha256:" + f["hashes"]["sha256"])
                    for f in files
                    if f.get("hashes", {}).get("sha256")
                ),
                key=lambda a: a.name,
            )
        )
        if not artifacts:
            raise VerificationError(f"pypi: the index gives no sha256 for {name} {version}")
        chosen_cutoff = choose_cutoff(
            cutoff,
            published_at=server.meta.published_at,
            uploaded=[f.get("upload-time", "") for f in files],
        )
        python = _python_version()
        # The resolver spends most of its time waiting on the index: fetch the wheel (for its
        # console scripts) meanwhile instead of after it.
        with ThreadPoolExecutor(max_workers=1) as pool:
            compiling = pool.submit(
                _compile, name, wanted, index=index, cutoff=chosen_cutoff, python=python
            )
            scripts = _console_scripts(client, files)
            closure = compiling.result()
    top = [c for c in closure if c.name == canonical(name)]
    if not top or top[0].version != wanted:
        raise ResolutionError(f"pypi: the resolution of {name}=={wanted} does not contain it")
    allowed = {a.digest for a in artifacts}
    if not set(top[0].hashes) <= allowed:
        raise VerificationError(
            f"pypi: the resolver's hashes for {name} {wanted} differ from the index's files"
        )
    script = _pick_script(name, scripts)
    inputs = InputCollector()
    args = compile_arguments(package.package_arguments, inputs)
    env = compile_key_values(package.environment_variables, inputs, header=False)
    headers = compile_key_values(package.transport.headers, inputs, header=True)
    url = inputs.variables(package.transport.url or "", package.transport.variables)
    return PackageLock(
        registry_type="pypi",
        identifier=name,
        version=wanted,
        registry_base_url=base,
        artifacts=artifacts,
        cutoff=chosen_cutoff,
        python=python,
        closure=closure,
        invocation=Invocation(
            transport=package.transport.type,
            command="{tool_dir}/" + f"{VENV}/bin/{script}",
            args=tuple(args),
            url=url,
            env=env,
            headers=headers,
            inputs=inputs.result(),
        ),
    )


def _latest(files_by_version: dict[str, list[dict[str, Any]]]) -> str:
    from packaging.version import Version

    live = [
        v
        for v, files in files_by_version.items()
        if not Version(v).is_prerelease and not all(f.get("yanked") for f in files)
    ]
    if not live:
        raise ResolutionError("pypi: the project has no released versions")
    return max(live, key=Version)


def _console_scripts(client: Any, files: list[dict[str, Any]]) -> list[str] | None:
    """Console scripts from one wheel of the version (None when there is only an sdist)."""
    wheels = [f for f in files if f["filename"].endswith(".whl")]
    if not wheels:
        return None
    wheels.sort(key=lambda f: (not f["filename"].endswith("-none-any.whl"), f["filename"]))
    wheel = wheels[0]
    with tempfile.TemporaryDirectory(prefix="mgx-wheel-") as tmp:
        path = Path(tmp) / "package.whl"
        _io.download(
            client,
            wheel["url"],
            path,
            sha256=wheel["hashes"]["sha256"],
            what=f"pypi: downloading {wheel['filename']}",
            limit=256 << 20,
        )
        try:
            with zipfile.ZipFile(path) as zf:
                names = [
                    n
                    for n in zf.namelist()
                    if n.count("/") == 1 and n.endswith(".dist-info/entry_points.txt")
                ]
                if not names:
                    return []
                text = zf.read(names[0]).decode("utf-8", errors="replace")
        except zipfile.BadZipFile as exc:
            raise InstallError(f"pypi: {wheel['filename']} is not a valid wheel") from exc
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep names' case
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise InstallError(f"pypi: unreadable entry_points.txt in {wheel['filename']}") from exc
    if not parser.has_section("console_scripts"):
        return []
    return sorted(parser.options("console_scripts"))


def _pick_script(name: str, scripts: list[str] | None) -> str:
    """The console script named like the package, else the only one."""
    if scripts is None:  # sdist only: by convention the script is named like the package
        validate_file_name(name, "console script")
        return name
    if not scripts:
        raise InstallError(f"pypi: {name} declares no console script to start it with")
    matching = [s for s in scripts if canonical(s) == canonical(name)]
    chosen = matching[0] if matching else scripts[0] if len(scripts) == 1 else None
    if chosen is None:
        raise InstallError(
            f"pypi: {name} has several console scripts ({', '.join(scripts)}) and none is "
            "named like the package; cannot tell which one starts the server"
        )
    validate_file_name(chosen, "console script")
    return chosen


def _uv_for_resolution() -> str:
    try:
        import uv

        found = uv.find_uv_bin()
    except Exception as exc:  # the package or its binary is missing
        raise InstallError(
            "pypi: resolving a dependency closure needs uv (pip install uv)"
        ) from exc
    return str(found)


def _compile(
    name: str, version: str, *, index: str, cutoff: str, python: str
) -> tuple[LockedDependency, ...]:
    uv = _uv_for_resolution()
    argv = [
        uv,
        "pip",
        "compile",
        "-",
        "--generate-hashes",
        "--universal",
        "--python-version",
        python,
        "--index-url",
        index,
        "--no-header",
        "--no-annotate",
        "--no-config",
        "--quiet",
    ]
    if cutoff != NOW:
        argv += ["--exclude-newer", cutoff]
    what = f"pypi: resolving {name}=={version}"
    wanted = f"{name}=={version}\n"
    if cutoff != NOW and index == _index_url(DEFAULT_BASE):
        cached = _compile_from_cache(uv, argv, cutoff=cutoff, what=what, wanted=wanted)
        if cached is not None:
            return cached
    return parse_requirements(_io.run(argv, what=what, input=wanted))


def _compile_from_cache(
    uv: str, argv: list[str], *, cutoff: str, what: str, wanted: str
) -> tuple[LockedDependency, ...] | None:
    """The same resolution from uv's cache alone, when that provably gives the same lock.

    With ``--exclude-newer CUTOFF`` the resolver may only use files uploaded before CUTOFF. An
    index page uv cached *after* CUTOFF lists every such file, so a resolution whose every
    package page in the cache is newer than CUTOFF is the one the index would give online
    (about 0.13 s instead of 0.9 s, most of which is uv revalidating those pages). A miss (a
    page not cached: the offline resolver fails) or any page cached before CUTOFF falls back
    to the online resolution. Only PyPI's pages are checked (uv's ``simple-v*/pypi`` cache);
    a layout this code does not recognise finds no page and so also falls back.
    """
    from datetime import datetime

    try:
        closure = parse_requirements(_io.run([*argv, "--offline"], what=what, input=wanted))
        cache = Path(_io.run([uv, "cache", "dir", "--no-config"], what="uv cache dir").strip())
        limit = datetime.fromisoformat(cutoff.replace("Z", "+00:00")).timestamp()
    except (InstallError, ResolutionError, ValueError):
        return None
    for dep in closure:
        pages = list(cache.glob(f"simple-v*/pypi/{canonical(dep.name)}.rkyv"))
        if not pages or max(p.stat().st_mtime for p in pages) <= limit:
            return None
    return closure


def parse_requirements(text: str) -> tuple[LockedDependency, ...]:
    """Parse ``uv pip compile --generate-hashes`` output into closure entries (sorted)."""
    entries: list[LockedDependency] = []
    logical = text.replace("\\\n", " ")
    for line in logical.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        hashes = sorted(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
        spec = line.split("--hash=", 1)[0].strip()
        requirement, _, marker = spec.partition(";")
        match = re.fullmatch(
            r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s]+)", requirement.strip()
        )
        if not match:
            raise ResolutionError(f"pypi: unexpected line in the resolution: {line[:120]!r}")
        if not hashes:
            raise VerificationError(f"pypi: the resolution has no hash for {match.group(1)}")
        entries.append(
            LockedDependency(
                name=canonical(match.group(1)),
                version=match.group(2),
                hashes=tuple(hashes),
                marker=marker.strip(),
            )
        )
    entries.sort(key=lambda e: (e.name, e.version, e.marker))
    return tuple(entries)


def requirements_text(lock: PackageLock) -> str:
    """The locked closure as a hash-checking requirements file."""
    lines = []
    for dep in lock.closure:
        head = f"{dep.name}=={dep.version}"
        if dep.marker:
            head += f" ; {dep.marker}"
        lines.append(" \\\n".join([head] + [f"    --hash={h}" for h in dep.hashes]))
    return "\n".join(lines) + "\n"


# --- install ----------------------------------------------------------------------------------


def install(lock: PackageLock, work: Path, *, settings: Settings) -> None:
    """Fill ``work`` with a venv holding exactly ``lock.closure`` (hash-checked)."""
    validate_identifier("pypi", lock.identifier)
    for dep in lock.closure:
        validate_identifier("pypi", dep.name)
        validate_version(dep.version, f"version of {dep.name}")
        if not dep.hashes:
            raise VerificationError(f"pypi: the lock has no hash for {dep.name}; refusing it")
    requirements = work / REQUIREMENTS
    requirements.write_text(requirements_text(lock), encoding="utf-8")
    venv = work / VENV
    index = _index_url(lock.registry_base_url or DEFAULT_BASE)
    uv = find_uv()
    python = sys.executable if lock.python in ("", _python_version()) else lock.python
    what = f"pypi: installing {lock.identifier}=={lock.version}"
    # Both installers get the same: exactly the locked files, each checked against its hash.
    exactly_locked = [
        "--require-hashes",
        "--no-deps",
        "--index-url",
        index,
        "-r",
        str(requirements),
    ]
    if uv:
        _io.run(
            [uv, "venv", "--relocatable", "--no-config", "--quiet", "--python", python, str(venv)],
            what=f"pypi: creating the environment for {lock.identifier}",
        )
        argv = [
            uv,
            "pip",
            "install",
            "--no-config",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            *exactly_locked,
        ]
        try:
            # Resolving just fetched every locked file's index page (and usually the files):
            # install from uv's cache first, skipping a second round of revalidation requests.
            # uv checks cached files against the locked hashes too; on a miss, go online.
            _io.run([*argv, "--offline"], what=what)
        except InstallError:
            _hash_checked(argv, what=what)
    else:
        if lock.python not in ("", _python_version()):
            raise InstallError(
                f"pypi: {lock.identifier} was locked for Python {lock.python}; without uv only "
                f"this Python ({_python_version()}) can be used"
            )
        _io.run([sys.executable, "-m", "venv", str(venv)], what="pypi: creating a venv")
        _hash_checked(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                *exactly_locked,
            ],
            what=what,
        )
        _relocate_scripts(venv / "bin", old=work, new=tool_dir(settings, lock))
    _verify(lock, venv)


def _hash_checked(argv: list[str], *, what: str) -> None:
    """Run an installer; a file whose digest is not in the lock is a ``VerificationError``."""
    try:
        _io.run(argv, what=what)
    except InstallError as exc:
        if "hash" in str(exc).lower():
            raise VerificationError(f"{exc} (a downloaded file does not match the lock)") from exc
        raise


def _relocate_scripts(bin_dir: Path, *, old: Path, new: Path) -> None:
    """pip writes absolute shebangs; point them at where the venv will live after the rename."""
    old_b, new_b = str(old).encode(), str(new).encode()
    for script in bin_dir.iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if data.startswith(b"#!") and old_b in data.split(b"\n", 1)[0]:
            first, _, rest = data.partition(b"\n")
            script.write_bytes(first.replace(old_b, new_b) + b"\n" + rest)


def _verify(lock: PackageLock, venv: Path) -> None:
    """The venv holds the locked versions (defence in depth over the installer's own checks)."""
    installed: dict[str, str] = {}
    for dist_info in venv.glob("lib/python*/site-packages/*.dist-info"):
        stem = dist_info.name[: -len(".dist-info")]
        dist_name, _, dist_version = stem.rpartition("-")
        installed[canonical(dist_name)] = dist_version
    locked = {dep.name: dep.version for dep in lock.closure}
    if installed.get(canonical(lock.identifier)) is None:
        raise InstallError(f"pypi: {lock.identifier} is missing from its environment after install")
    for dist_name, dist_version in installed.items():
        if dist_name in ("pip", "setuptools") and dist_name not in locked:
            continue  # seeded by `python -m venv`, not part of the tool
        if dist_name not in locked:
            raise VerificationError(
                f"pypi: {dist_name} {dist_version} was installed but is not locked"
            )
        if _norm_version(locked[dist_name]) != _norm_version(dist_version):
            raise VerificationError(
                f"pypi: {dist_name} {dist_version} was installed but {locked[dist_name]} is locked"
            )
    command = lock.invocation.command.replace("{tool_dir}/", "")
    script = venv.parent / command
    if not os.access(script, os.X_OK):
        raise InstallError(f"pypi: {lock.identifier} did not install its script {script.name}")


def _norm_version(text: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(text))
    except InvalidVersion:
        return text
