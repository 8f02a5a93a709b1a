"""Refusals: invalid registry entries, tampered artifacts, and installs shared by projects."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from marketplace import commands
from marketplace.errors import ResolutionError, VerificationError
from marketplace.installers import is_installed, tool_dir
from marketplace.lockfile import read_lock
from marketplace.project import find_project
from marketplace.registries import add_registry, remove_registry
from marketplace.settings import Settings
from tests.lock.conftest import OFFICIAL, World, server_doc

ECHO = "io.github.test/echo"
# Each official invalid example, under the name a user would ask for.
INVALID = {
    "bad-name-pattern.json": ("no-namespace-separator", "does not match"),
    "description-too-long.json": ("io.github.user/verbose", "description: must be at most 100"),
    "missing-name.json": ("io.github.user/missing-name", "name: is required"),
    "package-version-latest.json": ("io.github.user/bad-version", '"latest" is not allowed'),
    "positional-argument-missing-value.json": (
        "io.github.user/bad-argument",
        'needs "valueHint" or "value"',
    ),
}


class RawRegistry:
    """A registry on loopback that serves documents exactly as given, valid or not."""

    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                path = self.path.split("?", 1)[0]
                if path == "/v0.1/servers":
                    body: Any = {"servers": list(items.values()), "metadata": {"count": 5}}
                elif path.startswith("/v0.1/servers/") and "/versions" in path:
                    name = unquote(path[len("/v0.1/servers/") :].split("/versions")[0])
                    if name not in items:
                        self.send_error(404)
                        return
                    latest = path.endswith("/versions/latest")
                    body = items[name] if latest else {"servers": [items[name]]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def raw_registry(world: World, test_data: Path) -> Iterator[RawRegistry]:
    meta = {OFFICIAL: {"status": "active", "isLatest": True, "publishedAt": "2025-10-01T00:00:00Z"}}
    items: dict[str, dict[str, Any]] = {}
    for file, (name, _) in INVALID.items():
        doc = json.loads((test_data / "registry" / "examples" / "invalid" / file).read_text())
        items[name] = {"server": doc, "_meta": meta}
    items[ECHO] = server_doc(ECHO, "1.0.0", [world.bundle(ECHO, "1.0.0")], latest=True)
    registry = RawRegistry(items)
    remove_registry(world.settings, "official")
    add_registry(world.settings, "raw", registry.url)
    try:
        yield registry
    finally:
        registry.server.shutdown()
        registry.server.server_close()


def test_official_invalid_examples_are_refused(
    raw_registry: RawRegistry, world: World, project_dir: Path
) -> None:
    project = find_project(create=True, settings=world.settings)
    for name, fragment in INVALID.values():
        with pytest.raises(ResolutionError) as info:
            commands.install(project, name)
        message = str(info.value)
        assert "invalid server.json" in message and "refusing to install" in message, message
        assert fragment in message, message
        assert "\n" not in message
    assert not project.manifest_path.exists() and not project.lock_path.exists()
    # The valid entry of the same registry installs fine.
    assert commands.install(project, ECHO).version == "1.0.0"


def test_tampered_artifact_is_refused_and_nothing_changes(
    echo_world: World, project_dir: Path
) -> None:
    project = find_project(create=True, settings=echo_world.settings)
    commands.install(project, ECHO, "1.0.0")
    lock_text = project.lock_path.read_text()
    tool = read_lock(project.lock_path).tools[ECHO]  # type: ignore[union-attr]
    path = tool_dir(project.settings, tool.package)

    # The installs are deleted, the download cache emptied, and the file on the server swapped.
    shutil.rmtree(path)
    shutil.rmtree(project.settings.cache_dir / "mcpb")
    url_path = "/" + tool.package.identifier.split("/", 3)[3]
    good = echo_world.files.files[url_path]
    echo_world.files.files[url_path] = good.replace(b"Return the text", b"Steal the text")
    with pytest.raises(VerificationError, match="sha256 mismatch"):
        commands.sync(project, frozen=True)
    assert not is_installed(project.settings, tool.package) and not path.exists()
    assert project.lock_path.read_text() == lock_text
    assert not any(project.settings.staging_dir.iterdir())

    # With the genuine file back, --frozen rebuilds the same install (same digest, same dir).
    echo_world.files.files[url_path] = good
    assert commands.sync(project, frozen=True).installed == [ECHO]
    assert is_installed(project.settings, tool.package)
    assert project.lock_path.read_text() == lock_text


def test_lock_is_byte_identical_across_resolutions(
    echo_world: World, tmp_path: Path, settings: Settings
) -> None:
    texts = []
    for i in range(2):
        directory = tmp_path / f"p{i}"
        directory.mkdir()
        project = find_project(directory, create=True, settings=settings)
        commands.install(project, ECHO, "^1", toolset="a")
        commands.install(project, "echo", "^1", toolset="b")
        texts.append(project.lock_path.read_bytes())
    assert texts[0] == texts[1]


def test_installs_shared_by_two_projects(
    echo_world: World, tmp_path: Path, settings: Settings
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = find_project(tmp_path / "one", create=True, settings=settings)
    two = find_project(tmp_path / "two", create=True, settings=settings)
    commands.install(one, ECHO, "1.0.0", check=False)
    commands.install(two, ECHO, "1.0.0", check=False)
    tool = read_lock(one.lock_path).tools[ECHO]  # type: ignore[union-attr]
    assert read_lock(two.lock_path).tools[ECHO] == tool  # type: ignore[union-attr]
    assert commands.remove(one, ECHO).deleted == []  # still used by the other project
    assert is_installed(settings, tool.package)
    assert commands.sync(two, frozen=True).present == [ECHO]
    assert len(commands.remove(two, ECHO).deleted) == 1
    assert not tool_dir(settings, tool.package).exists()
