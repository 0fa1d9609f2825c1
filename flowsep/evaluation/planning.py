"""Seeded choice of benchmark mixtures from a set of clips: which clip is the target, which one interferes, which
caption is the query, and at what levels.

Everything comes from ``numpy`` generators seeded by ``(seed, purpose, index)``, and clips are taken in their
given order, so the same clips and seed give the same plans on any machine:

1. the **pool**: the usable clips (readable, not silent) in the order of a seeded permutation; with
   ``pool_size`` only the first ``pool_size`` of them (e.g. VGGSound's 200 clips);
2. the **targets**: the pool in a seeded order, pass after pass (a new order each pass) until ``count``;
3. for item ``i``, from a generator seeded by ``(seed, 2, i)``: the **interferer**, the first clip of a seeded
   permutation of the pool that may be mixed with the target (:func:`flowsep.data.compatible`: another
   recording sharing no class label or, for caption-only clips, no caption keyword); the **query**, one of the
   target's captions; the **levels**, an SNR or two loudness values drawn uniformly from their ranges.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np

from ..data.manifest import ClipRecord
from ..data.pairing import compatible
from ..errors import AudioInputError
from .mixing import ClipLoader, Levels, MixturePlan


def usable_pool(
    records: Sequence[ClipRecord], loader: ClipLoader, seed: int, pool_size: int | None = None
) -> list[ClipRecord]:
    """The usable clips in a seeded order, at most ``pool_size`` of them; warns once about unusable ones."""
    pool, skipped = [], []
    for index in np.random.default_rng([seed, 0]).permutation(len(records)).tolist():
        if pool_size is not None and len(pool) == pool_size:
            break
        (pool if loader.segment(records[index]) is not None else skipped).append(records[index])
    if skipped:
        warnings.warn(
            f"left out {len(skipped)} unreadable or silent clips (first: {skipped[0].id!r})", stacklevel=2
        )
    if len(pool) < 2 or (pool_size is not None and len(pool) < pool_size):
        raise AudioInputError(f"only {len(pool)} usable clips, need {max(2, pool_size or 2)}")
    return pool


def draw_levels(
    rng: np.random.Generator,
    snr_range: tuple[float, float] | None,
    loudness_range: tuple[float, float] | None,
) -> Levels:
    """An SNR drawn uniformly from ``snr_range``, or one loudness per source from ``loudness_range``."""
    if (snr_range is None) == (loudness_range is None):
        raise ValueError("give exactly one of snr_range and loudness_range")
    if snr_range is not None:
        return Levels(snr_db=float(rng.uniform(*snr_range)))
    return Levels(
        target_lufs=float(rng.uniform(*loudness_range)), interference_lufs=float(rng.uniform(*loudness_range))
    )


def balanced_targets(pool: Sequence[ClipRecord], count: int, seed: int) -> list[ClipRecord]:
    """``count`` targets taken round by round, one clip of every class (first label) per round in a seeded
    class order; each class's clips come in a seeded order, over again when they run out."""
    by_class: dict[str, list[ClipRecord]] = {}
    for record in pool:
        by_class.setdefault(record.labels[0] if record.labels else record.captions[0], []).append(record)
    names = sorted(by_class)
    rng = np.random.default_rng([seed, 3])
    queues = {name: [] for name in names}
    targets: list[ClipRecord] = []
    while len(targets) < count:
        for name in (names[i] for i in rng.permutation(len(names))):
            if not queues[name]:
                queues[name] = [by_class[name][i] for i in rng.permutation(len(by_class[name]))]
            targets.append(queues[name].pop())
    return targets[:count]


def random_plans(
    records: Sequence[ClipRecord],
    count: int,
    loader: ClipLoader,
    seed: int = 0,
    snr_range: tuple[float, float] | None = None,
    loudness_range: tuple[float, float] | None = None,
    pool_size: int | None = None,
    balance_classes: bool = False,
) -> Iterator[MixturePlan]:
    """Yield ``count`` seeded mixture plans drawn from ``records`` (see the module's docstring).

    Args:
        records: the clips, in a fixed order (e.g. a manifest's).
        count: the number of mixtures.
        loader: reads the clips' segments, to leave unusable clips out of the pool.
        seed: the benchmark's seed.
        snr_range: target-to-interference SNR range in dB, or
        loudness_range: the range each source's loudness (LUFS) is drawn from.
        pool_size: draw targets and interferers from this many clips only.
        balance_classes: targets come class by class (:func:`balanced_targets`), so that a class with many
            clips does not fill the benchmark.
    """
    pool = usable_pool(records, loader, seed, pool_size)
    balanced = balanced_targets(pool, count, seed) if balance_classes else None
    if count > len(pool):
        warnings.warn(f"{count} mixtures from {len(pool)} clips: targets repeat", stacklevel=1)
    targets: list[ClipRecord] = []
    for index in range(count):
        if balanced is not None:
            targets = [balanced[index]]
        elif not targets:
            order = np.random.default_rng([seed, 1, index]).permutation(len(pool))
            targets = [pool[i] for i in order[::-1]]  # popped from the end: the permutation's order
        target = targets.pop()
        rng = np.random.default_rng([seed, 2, index])
        interferer = next(
            (pool[i] for i in rng.permutation(len(pool)).tolist() if compatible(target, pool[i])), None
        )
        if interferer is None:
            raise AudioInputError(
                f"no clip of the pool may be mixed with {target.id!r} (all share its class)"
            )
        query = target.captions[int(rng.integers(len(target.captions)))]
        yield MixturePlan(target, interferer, query, draw_levels(rng, snr_range, loudness_range))
