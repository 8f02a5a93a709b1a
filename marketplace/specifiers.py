"""Server version specifiers: what a user may ask for after ``NAME@``.

Grammar (npm's range syntax, via ``semantic_version.NpmSpec``)::

    latest | "" | *          the registry's current version (else the highest stable one)
    1.2.3                    exactly that version
    ^1.2  ~1.2.3  1.x        caret, tilde and x-ranges
    >=1 <2  ||  1.2 - 1.4    comparator sets, unions and hyphen ranges

Registry versions are free-form strings. Versions that are semver (or close to it: ``v1.2.3``,
``1.2``, ``2025.09.25`` are read as ``1.2.3``, ``1.2.0``, ``2025.9.25``) take part in ranges;
any other version (``20250925-build``, ``1.0.0.1``) can only be pinned exactly, by its exact
text. Prereleases match only when asked for (``prerelease=True``) or when the range itself names
a prerelease of the same ``major.minor.patch`` (npm's rule).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from marketplace.errors import ResolutionError, SpecifierError

if TYPE_CHECKING:
    import semantic_version

__all__ = ["LATEST", "Spec", "coerce_version", "matches", "parse_spec", "select"]

LATEST = "latest"
_LOOSE = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$"
)
_MAX_SHOWN = 12


@dataclass(frozen=True)
class Spec:
    """A parsed specifier. ``text`` is the normalised form written to the manifest."""

    text: str
    kind: str  # "latest" | "exact" | "range"

    def __str__(self) -> str:
        return self.text

    @property
    def is_latest(self) -> bool:
        return self.kind == "latest"


@lru_cache(maxsize=4096)
def coerce_version(text: str) -> semantic_version.Version | None:
    """The semver reading of a registry version, or None when it has none."""
    import semantic_version

    try:
        return semantic_version.Version(text)
    except ValueError:
        pass
    m = _LOOSE.match(text)
    if m is None:
        return None
    major, minor, patch, pre, build = m.groups()
    try:
        return semantic_version.Version(
            major=int(major),
            minor=int(minor or 0),
            patch=int(patch or 0),
            prerelease=tuple(pre.split(".")) if pre else (),
            build=tuple(build.split(".")) if build else (),
        )
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _npm_spec(text: str) -> semantic_version.NpmSpec:
    import semantic_version

    return semantic_version.NpmSpec(text)


def parse_spec(text: str | None) -> Spec:
    """Parse a specifier; raises ``ResolutionError`` naming the problem."""
    raw = "" if text is None else text.strip()
    if raw in ("", "*", LATEST):
        return Spec(LATEST, "latest")
    if "\x00" in raw or "\n" in raw or len(raw) > 255:
        raise SpecifierError(f"invalid version specifier {raw[:40]!r}")
    if raw.startswith("-"):
        raise SpecifierError(f"invalid version specifier {raw!r}: it starts with '-'")
    normal = " ".join(raw.split())
    # A bare version (including non-semver ones such as "1.0.0.1") pins exactly; npm would read
    # "1.2" as the range 1.2.x, but a registry version "1.2" is matched by its exact text first.
    if re.fullmatch(r"[=]?v?[0-9A-Za-z][0-9A-Za-z.+_~-]*", normal) and not _is_partial(normal):
        exact = normal.lstrip("=")
        if re.search(r"[xX*]", exact.split("-")[0]) is None:
            return Spec(exact, "exact")
    try:
        _npm_spec(normal)
    except ValueError as exc:
        raise SpecifierError(
            f"invalid version specifier {raw!r}: use an exact version (1.2.3), a range "
            "(^1.2, ~1.2.3, >=1 <2, 1.x) or 'latest'"
        ) from exc
    return Spec(normal, "range")


def _is_partial(text: str) -> bool:
    """``1`` or ``1.2`` (npm ranges), as opposed to a full version."""
    return re.fullmatch(r"v?\d+(\.\d+)?", text) is not None


def matches(spec: Spec, version: str, *, prerelease: bool = False) -> bool:
    """Whether ``version`` satisfies ``spec`` (``latest`` matches any stable version)."""
    if spec.kind == "exact":
        if version == spec.text:
            return True
        want, have = coerce_version(spec.text), coerce_version(version)
        return want is not None and have is not None and want == have
    parsed = coerce_version(version)
    if parsed is None:
        return False
    if spec.kind == "latest":
        return prerelease or not parsed.prerelease
    npm = _npm_spec(spec.text)
    if npm.match(parsed):
        return True
    if prerelease and parsed.prerelease:
        # includePrerelease: a prerelease counts when its release would match.
        return bool(npm.match(parsed.truncate("patch")))  # semantic_version is untyped
    return False


def select(
    spec: Spec | str,
    versions: Sequence[str],
    *,
    latest: str | None = None,
    prerelease: bool = False,
    name: str = "",
) -> str:
    """The version of ``versions`` (newest first, as registries list them) to install.

    ``latest`` is the registry's current version (its ``isLatest``), used for ``@latest`` when
    it is stable or prereleases are allowed; otherwise the highest matching semver version
    wins, and non-semver versions are only chosen by an exact pin (or as ``latest`` when the
    registry has nothing else). Raises ``ResolutionError`` listing the available versions.
    """
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if spec.kind == "exact" and spec.text in versions:
        return spec.text
    if spec.kind == "latest" and latest is not None and latest in versions:
        parsed = coerce_version(latest)
        if prerelease or parsed is None or not parsed.prerelease:
            return latest
    candidates = [v for v in versions if matches(spec, v, prerelease=prerelease)]
    if candidates:
        return max(candidates, key=lambda v: (coerce_version(v), -versions.index(v)))
    if spec.kind == "latest" and versions:
        # Nothing stable is published: take the newest prerelease rather than fail, and when
        # no version is semver at all, the registry's own order decides.
        semver = [(found, v) for v in versions if (found := coerce_version(v)) is not None]
        return max(semver, key=lambda pair: pair[0])[1] if semver else versions[0]
    raise ResolutionError(_no_match(spec, versions, name))


def _no_match(spec: Spec, versions: Sequence[str], name: str) -> str:
    subject = f"{name}@{spec.text}" if name else f"version {spec.text!r}"
    if not versions:
        return f"no version matches {subject}: the registry lists no versions"
    shown = ", ".join(versions[:_MAX_SHOWN]) + (
        f", … ({len(versions)} in all)" if len(versions) > _MAX_SHOWN else ""
    )
    return f"no version matches {subject} (available: {shown})"
