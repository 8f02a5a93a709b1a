"""Which vLLM tool-call parser and chat template suit a model, by model family.

vLLM turns a model's tool-call markup back into OpenAI ``tool_calls`` only when it is started
with ``--enable-auto-tool-choice --tool-call-parser P`` for the right ``P``; some families also
need a tool-aware chat template (``--chat-template``). The table below records, per family, what
vLLM's tool-calling guide recommends. Detection looks, in order, at

1. the model name (a Hugging Face id, or a local directory's name),
2. the markers in the model's own chat template (``<tool_call>`` means Hermes-style, ...),
3. ``config.json`` (``model_type`` / ``architectures``).

Names come first because ``model_type`` is ambiguous: Hermes-3, xLAM and Llama 3.1 all say
``llama``. Everything here can be overridden with ``--tool-call-parser`` / ``--chat-template``.

Templates are named by their file name in vLLM's ``examples/`` directory, which the vLLM wheel
does not ship; :func:`find_template` looks for them where a user may have put a vLLM checkout.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Family:
    """One row of the table: how vLLM should parse this family's tool calls."""

    name: str
    parser: str
    # Recommended template from vLLM's examples/ dir; None: the model's own template is right.
    chat_template: str | None = None
    name_patterns: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    template_markers: tuple[str, ...] = ()
    note: str = ""


# Order matters: the first family whose name pattern matches wins, so fine-tunes built on
# another family's base (Hermes-3-Llama, Llama-xLAM, Qwen-xLAM) come before their bases.
FAMILIES: tuple[Family, ...] = (
    Family(
        name="xlam-llama",
        parser="xlam",
        chat_template="tool_chat_template_xlam_llama.jinja",
        name_patterns=(r"llama-xlam",),
        note="Salesforce Llama-xLAM-2 models",
    ),
    Family(
        name="xlam-qwen",
        parser="xlam",
        chat_template="tool_chat_template_xlam_qwen.jinja",
        name_patterns=(r"xlam",),
        note="Salesforce xLAM-*-fc-r and Qwen-xLAM models",
    ),
    Family(
        name="hermes",
        parser="hermes",
        name_patterns=(r"hermes",),
        template_markers=("<tool_call>",),
        note="NousResearch Hermes 2 Pro / 3; Hermes-style <tool_call> JSON",
    ),
    Family(
        name="qwen3-coder",
        parser="qwen3_xml",
        name_patterns=(r"qwen3-coder",),
        note="Qwen3-Coder emits XML tool calls",
    ),
    Family(
        name="qwen",
        parser="hermes",
        name_patterns=(r"qwen2", r"qwen-?2\.5", r"qwen3", r"qwq"),
        model_types=("qwen2", "qwen2_moe", "qwen3", "qwen3_moe"),
        note="Qwen2, Qwen2.5, Qwen3, QwQ: Hermes-style template built in",
    ),
    Family(
        name="llama4",
        parser="pythonic",
        chat_template="tool_chat_template_llama4_pythonic.jinja",
        name_patterns=(r"llama-?4",),
        model_types=("llama4",),
        note="Llama 4 pythonic calls (vLLM also offers llama4_pythonic / llama4_json)",
    ),
    Family(
        name="llama3.2",
        parser="llama3_json",
        chat_template="tool_chat_template_llama3.2_json.jinja",
        name_patterns=(r"llama-?3\.2",),
        note="Llama 3.2 JSON tool calling",
    ),
    Family(
        name="llama3",
        parser="llama3_json",
        chat_template="tool_chat_template_llama3.1_json.jinja",
        name_patterns=(r"llama-?3\.[13]", r"llama-?3-"),
        model_types=("llama",),
        template_markers=("<|python_tag|>",),
        note="Llama 3.1 / 3.3 JSON tool calling",
    ),
    Family(
        name="mistral",
        parser="mistral",
        name_patterns=(r"mistral", r"mixtral", r"ministral", r"codestral", r"devstral"),
        model_types=("mistral", "mixtral"),
        template_markers=("[TOOL_CALLS]",),
        note="Mistral tokenizer mode; see docs for the HF-format template",
    ),
    Family(
        name="granite",
        parser="granite",
        name_patterns=(r"granite-3\.[1-9]", r"granite"),
        model_types=("granite", "granitemoe"),
        template_markers=("<|tool_call|>",),
        note="IBM Granite 3.1+ (3.0 needs tool_chat_template_granite.jinja; 4.0 uses granite4)",
    ),
    Family(
        name="internlm",
        parser="internlm",
        chat_template="tool_chat_template_internlm2_tool.jinja",
        name_patterns=(r"internlm",),
        model_types=("internlm2",),
        note="InternLM 2.5 chat",
    ),
    Family(
        name="jamba",
        parser="jamba",
        name_patterns=(r"jamba",),
        model_types=("jamba",),
        note="AI21 Jamba 1.5",
    ),
    Family(
        name="deepseek-v3",
        parser="deepseek_v3",
        chat_template="tool_chat_template_deepseekv3.jinja",
        name_patterns=(r"deepseek-v3",),
        model_types=("deepseek_v3",),
        template_markers=("<｜tool▁calls▁begin｜>",),
        note="DeepSeek-V3-0324 (V3.1 uses deepseek_v31)",
    ),
    Family(
        name="phi4-mini",
        parser="phi4_mini_json",
        name_patterns=(r"phi-?4-mini",),
        note="Phi-4-mini-instruct JSON tool calls",
    ),
    Family(
        name="pythonic",
        parser="pythonic",
        name_patterns=(r"toolace",),
        note="Models that emit a Python list of calls (ToolACE, ...)",
    ),
)

BY_NAME = {family.name: family for family in FAMILIES}


@dataclass(frozen=True, kw_only=True)
class Detection:
    """What :func:`detect_family` found and why (shown by ``mgx model status``)."""

    family: Family | None
    reason: str

    @property
    def parser(self) -> str | None:
        return self.family.parser if self.family else None

    @property
    def chat_template(self) -> str | None:
        return self.family.chat_template if self.family else None


def detect_family(model: str, *, model_dir: Path | None = None) -> Detection:
    """Find the family of ``model`` (an id or a path), reading ``model_dir`` when it is local."""
    # A local directory is judged by its own name only: its parents say nothing about it.
    name = (Path(model).name if model_dir is not None else model).lower()
    for family in FAMILIES:
        for pattern in family.name_patterns:
            if re.search(pattern, name):
                return Detection(family=family, reason=f"name matches {pattern!r}")
    if model_dir is not None:
        template = read_chat_template(model_dir)
        if template:
            for family in FAMILIES:
                for marker in family.template_markers:
                    if marker in template:
                        return Detection(family=family, reason=f"chat template contains {marker}")
        config = _read_json(model_dir / "config.json")
        model_type = str(config.get("model_type", "")).lower()
        architectures = " ".join(config.get("architectures") or []).lower()
        for family in FAMILIES:
            if model_type and model_type in family.model_types:
                return Detection(family=family, reason=f"config.json model_type {model_type!r}")
        for family in FAMILIES:
            if any(t.replace("_", "") in architectures for t in family.model_types):
                return Detection(
                    family=family, reason=f"config.json architectures {architectures!r}"
                )
    return Detection(family=None, reason="no known tool-calling family; pass --tool-call-parser")


def read_chat_template(model_dir: Path) -> str:
    """The model's own chat template: ``chat_template.jinja`` or ``tokenizer_config.json``'s."""
    jinja = model_dir / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8", errors="replace")
    template = _read_json(model_dir / "tokenizer_config.json").get("chat_template")
    if isinstance(template, list):  # named templates: [{"name": "tool_use", "template": ...}]
        return "\n".join(str(t.get("template", "")) for t in template if isinstance(t, dict))
    return template if isinstance(template, str) else ""


def template_dirs() -> list[Path]:
    """Where vLLM's ``examples/`` templates may be: ``$MGX_VLLM_TEMPLATES`` (a directory)."""
    value = os.environ.get("MGX_VLLM_TEMPLATES", "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


def find_template(file_name: str) -> Path | None:
    """Locate a recommended template by its vLLM file name, or None when it is not available."""
    for directory in template_dirs():
        for candidate in (directory / file_name, directory / "examples" / file_name):
            if candidate.is_file():
                return candidate
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
