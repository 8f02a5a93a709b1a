"""``mgx init [--template NAME]``: write a starting ``mgx.toml`` (nothing is installed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from marketplace.errors import ConfigError
from marketplace.manifest import MANIFEST_NAME, parse_manifest
from marketplace.templates import get_template, render_manifest

__all__ = ["InitResult", "init_project"]


@dataclass(frozen=True, kw_only=True)
class InitResult:
    path: str
    template: str
    tools: list[str] = field(default_factory=list)
    toolsets: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)  # variables the user should set


def init_project(root: Path, template: str | None = None, *, force: bool = False) -> InitResult:
    """Write ``root/mgx.toml`` from ``template``; refuses to overwrite one unless ``force``."""
    from marketplace._fs import atomic_write

    chosen = get_template(template) if template else None
    root = root.expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"project directory {root} does not exist")
    path = root / MANIFEST_NAME
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to replace it")
    text = render_manifest(chosen)
    manifest = parse_manifest(text, where=str(path))  # a template must be a valid manifest
    atomic_write(path, text)
    return InitResult(
        path=str(path),
        template=chosen.name if chosen else "",
        tools=list(manifest.tools),
        toolsets=sorted(manifest.toolsets),
        env=sorted({v for t in (chosen.tools if chosen else ()) for v in t.env.values()}),
    )
