"""Check tool arguments against the tool's JSON schema, and build the constrained schema."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

_EMPTY_PARAMS: dict[str, Any] = {"type": "object"}


def tool_params(tools: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """``{name: parameters schema}`` of the offered function tools."""
    out: dict[str, dict[str, Any]] = {}
    for tool in tools or ():
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            out[fn["name"]] = params if isinstance(params, dict) and params else _EMPTY_PARAMS
    return out


def argument_problem(name: str, arguments: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """One line saying why ``arguments`` do not fit ``schema``; ``None`` when they do.

    A schema that is itself invalid (some MCP servers publish odd ones) is not held against
    the model: the arguments pass, and the tool gets to judge them.
    """
    validator = _validator(json.dumps(schema, sort_keys=True))
    if validator is None:
        return None
    if validator.is_valid(arguments):  # the common case, and cheaper than collecting errors
        return None
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    message = " ".join(error.message.split())
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{name}: {message}" + (f" (at {where})" if where else "")


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    # jsonschema is imported here, not at module top, to keep `import runtime.client` light.
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:
        return None
    return cls(schema)


def constrained_schema(params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A JSON schema whose instances are exactly one call of one of ``params``' tools:
    ``{"name": <const>, "arguments": <that tool's parameters>}``, as an ``anyOf``.

    Each tool's ``$defs``/``definitions`` move to the root under a per-tool prefix, and its
    local ``$ref``s are rewritten, because nesting the schema changes what ``#`` points to.
    """
    branches = []
    defs: dict[str, Any] = {}
    for i, (name, schema) in enumerate(params.items()):
        prefix = f"t{i}_"
        base = f"#/anyOf/{i}/properties/arguments"
        schema = dict(schema)
        for key in ("$defs", "definitions"):
            for def_name, def_schema in (schema.pop(key, None) or {}).items():
                defs[prefix + def_name] = _rewrite_refs(def_schema, prefix, base)
        schema.pop("$schema", None)
        schema.pop("$id", None)
        branches.append(
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "const": name},
                    "arguments": _rewrite_refs(schema, prefix, base),
                },
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    out: dict[str, Any] = {"anyOf": branches}
    if defs:
        out["$defs"] = defs
    return out


def _rewrite_refs(node: Any, prefix: str, base: str) -> Any:
    if isinstance(node, list):
        return [_rewrite_refs(item, prefix, base) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = _rewrite_ref(value, prefix, base)
        else:
            out[key] = _rewrite_refs(value, prefix, base)
    return out


def _rewrite_ref(ref: str, prefix: str, base: str) -> str:
    for key in ("#/$defs/", "#/definitions/"):
        if ref.startswith(key):
            return "#/$defs/" + prefix + ref[len(key) :]
    return base + ref[1:]  # "#" or "#/properties/..." relative to the tool's own schema
