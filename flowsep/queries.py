"""Queries as people type them: checked before anything loads, and read as instructions.

One parser for every entry point (the API, ``flowsep separate``, batch manifests and the app):

* ``"remove the noise"``, ``"without the noise"``, ``"no noise"``, ``"minus the noise"``, ``"everything but the
  noise"``, ``"everything except the noise"`` -> remove ``"noise"`` (the output is everything else);
* ``"isolate the dog"``, ``"extract a dog barking"``, ``"keep only the speech"``, ``"only speech"`` -> extract;
* ``"speech without the music"``, ``"speech but not the music"`` -> extract ``"speech"``, then remove ``"music"``
  from that output (what ``exclude=`` / ``--exclude`` ask for);
* anything else, a plain noun phrase (``"a dog barking"``), is extracted as written.

The text given to the model is the sound's name with the instruction words and a leading "the" taken off, so
``"remove the noise"`` separates exactly as ``--remove noise``. Light on purpose: no torch import.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .errors import QueryError

OPERATIONS = ("extract", "remove")
QUERIES_FILE = "queries.json"  # in a model folder: the classes and caption families the model was trained on
BAD_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible formatting character",
                  "Cs": "a lone surrogate", "Co": "a private-use character", "Zl": "a line separator",
                  "Zp": "a paragraph separator"}  # fmt: skip

_WORDS = r"(?:the|all\s+the|all|any)\s+"
_REMOVE = re.compile(
    r"^(?:remove|without|no|minus|mute|suppress|filter\s+out|take\s+out|cut\s+out|get\s+rid\s+of|"
    r"(?:everything|anything|all)\s+(?:but|except(?:\s+for)?|other\s+than|apart\s+from)|all\s+but)\s+(?P<x>.+)$"
)
_EXTRACT = re.compile(
    r"^(?:isolate|extract|separate|keep(?:\s+(?:only|just))?|only(?:\s+keep)?|just|give\s+me(?:\s+only)?)"
    r"\s+(?P<x>.+)$"
)
_EXCLUDE = re.compile(r"^(?P<x>.+?)\s+(?:without|but\s+not|except(?:\s+for)?|minus|and\s+no)\s+(?P<y>.+)$")
_TRAILING = re.compile(
    r"\s+(?:(?:from|in|out\s+of)\s+(?:the|this|my)\s+(?:rest|mix|mixture|recording|clip|audio|file|track|"
    r"background)|from\s+everything\s+else|from\s+the\s+rest|please)$"
)


@dataclass(frozen=True)
class QueryPlan:
    """What one query asks for.

    Args:
        text: the query as given.
        operation: ``"extract"`` (the output is the sound) or ``"remove"`` (the output is everything else).
        target: the sound's name as the model is asked for it.
        exclude: sounds removed from the extracted sound before the operation is applied.
    """

    text: str
    operation: str
    target: str
    exclude: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        """``"remove 'noise'"``, ``"extract 'speech' without 'music'"``."""
        without = "".join(f" without {item!r}" for item in self.exclude)
        return f"{self.operation} {self.target!r}{without}"


def check_query(query, name: str = "the query") -> str:
    """``query`` stripped; :class:`QueryError` naming ``name`` (``"--query"``, ``"-q #2"``, ``"rows.jsonl line
    3"``) when it is not a string, is empty or blank, or holds control or invisible (zero-width) characters."""
    if not isinstance(query, str):
        raise QueryError(f"{name}: the query is a {type(query).__name__}, expected a string")
    for position, char in enumerate(query, start=1):
        kind = BAD_CATEGORIES.get(unicodedata.category(char))
        if kind:
            label = unicodedata.name(char, "unnamed")
            raise QueryError(
                f"{name}: the query holds {kind} (U+{ord(char):04X} {label}) at position {position}"
            )
    if not query.strip():
        raise QueryError(f"{name}: the query is empty: say what to separate, e.g. 'a dog barking'")
    return query.strip()


def check_query_list(queries, name: str = "--query") -> list[str]:
    """Each query checked with :func:`check_query`, named ``name`` alone or ``-q #N`` style when several."""
    if isinstance(queries, str):
        queries = [queries]
    if not isinstance(queries, (list, tuple)) or not queries:
        raise QueryError(f"{name}: give a query (a non-empty string) or a list of them")
    short = {"--query": "-q"}.get(name, name)
    return [
        check_query(query, name if len(queries) == 1 else f"{short} #{index}")
        for index, query in enumerate(queries, start=1)
    ]


def _strip_words(text: str) -> str:
    """Trailing place words and a leading "the" taken off: ``"the noise in this recording" -> "noise"``."""
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING.sub("", text).strip(" ,.;:!?")
        text = re.sub(rf"^(?:please\s+|{_WORDS})", "", text, flags=re.IGNORECASE).strip()
    return text or previous


def parse_query(query: str, exclude: list[str] | tuple[str, ...] = ()) -> QueryPlan:
    """The :class:`QueryPlan` of one checked query, with ``exclude`` (sounds to take out of the extracted one)
    added to any the query names itself ("speech without the music")."""
    text = " ".join(query.split())
    words = _strip_words(text)
    lowered = words.lower()
    operation, target = "extract", text  # a plain phrase goes to the model as written
    removal = _REMOVE.match(lowered)
    extraction = None if removal else _EXTRACT.match(lowered)
    if removal:
        operation, target = "remove", _strip_words(words[removal.start("x") :])
    elif extraction:
        target = _strip_words(words[extraction.start("x") :])
    excluded = []
    inner = _EXCLUDE.match(target.lower()) if operation == "extract" else None
    if inner:
        excluded.append(_strip_words(target[inner.start("y") :]))
        target = target[: inner.end("x")].strip()
    excluded += [_strip_words(" ".join(item.split())) for item in exclude]
    return QueryPlan(query, operation, target or words, tuple(item for item in excluded if item))


def known_queries(model_dir: str | Path) -> dict | None:
    """The ``queries.json`` of a model folder (its training classes and caption families), or ``None``."""
    path = Path(model_dir) / QUERIES_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def example_queries(model_dir: str | Path, count: int = 12) -> list[str]:
    """Up to ``count`` noun phrases the model was trained on, one per class first (for examples and help)."""
    known = known_queries(model_dir) or {}
    classes = known.get("classes", [])
    firsts = [entry["captions"][0] for entry in classes if entry.get("captions")]
    seconds = [entry["captions"][1] for entry in classes if len(entry.get("captions", [])) > 1]
    return list(dict.fromkeys(firsts + seconds))[:count]


def training_queries(manifests, max_captions: int = 12) -> dict:
    """What a model trained on ``manifests`` knows, for its ``queries.json``: per class label (sorted), its most
    frequent captions, its subjects' captions and, when rows carry ``query_wordings`` (``{family: wording}``),
    the wordings by family."""
    from collections import Counter, defaultdict

    from .data.manifest import read_manifest

    captions, subjects, families = (
        defaultdict(Counter),
        defaultdict(lambda: defaultdict(Counter)),
        defaultdict(dict),
    )
    for manifest in manifests:
        for record in read_manifest(manifest):
            label = record.labels[0] if record.labels else "unlabelled"
            captions[label].update(record.captions)
            subject = record.extra.get("subject")
            if subject:
                subjects[label][subject].update(record.captions[:3])
            for family, wording in (record.extra.get("query_wordings") or {}).items():
                families[label].setdefault(family, [])
                if wording not in families[label][family]:
                    families[label][family].append(wording)
    classes = []
    for label in sorted(captions):
        entry = {"label": label, "captions": [text for text, _ in captions[label].most_common(max_captions)]}
        if subjects[label]:
            entry["subjects"] = {
                name: [text for text, _ in counts.most_common(3)]
                for name, counts in sorted(subjects[label].items())
            }
        if families[label]:
            entry["families"] = families[label]
        classes.append(entry)
    return {"classes": classes}


def write_training_queries(model_dir: str | Path, manifests, note: str = "") -> Path:
    """Write ``model_dir/queries.json`` (see :func:`training_queries`); ``note`` says where it came from."""
    record = {
        "about": note or "classes and captions of the training manifests",
        **training_queries(manifests),
    }
    path = Path(model_dir) / QUERIES_FILE
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
