"""A NuGet v3 feed on loopback, serving the real API shapes at nuget.org's paths.

``/v3/index.json`` (the service index) names ``/v3-flatcontainer/`` (PackageBaseAddress/3.0.0:
``{id}/index.json`` version lists and ``{id}/{ver}/{id}.{ver}.nupkg``) and
``/v3/registration5-gz-semver2/`` (RegistrationsBaseUrl/3.6.0, served gzip-encoded as
nuget.org does: ``{id}/index.json`` with the leaves inlined, or in page documents when
``paged``), whose catalog entries link ``/v3/catalog0/data/…/{id}.{ver}.json`` catalog leaves
carrying ``packageHash`` (base64 SHA-512) and ``packageHashAlgorithm``. Shapes follow the
NuGet API reference (learn.microsoft.com/nuget/api: service index, package content, package
metadata, catalog).

``make_nupkg`` builds a real .nupkg: an OPC zip with ``[Content_Types].xml``, ``_rels/.rels``,
the ``.nuspec`` (package type DotnetTool) and ``tools/net8.0/any/DotnetToolSettings.xml`` with
the tool's files.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from tests.installers.conftest import LoopbackHTTP


def make_nupkg(
    package_id: str,
    version: str,
    *,
    command: str = "tiny-tool",
    tool: bool = True,
    framework: str = "net8.0",
    rid_packages: dict[str, str] | None = None,
    files: dict[str, bytes] | None = None,
) -> bytes:
    """A .nupkg (zip) for ``package_id`` ``version``; ``tool=False``: a plain library."""
    kind = "DotnetTool" if tool else "Dependency"
    nuspec = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{package_id}</id>
    <version>{version}</version>
    <authors>mgx tests</authors>
    <description>A test package.</description>
    <packageTypes><packageType name="{kind}" /></packageTypes>
  </metadata>
</package>
"""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="nuspec" ContentType='
            '"application/octet"/><Default Extension="xml" ContentType="application/octet"/>'
            '<Default Extension="dll" ContentType="application/octet"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Type="http://schemas'
            f'.microsoft.com/packaging/2010/07/manifest" Target="/{package_id}.nuspec" '
            'Id="R1" /></Relationships>',
        )
        zf.writestr(f"{package_id}.nuspec", nuspec)
        base = f"tools/{framework}/any/"
        if tool:
            rids = "".join(
                f'<RuntimeIdentifierPackage RuntimeIdentifier="{rid}" Id="{rid_id}" />'
                for rid, rid_id in (rid_packages or {}).items()
            )
            version_attr = "2" if rid_packages else "1"
            runner = "" if rid_packages else f' EntryPoint="{package_id}.dll" Runner="dotnet"'
            zf.writestr(
                base + "DotnetToolSettings.xml",
                f'<?xml version="1.0" encoding="utf-8"?>\n<DotNetCliTool Version="{version_attr}">'
                f'<Commands><Command Name="{command}"{runner} /></Commands>'
                + (f"<RuntimeIdentifierPackages>{rids}</RuntimeIdentifierPackages>" if rids else "")
                + "</DotNetCliTool>\n",
            )
        for name, data in (files or {f"{package_id}.dll": b"MZ not a real assembly"}).items():
            zf.writestr((base if tool else "lib/net8.0/") + name, data)
    return buf.getvalue()


@dataclass
class Published:
    package_id: str
    version: str
    body: bytes  # what the flat container serves (tampering replaces it)
    package_hash: str  # what the catalog says (base64)
    algorithm: str = "SHA512"


@dataclass
class NuGetFeed:
    """The feed's routes on a ``LoopbackHTTP``; ``publish`` adds a package version."""

    http: LoopbackHTTP
    paged: bool = False  # registration leaves in page documents instead of inlined
    packages: dict[str, list[Published]] = field(default_factory=dict)

    @property
    def index_url(self) -> str:
        return f"{self.http.url}/v3/index.json"

    def __post_init__(self) -> None:
        base = self.http.url
        self._json(
            "/v3/index.json",
            {
                "version": "3.0.0",
                "resources": [
                    {"@id": f"{base}/v3-flatcontainer/", "@type": "PackageBaseAddress/3.0.0"},
                    {
                        "@id": f"{base}/v3/registration5-gz-semver2/",
                        "@type": "RegistrationsBaseUrl/3.6.0",
                        "comment": "Base URL of Azure storage where NuGet package registration "
                        "info is stored in GZIP format. This base URL includes SemVer 2.0.0 "
                        "packages.",
                    },
                    {"@id": f"{base}/query", "@type": "SearchQueryService/3.5.0"},
                ],
            },
        )

    def publish(
        self,
        package_id: str,
        version: str,
        body: bytes,
        *,
        package_hash: str | None = None,
        algorithm: str = "SHA512",
    ) -> Published:
        digest = base64.b64encode(hashlib.sha512(body).digest()).decode()
        item = Published(
            package_id=package_id,
            version=version,
            body=body,
            package_hash=digest if package_hash is None else package_hash,
            algorithm=algorithm,
        )
        self.packages.setdefault(package_id, []).append(item)
        self._routes(package_id)
        return item

    def tamper(self, package_id: str, version: str, body: bytes) -> None:
        """Serve other bytes for the .nupkg; the catalog keeps the published hash."""
        item = next(p for p in self.packages[package_id] if p.version == version)
        item.body = body
        self._routes(package_id)

    # --- routes -----------------------------------------------------------------------------

    def _json(self, path: str, doc: Any, *, gzipped: bool = False) -> None:
        body = json.dumps(doc).encode()
        if gzipped:
            body = gzip.compress(body)

        def handler(req: http.server.BaseHTTPRequestHandler) -> None:
            req.send_response(200)
            req.send_header("Content-Type", "application/json")
            if gzipped:
                req.send_header("Content-Encoding", "gzip")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)

        self.http.routes[("GET", path)] = handler

    def _routes(self, package_id: str) -> None:
        base = self.http.url
        lower = package_id.lower()
        items = self.packages[package_id]
        self._json(
            f"/v3-flatcontainer/{lower}/index.json", {"versions": [p.version for p in items]}
        )
        registration = f"{base}/v3/registration5-gz-semver2/{lower}"
        leaves = []
        for p in items:
            ver = p.version.lower()
            self.http.serve_bytes(f"/v3-flatcontainer/{lower}/{ver}/{lower}.{ver}.nupkg", p.body)
            catalog_path = f"/v3/catalog0/data/2025.10.01.00.00.00/{lower}.{ver}.json"
            self._json(
                catalog_path,
                {
                    "@id": base + catalog_path,
                    "@type": ["PackageDetails", "catalog:Permalink"],
                    "catalog:commitId": "5e0a6bb2-0000-0000-0000-000000000000",
                    "catalog:commitTimeStamp": "2025-10-01T00:00:00.0000000Z",
                    "id": p.package_id,
                    "version": p.version,
                    "published": "2025-10-01T00:00:00Z",
                    "packageHash": p.package_hash,
                    "packageHashAlgorithm": p.algorithm,
                    "packageSize": len(p.body),
                    "packageTypes": [{"name": "DotnetTool"}],
                },
            )
            leaves.append(
                {
                    "@id": f"{registration}/{ver}.json",
                    "@type": "Package",
                    "catalogEntry": {
                        "@id": base + catalog_path,
                        "@type": "PackageDetails",
                        "id": p.package_id,
                        "version": p.version,
                        "listed": True,
                        "published": "2025-10-01T00:00:00Z",
                    },
                    "packageContent": f"{base}/v3-flatcontainer/{lower}/{ver}/{lower}.{ver}.nupkg",
                    "registration": f"{registration}/index.json",
                }
            )
        page: dict[str, Any] = {
            "@id": f"{registration}/page/{items[0].version}/{items[-1].version}.json",
            "@type": "catalog:CatalogPage",
            "count": len(leaves),
            "lower": items[0].version,
            "upper": items[-1].version,
        }
        if self.paged:
            self._json(
                f"/v3/registration5-gz-semver2/{lower}/page/{items[0].version}/"
                f"{items[-1].version}.json",
                {**page, "items": leaves, "parent": f"{registration}/index.json"},
                gzipped=True,
            )
        else:
            page |= {"items": leaves, "parent": f"{registration}/index.json"}
        self._json(
            f"/v3/registration5-gz-semver2/{lower}/index.json",
            {
                "@id": f"{registration}/index.json",
                "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
                "count": 1,
                "items": [page],
            },
            gzipped=True,
        )
