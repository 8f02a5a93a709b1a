"""The family table: which vLLM tool-call parser and template a model gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.models.families import FAMILIES, detect_family, find_template, read_chat_template

L31 = "tool_chat_template_llama3.1_json.jinja"


@pytest.mark.parametrize(
    ("model", "parser", "template"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", "hermes", None),
        ("Qwen/Qwen2-7B-Instruct", "hermes", None),
        ("Qwen/Qwen3-8B", "hermes", None),
        ("Qwen/QwQ-32B", "hermes", None),
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3_xml", None),
        ("NousResearch/Hermes-3-Llama-3.1-8B", "hermes", None),
        ("NousResearch/Hermes-2-Pro-Mistral-7B", "hermes", None),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3_json", L31),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama3_json", L31),
        ("meta-llama/Llama-3.2-3B-Instruct", "llama3_json",
         "tool_chat_template_llama3.2_json.jinja"),
        ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "pythonic",
         "tool_chat_template_llama4_pythonic.jinja"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral", None),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistral", None),
        ("ibm-granite/granite-3.1-8b-instruct", "granite", None),
        ("internlm/internlm2_5-7b-chat", "internlm", "tool_chat_template_internlm2_tool.jinja"),
        ("ai21labs/AI21-Jamba-1.5-Mini", "jamba", None),
        ("deepseek-ai/DeepSeek-V3-0324", "deepseek_v3", "tool_chat_template_deepseekv3.jinja"),
        ("Salesforce/Llama-xLAM-2-8B-fc-r", "xlam", "tool_chat_template_xlam_llama.jinja"),
        ("Salesforce/xLAM-1B-fc-r", "xlam", "tool_chat_template_xlam_qwen.jinja"),
        ("microsoft/Phi-4-mini-instruct", "phi4_mini_json", None),
        ("Team-ACE/ToolACE-8B", "pythonic", None),
    ],
)  # fmt: skip
def test_detect_by_name(model: str, parser: str, template: str | None) -> None:
    detection = detect_family(model)
    assert detection.parser == parser
    assert detection.chat_template == template
    assert "name matches" in detection.reason


def test_unknown_model_has_no_parser() -> None:
    detection = detect_family("openai-community/gpt2")
    assert detection.family is None and detection.parser is None
    assert "--tool-call-parser" in detection.reason


def _model_dir(root: Path, name: str, config: dict, template: str | None = None) -> Path:
    path = root / name
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config))
    if template is not None:
        (path / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    return path


def test_local_dir_by_config_model_type(tmp_path: Path) -> None:
    path = _model_dir(tmp_path, "my-finetune", {"model_type": "qwen2"})
    detection = detect_family(str(path), model_dir=path)
    assert detection.parser == "hermes" and "model_type" in detection.reason


def test_local_dir_by_architectures(tmp_path: Path) -> None:
    path = _model_dir(tmp_path, "ckpt", {"architectures": ["MistralForCausalLM"]})
    assert detect_family(str(path), model_dir=path).parser == "mistral"


def test_template_marker_beats_model_type(tmp_path: Path) -> None:
    # A Llama-architecture fine-tune whose template speaks Hermes: the template decides.
    template = "{% for m in messages %}<tool_call>{{ m.content }}</tool_call>{% endfor %}"
    path = _model_dir(tmp_path, "ckpt", {"model_type": "llama"}, template)
    detection = detect_family(str(path), model_dir=path)
    assert detection.parser == "hermes" and "<tool_call>" in detection.reason


def test_local_dir_name_counts_but_its_parents_do_not(tmp_path: Path) -> None:
    parent = tmp_path / "mistral-experiments"
    parent.mkdir()
    path = _model_dir(parent, "Qwen--Qwen2.5-0.5B-Instruct", {"model_type": "llama"})
    assert detect_family(str(path), model_dir=path).parser == "hermes"
    other = _model_dir(parent, "ckpt", {})
    assert detect_family(str(other), model_dir=other).family is None


def test_named_templates_list_is_read(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.mkdir()
    named = [{"name": "default", "template": "x"}, {"name": "tool_use", "template": "[TOOL_CALLS]"}]
    (path / "tokenizer_config.json").write_text(json.dumps({"chat_template": named}))
    assert "[TOOL_CALLS]" in read_chat_template(path)
    assert detect_family(str(path), model_dir=path).parser == "mistral"


def test_find_template_searches_mgx_vllm_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "vllm"
    (checkout / "examples").mkdir(parents=True)
    wanted = checkout / "examples" / "tool_chat_template_llama3.1_json.jinja"
    wanted.write_text("{{ messages }}")
    monkeypatch.delenv("MGX_VLLM_TEMPLATES", raising=False)
    assert find_template(wanted.name) is None
    monkeypatch.setenv("MGX_VLLM_TEMPLATES", str(checkout))
    assert find_template(wanted.name) == wanted
    assert find_template("tool_chat_template_nope.jinja") is None


def test_table_is_consistent() -> None:
    names = [family.name for family in FAMILIES]
    assert len(names) == len(set(names))
    for family in FAMILIES:
        assert family.parser and family.note
        assert family.name_patterns or family.model_types
        if family.chat_template:
            assert family.chat_template.startswith("tool_chat_template_")
            assert family.chat_template.endswith(".jinja")
