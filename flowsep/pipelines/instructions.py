"""What the pipeline does around the flow: queries read as instructions, exclusions, several queries on one
mixture, spans; and the mixture's windows encoded once for all the queries that share it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import torch

from ..decoding import decode_jointly, decode_target, decode_to_input
from ..errors import QueryError, UsageError
from ..queries import QueryPlan, check_query, check_query_list, parse_query
from ..spans import SpanOptions, find_spans


def plan_queries(prompt, exclude, instructions: bool, embeds_count: int | None) -> list[QueryPlan]:
    """One :class:`QueryPlan` per query: ``prompt`` (strings, or plans parsed already) checked and parsed (taken as written when ``instructions``
    is false; ``embeds_count`` rows of precomputed embeddings when there is no prompt), with ``exclude`` (a
    string for every query, or a list of one string or list per query) added."""
    given = list(prompt) if isinstance(prompt, (list, tuple)) else [prompt]
    if prompt is not None and given and all(isinstance(item, QueryPlan) for item in given):
        queries = [check_query(plan.target, f"prompt[{index}]") for index, plan in enumerate(given)]
    else:
        given, queries = None, check_query_list(prompt, "prompt") if prompt is not None else None
    count = len(queries) if queries is not None else embeds_count
    if exclude is None:
        excludes = [[] for _ in range(count)]
    elif isinstance(exclude, str):
        excludes = [[check_query(exclude, "exclude")]] * count
    elif isinstance(exclude, (list, tuple)) and len(exclude) == count:
        excludes = [
            [] if item is None else [check_query(one, f"exclude[{index}]") for one in ([item] if isinstance(item, str) else item)]
            for index, item in enumerate(exclude)
        ]  # fmt: skip
    else:
        raise QueryError(f"exclude: give a string, or a list of one string (or list) per query ({count})")
    if queries is None:
        return [
            QueryPlan(f"prompt_embeds[{i}]", "extract", f"prompt_embeds[{i}]", tuple(e))
            for i, e in enumerate(excludes)
        ]
    if given is not None:  # parsed already (the command line's -q / --remove)
        return [replace(plan, exclude=plan.exclude + tuple(e)) for plan, e in zip(given, excludes)]
    if not instructions:
        return [QueryPlan(query, "extract", query, tuple(e)) for query, e in zip(queries, excludes)]
    return [parse_query(query, e) for query, e in zip(queries, excludes)]


def span_options(options) -> SpanOptions:
    """``None``, a dict of :class:`SpanOptions` fields or a ``SpanOptions``; :class:`UsageError` otherwise."""
    if options is None or isinstance(options, SpanOptions):
        return options or SpanOptions()
    if not isinstance(options, dict):
        raise UsageError(f"span_options must be a dict or SpanOptions, got {type(options).__name__}")
    try:
        return SpanOptions(**options)
    except TypeError as error:
        raise UsageError(f"span_options: {error}") from None


class MixtureWindows:
    """The latents ``(W, C, T, F)`` of a batch of ``(item, window)`` jobs, each window of a mixture encoded
    once however many queries share it (kept until its last query has used it); a sampled posterior draws from
    ``generators`` (one per mixture; the global generator unless each window has one)."""

    def __init__(self, codec, plans, levelled, owners, device, generators=None):
        self.codec, self.plans, self.levelled, self.owners, self.device = (
            codec,
            plans,
            levelled,
            owners,
            device,
        )
        self.generators = generators or [None] * len(plans)
        self.uses = Counter((owner, index) for owner in owners for index in range(len(plans[owner])))
        self.cache: dict[tuple[int, int], torch.Tensor] = {}

    def __call__(self, batch: list[tuple[int, int]]) -> torch.Tensor:
        keys = [(self.owners[item], index) for item, index in batch]
        missing = list(dict.fromkeys(key for key in keys if key not in self.cache))
        if missing:
            windows = torch.stack([self.plans[o].window_of(self.levelled[o], w) for o, w in missing])
            generators = [self.generators[o] for o, _ in missing]
            generator = generators if all(g is not None for g in generators) else None
            latents, _ = self.codec.encode(windows, self.device, generator)
            self.cache.update(zip(missing, latents))
        out = torch.stack([self.cache[key] for key in keys])
        for key in keys:
            self.uses[key] -= 1
            if self.uses[key] == 0:
                del self.cache[key]
        return out


@dataclass
class Separated:
    """Extracted sounds ``(C, S)`` or ``(S,)`` per item and the mixture each came from, before the operations."""

    extracted: list[torch.Tensor]
    mixtures: list[torch.Tensor]
    rate: int


def decode_items(pipe, mels, waves, originals, owners, outputs, vocode, output_format, joint, decoder, mask_rule,
                 device) -> Separated:  # fmt: skip
    """Decode each item's mel against its mixture (jointly, consistent masks, when ``joint``)."""
    codec, rate = pipe.codec, pipe.config.sample_rate
    vocoded = [output.sample.result() if vocode else None for output in outputs]
    if output_format == "input":
        mixtures = [originals[owner][0] for owner in owners]
        rate = originals[owners[0]][1]
    else:
        mixtures = [waves[owner] for owner in owners]
    if joint:
        original = mixtures[0] if output_format == "input" else mixtures[0][None]
        targets, _ = decode_jointly(
            mels, waves[0], original, rate, codec, decoder, mask_rule, vocoded, device
        )
        extracted = list(targets) if output_format == "input" else [target[0] for target in targets]
        return Separated(extracted, mixtures, rate)
    extracted = []
    for mel, owner, wave in zip(mels, owners, vocoded):
        if output_format == "input":
            extracted.append(decode_to_input(mel, waves[owner], originals[owner][0], rate, codec, decoder, mask_rule,
                                             wave, device))  # fmt: skip
        else:
            extracted.append(decode_target(mel, waves[owner], codec, decoder, mask_rule, wave, device))
    return Separated(extracted, mixtures, rate)


def finish_operations(pipe, plans: list[QueryPlan], separated: Separated, joint: bool, return_spans: bool,
                      options: SpanOptions, call_kwargs: dict) -> dict:  # fmt: skip
    """Exclusions, then each plan's operation: ``{"audios", "residuals", "rest", "spans", "operation"}``.

    An excluded sound is separated from the extracted one (a second pass with the same settings) and taken out
    of it; ``"remove"`` swaps output and residual. ``rest`` (joint only) is the mixture minus every extracted
    sound, so that extracted sounds + rest == mixture."""
    extracted = list(separated.extracted)
    for index, plan in enumerate(plans):
        for sound in plan.exclude:
            inner = pipe(sound, extracted[index], sample_rate=separated.rate, return_residual=True,
                         instructions=False, output_type="pt", **call_kwargs)  # fmt: skip
            extracted[index] = inner.residuals[0].to(extracted[index].dtype)
    audios, residuals = [], []
    for plan, sound, mixture in zip(plans, extracted, separated.mixtures):
        rest = mixture - sound
        audios.append(sound if plan.operation == "extract" else rest)
        residuals.append(rest if plan.operation == "extract" else sound)
    rest = separated.mixtures[0] - torch.stack(extracted).sum(0) if joint else None
    spans = None
    if return_spans:
        spans = [find_spans(a.numpy(), r.numpy(), separated.rate, options) for a, r in zip(audios, residuals)]
    return {"audios": audios, "residuals": residuals, "rest": rest, "spans": spans,
            "operation": [plan.describe() for plan in plans]}  # fmt: skip


def check_joint(joint: bool, owners: list[int], output_type: str):
    """``joint`` needs one mixture and waveforms out."""
    if joint and len(set(owners)) > 1:
        raise UsageError("joint=True separates several queries on one mixture: give one mixture")
    if joint and output_type not in ("np", "pt"):
        raise UsageError(f"joint=True returns waveforms: use output_type 'np' or 'pt', not {output_type!r}")
