"""The query and span options of ``flowsep separate``: ``-q``/``--remove`` (repeatable, in order), ``--exclude``,
``--spans`` and its thresholds. Checked before anything heavy is imported, each error naming its argument
(``--query``, ``-q #2``, ``--remove``, ``--exclude #1``). Light: no torch import.
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..queries import QueryPlan, check_query, parse_query
from ..spans import SPAN_DEFAULTS
from .options import finite, non_negative


class _Ordered(argparse.Action):
    """Appends ``(kind, text)`` to one list, so that ``-q`` and ``--remove`` keep the order they were given in."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest) or [])
        items.append((self.const, values))
        setattr(namespace, self.dest, items)


def add_query_arguments(parser: argparse.ArgumentParser):
    """``-q/--query`` and ``--remove`` (both repeatable: several queries run in one pass), ``--exclude``."""
    parser.add_argument(
        "--query", "-q", dest="requests", action=_Ordered, const="query", metavar="QUERY",
        help="the sound to keep, e.g. 'a dog barking'; instructions work too ('remove the noise', 'isolate the "
        "dog', 'speech without the music'); repeat for several sounds in one pass",
    )  # fmt: skip
    parser.add_argument(
        "--remove", dest="requests", action=_Ordered, const="remove", metavar="QUERY",
        help="the sound to remove: the output is everything else (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--exclude", action="append", metavar="QUERY", default=[],
        help="a sound to take out of each extracted one (separated from it in a second pass; repeatable)",
    )  # fmt: skip


def add_span_arguments(parser: argparse.ArgumentParser):
    """``--spans`` and its thresholds (see :mod:`flowsep.spans`)."""
    parser.add_argument(
        "--spans", action="store_true",
        help="also write where each output is active: <output>.spans.json and <output>.spans.csv",
    )  # fmt: skip
    parser.add_argument(
        "--spans-threshold", type=finite, default=None, metavar="DB",
        help=f"output-to-rest energy ratio above which a frame is active (default {SPAN_DEFAULTS['threshold_db']:g} dB)",
    )  # fmt: skip
    parser.add_argument(
        "--spans-min-duration", type=non_negative, default=None, metavar="SECONDS",
        help=f"shortest span kept (default {SPAN_DEFAULTS['min_duration']:g} s)",
    )  # fmt: skip
    parser.add_argument(
        "--spans-min-gap", type=non_negative, default=None, metavar="SECONDS",
        help=f"spans closer than this are joined (default {SPAN_DEFAULTS['min_gap']:g} s)",
    )  # fmt: skip


SPAN_FLAGS = {
    "spans_threshold": "threshold_db",
    "spans_min_duration": "min_duration",
    "spans_min_gap": "min_gap",
}


def span_settings(args: argparse.Namespace) -> dict:
    """The span options the flags set; :class:`UsageError` for a threshold flag without ``--spans``."""
    given = {
        field: getattr(args, flag) for flag, field in SPAN_FLAGS.items() if getattr(args, flag) is not None
    }
    if given and not args.spans:
        flag = next(flag for flag in SPAN_FLAGS if getattr(args, flag) is not None)
        raise UsageError(f"--{flag.replace('_', '-')} needs --spans")
    return SPAN_DEFAULTS | given


def query_plans(args: argparse.Namespace) -> list[QueryPlan]:
    """The checked and parsed queries, in order; errors name the argument (``--query``, ``-q #2`` ...)."""
    requests = args.requests or []
    if not requests:
        raise UsageError("give at least one --query (or --remove), e.g. -q 'a dog barking'")
    excludes = [
        check_query(text, "--exclude" if len(args.exclude) == 1 else f"--exclude #{index}")
        for index, text in enumerate(args.exclude, start=1)
    ]
    plans = []
    for index, (kind, text) in enumerate(requests, start=1):
        flag = "--query" if kind == "query" else "--remove"
        name = flag if len(requests) == 1 else f"{'-q' if kind == 'query' else flag} #{index}"
        plan = parse_query(check_query(text, name), excludes)
        if kind == "remove":
            if plan.operation == "remove":
                raise UsageError(
                    f"{name}: {text!r} is already an instruction to remove; use -q {text!r} or --remove {plan.target!r}"
                )
            plan = QueryPlan(text, "remove", plan.target, plan.exclude)
        plans.append(plan)
    return plans
