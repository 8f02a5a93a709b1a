"""NuGet packages (.NET tools): the exact .nupkg, checked against the feed's SHA-512, installed
by ``dotnet tool install --tool-path`` from a source holding only that verified file.

Resolve (NuGet v3 API): ``registryBaseUrl`` is the feed's service index (default
``https://api.nuget.org/v3/index.json``), which names the flat container
(``PackageBaseAddress/3.0.0``: the version list and the ``.nupkg`` files) and the package
metadata (``RegistrationsBaseUrl``). The version's registration leaf points at its catalog
entry, which carries ``packageHash`` (standard base64) and ``packageHashAlgorithm`` (nuget.org:
always ``SHA512``). The ``.nupkg`` is downloaded and refused unless its SHA-512 is that hash;
then it must be a .NET tool (``tools/<tfm>/<rid>/DotnetToolSettings.xml``), whose command starts
the server. The lock pins ``sha512:<hex>`` of the package. A tool published per platform (.NET
10's RID-specific tool packages, listed under ``RuntimeIdentifierPackages``) has each
platform package pinned the same way in the closure.

Install (first install, reinstall, ``sync --frozen``): the .nupkg (and this platform's RID
package, if any) is taken from mgx's content-addressed cache or downloaded again, and checked
against the *lock's* SHA-512; the verified copies are kept in the tool directory
(``.mgx-nupkg/``), and ``dotnet tool install <id> --version <exact> --tool-path <tool dir>
--configfile <isolated nuget.config>`` runs with that folder as the only package source and an
empty packages folder, so what dotnet installs is exactly the bytes mgx checked. NuGet's own
record of the installed package (``.nupkg.sha512`` in ``.store``) is compared with the lock
afterwards.

The server is started through the tool's command in the tool directory, not through ``dnx``,
so server.json ``runtimeArguments`` (meant for that launcher) are not applied;
``packageArguments`` are, as for pypi and npm.
"""

from __future__ import annotations

import base64
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from marketplace.errors import InstallError, ResolutionError, VerificationError
from marketplace.installers import _io
from marketplace.installers._model import (
    TOOL_DIR_VAR,
    Artifact,
    Invocation,
    LockedDependency,
    PackageLock,
)
from marketplace.installers._template import (
    InputCollector,
    compile_arguments,
    compile_key_values,
)
from marketplace.installers._validate import (
    validate_download_url,
    validate_file_name,
    validate_identifier,
    validate_version,
)
from marketplace.settings import Settings
from registry_cache.serverjson import Package, ServerVersion

DEFAULT_INDEX = "https://api.nuget.org/v3/index.json"
FLAT_CONTAINER = "PackageBaseAddress/3.0.0"
# Newest first; 3.6.0 is the only hive that includes SemVer 2.0.0 packages.
REGISTRATIONS = (
    "RegistrationsBaseUrl/3.6.0",
    "RegistrationsBaseUrl/3.4.0",
    "RegistrationsBaseUrl/3.0.0-rc",
    "RegistrationsBaseUrl/3.0.0-beta",
    "RegistrationsBaseUrl",
)
SOURCE_DIR = ".mgx-nupkg"  # the verified .nupkg files, kept: the source dotnet installed from
SETTINGS_FILE = "dotnettoolsettings.xml"
_SHA512 = re.compile(r"^sha512:[0-9a-f]{128}$")
_RID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_MAX_XML = 1 << 20
_VERSION_CORE = re.compile(r"^[0-9]+(?:\.[0-9]+){0,3}$")
# dotnet writes telemetry, a first-run banner and a sentinel otherwise; none is wanted here.
_DOTNET_ENV = {
    "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
    "DOTNET_NOLOGO": "1",
    "DOTNET_SKIP_FIRST_TIME_EXPERIENCE": "1",
    "DOTNET_GENERATE_ASPNET_CERTIFICATE": "false",
}


def dotnet() -> str:
    """The ``dotnet`` on PATH; ``InstallError`` naming it when there is none."""
    found = shutil.which("dotnet")
    if found is None:
        raise InstallError(
            "nuget packages need dotnet (the .NET SDK) on PATH, and it is not there; "
            "install the .NET SDK"
        )
    return found


def normalize_version(version: str) -> str:
    """NuGet's normalised form: ``1.0`` → ``1.0.0``, ``1.0.0.0`` → ``1.0.0``, no ``+build``."""
    validate_version(version, "nuget package version")
    core, dash, pre = version.split("+", 1)[0].partition("-")
    if not _VERSION_CORE.match(core) or (dash and not pre):
        raise ResolutionError(f"nuget: {version!r} is not a NuGet version")
    numbers = [str(int(part)) for part in core.split(".")]
    numbers += ["0"] * (3 - len(numbers))
    if len(numbers) == 4 and numbers[3] == "0":
        numbers = numbers[:3]
    return ".".join(numbers) + (f"-{pre}" if dash else "")


def _version_key(version: str) -> tuple[Any, ...]:
    """Order for registration page bounds (SemVer precedence, roughly; bounds only)."""
    core, dash, pre = version.split("+", 1)[0].partition("-")
    try:
        numbers = tuple(int(p) for p in core.split("."))
    except ValueError:
        return ((),)
    return (numbers + (0,) * (4 - len(numbers)), 0 if dash else 1, pre.lower())


def sha512_digest(package_hash: str, algorithm: str, what: str) -> str:
    """``sha512:<hex>`` from a feed's base64 ``packageHash``; refuses anything but SHA-512."""
    if algorithm.upper() != "SHA512":
        raise VerificationError(
            f"{what}: the feed hashes it with {algorithm or 'no algorithm'!r}, not SHA512; "
            "refusing it"
        )
    try:
        raw = base64.b64decode(package_hash, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 64:
        raise VerificationError(f"{what}: the feed's packageHash is not a SHA-512 digest")
    return "sha512:" + raw.hex()


def index_url(registry_base_url: str | None) -> str:
    """The service index URL: ``registryBaseUrl`` as given when it names a ``.json`` document,
    else ``<base>/v3/index.json`` (``https://api.nuget.org`` → nuget.org's index)."""
    base = (registry_base_url or DEFAULT_INDEX).rstrip("/")
    url = base if base.lower().endswith(".json") else f"{base}/v3/index.json"
    validate_download_url(url, "nuget registryBaseUrl")
    return url


# --- the NuGet v3 client ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Feed:
    """The resources of one feed's service index that mgx uses."""

    index: str
    flat: str  # PackageBaseAddress/3.0.0, no trailing slash
    registrations: str  # RegistrationsBaseUrl (newest hive offered), no trailing slash

    def versions_url(self, package_id: str) -> str:
        return f"{self.flat}/{package_id.lower()}/index.json"

    def nupkg_url(self, package_id: str, version: str) -> str:
        lower, ver = package_id.lower(), version.lower()
        return f"{self.flat}/{lower}/{ver}/{lower}.{ver}.nupkg"


def service_index(client: Any, url: str) -> Feed:
    """Read the feed's service index (``InstallError`` when it lacks what mgx needs)."""
    doc = _io.get_json(client, url, what=f"nuget: reading the service index {url}")
    resources = doc.get("resources") if isinstance(doc, dict) else None
    if not isinstance(resources, list):
        raise InstallError(f"nuget: {url} is not a NuGet v3 service index (no resources)")
    by_type: dict[str, str] = {}
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("@id"), str):
            continue
        kinds = resource.get("@type")
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            if isinstance(kind, str):
                by_type.setdefault(kind, resource["@id"])
    flat = by_type.get(FLAT_CONTAINER)
    registrations = next((by_type[k] for k in REGISTRATIONS if k in by_type), None)
    if flat is None or registrations is None:
        missing = FLAT_CONTAINER if flat is None else "RegistrationsBaseUrl"
        raise InstallError(f"nuget: the service index {url} offers no {missing} resource")
    for resource_url in (flat, registrations):
        validate_download_url(resource_url, "nuget service index resource")
    return Feed(index=url, flat=flat.rstrip("/"), registrations=registrations.rstrip("/"))


def published_versions(client: Any, feed: Feed, package_id: str) -> list[str]:
    """Every version the flat container lists (normalised, ascending as the feed sends them)."""
    what = f"nuget: looking up {package_id}"
    with _io.http_errors(what):
        response = client.get(feed.versions_url(package_id))
        if response.status_code == 404:
            raise ResolutionError(f"{what}: the feed {feed.index} has no package {package_id}")
        response.raise_for_status()
    try:
        versions = response.json().get("versions")
    except (ValueError, AttributeError) as exc:
        raise InstallError(f"{what}: the version list is not JSON") from exc
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise InstallError(f"{what}: the version list has no 'versions' array")
    return list(versions)


def published_sha512(client: Any, feed: Feed, package_id: str, version: str) -> str:
    """The feed's SHA-512 of ``package_id`` ``version`` (``sha512:<hex>``), from its catalog
    entry (registration index → page → leaf → catalog entry)."""
    what = f"nuget: {package_id} {version}"
    wanted = version.lower()
    index = _io.get_json(
        client, f"{feed.registrations}/{package_id.lower()}/index.json", what=f"{what}: metadata"
    )
    pages = index.get("items") if isinstance(index, dict) else None
    for page in reversed(pages if isinstance(pages, list) else []):
        if not isinstance(page, dict):
            continue
        leaves = page.get("items")
        if leaves is None:
            lower, upper = str(page.get("lower", "")), str(page.get("upper", ""))
            if (
                lower
                and upper
                and not (_version_key(lower) <= _version_key(version) <= _version_key(upper))
            ):
                continue
            page_url = str(page.get("@id", ""))
            validate_download_url(page_url, "nuget registration page")
            leaves = _io.get_json(client, page_url, what=f"{what}: metadata page").get("items")
        for leaf in leaves if isinstance(leaves, list) else []:
            entry = leaf.get("catalogEntry") if isinstance(leaf, dict) else None
            if isinstance(entry, dict) and _same_version(entry.get("version"), wanted):
                return _entry_sha512(client, entry, what)
    raise ResolutionError(f"{what}: the feed's package metadata has no such version")


def _same_version(value: Any, wanted: str) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return normalize_version(value).lower() == wanted
    except (InstallError, ResolutionError):
        return False


def _entry_sha512(client: Any, entry: dict[str, Any], what: str) -> str:
    """The hash from the catalog entry (inline when the feed puts it there, else its leaf)."""
    if not isinstance(entry.get("packageHash"), str):
        leaf_url = entry.get("@id")
        if not isinstance(leaf_url, str):
            raise VerificationError(f"{what}: the feed links no catalog entry (no packageHash)")
        validate_download_url(leaf_url, "nuget catalog entry")
        entry = _io.get_json(client, leaf_url, what=f"{what}: catalog entry")
        if not isinstance(entry, dict):
            raise InstallError(f"{what}: the catalog entry is not a JSON object")
    package_hash = entry.get("packageHash")
    if not isinstance(package_hash, str) or not package_hash:
        raise VerificationError(
            f"{what}: the feed publishes no packageHash; refusing an unverifiable download"
        )
    return sha512_digest(package_hash, str(entry.get("packageHashAlgorithm", "")), what)


def _cache_path(settings: Settings, digest: str) -> Path:
    return settings.cache_dir / "nuget" / f"{digest.removeprefix('sha512:')}.nupkg"


def _cached(settings: Settings, digest: str) -> Path | None:
    """The cache entry for ``digest`` when it is there and intact (a corrupt one is removed)."""
    path = _cache_path(settings, digest)
    if not path.is_file():
        return None
    if "sha512:" + _io.sha512_file(path) == digest:
        return path
    path.unlink()  # corrupted or tampered with: fetched again
    return None


def fetch(settings: Settings, url: str, digest: str, *, client: Any = None) -> Path:
    """The .nupkg whose SHA-512 is ``digest``, from mgx's cache or downloaded (and checked)."""
    if not _SHA512.match(digest):
        raise VerificationError(f"nuget: {digest[:24]!r} is not a sha512:<hex> digest")
    validate_download_url(url, "nuget package URL")
    cached = _cached(settings, digest)
    if cached is not None:
        return cached
    path = _cache_path(settings, digest)
    hexdigest = digest.removeprefix("sha512:")
    path.parent.mkdir(parents=True, exist_ok=True)
    what = f"nuget: downloading {url.rsplit('/', 1)[-1]}"
    if client is not None:
        _io.download(client, url, path, sha256=None, sha512=hexdigest, what=what)
    else:
        with _io.http_client() as own:
            _io.download(own, url, path, sha256=None, sha512=hexdigest, what=what)
    return path


# --- the package --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ToolSettings:
    """What ``DotnetToolSettings.xml`` says: the command, and per-platform packages if any."""

    command: str
    rid_packages: tuple[tuple[str, str], ...] = ()  # (runtime identifier, package id)


def read_tool_settings(nupkg: Path, package_id: str) -> ToolSettings:
    """The tool's settings; ``InstallError`` when the package is not a .NET tool."""
    try:
        zf = zipfile.ZipFile(nupkg)
    except zipfile.BadZipFile as exc:
        raise InstallError(f"nuget: {package_id}'s .nupkg is not a zip archive") from exc
    with zf:
        members = [
            info
            for info in zf.infolist()
            if info.filename.lower().startswith("tools/")
            and info.filename.lower().rsplit("/", 1)[-1] == SETTINGS_FILE
        ]
        if not members:
            raise InstallError(
                f"nuget: {package_id} is not a .NET tool (its package has no "
                "tools/<framework>/<platform>/DotnetToolSettings.xml); mgx installs NuGet "
                "packages that are .NET tools"
            )
        found = [_parse_settings(zf, info, package_id) for info in members]
    commands = {s.command for s in found}
    if len(commands) != 1:
        raise InstallError(
            f"nuget: {package_id} names different commands per framework "
            f"({', '.join(sorted(commands))}); cannot tell which one starts the server"
        )
    rid_packages = tuple(sorted({pair for s in found for pair in s.rid_packages}))
    return ToolSettings(command=found[0].command, rid_packages=rid_packages)


def _parse_settings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, package_id: str) -> ToolSettings:
    where = f"nuget: {package_id}'s {info.filename}"
    if info.file_size > _MAX_XML:
        raise InstallError(f"{where} is larger than {_MAX_XML >> 10} KiB")
    data = zf.read(info)[: _MAX_XML + 1]
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # no entity expansion, ever
        raise InstallError(f"{where} declares a DOCTYPE; refusing it")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise InstallError(f"{where} is not valid XML ({exc})") from exc
    if root.tag != "DotNetCliTool":
        raise InstallError(f"{where} is not a DotNetCliTool document")
    commands = root.findall("./Commands/Command")
    if len(commands) != 1:
        raise InstallError(f"{where} must name exactly one command (it names {len(commands)})")
    command = commands[0].get("Name", "")
    validate_file_name(command, "nuget tool command")
    pairs = []
    for item in root.findall("./RuntimeIdentifierPackages/RuntimeIdentifierPackage"):
        rid, rid_id = item.get("RuntimeIdentifier", ""), item.get("Id", "")
        validate_identifier("nuget", rid_id)
        if not _RID.match(rid):
            raise InstallError(f"{where}: {rid!r} is not a runtime identifier")
        pairs.append((rid, rid_id))
    return ToolSettings(command=command, rid_packages=tuple(pairs))


def platform_rids() -> tuple[str, ...]:
    """This machine's runtime identifier and its fallbacks (.NET's portable RID graph), most
    specific first: ``linux-x64, linux, unix-x64, unix, any``."""
    import platform

    machine = platform.machine().lower()
    arch = {
        "x86_64": "x64",
        "amd64": "x64",
        "aarch64": "arm64",
        "arm64": "arm64",
        "i386": "x86",
        "i686": "x86",
        "armv7l": "arm",
    }.get(machine, machine)
    if sys.platform.startswith("linux"):
        musl = platform.libc_ver()[0] != "glibc"
        chain = [f"linux-musl-{arch}", "linux-musl"] if musl else []
        chain += [f"linux-{arch}", "linux", f"unix-{arch}", "unix"]
    elif sys.platform == "darwin":
        chain = [f"osx-{arch}", "osx", f"unix-{arch}", "unix"]
    elif sys.platform == "win32":
        chain = [f"win-{arch}", "win"]
    else:
        chain = []
    return (*chain, "any")


# --- resolve ----------------------------------------------------------------------------------


def resolve(
    server: ServerVersion, package: Package, *, settings: Settings, cutoff: str
) -> PackageLock:
    """Pin the exact .nupkg by the feed's SHA-512 (``cutoff`` does not apply: a .NET tool
    package carries its dependencies inside it)."""
    package_id = package.identifier
    validate_identifier("nuget", package_id)
    url = index_url(package.registry_base_url)
    with _io.http_client() as client:
        feed = service_index(client, url)
        versions = published_versions(client, feed, package_id)
        version = _choose_version(package_id, package.version, versions)
        digest = published_sha512(client, feed, package_id, version)
        nupkg = fetch(settings, feed.nupkg_url(package_id, version), digest, client=client)
        tool = read_tool_settings(nupkg, package_id)
        closure = tuple(
            LockedDependency(
                name=rid_id,
                version=version,
                hashes=(published_sha512(client, feed, rid_id, version),),
                extra={"rid": rid},
            )
            for rid, rid_id in tool.rid_packages
        )
    inputs = InputCollector()
    args = compile_arguments(package.package_arguments, inputs)
    env = compile_key_values(package.environment_variables, inputs, header=False)
    headers = compile_key_values(package.transport.headers, inputs, header=True)
    transport_url = inputs.variables(package.transport.url or "", package.transport.variables)
    return PackageLock(
        registry_type="nuget",
        identifier=package_id,
        version=version,
        registry_base_url=url,
        artifacts=(Artifact(name=nupkg_name(package_id, version), digest=digest),),
        closure=closure,
        invocation=Invocation(
            transport=package.transport.type,
            command="{" + TOOL_DIR_VAR + "}/" + tool.command,
            args=tuple(args),
            url=transport_url,
            env=env,
            headers=headers,
            inputs=inputs.result(),
        ),
    )


def nupkg_name(package_id: str, version: str) -> str:
    return f"{package_id.lower()}.{version.lower()}.nupkg"


def _choose_version(package_id: str, asked: str | None, versions: list[str]) -> str:
    published = {}
    for v in versions:
        try:
            published[normalize_version(v).lower()] = normalize_version(v)
        except (InstallError, ResolutionError):
            continue  # a version string mgx cannot read cannot be asked for either
    if asked:
        version = normalize_version(asked)
        if version.lower() not in published:
            recent = ", ".join(list(published.values())[-8:]) or "none"
            raise ResolutionError(
                f"nuget: {package_id} has no version {asked} on the feed (recent: {recent})"
            )
        return published[version.lower()]
    stable = [v for v in published.values() if "-" not in v]
    if not stable and not published:
        raise ResolutionError(f"nuget: {package_id} has no versions on the feed")
    return (stable or list(published.values()))[-1]


# --- install ----------------------------------------------------------------------------------


def preflight(lock: PackageLock) -> None:
    dotnet()  # "needs dotnet" before anything is downloaded or created


def verified_packages(settings: Settings, lock: PackageLock) -> list[tuple[str, Path]]:
    """The lock's .nupkg and this platform's RID package (if the tool has them), each from
    the cache or the feed and checked against the lock's SHA-512: ``(package id, path)``."""
    validate_identifier("nuget", lock.identifier)
    validate_version(lock.version)
    if len(lock.artifacts) != 1 or not _SHA512.match(lock.artifacts[0].digest):
        raise VerificationError("nuget: the lock has no sha512 for the package; refusing it")
    wanted = [(lock.identifier, lock.artifacts[0].digest)]
    rids = platform_rids()
    for dep in lock.closure:
        rid = str(dep.extra.get("rid", ""))
        if rid in rids:
            validate_identifier("nuget", dep.name)
            if len(dep.hashes) != 1 or not _SHA512.match(dep.hashes[0]):
                raise VerificationError(f"nuget: the lock has no sha512 for {dep.name}")
            wanted.append((dep.name, dep.hashes[0]))
    if lock.closure and len(wanted) == 1:
        offered = ", ".join(sorted(str(d.extra.get("rid", "")) for d in lock.closure))
        raise InstallError(
            f"nuget: {lock.identifier} {lock.version} has no package for this platform "
            f"({rids[0]}); it is published for: {offered}"
        )
    found = {pid: _cached(settings, digest) for pid, digest in wanted}
    missing = [(pid, digest) for pid, digest in wanted if found[pid] is None]
    if missing:  # the feed is asked only for what the cache does not hold
        with _io.http_client() as client:
            feed = service_index(client, index_url(lock.registry_base_url))
            for package_id, digest in missing:
                url = feed.nupkg_url(package_id, lock.version)
                found[package_id] = fetch(settings, url, digest, client=client)
    return [(pid, path) for pid, path in found.items() if path is not None]


def install(lock: PackageLock, work: Path, *, settings: Settings) -> None:
    """Keep the verified .nupkg files in ``work`` and ``dotnet tool install`` from them alone."""
    packages = verified_packages(settings, lock)
    digests = {lock.identifier: lock.artifacts[0].digest} | {
        d.name: d.hashes[0] for d in lock.closure if d.hashes
    }
    source = work / SOURCE_DIR
    source.mkdir()
    for package_id, path in packages:
        kept = source / nupkg_name(package_id, lock.version)
        shutil.copyfile(path, kept)
        # The copy is what dotnet reads: check it, not the cache entry it came from.
        if "sha512:" + _io.sha512_file(kept) != digests[package_id]:
            raise VerificationError(f"nuget: {kept.name} changed while it was copied")
    tool = read_tool_settings(source / nupkg_name(lock.identifier, lock.version), lock.identifier)
    if lock.invocation.command != "{" + TOOL_DIR_VAR + "}/" + tool.command:
        raise VerificationError(
            f"nuget: the lock starts {lock.invocation.command!r}; the package's command is "
            f"{tool.command!r}"
        )
    program = dotnet()
    with tempfile.TemporaryDirectory(prefix="mgx-nuget-") as tmp:
        config = Path(tmp) / "nuget.config"
        config.write_text(_nuget_config(source, Path(tmp) / "packages"), encoding="utf-8")
        argv = [
            program,
            "tool",
            "install",
            lock.identifier,
            "--version",
            lock.version,
            "--tool-path",
            str(work),
            "--configfile",
            str(config),
        ]
        env = _DOTNET_ENV | {"NUGET_PACKAGES": str(Path(tmp) / "packages")}
        _io.run(
            argv,
            what=f"nuget: `dotnet tool install {lock.identifier} --version {lock.version}`",
            cwd=Path(tmp),  # no nuget.config of the user's directories applies
            env=env,
        )
    _check_installed(lock, work, tool.command, digests)


def _nuget_config(source: Path, packages: Path) -> str:
    """A nuget.config whose only package source is the folder of verified .nupkg files."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<configuration>\n"
        "  <packageSources>\n"
        "    <clear />\n"
        f'    <add key="mgx-verified" value={quoteattr(str(source))} />\n'
        "  </packageSources>\n"
        "  <fallbackPackageFolders>\n"
        "    <clear />\n"
        "  </fallbackPackageFolders>\n"
        "  <config>\n"
        f'    <add key="globalPackagesFolder" value={quoteattr(str(packages))} />\n'
        "  </config>\n"
        "</configuration>\n"
    )


def _check_installed(lock: PackageLock, work: Path, command: str, digests: dict[str, str]) -> None:
    """The command exists, and NuGet's record of each installed package is the lock's hash."""
    import os

    shim = work / command
    if not os.access(shim, os.X_OK):
        raise InstallError(f"nuget: dotnet did not install the tool's command {command}")
    # NuGet writes `<id>.<version>.nupkg.sha512` (base64) next to each package it extracts; a
    # second check that dotnet took the verified files (the isolated source is the first).
    records = {p.name.removesuffix(".sha512"): p for p in (work / ".store").rglob("*.sha512")}
    for package_id, digest in digests.items():
        record = records.get(nupkg_name(package_id, lock.version))
        if record is None:
            continue  # a RID package for another platform, or a NuGet that keeps no record
        recorded = sha512_digest(record.read_text(encoding="utf-8").strip(), "SHA512", command)
        if recorded != digest:
            raise VerificationError(
                f"nuget: dotnet installed {record.name.removesuffix('.sha512')} with another "
                "SHA-512 than the lock's; refusing it"
            )


def installed_command(directory: Path, lock: PackageLock) -> str:
    """The command the kept, lock-verified .nupkg names (for the invocation rule)."""
    kept = directory / SOURCE_DIR / nupkg_name(lock.identifier, lock.version)
    if not kept.is_file():
        raise InstallError(f"{lock.identifier} {lock.version} is not installed")
    if not lock.artifacts or "sha512:" + _io.sha512_file(kept) != lock.artifacts[0].digest:
        raise VerificationError(f"the kept {kept.name} is not the lock's (sha512 differs)")
    return "{" + TOOL_DIR_VAR + "}/" + read_tool_settings(kept, lock.identifier).command
