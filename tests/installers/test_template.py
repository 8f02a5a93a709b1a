"""From server.json arguments to argv: templates, bindings, missing values, no shell."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.errors import ConfigError, InstallError
from marketplace.installers import (
    Invocation,
    PackageLock,
    choose_package,
    resolve_invocation,
    resolve_package,
)
from marketplace.installers._template import (
    InputCollector,
    compile_arguments,
    compile_key_values,
)
from marketplace.settings import Settings
from registry_cache.serverjson import parse_server


def server_doc(package: dict[str, Any] | None = None, remote: dict[str, Any] | None = None) -> Any:
    doc: dict[str, Any] = {"name": "io.github.test/srv", "description": "d", "version": "1.0.0"}
    if package is not None:
        doc["packages"] = [
            {
                "registryType": "npm",
                "identifier": "srv",
                "version": "1.0.0",
                "transport": {"type": "stdio"},
                **package,
            }
        ]
    if remote is not None:
        doc["remotes"] = [remote]
    return parse_server(doc)


def lock_with(package: dict[str, Any]) -> PackageLock:
    """A lock whose invocation is compiled from ``package``; type remote (nothing to install)."""
    pkg = server_doc(package).packages[0]
    inputs = InputCollector()
    args = compile_arguments(pkg.package_arguments, inputs)
    env = compile_key_values(pkg.environment_variables, inputs, header=False)
    return PackageLock(
        registry_type="remote",
        identifier="srv",
        version="1.0.0",
        invocation=Invocation(command="sh", args=tuple(args), env=env, inputs=inputs.result()),
    )


ARGS = {
    "packageArguments": [
        {"type": "positional", "valueHint": "config_path", "isRequired": True},
        {
            "type": "named",
            "name": "--port",
            "value": "{port}",
            "variables": {"port": {"default": "8080"}},
        },
        {
            "type": "named",
            "name": "--log-level",
            "valueHint": "level",
            "choices": ["debug", "info"],
        },
        {"type": "positional", "value": "--stdio"},
        {"type": "positional", "value": "literal-{unknown}"},
    ],
    "environmentVariables": [
        {"name": "API_KEY", "isSecret": True, "isRequired": True},
        {"name": "REGION", "default": "eu"},
        {"name": "OPTIONAL_FLAG"},
    ],
}


def test_arguments_render_in_order_with_defaults(settings: Settings) -> None:
    lock = lock_with(ARGS)
    spec = resolve_invocation(
        settings,
        lock,
        env_bindings={"API_KEY": "MY_API_KEY"},
        arg_values={"config_path": "/etc/srv.toml"},
        environ={"MY_API_KEY": "k-123"},
    )
    assert spec.command[1:] == ("/etc/srv.toml", "--port", "8080", "--stdio", "literal-{unknown}")
    assert spec.command[0].endswith("/sh")
    assert spec.env == {"API_KEY": "k-123", "REGION": "eu"}  # OPTIONAL_FLAG unset: left out


def test_values_are_single_argv_items_never_shell_parsed(settings: Settings) -> None:
    hostile = "x; rm -rf ~ && echo $(id) `whoami` {tool_dir} {port}"
    spec = resolve_invocation(
        settings,
        lock_with(ARGS),
        env_bindings={},
        arg_values={"config_path": hostile, "level": "debug"},
        environ={"API_KEY": "k"},
    )
    assert spec.command[1] == hostile  # verbatim: not split, not re-substituted
    assert spec.command[2:] == (
        "--port",
        "8080",
        "--log-level",
        "debug",
        "--stdio",
        "literal-{unknown}",
    )


def test_missing_required_values_are_named_not_shown(settings: Settings) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_invocation(
            settings,
            lock_with(ARGS),
            env_bindings={},
            arg_values={},
            environ={"OTHER_SECRET": "do-not-print"},
        )
    message = str(info.value)
    assert "config_path (argument)" in message and "API_KEY (env)" in message
    assert "do-not-print" not in message


def test_bad_values_are_refused(settings: Settings) -> None:
    env = {"API_KEY": "k"}
    with pytest.raises(ConfigError, match="read as an option"):
        resolve_invocation(
            settings,
            lock_with(ARGS),
            env_bindings={},
            arg_values={"config_path": "--evil"},
            environ=env,
        )
    with pytest.raises(ConfigError, match="not one of: debug, info"):
        resolve_invocation(
            settings,
            lock_with(ARGS),
            env_bindings={},
            arg_values={"config_path": "c", "level": "trace"},
            environ=env,
        )
    with pytest.raises(ConfigError, match="unknown argument"):
        resolve_invocation(
            settings,
            lock_with(ARGS),
            env_bindings={},
            arg_values={"config_path": "c", "nope": "1"},
            environ=env,
        )
    with pytest.raises(ConfigError, match="NUL"):
        resolve_invocation(
            settings,
            lock_with(ARGS),
            env_bindings={},
            arg_values={"config_path": "a\x00b"},
            environ=env,
        )


def test_remote_url_and_headers_from_bindings(settings: Settings) -> None:
    server = server_doc(
        remote={
            "type": "streamable-http",
            "url": "https://{tenant}.example.com/mcp",
            "variables": {"tenant": {"isRequired": True}},
            "headers": [
                {
                    "name": "Authorization",
                    "value": "Bearer {token}",
                    "isRequired": True,
                    "isSecret": True,
                    "variables": {"token": {"isRequired": True, "isSecret": True}},
                },
                {"name": "X-Trace"},
            ],
        }
    )
    remote = choose_package(server)
    lock = resolve_package(server, remote, settings=settings)
    assert lock.registry_type == "remote"
    assert lock.invocation.url == "https://{tenant}.example.com/mcp"
    assert lock.invocation.header_names == ("Authorization", "X-Trace")
    assert "Bearer" in lock.to_dict()["invocation"]["headers"][0]["value"]
    spec = resolve_invocation(
        settings,
        lock,
        env_bindings={"token": "ACME_TOKEN"},
        arg_values={"tenant": "acme"},
        environ={"ACME_TOKEN": "tok-999"},
    )
    assert spec.url == "https://acme.example.com/mcp"
    assert spec.headers == {"Authorization": "Bearer tok-999"}
    assert spec.transport == "streamable-http" and spec.cwd is None
    with pytest.raises(ConfigError, match="token"):
        resolve_invocation(
            settings, lock, env_bindings={}, arg_values={"tenant": "acme"}, environ={}
        )


def test_plain_http_remote_is_refused_unless_loopback(settings: Settings) -> None:
    server = server_doc(remote={"type": "sse", "url": "http://example.com/sse"})
    with pytest.raises(InstallError, match="https"):
        resolve_package(server, server.remotes[0], settings=settings)
    local = server_doc(remote={"type": "sse", "url": "http://127.0.0.1:9/sse"})
    assert resolve_package(local, local.remotes[0], settings=settings).invocation.transport == "sse"


def test_package_not_installed_is_an_error(settings: Settings) -> None:
    lock = PackageLock(
        registry_type="npm",
        identifier="srv",
        version="1.0.0",
        invocation=Invocation(command="{tool_dir}/node_modules/.bin/srv"),
    )
    with pytest.raises(InstallError, match="not installed"):
        resolve_invocation(settings, lock, env_bindings={}, arg_values={})


def test_reserved_input_name(settings: Settings) -> None:
    with pytest.raises(InstallError, match="reserved"):
        lock_with({"packageArguments": [{"type": "positional", "valueHint": "tool_dir"}]})
