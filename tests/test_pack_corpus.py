"""The GPU recipe's tools: packing a corpus into Ogg (recipes/corpus/pack_corpus.py), the text table that
stands in for MiniLM (recipes/mini-mel/text_table.py) and training on a time budget (train_timed.py)."""

import importlib.util
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch
from accelerate.state import AcceleratorState, GradientState

from flowsep.audio import load_audio
from flowsep.data import ClipDataset, read_manifest
from flowsep.models.text_encoder import encode_text, load_text_encoder
from flowsep.testing import tiny_components
from flowsep.training import load_recipe
from flowsep.training.toy_corpus import make_toy_corpus

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
sys.path.insert(0, str(RECIPES))

from corpus.pack_corpus import folder_bytes, pack_corpus  # noqa: E402


def load_script(name: str):
    """A module of recipes/mini-mel (a folder name that is no package name)."""
    spec = importlib.util.spec_from_file_location(name, RECIPES / "mini-mel" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


text_table = load_script("text_table")
train_timed = load_script("train_timed")


def kept_columns(record) -> tuple:
    return record.id, record.captions, record.labels, record.split, record.extra


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    make_toy_corpus(root, clips_per_sound=2, seconds=1.0)
    (root / "SOURCES.md").write_text("# toy\n")
    return root


@pytest.fixture(scope="module")
def packed(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed") / "corpus"
    return out, pack_corpus(toy, out, kbps=16, measure=3)


def test_packing_shrinks_and_keeps_the_manifests(toy, packed):
    out, summary = packed
    assert folder_bytes(out / "audio") < folder_bytes(toy / "audio") / 4
    assert (out / "SOURCES.md").read_text() == "# toy\n"
    assert summary["clips"] == 12 and summary["subtype"] in ("OPUS", "VORBIS")
    assert set(summary["audio_mb"]) == {"train", "valid"} and summary["packed_mb"] < summary["source_mb"]
    for name in ("train.jsonl", "valid.jsonl"):
        originals, copies = read_manifest(toy / name), read_manifest(out / name)
        assert [kept_columns(r) for r in originals] == [kept_columns(r) for r in copies]
        for a, b in zip(originals, copies):
            assert Path(b.audio).is_relative_to(out / "audio" / b.split) and b.audio.endswith(".ogg")
            assert sf.info(b.audio).samplerate == 16000
            original, copy = load_audio(a.audio), load_audio(b.audio)
            assert original.shape == copy.shape  # libsndfile trims the codec's pre-skip
    change = summary["audio_change"]
    assert change["clips"] == 3 and change["si_sdr_db"] > 5 and abs(change["high_band_change_db"]) < 3


def test_packed_clips_feed_the_dataset(packed):
    out, _ = packed
    clips = ClipDataset(out / "train.jsonl", segment_seconds=0.5, train=False)
    assert clips[0]["audio"].shape == (8000,) and clips[0]["audio"].abs().max() > 0.05


def test_packing_again_resumes_and_refuses_other_settings(toy, packed):
    out, summary = packed
    first = next((out / "audio" / "train").rglob("*.ogg"))
    stamp = first.stat().st_mtime_ns
    removed = next((out / "audio" / "valid").rglob("*.ogg"))
    removed.unlink()
    again = pack_corpus(toy, out, kbps=16, measure=0)
    assert first.stat().st_mtime_ns == stamp and removed.is_file()  # only the missing clip is encoded again
    assert again["packed_mb"] == pytest.approx(summary["packed_mb"], abs=0.01)
    with pytest.raises(SystemExit, match="other settings"):
        pack_corpus(toy, out, kbps=24)


def test_text_table_gives_the_encoder_states_of_known_queries(toy, tmp_path):
    parts = tiny_components(with_vocoder=False)
    parts["text_encoder"].save_pretrained(tmp_path / "t5")
    parts["tokenizer"].save_pretrained(tmp_path / "t5")
    count = text_table.build_table(toy / "train.jsonl", tmp_path / "table", str(tmp_path / "t5"))
    assert count == 6 + 1  # the toy sounds' captions and "noise", the named word of its noise class
    table, tokenizer = load_text_encoder(str(tmp_path / "table"))
    assert isinstance(table, text_table.TextTableModel) and table.config.hidden_size == 32
    queries = ["a steady high beep", "rapid clicking", "noise"]
    states, mask = encode_text(table, tokenizer, queries, "cpu")
    expected, expected_mask = encode_text(parts["text_encoder"], parts["tokenizer"], queries, "cpu")
    assert torch.equal(mask, expected_mask)
    keep = mask[..., None]  # (B, L, 1): padding carries no state
    torch.testing.assert_close(states.float() * keep, expected * keep, atol=2e-3, rtol=0)
    with pytest.raises(ValueError, match="not in the text table"):
        encode_text(table, tokenizer, ["a dog barking"], "cpu")


def test_timed_training_stops_on_its_budget(toy, tmp_path):
    parts = tiny_components(with_vocoder=False)
    parts["text_encoder"].save_pretrained(tmp_path / "t5")
    parts["tokenizer"].save_pretrained(tmp_path / "t5")
    overrides = {
        "output_dir": str(tmp_path / "run"), "data.train": [str(toy / "train.jsonl")],
        "data.valid": [str(toy / "valid.jsonl")], "data.num_workers": 0, "data.segment_seconds": 0.32,
        "model.sample_size": 32, "model.num_layers": 1, "model.num_attention_heads": 2,
        "model.attention_head_dim": 16, "model.text_embed_dim": 32, "flow.text_encoder": str(tmp_path / "t5"),
        "trainer.batch_size": 2, "trainer.max_steps": 5, "trainer.lr_warmup_steps": 0,
    }  # fmt: skip
    recipe = load_recipe(RECIPES / "mini-mel" / "flow_gpu.yaml", overrides)
    assert recipe.trainer.mixed_precision == "bf16"  # CPU autocast runs the same bf16 path
    trainer = train_timed.TimedTrainer(recipe, train_timed.STAGE_TASKS["flow"](recipe), seconds=1e-3)
    try:
        trainer.train()
    finally:
        AcceleratorState._reset_state(True)
        GradientState._reset_state()
    assert trainer.state.step == 2 and trainer.lr_factor(2) == 0.0  # the budget was spent after one step
    assert (tmp_path / "run" / "transformer" / "config.json").is_file()
