"""A take's form between the seed and the draw: the span it is written in, its plan made into
rules for the sampler, and what a finished piece's ending and entries are.

:func:`take_span` says where a take lies (in the sampler's ticks and key), :func:`take_plan`
plans it (:mod:`bachgen.plan`), :func:`take_rules` makes the plan rules for the sampler
(:mod:`bachgen.constraints`) and :func:`told_row` tells it a told network (:mod:`bachgen.cues`); :func:`ending` checks how a piece ends, the way the yardstick
and a take's summary report it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Sequence

import numpy as np

from .codec import SpelledCodec
from .config import FormConfig, SamplingConfig
from .constraints import Rules
from .cues import entry_line, plan_cues
from .events import Piece, key_is_minor, key_tonic_pc
from .errors import ConfigError
from .fugue import plan_fugue
from .plan import Plan, Span, plan_take
from .rows import SeedRow
from .subject import Subject


def take_span(codec: SpelledCodec, row: SeedRow, moved_by: int, key: str | None, voices: int,
              cfg: SamplingConfig, registers: tuple[int, ...] = ()) -> Span:
    """Where a take is written: from the seed's end to ``cfg.bars`` bars on (the bar the seed
    ends in counts as the first), or — a take of ``cfg.events`` events — to a horizon as far
    as that many events of the seed's average length. ``registers``: the mean pitch of each
    voice of the seed's fugue, in the seed's own key (empty: unknown)."""
    start = row.end(codec)
    bar = codec.bar_ticks(row.time_signature)
    events = max(1, sum(1 for t in row.ids if codec.kind[t] == codec.KIND_DURATION))
    mean = max(codec.grid, (start - row.start) // events)
    end = (start // bar + cfg.bars) * bar if cfg.bars is not None else None
    horizon = end if end is not None else start + cfg.events * mean
    tonic = ((key_tonic_pc(key) if key else 0) + moved_by) % 12
    low, high = cfg.compass or (36, 84)
    return Span(start, end, horizon, bar, tonic, bool(key and key_is_minor(key)), voices,
                (low + moved_by, high + moved_by), tuple(r + moved_by for r in registers),
                binary_rhythm(codec, row.ids, row.start))


def take_plan(subject: Subject | None, span: Span, form: FormConfig, rng: np.random.Generator,
              moved_by: int) -> Plan:
    """The plan of a take (no entries without a subject; no close without an end). A close
    that would begin before the new music does is left out. With nothing to plan, only the
    end (and ``rng`` is not drawn from, so the take is the one drawn without a form)."""
    if not (form.entries or (form.close and span.end is not None)):
        return Plan(end=span.end, voices=span.voices, binary=span.binary)
    plan = plan_take(subject, span, form, rng, moved_by)
    if plan.close is not None and plan.close.dominant.start < span.start:
        plan = replace(plan, close=None)
    return plan


def take_rules(plan: Plan, codec: SpelledCodec, form: FormConfig) -> Rules | None:
    """The sampler's rules for ``plan`` (``None``: nothing to hold it to)."""
    if plan.empty:
        return None
    return Rules(plan, codec, form.cap_voices, form.best_of, form.chooser)


def told_row(codec: SpelledCodec, row: SeedRow, plan: Plan, subject: Subject | None) -> SeedRow:
    """The seed row as a network told the plan reads it: with the plan's end and entries, after
    the seed's own entries of ``subject`` (:func:`bachgen.cues.plan_cues`). An untold codec's
    row is returned as it is."""
    if not codec.told:
        return row
    seed_line = ()
    if subject is not None and subject.matchable:
        seed_line = entry_line(codec.decode(row.ids, row.start), subject)
    return replace(row, cues=plan_cues(plan, seed_line))


@dataclass(frozen=True)
class Held:
    """A take as the sampler draws it: where it is written (``span``), what it is held to
    (``plan``, and the sampler's ``rules``), the seed row as the network reads it (``row``) and
    the most events it may write (``events``)."""

    span: Span
    plan: Plan
    rules: Rules | None
    row: SeedRow
    events: int


def hold(codec: SpelledCodec, seed: Any, cfg: SamplingConfig, form: FormConfig,
         rng: np.random.Generator) -> Held:
    """What a take from ``seed`` (a :class:`bachgen.pipeline.Seed`: its row, move, key, voices,
    registers and subject) is drawn with, under ``cfg`` and ``form``; ``rng`` draws the plan."""
    span = take_span(codec, seed.row, seed.moved_by, seed.key, seed.voices, cfg, seed.registers)
    if seed.fugue is not None:
        span = fugue_span(span, cfg)
        plan = plan_fugue(seed.subject, span, seed.fugue, form, rng, seed.moved_by)
    else:
        plan = take_plan(seed.subject, span, form, rng, seed.moved_by)
    return Held(span, plan, take_rules(plan, codec, form), told_row(codec, seed.row, plan, seed.subject),
                events_bound(codec, span, cfg))


def binary_rhythm(codec: SpelledCodec, ids: Sequence[int], start: int = 0) -> bool:
    """Whether a seed's events (``ids`` from tick ``start``) all start and last whole 32nds:
    a rhythm without triplets."""
    step = codec.resolution // 8
    lengths = codec.ticks[[t for t in ids if codec.kind[t] == codec.KIND_DURATION]]
    return start % step == 0 and bool(np.all(lengths % step == 0))


def fugue_span(span: Span, cfg: SamplingConfig) -> Span:
    """A whole fugue's span: ``cfg.bars`` bars from the bar its subject begins in."""
    if cfg.bars is None:
        raise ConfigError("A fugue is written to a length in bars, not a number of events.",
                          "Give a length in bars (e.g. --bars 48).")
    end = cfg.bars * span.bar
    return replace(span, end=end, horizon=end)


def events_bound(codec: SpelledCodec, span: Span, cfg: SamplingConfig) -> int:
    """Events a take may write at most: ``cfg.events``, or as many as fit before its end."""
    if span.end is None:
        return cfg.events
    return max(1, (span.end - span.start) // codec.grid)


@dataclass(frozen=True)
class Ending:
    """How a piece ends (the ending check): the lowest note of the last sonority is the tonic
    (``tonic_bass``), every pitch class of it is in the tonic triad, either third
    (``tonic_chord``), it is held a quarter or more (``held``), and the bass before it is the
    dominant (``from_dominant``)."""

    tonic_bass: bool
    tonic_chord: bool
    held: bool
    from_dominant: bool

    @property
    def closes(self) -> bool:
        """Tonic in the bass, a tonic chord, held: the three the targets count together."""
        return self.tonic_bass and self.tonic_chord and self.held

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "closes": self.closes}


def ending(piece: Piece, key: str | None = None) -> Ending | None:
    """The :class:`Ending` of ``piece`` in ``key`` (default: the piece's); ``None`` with no
    notes or no key. The last sonority is every note sounding at the last onset."""
    key = key or piece.key
    if not piece.notes or not key:
        return None
    tonic = key_tonic_pc(key)
    last = max(n.start for n in piece.notes)
    final = [n for n in piece.notes if n.start <= last < n.end]
    bass = min(final, key=lambda n: n.pitch)
    chord = {tonic, (tonic + 3) % 12, (tonic + 4) % 12, (tonic + 7) % 12}
    came = bass_before(piece, last, tonic)
    held = max(n.end for n in final) - last >= piece.resolution
    return Ending(bass.pitch % 12 == tonic, all(n.pitch % 12 in chord for n in final), held,
                  came is not None and came % 12 == (tonic + 7) % 12)


def bass_before(piece: Piece, last: int, tonic: int) -> int | None:
    """The bass the close arrives from: going back from the onset ``last``, the first lowest
    sounding pitch that is not the tonic (a tonic pedal is passed over); ``None``: none."""
    onsets = sorted({n.start for n in piece.notes if n.start < last}, reverse=True)
    for t in onsets:
        low = min(n.pitch for n in piece.notes if n.start <= t < n.end)
        if low % 12 != tonic:
            return low
    return None
