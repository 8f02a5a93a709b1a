"""Write a tiny random-weight Llama with a trained tokenizer and a Hermes-style tools template.

Run with the *vLLM* environment's Python (it has torch, transformers and tokenizers):
    python make_tiny_model.py OUT_DIR
The weights are random, so the model's text is noise; what matters is that vLLM loads it,
serves it, applies the chat template (with tools) and produces tokens and metrics.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Hermes-style template: tools are listed in the system turn inside <tools></tools>, calls come
# back as <tool_call>{...}</tool_call>, results go in a "tool" turn inside <tool_response>.
CHAT_TEMPLATE = """{%- if tools %}<|im_start|>system
You are a function calling AI model. You may call one or more functions. Function signatures:
<tools>
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}
</tools>
For each call return a JSON object inside <tool_call></tool_call> tags.<|im_end|>
{% endif %}
{%- for message in messages %}
{%- if message.role == 'tool' %}<|im_start|>tool
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{% elif message.role == 'assistant' and message.tool_calls %}<|im_start|>assistant
{%- for call in message.tool_calls %}
{%- set args = call.function.arguments %}
<tool_call>
{"name": "{{ call.function.name }}", "arguments": {{ args if args is string else args | tojson }}}
</tool_call>
{%- endfor %}<|im_end|>
{% else %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""

CORPUS = (
    """
The quick brown fox jumps over the lazy dog. A tool call names a function and its arguments.
Agents call tools, read results and answer the user. The weather in Paris is mild today.
Add two numbers: one plus two is three. Search the registry for a server that reads files.
{"name": "add", "arguments": {"a": 1, "b": 2}} <tool_call> </tool_call> system user assistant
"""
    * 20
)

SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<tools>",
    "</tools>",
]


def main(out: Path, *, vocab_size: int = 1024) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([CORPUS], trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)

    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim 64: vLLM's CPU attention refuses 16
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
