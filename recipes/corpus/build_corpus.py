"""Build flowsep's offline training corpus from Debian packages.

Usage::

    python recipes/corpus/build_corpus.py --out data/debian-corpus [--seed 0] [--workers 2]

Stages (each skips finished work on a rerun): fetch and unpack the packages into ``<out>/.cache``, render
soundfont clips, drum patterns and speech, condition every item into 16 kHz clips under ``<out>/audio``, then
remove near-duplicates, withhold whole packages as the cross-source test (``curate.CROSS_SOURCE_PACKAGES``),
split the rest by recording and write ``manifest.jsonl``, ``{train,valid,test,test_cross}.jsonl``,
``paraphrases.json``, ``summary.json``, ``duplicates.jsonl`` and ``SOURCES.md``.

Manifest rows follow :mod:`flowsep.data` (``id, audio, captions, labels, duration, split, source, license``;
``labels`` is ``[class]`` or ``[class, subject]``) plus: ``recording`` (clips sharing it come from one recording
and are always in the same split), ``subject``, ``active_fraction``, ``orig_sample_rate``, ``description`` and
``credit`` where the package has them, and on valid/test rows ``paraphrase_captions`` (held-out phrasings that
no training caption uses; ``paraphrases.json`` lists them per class/subject).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # makes `corpus` importable as a package

from corpus import curate, fetch, noise, render, sources, speech
from corpus.drumkits import drumkit_items
from corpus.games import game_items
from corpus.soundfonts import soundfont_items

ESPEAK_MALE, ESPEAK_FEMALE = 80, 40  # utterances
ASTERISK_PER_LANGUAGE = 150
TUXPAINT_SPEECH_CHUNKS, TUXPAINT_SPEECH_PER_CHUNK = 40, 5
DRUM_PATTERNS_PER_KIT = 4
NOISE_PER_KIND = 12  # generated recordings of each noise kind


def collect_items(roots: dict[str, Path], cache: Path, seed: int, workers: int) -> list[sources.Item]:
    """Every item of every source (rendering the synthesized ones into the cache)."""
    items = sources.recorded_items(roots, cache)
    items += game_items(roots, cache)
    items += soundfont_items(cache / "pkgs", cache, seed, workers)
    items += drumkit_items(roots["hydrogen-drumkits"], cache, DRUM_PATTERNS_PER_KIT, seed)
    items += speech.espeak_items(cache, ESPEAK_MALE, ESPEAK_FEMALE, seed)
    items += noise.noise_items(cache, NOISE_PER_KIND, seed)
    items += speech.asterisk_items(roots, ASTERISK_PER_LANGUAGE, seed)
    items += speech.tuxpaint_speech_items(
        roots["tuxpaint-stamps-default"], TUXPAINT_SPEECH_CHUNKS, TUXPAINT_SPEECH_PER_CHUNK, seed
    )
    ids = Counter(item.id for item in items)
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        raise ValueError(f"item ids must be unique: {duplicated[:5]}")
    return items


def sources_markdown(summary: dict, versions: dict[str, str], rows: list[dict]) -> str:
    """SOURCES.md: licence, credit and share of every package, and the per-file credits that packages carry."""
    known = fetch.PACKAGES | fetch.GENERATED
    lines = [
        "# Sources of the Debian corpus",
        "",
        "Built at run time by `recipes/corpus/build_corpus.py`; the audio is never committed.",
        "",
        "| source | version | licence | credit | clips | hours |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in summary["sources"].items():
        lines.append(
            f"| {name} | {versions.get(name, '-')} | {known[name].license} | {known[name].credit} | "
            f"{entry['clips']} | {entry['hours']:.2f} |"
        )
    credits = sorted({(r["source"], r["credit"]) for r in rows if r.get("credit")})
    if credits:
        lines += ["", "## Per-file credits", ""] + [f"- {source}: {credit}" for source, credit in credits]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/debian-corpus"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="parallel processes for rendering and clips")
    parser.add_argument(
        "--no-install", action="store_true", help="print the apt-get command instead of running it"
    )
    args = parser.parse_args(argv)
    out, cache, clock = args.out, args.out / ".cache", time.time()
    timings = {}

    def lap(stage):
        nonlocal clock
        timings[stage] = round(time.time() - clock, 1)
        clock = time.time()

    fetch.ensure_tools(install=not args.no_install)
    roots = fetch.fetch_packages(cache)
    lap("fetch")
    items = collect_items(roots, cache, args.seed, args.workers)
    lap("sources")
    results = render.make_all_clips(items, out, args.seed, args.workers)
    lap("clips")
    licenses = {name: p.license for name, p in (fetch.PACKAGES | fetch.GENERATED).items()}
    rows = curate.build_rows(results, licenses, args.seed)
    rows, duplicates = curate.deduplicate(rows, out)
    curate.assign_splits(rows, args.seed)
    dropped = Counter(reason for result in results for reason in result["dropped"])
    dropped["near_duplicate"] = len(duplicates)
    stale = curate.remove_stale_audio(out, results)
    lap("curate")
    summary = curate.summarize(rows, dict(dropped)) | {"seconds": timings}
    curate.write_outputs(out, rows, summary, sources_markdown(summary, fetch.package_versions(cache), rows))
    curate.write_jsonl(out / "duplicates.jsonl", duplicates)
    print(curate.format_summary(summary))
    print(f"\n{len(items)} items, {len(rows)} clips, {stale} stale files removed; stage seconds: {timings}")
    print(f"wrote {out / 'manifest.jsonl'}")


if __name__ == "__main__":
    main()
