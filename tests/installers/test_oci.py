"""OCI digest pinning against a real loopback server speaking the registry v2 manifest API."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from typing import Any

import pytest

from marketplace.errors import InstallError, ResolutionError
from marketplace.installers import (
    install_package,
    is_installed,
    resolve_invocation,
    resolve_package,
    tool_dir,
)
from marketplace.installers.oci import container_engine, parse_reference
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server
from tests.installers.conftest import LoopbackHTTP

MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
TOKEN = "anon-token-123"


def v2_registry(loopback: LoopbackHTTP, *, send_digest_header: bool = True) -> None:
    """/v2/tools/echo/manifests/1.0, behind an anonymous bearer-token challenge."""
    realm = f"{loopback.url}/token"

    def manifest(req: Any) -> None:
        if req.headers.get("Authorization") != f"Bearer {TOKEN}":
            req.send_response(401)
            req.send_header(
                "WWW-Authenticate",
                f'Bearer realm="{realm}",service="loopback",scope="repository:tools/echo:pull"',
            )
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        if "application/vnd.oci.image.manifest.v1+json" not in req.headers.get("Accept", ""):
            req.send_response(406)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        req.send_response(200)
        req.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        req.send_header("Content-Length", str(len(MANIFEST)))
        if send_digest_header:
            req.send_header("Docker-Content-Digest", DIGEST)
        req.end_headers()
        if req.command == "GET":
            req.wfile.write(MANIFEST)

    def token(req: Any) -> None:
        assert (
            "scope=repository%3Atools%2Fecho%3Apull" in req.path
            or "scope=repository:tools/echo:pull" in req.path
        )
        body = json.dumps({"token": TOKEN}).encode()
        req.send_response(200)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    loopback.routes[("HEAD", "/v2/tools/echo/manifests/1.0")] = manifest
    loopback.routes[("GET", "/v2/tools/echo/manifests/1.0")] = manifest
    loopback.routes[("GET", "/token")] = token


def oci_server(identifier: str) -> Any:
    return parse_server(
        {
            "name": "io.github.test/echo",
            "description": "d",
            "version": "1.0",
            "packages": [
                {
                    "registryType": "oci",
                    "identifier": identifier,
                    "transport": {"type": "stdio"},
                    "runtimeHint": "docker",
                    "runtimeArguments": [{"type": "named", "name": "--network", "value": "none"}],
                    "packageArguments": [{"type": "positional", "value": "serve"}],
                    "environmentVariables": [
                        {"name": "ECHO_TOKEN", "isRequired": True, "isSecret": True}
                    ],
                }
            ],
        }
    )


@pytest.mark.parametrize("digest_header", [True, False])
def test_tag_is_pinned_to_the_manifest_digest(
    settings: Settings, loopback: LoopbackHTTP, digest_header: bool
) -> None:
    v2_registry(loopback, send_digest_header=digest_header)
    host = loopback.url.removeprefix("http://")
    server = oci_server(f"{host}/tools/echo:1.0")
    lock = resolve_package(server, server.packages[0], settings=settings)
    assert lock.artifacts[0].digest == DIGEST
    assert lock.artifacts[0].name == f"{host}/tools/echo"
    assert lock.version == "1.0"
    assert lock.invocation.command == "docker"
    assert lock.invocation.args == (
        ("run", "-i", "--rm"),
        ("-e", "ECHO_TOKEN"),
        ("--network", "none"),
        (f"{host}/tools/echo@{DIGEST}",),
        ("serve",),
    )
    # The anonymous token was used, and is not in the lock.
    assert any(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in loopback.requests)
    assert TOKEN not in json.dumps(lock.to_dict())


def test_unknown_tag_is_a_resolution_error(settings: Settings, loopback: LoopbackHTTP) -> None:
    v2_registry(loopback)
    server = oci_server(loopback.url.removeprefix("http://") + "/tools/echo:2.0")
    with pytest.raises(ResolutionError, match="no such image or tag"):
        resolve_package(server, server.packages[0], settings=settings)


def test_reference_parsing() -> None:
    ref = parse_reference("alpine")
    assert (ref.registry, ref.repository, ref.tag, ref.api_host, ref.scheme) == (
        "docker.io",
        "library/alpine",
        "latest",
        "registry-1.docker.io",
        "https",
    )
    ref = parse_reference("docker.io/domdomegg/airtable-mcp-server:1.7.2")
    assert (ref.repository, ref.tag) == ("domdomegg/airtable-mcp-server", "1.7.2")
    ref = parse_reference("ghcr.io/o/img", "0.4")
    assert (ref.registry, ref.repository, ref.tag) == ("ghcr.io", "o/img", "0.4")
    ref = parse_reference("localhost:5000/x@sha256:" + "a" * 64)
    assert (ref.scheme, ref.digest) == ("http", "sha256:" + "a" * 64)


def _engine_works() -> bool:
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=60).returncode == 0:
            return True
    return False


def test_install_without_a_container_engine_says_so(
    settings: Settings, loopback: LoopbackHTTP
) -> None:
    if _engine_works():
        pytest.skip("a container engine runs here; this test covers machines without one")
    v2_registry(loopback)
    server = oci_server(loopback.url.removeprefix("http://") + "/tools/echo:1.0")
    lock = resolve_package(server, server.packages[0], settings=settings)
    with pytest.raises(InstallError, match="container engine") as info:
        install_package(lock, settings=settings)
    assert "\n" not in str(info.value)
    with pytest.raises(InstallError, match="container engine"):
        container_engine()
    assert not is_installed(settings, lock) and not tool_dir(settings, lock).exists()
    assert not settings.staging_dir.exists() or not any(settings.staging_dir.iterdir())
    with pytest.raises(InstallError, match="not installed"):
        resolve_invocation(
            settings, lock, env_bindings={}, arg_values={}, environ={"ECHO_TOKEN": "x"}
        )
