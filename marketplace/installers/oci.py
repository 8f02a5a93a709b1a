"""OCI images: pinned by manifest digest, run with docker (or podman) by digest.

Resolve asks the image registry (HTTP API v2) for the tag's manifest digest, with an anonymous
bearer token when the registry asks for one (Docker Hub always does); the invocation runs
``docker run -i --rm … <image>@sha256:…`` so a re-pushed tag can never change what runs.
Install checks that a container engine answers (``docker info``) and pulls the image by digest.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketplace.errors import InstallError, ResolutionError, VerificationError
from marketplace.installers import _io
from marketplace.installers._model import Artifact, Invocation, PackageLock
from marketplace.installers._template import (
    InputCollector,
    compile_arguments,
    compile_key_values,
)
from marketplace.installers._validate import validate_identifier
from marketplace.settings import Settings
from registry_cache.serverjson import Package, ServerVersion

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True, kw_only=True)
class ImageRef:
    registry: str  # as written: docker.io, ghcr.io, 127.0.0.1:5000
    repository: str  # library/alpine, owner/image
    tag: str = ""
    digest: str = ""

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def scheme(self) -> str:
        if self.registry.startswith("["):
            host = self.registry[: self.registry.index("]") + 1]
        else:
            host = self.registry.split(":", 1)[0]
        return "http" if host in _LOOPBACK else "https"

    def pinned(self, digest: str) -> str:
        return f"{self.registry}/{self.repository}@{digest}"


def parse_reference(identifier: str, version: str | None = None) -> ImageRef:
    """``[registry/]repository[:tag][@digest]`` with Docker Hub's defaults."""
    validate_identifier("oci", identifier)
    rest, _, digest = identifier.partition("@")
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    tag = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, _, tag = path.rpartition(":")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not tag and not digest:
        tag = version or "latest"
    return ImageRef(registry=registry, repository=path, tag=tag, digest=digest)


def resolve_digest(ref: ImageRef, *, client: Any) -> str:
    """The manifest digest the registry serves for ``ref`` (HEAD, else GET and hash)."""
    if ref.digest:
        return ref.digest
    url = f"{ref.scheme}://{ref.api_host}/v2/{ref.repository}/manifests/{ref.tag}"
    headers = {"Accept": ", ".join(MANIFEST_TYPES)}
    what = f"oci: resolving {ref.registry}/{ref.repository}:{ref.tag}"
    with _io.http_errors(what):
        response = client.head(url, headers=headers)
        if response.status_code == 401:
            headers["Authorization"] = "Bearer " + _anonymous_token(
                client, response.headers.get("www-authenticate", ""), what
            )
            response = client.head(url, headers=headers)
        if response.status_code == 404:
            raise ResolutionError(f"{what}: the registry has no such image or tag")
        response.raise_for_status()
        digest: str = response.headers.get("docker-content-digest", "")
        if not digest:  # some registries only send it on GET
            body = client.get(url, headers=headers)
            body.raise_for_status()
            digest = "sha256:" + hashlib.sha256(body.content).hexdigest()
    if not _DIGEST.match(digest):
        raise VerificationError(f"{what}: the registry answered a malformed digest {digest[:80]!r}")
    return digest


def _anonymous_token(client: Any, challenge: str, what: str) -> str:
    if not challenge.lower().startswith("bearer "):
        raise InstallError(f"{what}: the registry wants credentials mgx does not have")
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise InstallError(f"{what}: the registry's token service {realm!r} is not https")
    response = client.get(realm, params=params)
    response.raise_for_status()
    data = response.json()
    token = data.get("token") or data.get("access_token")
    if not isinstance(token, str) or not token:
        raise InstallError(f"{what}: the registry's token service gave no token")
    return token


# --- resolve ----------------------------------------------------------------------------------


def resolve(
    server: ServerVersion, package: Package, *, settings: Settings, cutoff: str
) -> PackageLock:
    """Pin the image by digest (``cutoff`` does not apply: an image carries its dependencies)."""
    ref = parse_reference(package.identifier, package.version)
    with _io.http_client() as client:
        digest = resolve_digest(ref, client=client)
    inputs = InputCollector()
    env = compile_key_values(package.environment_variables, inputs, header=False)
    groups: list[tuple[str, ...]] = [("run", "-i", "--rm")]
    # `-e NAME` without a value: docker copies it from its own environment, so values never
    # appear on a command line.
    groups += [("-e", e.name) for e in env]
    groups += compile_arguments(package.runtime_arguments, inputs)
    groups.append((ref.pinned(digest),))
    groups += compile_arguments(package.package_arguments, inputs)
    headers = compile_key_values(package.transport.headers, inputs, header=True)
    url = inputs.variables(package.transport.url or "", package.transport.variables)
    return PackageLock(
        registry_type="oci",
        identifier=package.identifier,
        version=ref.tag or package.version or "",
        registry_base_url=package.registry_base_url or "",
        artifacts=(Artifact(name=f"{ref.registry}/{ref.repository}", digest=digest),),
        invocation=Invocation(
            transport=package.transport.type,
            command="docker",
            args=tuple(groups),
            url=url,
            env=env,
            headers=headers,
            inputs=inputs.result(),
        ),
    )


# --- install ----------------------------------------------------------------------------------


def container_engine() -> str:
    """The path of a working engine (docker, else podman); ``InstallError`` saying why not."""
    problems = []
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if path is None:
            continue
        try:
            _io.run([path, "info"], what=f"`{name} info`", timeout=30)
        except InstallError as exc:
            problems.append(str(exc))
            continue
        return path
    if not problems:
        raise InstallError(
            "oci packages need a container engine, and neither docker nor podman is installed"
        )
    raise InstallError(
        "oci packages need a running container engine: "
        + "; ".join(problems)
        + " (start the docker daemon, or install podman)"
    )


def preflight(lock: PackageLock) -> None:
    container_engine()


def install(lock: PackageLock, work: Path, *, settings: Settings) -> None:
    """Pull the image by digest (the engine verifies the content against it)."""
    if not lock.artifacts or not _DIGEST.match(lock.artifacts[0].digest):
        raise VerificationError("oci: the lock has no image digest; refusing it")
    image = f"{lock.artifacts[0].name}@{lock.artifacts[0].digest}"
    engine = container_engine()
    _io.run([engine, "pull", image], what=f"oci: pulling {image}", timeout=1800)
    (work / "image").write_text(image + "\n", encoding="utf-8")
