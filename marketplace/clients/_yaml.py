"""Edit YAML client configs in place (Continue, Goose) without a round-trip library.

A YAML rewrite through PyYAML would drop comments and reorder keys, so mgx edits the text:
each entry it adds is a block of lines between ``# mgx:begin NAME`` and ``# mgx:end NAME``
comments at the end of the top-level mapping or list it belongs to (created at the end of
the file if missing). Removing an entry deletes exactly those lines. The result is checked by
parsing it (PyYAML) before it is written; content is read with ``yaml.safe_load``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from marketplace.errors import ConfigError

__all__ = ["YamlDocument"]

_INDENT = "  "


def _scalar(value: Any) -> str:
    # JSON strings are valid YAML double-quoted scalars: no ambiguity (yes/no, :, #, ...).
    return json.dumps(value, ensure_ascii=False)


def _block(value: Any, level: int) -> list[str]:
    pad = _INDENT * level
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(
                    f"{pad}{_scalar(key)}:" if not re.match(r"^\w+$", key) else f"{pad}{key}:"
                )
                lines.extend(_block(item, level + 1))
            else:
                empty = "{}" if isinstance(item, dict) else "[]" if isinstance(item, list) else None
                text = empty if empty is not None else _scalar(item)
                name = key if re.match(r"^\w+$", key) else _scalar(key)
                lines.append(f"{pad}{name}: {text}")
    elif isinstance(value, list):
        for item in value:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


class YamlDocument:
    def __init__(self, text: str, *, where: str) -> None:
        self.where = where
        self.text = text
        self.data()

    def data(self) -> Any:
        import yaml

        try:
            loaded = yaml.safe_load(self.text) if self.text.strip() else {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.where}: not valid YAML ({str(exc).splitlines()[0]})") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{self.where}: expected a mapping at the top level")
        return loaded

    def has_object(self, path: tuple[str, ...]) -> bool:
        return path[0] in self.data()

    def ensure_object(self, path: tuple[str, ...]) -> bool:
        return path[0] not in self.data()  # created by the first set_member

    def _section(self, key: str) -> tuple[int, int] | None:
        """Line range [first, end) of the top-level block ``key:`` (its child lines)."""
        lines = self.text.splitlines(keepends=True)
        head = re.compile(rf"^{re.escape(key)}\s*:\s*(#.*)?$")
        for i, line in enumerate(lines):
            if head.match(line.rstrip("\n")):
                end = i + 1
                last_content = i + 1
                while end < len(lines):
                    stripped = lines[end].strip()
                    if (
                        stripped
                        and not lines[end][0].isspace()
                        and not stripped.startswith(("#", "- "))
                    ):
                        break
                    if stripped and not stripped.startswith("#"):
                        last_content = end + 1
                    end += 1
                return i + 1, last_content
            if re.match(rf"^{re.escape(key)}\s*:", line):
                raise ConfigError(
                    f"{self.where}: top-level {key!r} is written inline; mgx edits block style only"
                )
        return None

    def set_member(
        self, path: tuple[str, ...], key: str, value: Any, *, as_list: bool = False
    ) -> None:
        self.delete_member(path, key)
        section = path[0]
        found = self._section(section)
        lines = self.text.splitlines(keepends=True)
        lead = self._child_indent(lines, found)
        if as_list:
            body = _block(value, 0)
            body = [lead + "- " + body[0], *(lead + _INDENT + b for b in body[1:])]
        else:
            body = [f"{lead}{key}:", *(lead + b for b in _block(value, 1))]
        block = [f"{lead}# mgx:begin {key}", *body, f"{lead}# mgx:end {key}"]
        if found is None:
            prefix = "" if not self.text or self.text.endswith("\n") else "\n"
            self.text += prefix + f"{section}:\n" + "".join(f"{line}\n" for line in block)
        else:
            _, insert_at = found
            lines[insert_at:insert_at] = [f"{line}\n" for line in block]
            self.text = "".join(lines)
        self.data()

    @staticmethod
    def _child_indent(lines: list[str], found: tuple[int, int] | None) -> str:
        """The indentation of the section's entries (two spaces when it has none yet)."""
        if found is not None:
            for line in lines[found[0] : found[1]]:
                if line.strip() and not line.strip().startswith("#"):
                    return line[: len(line) - len(line.lstrip())]
        return _INDENT

    def delete_member(self, path: tuple[str, ...], key: str) -> bool:
        lines = self.text.splitlines(keepends=True)
        begin = next(
            (i for i, line in enumerate(lines) if line.strip() == f"# mgx:begin {key}"), None
        )
        if begin is None:
            return False
        end = next(
            (i for i in range(begin, len(lines)) if lines[i].strip() == f"# mgx:end {key}"), None
        )
        if end is None:
            raise ConfigError(f"{self.where}: mgx block {key!r} has no end marker; edit it by hand")
        del lines[begin : end + 1]
        self.text = "".join(lines)
        return True

    def delete_if_empty(self, path: tuple[str, ...]) -> None:
        found = self._section(path[0])
        if found is None:
            return
        first, last = found
        lines = self.text.splitlines(keepends=True)
        if all(not ln.strip() or ln.strip().startswith("#") for ln in lines[first:last]):
            if first == last:
                del lines[first - 1]
                self.text = "".join(lines)
