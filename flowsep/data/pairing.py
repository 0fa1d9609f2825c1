"""Which clips may be mixed: two clips are compatible when they are different recordings and, if both have
class labels, share no label; otherwise (caption-only datasets) their captions and labels share no keyword:
lower-cased words without stop words, crudely stemmed (``barking``, ``barks`` -> ``bark``).

Training mixtures (:class:`flowsep.data.MixtureDataset`) and benchmark mixtures
(:mod:`flowsep.evaluation.planning`) both follow this rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .manifest import ClipRecord

STOP_WORDS = frozenset(
    """a an the and or but of to in on at by for from with without into onto over under while as is are was
    were be been being it its this that these those there their then than some someone something very
    loud loudly softly quietly distance distant background foreground sound sounds noise audio recording
    can could may might also another other others one two three several many few more most while during
    before after again continuously repeatedly occasionally constantly nearby far away up down out off
    who which what where when has have had do does did not no near around through""".split()  # noqa: SIM905
)


def _stem(word: str) -> str:
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    return word


def caption_keywords(texts: Iterable[str]) -> set[str]:
    """The content words of some captions or labels: ``["A dog barks loudly"] -> {"dog", "bark"}``."""
    words = re.findall(r"[a-z]+", " ".join(texts).lower())
    return {_stem(word) for word in words if len(word) > 2 and word not in STOP_WORDS}


def compatible(a: ClipRecord, b: ClipRecord) -> bool:
    """Whether ``a`` and ``b`` may be mixed (see the module's docstring)."""
    if a.id == b.id or a.audio == b.audio:
        return False
    if a.labels and b.labels:
        return not {label.lower() for label in a.labels} & {label.lower() for label in b.labels}
    return not caption_keywords([*a.captions, *a.labels]) & caption_keywords([*b.captions, *b.labels])
