"""Edit TOML client configs in place (Codex CLI) through tomlkit, which keeps comments,
order and layout: one ``[table.name]`` is added or removed, nothing else changes."""

from __future__ import annotations

from typing import Any

from marketplace.errors import ConfigError

__all__ = ["TomlDocument"]


class TomlDocument:
    def __init__(self, text: str, *, where: str) -> None:
        import tomlkit

        self.where = where
        try:
            self._doc = tomlkit.parse(text)
        except Exception as exc:  # tomlkit raises its own ParseError family
            raise ConfigError(f"{where}: not valid TOML ({exc})") from exc

    @property
    def text(self) -> str:
        import tomlkit

        return tomlkit.dumps(self._doc)

    def data(self) -> Any:
        return self._doc.unwrap()

    def _table(self, path: tuple[str, ...], *, create: bool) -> Any:
        import tomlkit

        node: Any = self._doc
        for key in path:
            if key not in node:
                if not create:
                    return None
                node[key] = tomlkit.table(is_super_table=True)
            node = node[key]
            if not hasattr(node, "keys"):
                raise ConfigError(f"{self.where}: {'.'.join(path)} is not a table")
        return node

    def has_object(self, path: tuple[str, ...]) -> bool:
        return self._table(path, create=False) is not None

    def ensure_object(self, path: tuple[str, ...]) -> bool:
        existed = self.has_object(path)
        self._table(path, create=True)
        return not existed

    def set_member(self, path: tuple[str, ...], key: str, value: Any) -> None:
        import tomlkit

        table = self._table(path, create=True)
        entry = tomlkit.table()
        for name, item in value.items():
            entry[name] = item
        entry.add(tomlkit.nl())
        table[key] = entry

    def delete_member(self, path: tuple[str, ...], key: str) -> bool:
        table = self._table(path, create=False)
        if table is None or key not in table:
            return False
        del table[key]
        return True

    def delete_if_empty(self, path: tuple[str, ...]) -> None:
        table = self._table(path, create=False)
        if table is not None and not table and path:
            parent = self._table(path[:-1], create=False) if len(path) > 1 else self._doc
            del parent[path[-1]]
