"""The registries mgx reads from, configured in ``Settings.config_file`` (TOML).

The official registry is on by default; users add private or team registries::

    [registries.official]
    enabled = false                 # written by `mgx registry remove official`

    [registries.team]
    url = "https://mcp.example.com"
    token_env = "TEAM_REGISTRY_TOKEN"   # the variable's NAME; its value is never stored

Credentials never live in a URL: ``mgx registry add`` refuses ``user:password@`` (a token comes
only from ``--token-env``) and plain ``http://`` anywhere but loopback unless ``--insecure``
(recorded as ``insecure = true``); what it shows of a URL never includes user information.

Reading uses the stdlib ``tomllib`` (fast: every command reads this); writing uses tomlkit so
a user's comments and layout survive, under a file lock, atomically.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketplace._fs import atomic_write
from marketplace.errors import ConfigError
from marketplace.settings import OFFICIAL_REGISTRY, Settings

OFFICIAL = "official"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
URL_RE = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


@dataclass(frozen=True, kw_only=True)
class Registry:
    """A configured registry. ``token_env`` names the variable holding its bearer token."""

    name: str
    url: str
    token_env: str | None = None
    enabled: bool = True
    insecure: bool = False  # plain http:// to a host other than loopback, accepted explicitly

    @property
    def display_url(self) -> str:
        """The URL with any user information removed (safe to print or log)."""
        return redact_url(self.url)

    @property
    def is_official(self) -> bool:
        return self.name == OFFICIAL

    def token(self, env: Mapping[str, str] | None = None) -> str | None:
        """The bearer token from the environment (None if not configured or not set)."""
        if not self.token_env:
            return None
        return (os.environ if env is None else env).get(self.token_env) or None


_USERINFO = re.compile(r"^(https?://)[^/?#@\s]*@", re.IGNORECASE)
_CREDENTIALS_IN_TEXT = re.compile(r"(https?://)[^/?#@\s]*@", re.IGNORECASE)


def redact_url(text: str) -> str:
    """``text`` with the user information of every http(s) URL in it replaced by ``***``."""
    return _CREDENTIALS_IN_TEXT.sub(r"\1***@", text)


def _is_loopback(host: str) -> bool:
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url_safety(url: str, *, insecure: bool = False) -> None:
    """Refuse credentials in a registry URL, and plain http:// off loopback without ``insecure``.

    The message never repeats the user information: it may be a password or a token.
    """
    from urllib.parse import urlsplit

    if _USERINFO.match(url):
        raise ConfigError(
            "a registry URL must not contain user:password@ (it would be stored and shown); "
            "give the token's variable with --token-env instead"
        )
    parts = urlsplit(url)
    if parts.scheme.lower() == "http" and not insecure and not _is_loopback(parts.hostname or ""):
        raise ConfigError(
            f"refusing plain http:// for {parts.hostname}: registry data and tokens would travel "
            "unencrypted; use https://, or pass --insecure if you accept that"
        )


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or delete it") from exc


def all_registries(settings: Settings) -> list[Registry]:
    """Every registry in the configuration, disabled ones included; official first."""
    path = settings.config_file
    table = _read(path).get("registries", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [registries] must be a table")
    out: list[Registry] = []
    official = table.get(OFFICIAL, {})
    if not isinstance(official, Mapping):
        raise ConfigError(f"{path}: [registries.official] must be a table")
    out.append(_entry(path, OFFICIAL, {"url": OFFICIAL_REGISTRY, **official}))
    for name, entry in table.items():
        if name == OFFICIAL:
            continue
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{path}: [registries.{name}] must be a table")
        out.append(_entry(path, name, entry))
    return out


def _entry(path: Path, name: str, entry: Mapping[str, Any]) -> Registry:
    url, token_env, enabled = entry.get("url"), entry.get("token_env"), entry.get("enabled", True)
    insecure = entry.get("insecure", False)
    if not isinstance(url, str) or not URL_RE.match(url):
        shown = redact_url(url) if isinstance(url, str) else url
        raise ConfigError(f"{path}: registries.{name}.url must be an http(s) URL, got {shown!r}")
    if _USERINFO.match(url):
        raise ConfigError(
            f"{path}: registries.{name}.url contains user information; remove it and use "
            "token_env (the variable's name) for the token"
        )
    if not isinstance(insecure, bool):
        raise ConfigError(f"{path}: registries.{name}.insecure must be true or false")
    if token_env is not None and (not isinstance(token_env, str) or not ENV_RE.match(token_env)):
        raise ConfigError(f"{path}: registries.{name}.token_env must be a variable name")
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}: registries.{name}.enabled must be true or false")
    return Registry(
        name=name, url=url.rstrip("/"), token_env=token_env, enabled=enabled, insecure=insecure
    )


def load_registries(settings: Settings) -> list[Registry]:
    """The enabled registries, in the order they are consulted (official first)."""
    return [r for r in all_registries(settings) if r.enabled]


def get_registry(settings: Settings, name: str) -> Registry:
    """A configured, enabled registry by name; ConfigError naming the known ones otherwise."""
    registries = all_registries(settings)
    for registry in registries:
        if registry.name == name:
            if not registry.enabled:
                raise ConfigError(
                    f"registry {name!r} is disabled; re-enable it with "
                    f"`mgx registry add {name} {registry.url}`"
                )
            return registry
    known = ", ".join(r.name for r in registries if r.enabled) or "none"
    raise ConfigError(f"no registry named {name!r} (configured: {known}); see `mgx registry list`")


# --- mutations ------------------------------------------------------------------------------


def _update(settings: Settings, change: Any) -> None:
    """Apply ``change(doc)`` to the config under a lock and write it atomically."""
    import tomlkit
    from filelock import FileLock

    path = settings.config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=30):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        try:
            doc = tomlkit.parse(text)
        except Exception as exc:  # tomlkit raises several unrelated types
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix or delete it") from exc
        if "registries" not in doc:
            doc["registries"] = tomlkit.table(is_super_table=True)
        change(doc["registries"])
        # 0600, the mode this file has always had (mkstemp's): it names the token variables
        atomic_write(path, tomlkit.dumps(doc), mode=0o600)


def add_registry(
    settings: Settings,
    name: str,
    url: str,
    *,
    token_env: str | None = None,
    insecure: bool = False,
) -> Registry:
    """Add (or update) a registry; adding ``official`` re-enables it or points it at a mirror.

    Refuses a URL carrying credentials, and plain http:// off loopback unless ``insecure``.
    """
    if not NAME_RE.match(name):
        raise ConfigError(
            f"invalid registry name {name!r}: use lowercase letters, digits, '-' or '_'"
        )
    url = url.rstrip("/")
    check_url_safety(url, insecure=insecure)
    if not URL_RE.match(url):
        raise ConfigError(f"invalid registry URL {url!r}: give an http(s) base URL")
    # Only a non-loopback http:// URL needs (and records) the explicit opt-in.
    insecure = insecure and url.lower().startswith("http://")
    if token_env is not None and not ENV_RE.match(token_env):
        raise ConfigError(
            f"invalid --token-env {token_env!r}: give the NAME of an environment variable "
            "(its value is read when mgx talks to the registry, never stored)"
        )

    before = {r.name: r for r in all_registries(settings)}.get(name)

    def change(registries: Any) -> None:
        import tomlkit

        entry = tomlkit.table()
        if not (name == OFFICIAL and url == OFFICIAL_REGISTRY):
            entry["url"] = url
        if token_env:
            entry["token_env"] = token_env
        if insecure:
            entry["insecure"] = True
        if name == OFFICIAL and not entry:
            registries.pop(OFFICIAL, None)  # back to the default
        else:
            registries[name] = entry

    _update(settings, change)
    if before is not None and before.url != url:
        _restart_sync(settings, name)  # the watermark belongs to the old URL
    return Registry(name=name, url=url, token_env=token_env, insecure=insecure)


def remove_registry(settings: Settings, name: str) -> None:
    """Remove a user registry, or disable ``official`` (it cannot be deleted)."""
    known = {r.name for r in all_registries(settings)}
    if name not in known:
        raise ConfigError(f"no registry named {name!r}; see `mgx registry list`")

    def change(registries: Any) -> None:
        import tomlkit

        if name == OFFICIAL:
            entry = tomlkit.table()
            entry["enabled"] = False
            registries[OFFICIAL] = entry
        else:
            registries.pop(name, None)

    _update(settings, change)
    if name != OFFICIAL:  # a disabled official keeps its data, so re-enabling works offline
        _forget_cache(settings, name)


def _restart_sync(settings: Settings, name: str) -> None:
    """Make the next sync of ``name`` a full one; its cached rows stay until it replaces them."""
    if not settings.cache_db.exists():
        return
    from registry_cache.store import Cache

    with Cache(settings.cache_db) as cache:
        cache.restart_sync(name)


def _forget_cache(settings: Settings, name: str) -> None:
    if not settings.cache_db.exists():
        return
    from registry_cache.store import Cache

    with Cache(settings.cache_db) as cache:
        cache.drop_registry(name)
