"""nuget (.NET tools) against a real NuGet v3 feed on loopback: the feed's SHA-512 pinned and
checked, tampered and non-tool packages refused, no dotnet → a clear refusal.

The step that runs ``dotnet tool install`` is marked ``dotnet`` and skips where dotnet is not
on PATH (it builds a real tool with ``dotnet pack`` and installs it from the loopback feed).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marketplace.errors import InstallError, LockFormatError, ResolutionError, VerificationError
from marketplace.installers import (
    PackageLock,
    install_package,
    is_installed,
    resolve_package,
    tool_dir,
)
from marketplace.installers.nuget import normalize_version, platform_rids, verified_packages
from marketplace.lockfile import LockedTool, Lockfile, dumps, loads
from marketplace.settings import Settings
from registry_cache.serverjson import ServerVersion, parse_server
from tests.installers.conftest import LoopbackHTTP
from tests.installers.nuget_feed import NuGetFeed, make_nupkg

TOOL = "Mgx.Tests.TinyTool"


@pytest.fixture
def feed(loopback: LoopbackHTTP) -> NuGetFeed:
    return NuGetFeed(http=loopback)


def server_for(feed: NuGetFeed, *, version: str | None = "1.0.8", ident: str = TOOL) -> Any:
    package: dict[str, Any] = {
        "registryType": "nuget",
        "registryBaseUrl": feed.index_url,
        "identifier": ident,
        "runtimeHint": "dnx",
        "runtimeArguments": [{"type": "positional", "value": "--yes"}],
        "packageArguments": [{"type": "named", "name": "--zone", "value": "UTC"}],
        "environmentVariables": [{"name": "TINY_TOKEN", "isSecret": True}],
        "transport": {"type": "stdio"},
    }
    if version is not None:
        package["version"] = version
    return parse_server(
        {
            "name": "io.github.test/tiny-nuget",
            "description": "A .NET tool.",
            "version": "1.0.8",
            "packages": [package],
        }
    )


def resolve(server: ServerVersion, settings: Settings) -> PackageLock:
    return resolve_package(server, server.packages[0], settings=settings)


def nuget_cache(settings: Settings) -> list[Path]:
    directory = settings.cache_dir / "nuget"
    return sorted(directory.iterdir()) if directory.is_dir() else []


@pytest.fixture
def no_dotnet(monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH with only the test interpreter's directory: no dotnet (asserted)."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert shutil.which("dotnet") is None


def test_resolve_pins_the_feeds_sha512_and_it_lands_in_the_lock(
    feed: NuGetFeed, settings: Settings
) -> None:
    body = make_nupkg(TOOL, "1.0.8")
    feed.publish(TOOL, "1.0.7", make_nupkg(TOOL, "1.0.7"))
    feed.publish(TOOL, "1.0.8", body)
    lock = resolve(server_for(feed), settings)

    digest = "sha512:" + hashlib.sha512(body).hexdigest()
    assert lock.registry_type == "nuget" and lock.version == "1.0.8"
    assert lock.registry_base_url == feed.index_url
    assert [(a.name, a.digest) for a in lock.artifacts] == [
        ("mgx.tests.tinytool.1.0.8.nupkg", digest)
    ]
    inv = lock.invocation
    assert inv.command == "{tool_dir}/tiny-tool"
    # packageArguments apply; runtimeArguments are dnx's and do not.
    assert inv.args == (("--zone", "UTC"),)
    assert [e.name for e in inv.env] == ["TINY_TOKEN"]
    # The verified file is kept in mgx's content-addressed cache.
    assert [p.name for p in nuget_cache(settings)] == [digest.removeprefix("sha512:") + ".nupkg"]
    # The real API paths were used: service index, flat container, registration, catalog.
    paths = [path for _, path, _ in feed.http.requests]
    assert paths[:2] == ["/v3/index.json", "/v3-flatcontainer/mgx.tests.tinytool/index.json"]
    assert "/v3/registration5-gz-semver2/mgx.tests.tinytool/index.json" in paths
    assert "/v3/catalog0/data/2025.10.01.00.00.00/mgx.tests.tinytool.1.0.8.json" in paths
    assert paths[-1] == "/v3-flatcontainer/mgx.tests.tinytool/1.0.8/mgx.tests.tinytool.1.0.8.nupkg"

    tool = LockedTool(name="io.github.test/tiny-nuget", version="1.0.8", registry="r", package=lock)
    text = dumps(Lockfile(tools={tool.name: tool}))
    assert f'digest = "{digest}"' in text
    assert loads(text).tools[tool.name].package == lock


def test_versions_are_normalised_and_the_latest_stable_is_the_default(
    loopback: LoopbackHTTP, settings: Settings
) -> None:
    feed = NuGetFeed(http=loopback, paged=True)  # leaves in page documents, not inlined
    for version in ("1.0.0", "1.2.0", "2.0.0-beta.1"):
        feed.publish(TOOL, version, make_nupkg(TOOL, version))
    assert resolve(server_for(feed, version=None), settings).version == "1.2.0"
    assert resolve(server_for(feed, version="1.2"), settings).version == "1.2.0"
    assert resolve(server_for(feed, version="1.0.0.0"), settings).version == "1.0.0"
    assert resolve(server_for(feed, version="2.0.0-beta.1"), settings).version == "2.0.0-beta.1"
    assert any("/page/" in path for _, path, _ in feed.http.requests)
    with pytest.raises(ResolutionError, match=r"has no version 3\.0\.0 on the feed"):
        resolve(server_for(feed, version="3.0.0"), settings)
    assert normalize_version("01.002.0003.0+build.5") == "1.2.3"
    assert normalize_version("1.0.0.4") == "1.0.0.4"


def test_a_tampered_nupkg_is_refused_with_nothing_kept(feed: NuGetFeed, settings: Settings) -> None:
    feed.publish(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8"))
    feed.tamper(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8", command="evil"))
    with pytest.raises(VerificationError, match="sha512 mismatch") as info:
        resolve(server_for(feed), settings)
    assert "\n" not in str(info.value)
    assert nuget_cache(settings) == []  # neither the file nor a partial download


def test_a_package_that_is_not_a_dotnet_tool_is_refused(
    feed: NuGetFeed, settings: Settings
) -> None:
    feed.publish(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8", tool=False))
    with pytest.raises(InstallError, match=r"is not a \.NET tool \(its package has no tools/"):
        resolve(server_for(feed), settings)


@pytest.mark.parametrize(
    ("package_hash", "algorithm", "message"),
    [
        ("", "SHA512", "publishes no packageHash; refusing an unverifiable download"),
        ("AAAA", "SHA512", "packageHash is not a SHA-512 digest"),
        (None, "SHA256", "hashes it with 'SHA256', not SHA512"),
    ],
)
def test_a_feed_without_a_usable_sha512_is_refused(
    feed: NuGetFeed, settings: Settings, package_hash: str | None, algorithm: str, message: str
) -> None:
    feed.publish(
        TOOL,
        "1.0.8",
        make_nupkg(TOOL, "1.0.8"),
        package_hash=package_hash,
        algorithm=algorithm,
    )
    with pytest.raises(VerificationError, match=message):
        resolve(server_for(feed), settings)
    assert nuget_cache(settings) == []


def test_install_checks_the_lock_and_refetches_a_damaged_cache(
    feed: NuGetFeed, settings: Settings
) -> None:
    body = make_nupkg(TOOL, "1.0.8")
    feed.publish(TOOL, "1.0.8", body)
    lock = resolve(server_for(feed), settings)
    [(package_id, path)] = verified_packages(settings, lock)
    assert package_id == TOOL and path.read_bytes() == body

    path.write_bytes(b"damaged")  # a corrupt cache entry is dropped and fetched again
    [(_, again)] = verified_packages(settings, lock)
    assert again.read_bytes() == body

    # The feed now serves other bytes than the lock pinned (sync, reinstall): refused.
    again.unlink()
    feed.tamper(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8", command="evil"))
    with pytest.raises(VerificationError, match="sha512 mismatch"):
        verified_packages(settings, lock)
    assert nuget_cache(settings) == []


def test_rid_specific_tools_pin_every_platform_and_fetch_only_this_one(
    feed: NuGetFeed, settings: Settings
) -> None:
    here = platform_rids()[0]
    rids = {here: f"{TOOL}.{here}", "win-arm64": f"{TOOL}.win-arm64"}
    feed.publish(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8", rid_packages=rids))
    for rid_id in rids.values():
        feed.publish(rid_id, "1.0.8", make_nupkg(rid_id, "1.0.8", command="tiny-tool"))
    lock = resolve(server_for(feed), settings)
    pinned = {d.extra["rid"]: (d.name, d.hashes) for d in lock.closure}
    assert set(pinned) == {here, "win-arm64"}
    for rid, rid_id in rids.items():
        body = feed.packages[rid_id][0].body
        assert pinned[rid] == (rid_id, ("sha512:" + hashlib.sha512(body).hexdigest(),))
    # Resolve downloaded only the tool package (the platform packages' hashes are metadata).
    nupkgs = [path for _, path, _ in feed.http.requests if path.endswith(".nupkg")]
    assert nupkgs == ["/v3-flatcontainer/mgx.tests.tinytool/1.0.8/mgx.tests.tinytool.1.0.8.nupkg"]

    got = [package_id for package_id, _ in verified_packages(settings, lock)]
    assert got == [TOOL, rids[here]]
    tool = LockedTool(name="io.github.test/tiny-nuget", version="1.0.8", registry="r", package=lock)
    assert loads(dumps(Lockfile(tools={tool.name: tool}))).tools[tool.name].package == lock


def test_without_dotnet_install_fails_naming_it_before_creating_anything(
    feed: NuGetFeed, settings: Settings, no_dotnet: None
) -> None:
    feed.publish(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8"))
    lock = resolve(server_for(feed), settings)
    with pytest.raises(InstallError, match=r"nuget packages need dotnet \(the \.NET SDK\) on PATH"):
        install_package(lock, settings=settings)
    assert not is_installed(settings, lock)
    assert not tool_dir(settings, lock).exists()
    assert not settings.staging_dir.exists() or list(settings.staging_dir.iterdir()) == []


def _lock_text(registry_type: str, digest: str) -> str:
    return f"""version = 1
[tools."io.github.test/x"]
server = "io.github.test/x"
version = "1.0.0"
registry = "r"
spec = "latest"
resolve = "publish"
[tools."io.github.test/x".package]
registry_type = "{registry_type}"
identifier = "X"
version = "1.0.0"
artifacts = [{{ name = "x.1.0.0.nupkg", digest = "{digest}" }}]
[tools."io.github.test/x".package.invocation]
transport = "stdio"
"""


def test_the_lock_accepts_sha512_for_nuget_only() -> None:
    good = "sha512:" + "ab" * 64
    assert loads(_lock_text("nuget", good)).tools["io.github.test/x"].package.artifacts
    with pytest.raises(LockFormatError, match="pinned by sha512:<128 hex digits>, not 'sha256:"):
        loads(_lock_text("nuget", "sha256:" + "ab" * 32))
    with pytest.raises(LockFormatError, match="pinned by sha512"):
        loads(_lock_text("nuget", "sha512:" + "AB" * 64))
    with pytest.raises(LockFormatError, match="sha512: digest is for nuget packages only"):
        loads(_lock_text("mcpb", good))


# --- with dotnet --------------------------------------------------------------------------


PROGRAM = 'System.Console.WriteLine("tiny-tool " + string.Join(",", args));\n'


@pytest.fixture
def real_tool(tmp_path: Path) -> Iterator[bytes]:
    """A real .NET tool package built by ``dotnet pack`` (no package references: offline)."""
    sdk = subprocess.run(
        ["dotnet", "--version"], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    framework = f"net{sdk.split('.')[0]}.0"
    project = tmp_path / "tool"
    project.mkdir()
    (project / "Program.cs").write_text(PROGRAM)
    (project / "TinyTool.csproj").write_text(
        '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Exe</OutputType>'
        f"<TargetFramework>{framework}</TargetFramework><PackAsTool>true</PackAsTool>"
        f"<ToolCommandName>tiny-tool</ToolCommandName><PackageId>{TOOL}</PackageId>"
        "<Version>1.0.8</Version><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>"
        "</Project>"
    )
    env = {**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1", "DOTNET_NOLOGO": "1"}
    subprocess.run(
        ["dotnet", "pack", "-c", "Release", "-o", str(tmp_path / "out")],
        cwd=project,
        env=env,
        capture_output=True,
        check=True,
        timeout=600,
    )
    yield (tmp_path / "out" / f"{TOOL}.1.0.8.nupkg").read_bytes()


@pytest.mark.dotnet
def test_dotnet_installs_exactly_the_verified_package(
    feed: NuGetFeed, settings: Settings, real_tool: bytes
) -> None:
    feed.publish(TOOL, "1.0.8", real_tool)
    lock = resolve(server_for(feed), settings)
    target = install_package(lock, settings=settings)
    assert is_installed(settings, lock)
    kept = target / ".mgx-nupkg" / "mgx.tests.tinytool.1.0.8.nupkg"
    assert kept.read_bytes() == real_tool
    out = subprocess.run(
        [str(target / "tiny-tool"), "--zone", "UTC"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "tiny-tool --zone,UTC"


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("http://nuget.example/v3/index.json", "must be an https:// URL"),
        ("https://user:pw@nuget.example/v3/index.json", "must not carry credentials"),
    ],
)
def test_feed_urls_follow_the_url_rules(
    feed: NuGetFeed, settings: Settings, base: str, message: str
) -> None:
    bad = parse_server(
        {
            "name": "io.github.test/tiny-nuget",
            "description": "A .NET tool.",
            "version": "1.0.8",
            "packages": [
                {
                    "registryType": "nuget",
                    "registryBaseUrl": base,
                    "identifier": TOOL,
                    "version": "1.0.8",
                    "transport": {"type": "stdio"},
                }
            ],
        }
    )
    with pytest.raises(InstallError, match=message):
        resolve(bad, settings)
    assert feed.http.requests == []  # refused before asking anything


def test_a_service_index_without_a_flat_container_is_refused(
    loopback: LoopbackHTTP, settings: Settings
) -> None:
    feed = NuGetFeed(http=loopback)
    loopback.serve_bytes(
        "/v3/index.json",
        b'{"version": "3.0.0", "resources": [{"@id": "x", "@type": "SearchQueryService"}]}',
        "application/json",
    )
    with pytest.raises(InstallError, match="offers no PackageBaseAddress/3.0.0 resource"):
        resolve(server_for(feed), settings)


def test_the_locked_version_must_be_the_one_server_json_pins(
    feed: NuGetFeed, settings: Settings
) -> None:
    from dataclasses import replace

    from marketplace.invocation import package_problems

    feed.publish(TOOL, "1.0.7", make_nupkg(TOOL, "1.0.7"))
    feed.publish(TOOL, "1.0.8", make_nupkg(TOOL, "1.0.8"))
    server = server_for(feed, version="1.0.8.0")  # NuGet's four-part spelling of 1.0.8
    lock = resolve(server, settings)
    tool = LockedTool(name=server.name, version=server.version, registry="r", package=lock)
    assert package_problems(tool, server) == []
    older = replace(tool, package=replace(lock, version="1.0.7"))
    assert package_problems(older, server) == [f"server.json pins {TOOL} 1.0.8.0, the lock 1.0.7"]
