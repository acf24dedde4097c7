"""A tiny random decoder-only model and a real fast tokenizer, built offline and saved like a checkpoint.

Nothing is downloaded: the tokenizer is a word-level ``tokenizers`` model over a small vocabulary
(one word is one token, so equal texts are equal token sequences), and the model is a two-layer
Llama built from a config with seeded random weights. Both are written with ``save_pretrained``,
so the scripts under test load them with ``from_pretrained(model_dir)`` as they would a real one.
The tokenizer has no pad token, as many decoder-only checkpoints ship, and a chat template.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "the a an of to in on and or is was be it this that for with as at by from what how why who when "
    "where which cat dog bird fish tree river city house road car book song story answer question "
    "sun moon star sky rain snow wind fire water stone red green blue small large old new fast slow "
    "write tell name list give explain describe summarize translate count one two three four five"
).split()
SPECIAL = ("<unk>", "<s>", "</s>")
SEED = 0
# A chat template in the vocabulary's words: the messages' contents, then "answer" for the reply.
CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }} {% endfor %}{% if add_generation_prompt %}answer{% endif %}"


def build_tokenizer(directory: Path):
    """A ``PreTrainedTokenizerFast`` (bos added in front, no pad token) saved in ``directory``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate((*SPECIAL, *WORDS))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(directory)
    return tokenizer


def build_model(directory: Path, vocab_size: int):
    """A seeded random two-layer Llama (grouped-query attention, untied head) saved in ``directory``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=SPECIAL.index("<s>"),
        eos_token_id=SPECIAL.index("</s>"),
        tie_word_embeddings=False,
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, do_sample=False
    )
    model.save_pretrained(directory)
    return model


def build_tiny_causal_lm(directory: Path) -> Path:
    """Tokenizer and model saved together in ``directory`` (created if needed); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(directory)
    build_model(directory, len(tokenizer))
    return directory
