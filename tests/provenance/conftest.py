"""Local servers that hand out the real recorded provenance material at the real URL paths.

Sigstore's services, PyPI's integrity API and npm's attestation endpoint cannot be reached
from here, so the tests serve the recorded files of ``tests/data/sigstore`` (see its SOURCE.md)
themselves:

- ``PyPIIndex``: a PEP 691 JSON simple index (``/simple/<project>/``), the files, and the
  integrity API (``/integrity/<project>/<version>/<filename>/provenance``).
- ``NpmRegistry``: packuments (``/<name>``), version documents (``/<name>/<version>``),
  tarballs, ``/-/npm/v1/keys`` and ``/-/npm/v1/attestations/<name>@<version>``. Like a private
  registry it signs what it serves (``dist.signatures``, ECDSA P-256 over
  ``name@version:integrity``) with its own key, published at ``/-/npm/v1/keys``. Packages it
  does not hold are fetched from registry.npmjs.org (tests that need that are ``network``).

Registry entries (server.json) are served by mgx's own ``/v0.1`` server (``World`` of the lock
tests); their packages' ``registryBaseUrl`` points at these servers.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from marketplace.settings import Settings
from tests.lock.conftest import Files, World

DATA = Path(__file__).resolve().parents[1] / "data" / "sigstore"
PYPI_DATA = DATA / "pypi-attestations"
NPM_DATA = DATA / "npm"
INTEGRITY = "application/vnd.pypi.integrity.v1+json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sri512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class _Server:
    """A threaded loopback HTTP server calling ``self.handle(path, headers)``."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
                outer.hits.append(self.path)
                answer = outer.handle(self.path.split("?", 1)[0], dict(self.headers))
                if answer is None:
                    self.send_error(404)
                    return
                status, ctype, body = answer
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes] | None:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json(data: Any, ctype: str = "application/json") -> tuple[int, str, bytes]:
    return 200, ctype, json.dumps(data).encode()


class PyPIIndex(_Server):
    """A PyPI-style index: JSON simple API, files, integrity API (what pypi.org serves)."""

    def __init__(self, *, upstream: str | None = None) -> None:
        super().__init__()
        self.upstream = upstream  # simple pages of projects it does not hold come from there
        self.files: dict[str, list[dict[str, Any]]] = {}  # project -> file entries
        self.bodies: dict[str, bytes] = {}
        self.provenance: dict[tuple[str, str, str], Any] = {}

    def add(
        self, project: str, version: str, filename: str, body: bytes, provenance: Any = None
    ) -> None:
        self.bodies[filename] = body
        self.files.setdefault(project, []).append(
            {
                "filename": filename,
                "url": f"{self.url}/files/{filename}",
                "hashes": {"sha256": sha256(body)},
                "upload-time": "2024-12-05T00:00:00Z",
                # PEP 740: the provenance URL, or null when the file has none (as pypi.org)
                "provenance": (
                    f"{self.url}/integrity/{project}/{version}/{filename}/provenance"
                    if provenance is not None
                    else None
                ),
            }
        )
        if provenance is not None:
            self.provenance[(project, version, filename)] = provenance

    def handle(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes] | None:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in self.files:
            doc = {"meta": {"api-version": "1.1"}, "name": parts[1], "files": self.files[parts[1]]}
            return _json(doc, "application/vnd.pypi.simple.v1+json")
        if len(parts) == 2 and parts[0] == "files" and parts[1] in self.bodies:
            return 200, "application/octet-stream", self.bodies[parts[1]]
        if len(parts) == 5 and parts[0] == "integrity" and parts[4] == "provenance":
            found = self.provenance.get((parts[1], parts[2], parts[3]))
            return None if found is None else _json(found, INTEGRITY)
        if len(parts) == 2 and parts[0] == "simple" and self.upstream:
            import httpx

            # The files stay on the upstream's file host (absolute URLs in its answer).
            response = httpx.get(
                f"{self.upstream}/simple/{parts[1]}/",
                headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                timeout=60,
                follow_redirects=True,
            )
            if response.status_code != 200:
                return None
            return 200, response.headers.get("content-type", ""), response.content
        return None


@dataclass
class NpmPackage:
    name: str
    version: str
    tarball: bytes
    manifest: dict[str, Any]
    attestations: Any = None
    published: str = "2026-02-14T23:29:00.000Z"
    integrity: str = ""  # what the registry claims (default: the tarball's)
    signature: str = ""  # a signature to serve instead of the registry's own
    extra: dict[str, Any] = field(default_factory=dict)


class NpmRegistry(_Server):
    """An npm-style registry signing what it serves, proxying what it does not hold."""

    def __init__(self, *, upstream: str | None = None) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        super().__init__()
        self.packages: dict[str, dict[str, NpmPackage]] = {}
        self.upstream = upstream
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.keyid = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()
        self.keys = {
            "keys": [
                {
                    "expires": None,
                    "keyid": self.keyid,
                    "keytype": "ecdsa-sha2-nistp256",
                    "scheme": "ecdsa-sha2-nistp256",
                    "key": base64.b64encode(der).decode(),
                }
            ]
        }
        self.proxied: list[str] = []

    def add(self, pkg: NpmPackage) -> None:
        self.packages.setdefault(pkg.name, {})[pkg.version] = pkg

    def _sign(self, text: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return base64.b64encode(self.key.sign(text.encode(), ec.ECDSA(hashes.SHA256()))).decode()

    def version_doc(self, pkg: NpmPackage) -> dict[str, Any]:
        integrity = pkg.integrity or sri512(pkg.tarball)
        unscoped = pkg.name.rsplit("/", 1)[-1]
        dist = {
            "integrity": integrity,
            "shasum": hashlib.sha1(pkg.tarball).hexdigest(),  # noqa: S324 - npm's format
            "tarball": f"{self.url}/{pkg.name}/-/{unscoped}-{pkg.version}.tgz",
            "signatures": [
                {
                    "keyid": self.keyid,
                    "sig": pkg.signature or self._sign(f"{pkg.name}@{pkg.version}:{integrity}"),
                }
            ],
        }
        return {**pkg.manifest, **pkg.extra, "_id": f"{pkg.name}@{pkg.version}", "dist": dist}

    def handle(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes] | None:
        path = unquote(path)
        if path == "/-/npm/v1/keys":
            return _json(self.keys)
        if path.startswith("/-/npm/v1/attestations/"):
            spec = path[len("/-/npm/v1/attestations/") :]
            name, _, version = spec.rpartition("@")
            pkg = self.packages.get(name, {}).get(version)
            if pkg is None or pkg.attestations is None:
                return None
            return _json(pkg.attestations)
        for name, versions in self.packages.items():
            if path == f"/{name}":
                return _json(
                    {
                        "name": name,
                        "dist-tags": {"latest": sorted(versions)[-1]},
                        "versions": {v: self.version_doc(p) for v, p in versions.items()},
                        "time": {v: p.published for v, p in versions.items()}
                        | {"created": "2026-01-01T00:00:00.000Z"},
                    }
                )
            for version, pkg in versions.items():
                if path == f"/{name}/{version}":
                    return _json(self.version_doc(pkg))
                unscoped = name.rsplit("/", 1)[-1]
                if path == f"/{name}/-/{unscoped}-{version}.tgz":
                    return 200, "application/octet-stream", pkg.tarball
        return self._proxy(path, headers)

    def _proxy(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes] | None:
        if self.upstream is None or path.startswith("/-/"):
            return None
        import httpx

        self.proxied.append(path)
        accept = headers.get("Accept") or headers.get("accept") or "application/json"
        # registry.npmjs.org answers /@scope/name as it does /@scope%2fname
        response = httpx.get(self.upstream + path, headers={"Accept": accept}, timeout=60)
        if response.status_code != 200:
            return None
        ctype = response.headers.get("content-type", "application/json")
        return 200, ctype, response.content


def playwright_package(**changes: Any) -> NpmPackage:
    """``@playwright/cli@0.1.1``: the real tarball and the real attestations response."""
    tarball = (NPM_DATA / "sigstore-dotnet" / "playwright-cli-0.1.1.tgz").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tf:
        member = tf.extractfile("package/package.json")
        assert member is not None
        manifest = json.loads(member.read())
    attestations = json.loads(
        (NPM_DATA / "sigstore-dotnet" / "playwright-cli-0.1.1-attestations.json").read_text()
    )
    values: dict[str, Any] = {
        "name": "@playwright/cli",
        "version": "0.1.1",
        "tarball": tarball,
        "manifest": manifest,
        "attestations": attestations,
    }
    values.update(changes)
    return NpmPackage(**values)


def flip_in_tarball(tgz: bytes) -> bytes:
    """The tarball with one byte of a packaged file's content flipped (still a valid .tgz)."""
    import gzip

    raw = gzip.decompress(tgz)
    at = raw.index(b"Copyright")  # inside a file's data: tar checksums cover headers only
    return gzip.compress(flip_byte(raw, at), mtime=0)


def flip_byte(data: bytes, at: int | None = None) -> bytes:
    where = len(data) // 2 if at is None else at
    return data[:where] + bytes([data[where] ^ 0x01]) + data[where + 1 :]


@pytest.fixture
def settings(mgx_home: Path) -> Settings:
    return Settings.from_env({"MGX_HOME": str(mgx_home)})


@pytest.fixture
def pypi_index() -> Iterator[PyPIIndex]:
    index = PyPIIndex()
    try:
        yield index
    finally:
        index.close()


@pytest.fixture
def npm_registry() -> Iterator[NpmRegistry]:
    registry = NpmRegistry()
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture
def world(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """mgx's own registry server, publishing what each test adds to ``world.docs``."""
    import os
    import sys

    monkeypatch.delenv("MGX_PROJECT", raising=False)
    monkeypatch.delenv("MGX_OFFLINE", raising=False)
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    files = Files()
    w = World(settings=settings, files=files, cache_path=tmp_path / "registry.sqlite3")
    try:
        yield w
    finally:
        w.close()
        files.close()
