"""Edit JSON and JSONC (comments, trailing commas) files in place, touching only one member.

Client configs are hand-edited files: a rewrite through ``json.dumps`` would drop comments and
reformat everything. Instead the text is parsed once into spans (where each object member's
key and value start and end), and an edit replaces, inserts or deletes exactly one member's
text, with the file's own indentation. Everything outside that member stays byte-identical,
so adding an entry and removing it again gives back the original file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from marketplace.errors import ConfigError

__all__ = ["JsoncDocument"]

_WS = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.S)
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"', re.S)
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


@dataclass
class _Member:
    key: str
    key_start: int
    value: _Node


@dataclass
class _Node:
    start: int
    end: int
    members: list[_Member] = field(default_factory=list)  # objects only
    is_object: bool = False


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.pos = 0

    def fail(self, what: str) -> ConfigError:
        line = self.text.count("\n", 0, self.pos) + 1
        return ConfigError(f"{self.where}: not valid JSON(C) at line {line}: {what}")

    def skip(self) -> None:
        match = _WS.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def value(self) -> _Node:
        self.skip()
        start = self.pos
        char = self.text[start : start + 1]
        if char == "{":
            return self.obj()
        if char == "[":
            return self.array()
        if char == '"':
            match = _STRING.match(self.text, start)
            if not match:
                raise self.fail("unterminated string")
            self.pos = match.end()
            return _Node(start=start, end=self.pos)
        match = _SCALAR.match(self.text, start)
        if not match:
            raise self.fail(f"unexpected {char!r}" if char else "unexpected end")
        self.pos = match.end()
        return _Node(start=start, end=self.pos)

    def obj(self) -> _Node:
        node = _Node(start=self.pos, end=0, is_object=True)
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith("}", self.pos):
                self.pos += 1
                node.end = self.pos
                return node
            key_start = self.pos
            match = _STRING.match(self.text, key_start)
            if not match:
                raise self.fail("expected a quoted key")
            key = json.loads(match.group(0))
            self.pos = match.end()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':'")
            self.pos += 1
            node.members.append(_Member(key=key, key_start=key_start, value=self.value()))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("}", self.pos):
                raise self.fail("expected ',' or '}'")

    def array(self) -> _Node:
        node = _Node(start=self.pos, end=0)
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith("]", self.pos):
                self.pos += 1
                node.end = self.pos
                return node
            self.value()
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("]", self.pos):
                raise self.fail("expected ',' or ']'")


def _strip(text: str) -> str:
    """JSONC -> JSON: comments and trailing commas out (strings left alone)."""
    out, pos = [], 0
    token = re.compile(
        r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/|,(?=(?:\s|//[^\n]*|/\*.*?\*/)*[}\]])', re.S
    )
    for match in token.finditer(text):
        out.append(text[pos : match.start()])
        piece = match.group(0)
        out.append(piece if piece.startswith('"') else "")
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


class JsoncDocument:
    """One JSON(C) file's text with member-level edits; ``text`` is the current content."""

    def __init__(self, text: str, *, where: str) -> None:
        self.where = where
        self.text = text if text.strip() else "{}\n"
        self._parse()

    def _parse(self) -> None:
        parser = _Parser(self.text, self.where)
        self._root = parser.value()
        parser.skip()
        if parser.pos != len(self.text) or not self._root.is_object:
            raise parser.fail("expected one object")

    def data(self) -> Any:
        """The parsed content (comments dropped)."""
        try:
            return json.loads(_strip(self.text))
        except ValueError as exc:
            raise ConfigError(f"{self.where}: not valid JSON(C): {exc}") from exc

    # --- lookups -----------------------------------------------------------------------------
    def _object(self, path: tuple[str, ...]) -> _Node | None:
        node = self._root
        for key in path:
            member = next((m for m in node.members if m.key == key), None)
            if member is None:
                return None
            if not member.value.is_object:
                raise ConfigError(f"{self.where}: {'.'.join(path)} is not an object")
            node = member.value
        return node

    def has_object(self, path: tuple[str, ...]) -> bool:
        return self._object(path) is not None

    # --- edits -------------------------------------------------------------------------------
    def ensure_object(self, path: tuple[str, ...]) -> bool:
        """Create the objects along ``path`` that are missing; True when any was created."""
        created = False
        for depth in range(1, len(path) + 1):
            if self._object(path[:depth]) is None:
                self.set_member(path[: depth - 1], path[depth - 1], {})
                created = True
        return created

    def set_member(self, path: tuple[str, ...], key: str, value: Any) -> None:
        """Insert or replace ``key`` in the object at ``path`` (which must exist)."""
        node = self._object(path)
        if node is None:
            raise ConfigError(f"{self.where}: no object at {'.'.join(path)}")
        existing = next((m for m in node.members if m.key == key), None)
        indent = self._indent_unit()
        if existing is not None:
            inner = self._line_indent(existing.key_start)
            rendered = self._render(value, inner, indent)
            self._splice(existing.value.start, existing.value.end, rendered)
            return
        outer = self._line_indent(node.start)
        inner = outer + indent
        member = f"{json.dumps(key)}: {self._render(value, inner, indent)}"
        close = node.end - 1
        if not node.members:
            self._splice(node.start + 1, close, f"\n{inner}{member}\n{outer}")
            return
        last = node.members[-1].value.end
        after = _WS.match(self.text, last)
        gap_end = after.end() if after else last
        trailing = self.text.startswith(",", gap_end)
        line_start = self.text.rfind("\n", 0, close) + 1
        own_line = self.text[line_start:close].strip() == "" and line_start > last
        end_comma = "," if trailing else ""
        text = self.text[:last] + ("" if trailing else ",") + self.text[last:]
        shift = 0 if trailing else 1
        if own_line:
            at, insert = line_start + shift, f"{inner}{member}{end_comma}\n"
        else:
            at, insert = close + shift, f"\n{inner}{member}{end_comma}\n{outer}"
        self.text = text[:at] + insert + text[at:]
        self._parse()

    def delete_member(self, path: tuple[str, ...], key: str) -> bool:
        """Remove ``key`` from the object at ``path`` (with its line and separator)."""
        node = self._object(path)
        if node is None:
            return False
        index = next((i for i, m in enumerate(node.members) if m.key == key), None)
        if index is None:
            return False
        member = node.members[index]
        start, end = member.key_start, member.value.end
        after = _WS.match(self.text, end)
        gap_end = after.end() if after else end
        has_comma = self.text.startswith(",", gap_end)
        if has_comma:
            end = gap_end + 1
        line_start = self.text.rfind("\n", 0, start) + 1
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end
        own_line = not self.text[line_start:start].strip() and not self.text[end:line_end].strip()
        if own_line:
            start, end = line_start, min(line_end + 1, len(self.text))
        if len(node.members) == 1:
            # The only member: leave the object as it was before it existed ("{}").
            self._splice(node.start + 1, node.end - 1, "")
            return True
        if not has_comma and index > 0:
            # The last member without a trailing comma: the previous one loses its comma.
            prev_end = node.members[index - 1].value.end
            gap = _WS.match(self.text, prev_end)
            comma = gap.end() if gap else prev_end
            self.text = self.text[:comma] + self.text[comma + 1 : start] + self.text[end:]
            self._parse()
            self._rejoin(path)
            return True
        self._splice(start, end, "")
        return True

    def _rejoin(self, path: tuple[str, ...]) -> None:
        """An object written on one line gets its closing brace back on that line."""
        node = self._object(path)
        if node is None or not node.members:
            return
        last = node.members[-1].value.end
        tail = self.text[last : node.end - 1]
        if "\n" not in self.text[node.start : last] and tail.strip() == "" and "\n" in tail:
            self._splice(last, node.end - 1, "")

    def delete_if_empty(self, path: tuple[str, ...]) -> None:
        """Remove the object at ``path`` when it has no members (one mgx created)."""
        node = self._object(path)
        if node is not None and not node.members and path:
            self.delete_member(path[:-1], path[-1])

    # --- helpers -----------------------------------------------------------------------------
    def _splice(self, start: int, end: int, text: str) -> None:
        self.text = self.text[:start] + text + self.text[end:]
        self._parse()

    def _line_indent(self, pos: int) -> str:
        line_start = self.text.rfind("\n", 0, pos) + 1
        line = self.text[line_start:pos]
        return line[: len(line) - len(line.lstrip())]

    def _indent_unit(self) -> str:
        match = re.search(r"\n([ \t]+)\S", self.text)
        return match.group(1) if match else "  "

    @staticmethod
    def _render(value: Any, base: str, unit: str) -> str:
        width = len(unit) if unit.strip(" ") == "" else 1
        text = json.dumps(value, indent=width, ensure_ascii=False)
        if unit.startswith("\t"):
            text = re.sub(r"(?m)^( +)", lambda m: "\t" * len(m.group(1)), text)
        return text.replace("\n", "\n" + base)
