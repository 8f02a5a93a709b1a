"""Project templates for ``mgx init --template NAME``: a tool set for a common job.

A template names registry entries and version specifiers, exactly what a user would write in
``mgx.toml``; nothing is pinned here. ``mgx tool sync`` resolves, installs and locks them like
any other entry. Inputs a server needs from the user are bound to environment variables by
name (never values), with a comment saying what to set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marketplace.errors import ConfigError

__all__ = ["TEMPLATES", "Template", "TemplateTool", "get_template", "render_manifest"]

REFERENCE = "io.github.modelcontextprotocol"


@dataclass(frozen=True, kw_only=True)
class TemplateTool:
    name: str  # registry entry
    version: str  # specifier
    why: str  # one comment line
    env: dict[str, str] = field(default_factory=dict)  # input/env name -> variable name
    env_help: dict[str, str] = field(default_factory=dict)  # variable -> what to put in it


@dataclass(frozen=True, kw_only=True)
class Template:
    name: str
    description: str
    toolset: str
    tools: tuple[TemplateTool, ...]


_TIME = TemplateTool(
    name=f"{REFERENCE}/server-time",
    version="^2026.10",
    why="current time and time-zone conversion",
)
_FETCH = TemplateTool(
    name=f"{REFERENCE}/server-fetch",
    version="^2026.10",
    why="fetch web pages as markdown",
)
_FILES = TemplateTool(
    name=f"{REFERENCE}/server-filesystem",
    version="^2026.8",
    why="read, write and search files in the directories you allow",
    env={"allowed_directory": "MGX_FILES_DIR"},
    env_help={"MGX_FILES_DIR": "the directory the agent may read and write"},
)

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            name="research",
            description="files + fetch + time: read the web, keep notes, know the date",
            toolset="research",
            tools=(_FILES, _FETCH, _TIME),
        ),
        Template(
            name="coding",
            description="files + fetch: work in a source tree, read documentation online",
            toolset="coding",
            tools=(_FILES, _FETCH),
        ),
        Template(
            name="files",
            description="filesystem only: an agent that works on local files",
            toolset="files",
            tools=(_FILES,),
        ),
        Template(
            name="time",
            description="the smallest useful set: current time (a quick first try)",
            toolset="default",
            tools=(_TIME,),
        ),
    )
}


def get_template(name: str) -> Template:
    """The template called ``name``; ``ConfigError`` (exit 2) listing the known ones."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ConfigError(
            f"no template named {name!r} (templates: {', '.join(TEMPLATES)}; see `mgx init --list`)"
        ) from None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_manifest(template: Template | None) -> str:
    """The ``mgx.toml`` text for ``template`` (None: an empty manifest with guidance)."""
    lines = [
        "# mgx.toml: the MCP servers (tools) this project uses; mgx.lock pins their versions.",
        "# Add one: `mgx tool install NAME`; install what is listed here: `mgx tool sync`.",
    ]
    if template is None:
        lines += ["", "[tools]", ""]
        return "\n".join(lines)
    lines += [f"# Template {template.name!r}: {template.description}.", ""]
    needs = {var: text for tool in template.tools for var, text in tool.env_help.items()}
    if needs:
        lines.append("# Set before running an agent (values stay in your environment, never here):")
        lines += [f"#   {var}: {text}" for var, text in needs.items()]
        lines.append("")
    lines.append("[tools]")
    for tool in template.tools:
        lines.append(f"# {tool.why}")
        if tool.env:
            bindings = ", ".join(f"{k} = {{ env = {_quote(v)} }}" for k, v in tool.env.items())
            entry = f"{{ version = {_quote(tool.version)}, env = {{ {bindings} }} }}"
            lines.append(f"{_quote(tool.name)} = {entry}")
        else:
            lines.append(f"{_quote(tool.name)} = {_quote(tool.version)}")
    lines += ["", f"[toolsets.{template.toolset}]"]
    lines.append("tools = [" + ", ".join(_quote(t.name) for t in template.tools) + "]")
    lines.append("")
    return "\n".join(lines)
