"""End to end through the real ``mgx`` command: verification between resolve and install.

The registry entries come from mgx's own ``/v0.1`` server; the npm package
``@playwright/cli@0.1.1`` (the real tarball and attestations) from a local npm registry that
fetches its dependencies (playwright, playwright-core) from registry.npmjs.org, hence
``network``. Every refusal must leave mgx.toml, mgx.lock and the installed set byte-identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marketplace.errors import VerificationError
from marketplace.lockfile import read_lock
from marketplace.provenance import EVIDENCE_NAME
from marketplace.settings import Settings
from tests.lock.conftest import World, run_mgx, server_doc
from tests.provenance.conftest import (
    PYPI_DATA,
    NpmRegistry,
    PyPIIndex,
    flip_in_tarball,
    playwright_package,
)

NAME = "io.github.microsoft/playwright-cli"
REPO = "https://github.com/microsoft/playwright-cli"
ECHO = "io.github.test/echo"
PUBLISHED = "2026-03-01T00:00:00Z"  # after the registry lists playwright's dependencies


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path → sha256): the installed set, byte for byte."""
    out = {}
    if root.exists():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def snapshot(project: Path, settings: Settings) -> tuple[Any, ...]:
    def text(name: str) -> bytes | None:
        path = project / name
        return path.read_bytes() if path.exists() else None

    return text("mgx.toml"), text("mgx.lock"), tree(settings.tools_dir)


def npm_entry(registry: NpmRegistry, version: str = "0.1.1") -> dict[str, Any]:
    return {
        "registryType": "npm",
        "registryBaseUrl": registry.url,
        "identifier": "@playwright/cli",
        "version": version,
        "transport": {"type": "stdio"},
    }


def publish(
    world: World, packages: list[dict[str, Any]], *, version: str = "1.0.0", repo: str = REPO
) -> None:
    doc = server_doc(NAME, version, packages, published=PUBLISHED, latest=True)
    doc["server"]["repository"] = {"url": repo, "source": "github"}
    for old in world.docs:
        if old["server"]["name"] == NAME:
            old["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"] = False
    world.docs.append(doc)


@pytest.fixture
def upstream_npm() -> Iterator[NpmRegistry]:
    registry = NpmRegistry(upstream="https://registry.npmjs.org")
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture
def project(world: World, tmp_path: Path) -> Path:
    """A project that already has one tool (an mcpb) installed: the state refusals keep."""
    directory = tmp_path / "proj"
    directory.mkdir()
    world.publish(ECHO, ["1.0.0"])
    world.serve()
    done = run_mgx("tool", "install", "echo", "--no-check", cwd=directory)
    assert done.returncode == 0, done.stderr
    return directory


def install(project: Path, *args: str) -> Any:
    return run_mgx("tool", "install", NAME, "--no-check", *args, cwd=project)


def assert_refused(done: Any, before: tuple[Any, ...], project: Path, settings: Settings) -> None:
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one clear line
    assert snapshot(project, settings) == before


@pytest.mark.network
def test_install_verified_then_frozen_sync_rechecks_offline(
    world: World, upstream_npm: NpmRegistry, project: Path
) -> None:
    upstream_npm.add(playwright_package())
    publish(world, [npm_entry(upstream_npm)])
    world.serve()
    done = install(project)
    assert done.returncode == 0, done.stderr
    assert f"provenance: verified (signed by {REPO})" in done.stderr

    lock = read_lock(project / "mgx.lock")
    assert lock is not None
    v = lock.tools[NAME].verification
    assert (v["status"], v["repository"], v["log_index"]) == ("verified", REPO, 953297574)
    assert v["packages"]["@playwright/cli"] == "verified"
    assert v["issuer"] == "https://token.actions.githubusercontent.com"
    listed = run_mgx("tool", "list", "--json", cwd=project)
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows[NAME]["verification"] == "verified"

    # sync --frozen re-checks the stored provenance with every registry gone.
    upstream_npm.close()
    world.close()
    frozen = run_mgx("tool", "sync", "--frozen", cwd=project)
    assert frozen.returncode == 0, frozen.stderr
    # A lock edited to name another signer no longer matches its stored provenance.
    lock_path = project / "mgx.lock"
    good = lock_path.read_text()
    lock_path.write_text(
        good.replace(f'repository = "{REPO}"', 'repository = "https://github.com/evil/cli"')
    )
    frozen = run_mgx("tool", "sync", "--frozen", cwd=project)
    assert frozen.returncode == 1 and "https://github.com/evil/cli" in frozen.stderr
    lock_path.write_text(good)
    stored = next(project_settings(world).tools_dir.glob("npm-*")) / EVIDENCE_NAME
    stored.write_bytes(stored.read_bytes().replace(b"953297574", b"953297575"))
    frozen = run_mgx("tool", "sync", "--frozen", cwd=project)
    assert frozen.returncode == 1
    assert "stored provenance is not the one the lock records" in frozen.stderr


def project_settings(world: World) -> Settings:
    return world.settings


@pytest.mark.network
def test_refusals_leave_everything_unchanged(
    world: World, upstream_npm: NpmRegistry, project: Path
) -> None:
    settings = world.settings
    genuine = playwright_package()

    # 1. a flipped byte in the tarball (the registry's integrity matching it)
    upstream_npm.add(playwright_package(tarball=flip_in_tarball(genuine.tarball)))
    publish(world, [npm_entry(upstream_npm)])
    world.serve()
    before = snapshot(project, settings)
    done = install(project)
    assert_refused(done, before, project, settings)
    assert "not for this tarball" in done.stderr

    # 2. right signature, but server.json names another repository
    upstream_npm.add(genuine)
    publish(world, [npm_entry(upstream_npm)], version="1.0.1", repo="https://github.com/evil/cli")
    world.serve()
    done = install(project)
    assert_refused(done, before, project, settings)
    assert REPO in done.stderr and "https://github.com/evil/cli" in done.stderr

    # 3. require, and the registry publishes no provenance
    upstream_npm.add(playwright_package(attestations=None))
    publish(world, [npm_entry(upstream_npm)], version="1.0.2")
    world.serve()
    done = install(project, "--verify", "require")
    assert_refused(done, before, project, settings)
    assert "unsigned" in done.stderr and '"require"' in done.stderr

    # ... and prefer installs it, visibly marked
    done = install(project)
    assert done.returncode == 0, done.stderr
    assert "UNVERIFIED (unsigned" in done.stderr
    listed = run_mgx("tool", "list", cwd=project)
    assert "UNVERIFIED (unsigned)" in listed.stdout
    shown = run_mgx("tool", "info", NAME, cwd=project)
    assert "provenance UNVERIFIED (unsigned" in shown.stdout


@pytest.mark.network
def test_update_to_another_signer_needs_the_flag(
    world: World, upstream_npm: NpmRegistry, project: Path
) -> None:
    """1.0.0 is signed by microsoft/playwright-cli; 1.1.0 of the same entry ships an
    unsigned bundle instead (what a taken-over entry would do): the update is refused."""
    settings = world.settings
    upstream_npm.add(playwright_package())
    publish(world, [npm_entry(upstream_npm)])
    world.serve()
    assert install(project).returncode == 0
    mcpb = world.bundle(NAME, "1.1.0")
    publish(world, [mcpb], version="1.1.0")
    world.serve()
    before = snapshot(project, settings)
    done = run_mgx("tool", "update", NAME, "--no-check", cwd=project)
    assert_refused(done, before, project, settings)
    assert REPO in done.stderr and "--allow-identity-change" in done.stderr
    done = run_mgx("tool", "update", NAME, "--no-check", "--allow-identity-change", cwd=project)
    assert done.returncode == 0, done.stderr
    lock = read_lock(project / "mgx.lock")
    assert lock is not None and lock.tools[NAME].version == "1.1.0"
    assert lock.tools[NAME].verification["method"] == "sha256"


def test_require_in_the_manifest_is_not_ignored(world: World, project: Path) -> None:
    """[policy] verify = "require" refuses a lock entry that is not verified (sync --frozen)."""
    settings = world.settings
    lock_path = project / "mgx.lock"
    text = lock_path.read_text()
    lock_path.write_text(
        text.replace('method = "sha256"\n', "").replace(
            'status = "verified"', 'status = "unverified"'
        )
    )
    manifest = project / "mgx.toml"
    manifest.write_text('[policy]\nverify = "require"\n\n' + manifest.read_text())
    before = snapshot(project, settings)
    done = run_mgx("tool", "sync", "--frozen", cwd=project)
    assert_refused(done, before, project, settings)
    assert "locked as unverified" in done.stderr


def test_require_refuses_to_start_an_unverified_lock_entry(world: World, project: Path) -> None:
    """Every start (check, the agent's tool loading, the gateway) goes through launch_spec,
    which refuses a tool locked as not verified under verify = "require"."""
    from runtime.toolset_loader import load_toolset

    lock_path = project / "mgx.lock"
    lock_path.write_text(
        lock_path.read_text().replace('status = "verified"', 'status = "unverified"')
    )
    assert load_toolset(world.settings, project, None)  # prefer: it still starts
    manifest = project / "mgx.toml"
    manifest.write_text('[policy]\nverify = "require"\n\n' + manifest.read_text())
    done = run_mgx("tool", "check", ECHO, cwd=project)
    assert done.returncode == 1, done.stderr
    assert 'policy verify = "require" refuses to start it' in done.stderr
    with pytest.raises(VerificationError, match="refuses to start"):
        load_toolset(world.settings, project, None)


def test_info_and_list_show_the_lock_verification(project: Path) -> None:
    shown = run_mgx("tool", "info", ECHO, cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert "locked here: 1.0.0, provenance verified" in shown.stdout
    data = json.loads(run_mgx("tool", "info", ECHO, "--json", cwd=project).stdout)
    assert data["locked"]["verification"] == "verified"
    listed = run_mgx("tool", "list", cwd=project)
    assert "verified" in listed.stdout


def test_old_warn_policy_reads_as_prefer(world: World, project: Path) -> None:
    manifest = project / "mgx.toml"
    manifest.write_text('[policy]\nverify = "warn"\n\n' + manifest.read_text())
    done = run_mgx("tool", "sync", cwd=project)
    assert done.returncode == 0, done.stderr
    assert 'is read as "prefer"' in done.stderr


def test_bad_verify_option_is_a_usage_error(project: Path) -> None:
    done = run_mgx("tool", "install", "echo", "--verify", "maybe", cwd=project)
    assert done.returncode == 2 and "--verify must be one of require, prefer, off" in done.stderr


def test_registry_url_with_credentials_is_refused(world: World, project: Path) -> None:
    settings = world.settings
    config = settings.config_file.read_bytes()
    before = snapshot(project, settings)
    done = run_mgx("registry", "add", "team", "https://alice:s3cret@mcp.example.com", cwd=project)
    assert done.returncode == 2
    assert "s3cret" not in done.stderr and "alice" not in done.stderr
    assert "--token-env" in done.stderr
    assert settings.config_file.read_bytes() == config
    assert snapshot(project, settings) == before
    listed = run_mgx("registry", "list", "--json", cwd=project)
    assert "s3cret" not in listed.stdout


def test_plain_http_needs_insecure_off_loopback(world: World, project: Path) -> None:
    done = run_mgx("registry", "add", "team", "http://mcp.example.com", cwd=project)
    assert done.returncode == 2 and "--insecure" in done.stderr
    done = run_mgx("registry", "add", "team", "http://mcp.example.com", "--insecure", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "insecure" in world.settings.config_file.read_text()
    done = run_mgx("registry", "add", "local", "http://127.0.0.1:9/", cwd=project)
    assert done.returncode == 0, done.stderr


def test_a_hand_written_credential_is_never_listed(world: World, project: Path) -> None:
    config = world.settings.config_file
    config.write_text(
        config.read_text() + '\n[registries.team]\nurl = "https://bob:hunter2@mcp.example.com"\n'
    )
    done = run_mgx("registry", "list", "--json", cwd=project)
    assert "hunter2" not in done.stdout + done.stderr
    assert done.returncode == 2 and "user information" in done.stderr


@pytest.mark.network
def test_pypi_attestations_passes_verification_through_the_cli(world: World, project: Path) -> None:
    """The real sdist and its real PEP 740 provenance from a local index (its dependencies,
    and the build backend uv needs for the sdist, come from pypi.org), under ``require``.

    pypi-attestations 0.0.19 ships no console script, so the installer refuses it *after*
    verification; that the refusal is the installer's proves the provenance passed under
    ``require``. (What a verified PyPI tool writes into the lock is checked in test_pypi.py;
    the lock write itself is the npm test's.) Nothing is changed either way.
    """
    sdist = "pypi_attestations-0.0.19.tar.gz"
    index = PyPIIndex(upstream="https://pypi.org")
    try:
        provenance = json.loads((PYPI_DATA / f"{sdist}.provenance").read_text())
        body = (PYPI_DATA / sdist).read_bytes()
        index.add("pypi-attestations", "0.0.19", sdist, body, provenance)
        name = "io.github.trailofbits/pypi-attestations"
        package = {
            "registryType": "pypi",
            "registryBaseUrl": index.url,
            "identifier": "pypi-attestations",
            "version": "0.0.19",
            "transport": {"type": "stdio"},
        }
        doc = server_doc(name, "0.0.19", [package], published="2024-12-05T12:00:00Z", latest=True)
        doc["server"]["repository"] = {"url": "https://github.com/evil/x", "source": "github"}
        world.docs.append(doc)
        world.serve()
        before = snapshot(project, world.settings)
        # A registry entry naming another repository: refused at verification.
        done = run_mgx("tool", "install", name, "--no-check", cwd=project)
        assert_refused(done, before, project, world.settings)
        assert "https://github.com/trailofbits/pypi-attestations" in done.stderr
        assert "https://github.com/evil/x" in done.stderr
        assert f"/integrity/pypi-attestations/0.0.19/{sdist}/provenance" in index.hits

        # The right repository: verification passes under require; the installer then
        # refuses the package for a reason of its own.
        doc["server"]["repository"]["url"] = "https://github.com/trailofbits/pypi-attestations"
        world.serve()
        done = run_mgx("tool", "install", name, "--no-check", "--verify", "require", cwd=project)
        assert_refused(done, before, project, world.settings)
        assert "did not install its script" in done.stderr
    finally:
        index.close()
