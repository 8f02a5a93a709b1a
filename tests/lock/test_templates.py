"""`mgx init --template`: every template is a valid manifest naming real catalogue entries,
and installs (init -> sync -> check) from a registry served by `mgx registry serve`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from marketplace.catalog import Catalog
from marketplace.installable import installability, server_types
from marketplace.lockfile import read_lock
from marketplace.manifest import parse_manifest
from marketplace.settings import Settings
from marketplace.specifiers import parse_spec, select
from marketplace.templates import TEMPLATES, render_manifest
from tests.lock.conftest import MGX, World, run_mgx, server_doc

TEMPLATE_TOOLS = sorted({t.name: t for tpl in TEMPLATES.values() for t in tpl.tools}.values(),
                        key=lambda t: t.name)  # fmt: skip


def _snapshot_version(settings: Settings, name: str, spec: str) -> Any:
    """The bundled snapshot's server.json version of ``name`` that ``spec`` selects."""
    with Catalog(settings, offline=True) as catalog:
        versions = catalog.versions(name)
        latest = next(v.version for v in versions if v.meta.is_latest)
        chosen = select(parse_spec(spec), [v.version for v in versions], latest=latest, name=name)
        return next(v for v in versions if v.version == chosen)


def test_templates_name_installable_catalogue_entries(settings: Settings) -> None:
    for template in TEMPLATES.values():
        manifest = parse_manifest(render_manifest(template))
        assert list(manifest.toolsets) == [template.toolset]
        assert list(manifest.toolsets[template.toolset]) == [t.name for t in template.tools]
    for tool in TEMPLATE_TOOLS:
        sv = _snapshot_version(settings, tool.name, tool.version)
        assert installability(server_types(sv)).usable, (tool.name, server_types(sv))


@contextmanager
def registry_served(docs: list[dict[str, Any]], tmp_path: Path) -> Iterator[str]:
    """``mgx registry serve`` over a cache holding ``docs``; mgx pointed at it alone."""
    from registry_cache.serverjson import parse_server
    from registry_cache.store import Cache

    cache_path = tmp_path / "templates.sqlite3"
    with Cache(cache_path) as cache:
        cache.upsert("tpl", [parse_server(d) for d in docs])
    argv = ["registry", "serve", "--cache", str(cache_path), "--registry", "tpl", "--port", "0"]
    proc = subprocess.Popen(
        [*MGX, *argv, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the "serving … at URL" line: ready
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        for args in (
            ["registry", "remove", "official"],
            ["registry", "add", "tpl", match.group(1)],
            ["registry", "sync", "tpl"],
        ):
            done = run_mgx(*args, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
        yield match.group(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


def _init_sync_check(template: str, tmp_path: Path) -> None:
    project = tmp_path / template
    project.mkdir()
    done = run_mgx("init", "--template", template, "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    wanted = json.loads(done.stdout)["tools"]
    synced = run_mgx("tool", "sync", "--json", cwd=project, timeout=900)
    assert synced.returncode == 0, synced.stderr
    assert sorted(json.loads(synced.stdout)["resolved"]) == sorted(wanted)
    lock = read_lock(project / "mgx.lock")
    assert lock is not None and sorted(lock.tools) == sorted(wanted)
    assert sorted(lock.toolsets[TEMPLATES[template].toolset]) == sorted(wanted)
    for name in wanted:
        # The template's specifier is what the lock records, resolved like any other entry.
        spec = next(t.version for t in TEMPLATES[template].tools if t.name == name)
        assert lock.tools[name].spec == spec


def test_every_template_installs_from_a_served_registry(world: World, tmp_path: Path) -> None:
    """Offline: each entry the templates name, at the snapshot's version, ships a real
    ``.mcpb`` bundle (a small MCP server) instead of its PyPI/npm package."""
    docs = []
    for tool in TEMPLATE_TOOLS:
        sv = _snapshot_version(world.settings, tool.name, tool.version)
        docs.append(
            server_doc(tool.name, sv.version, [world.bundle(tool.name, sv.version)], latest=True)
        )
    with registry_served(docs, tmp_path):
        for name in TEMPLATES:
            _init_sync_check(name, tmp_path)
        check = run_mgx("tool", "check", "server-time", "--json", cwd=tmp_path / "time")
        assert check.returncode == 0 and json.loads(check.stdout)["tools"] == ["echo", "version"]


@pytest.mark.network
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_installs_its_real_packages(
    template: str, settings: Settings, tmp_path: Path, python_on_path: str
) -> None:
    """The real entries from the bundled snapshot (PyPI and npm packages: needs the network)."""
    docs = []
    for tool in TEMPLATES[template].tools:
        sv = _snapshot_version(settings, tool.name, tool.version)
        docs.append({"server": sv.raw, "_meta": sv.raw_meta})
    with registry_served(docs, tmp_path):
        _init_sync_check(template, tmp_path)
