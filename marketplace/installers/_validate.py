"""Checks on every name that reaches a command line or a path.

Package identifiers, versions, entry-point names and archive paths come from registries and
package metadata, which anyone can publish to; argument values come from users. None of them
may smuggle an option into a command (``--index-url=…``), climb out of a directory (``..``,
``/``), or cut a string short (NUL). Each check raises ``InstallError`` (``ConfigError`` for a
user-supplied value) with a message that names the field and says what is wrong.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from marketplace.errors import ConfigError, InstallError

_PYPI_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_NPM_NAME = re.compile(r"^(?:@[A-Za-z0-9~][A-Za-z0-9._~-]*/)?[A-Za-z0-9~][A-Za-z0-9._~-]*$")
# registry[:port]/path[:tag][@sha256:digest] — a subset of the distribution reference grammar.
_OCI_REF = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
# NuGet package ids: letters, digits, '.', '_', '-', at most 100 characters.
_NUGET_ID = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,99})$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_~-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9._+@-]+$")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _common(value: str, what: str, *, error: type[Exception] = InstallError) -> None:
    if "\x00" in value:
        raise error(f"{what} contains a NUL byte; refusing it")
    if not value:
        raise error(f"{what} is empty")
    if value.startswith("-"):
        raise error(f"{what} {value!r} starts with '-' and would be read as an option; refusing it")


def _no_traversal(value: str, what: str) -> None:
    if ".." in value.replace("\\", "/").split("/") or value.startswith("/") or "\\" in value:
        raise InstallError(f"{what} {value!r} contains a path separator or '..'; refusing it")


def validate_identifier(registry_type: str, identifier: str) -> None:
    """Refuse a package identifier that is malformed for its registry type."""
    what = f"{registry_type} identifier"
    _common(identifier, what)
    if registry_type == "pypi":
        if not _PYPI_NAME.match(identifier):
            raise InstallError(
                f"{what} {identifier!r} is not a valid project name "
                "(letters, digits, '.', '_', '-'; no path separators)"
            )
    elif registry_type == "npm":
        if not _NPM_NAME.match(identifier) or ".." in identifier:
            raise InstallError(
                f"{what} {identifier!r} is not a valid package name "
                "(an optional @scope/ and a name; no other path separators, no '..')"
            )
    elif registry_type == "oci":
        if ".." in identifier or not _OCI_REF.match(identifier):
            raise InstallError(f"{what} {identifier!r} is not a valid image reference")
    elif registry_type == "mcpb":
        validate_download_url(identifier, what)
    elif registry_type == "nuget":
        if not _NUGET_ID.match(identifier) or ".." in identifier:
            raise InstallError(
                f"{what} {identifier!r} is not a valid package id "
                "(letters, digits, '.', '_', '-'; at most 100; no '..')"
            )
    else:
        _no_traversal(identifier, what)


def validate_download_url(url: str, what: str = "download URL") -> None:
    """Only https (plain http for loopback hosts, for local testing) and no credentials."""
    _common(url, what)
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        pass
    elif parts.scheme != "https":
        raise InstallError(f"{what} {url!r} must be an https:// URL")
    if not parts.hostname:
        raise InstallError(f"{what} {url!r} has no host")
    if parts.username or parts.password:
        raise InstallError(f"{what} must not carry credentials in the URL")
    if any(c.isspace() for c in url):
        raise InstallError(f"{what} {url!r} contains whitespace")


def validate_version(version: str, what: str = "package version") -> None:
    """An exact version: no ranges, paths, spaces or option-looking strings."""
    _common(version, what)
    if not _VERSION.match(version) or ".." in version:
        raise InstallError(
            f"{what} {version!r} is not an exact version (letters, digits, '.', '+', '-', '_')"
        )


def validate_env_name(name: str, what: str = "environment variable name") -> None:
    _common(name, what)
    if not _ENV_NAME.match(name):
        raise InstallError(f"{what} {name!r} is not a valid variable name")


def validate_header_name(name: str) -> None:
    _common(name, "header name")
    if not _HEADER_NAME.match(name):
        raise InstallError(f"header name {name!r} is not a valid HTTP header name")


def validate_input_name(name: str) -> None:
    _common(name, "input name")
    if not _INPUT_NAME.match(name):
        raise InstallError(f"input name {name!r} must be letters, digits, '_', '.', '-'")


def validate_file_name(name: str, what: str) -> None:
    """A single path component (a console script, an npm ``bin``): no separators, no ``..``."""
    _common(name, what)
    if name in (".", "..") or not _FILE_NAME.match(name):
        raise InstallError(f"{what} {name!r} is not a plain file name; refusing it")


def validate_relative_path(path: str, what: str) -> None:
    """A path inside the tool directory: relative, no ``..``, no NUL, no backslashes."""
    if "\x00" in path:
        raise InstallError(f"{what} contains a NUL byte; refusing it")
    if not path:
        raise InstallError(f"{what} is empty")
    _no_traversal(path, what)
    if path.startswith("-"):
        raise InstallError(f"{what} {path!r} starts with '-'; refusing it")


def validate_argument_value(
    name: str,
    value: str,
    *,
    positional: bool,
    format: str = "string",
    choices: tuple[str, ...] = (),
    secret: bool = False,
) -> None:
    """A user-supplied argument value (``ConfigError``: it comes from the manifest).

    Values go into argv as single items (never through a shell), so quotes and ``;`` are
    harmless; what is refused is NUL (cannot be passed), control characters, and a value that
    starts with ``-`` where the server expects a positional value (it would be parsed as an
    option). Paths are allowed: a ``filepath`` input is meant to be one.
    """
    what = f"value of {name!r}"
    shown = "(secret)" if secret else repr(value)
    if "\x00" in value:
        raise ConfigError(f"{what} contains a NUL byte")
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise ConfigError(f"{what} contains a control character")
    if positional and value.startswith("-") and not (format == "number" and _is_number(value)):
        raise ConfigError(f"{what} {shown} starts with '-' and would be read as an option")
    if choices and value not in choices:
        raise ConfigError(f"{what} {shown} is not one of: {', '.join(choices)}")
    if format == "number" and not _is_number(value):
        raise ConfigError(f"{what} {shown} is not a number")
    if format == "boolean" and value not in ("true", "false"):
        raise ConfigError(f"{what} {shown} must be 'true' or 'false'")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
