"""What a draw reads, row by row: the settings, the seed rows, their conditions, the pick.

A *row* is one sequence being sampled: its seed ids (:class:`SeedRow`), where it starts
and its time signature and key; a *take* (:class:`TakeRows`) is the rows one caller asks
for together, with their settings, generator and guard. At every step the sampler asks
the codec's grammar which tokens may come next and draws one with temperature / top-k /
top-p from a seeded ``numpy.random.Generator`` (:func:`draw`: the same seed gives the same
ids); :class:`RowConditions` computes the next conditioning features from the grammar
state: where the next event starts in the bar (durations written so far and the seed's
time signature) and the seed's key condition. :func:`seed_row` and :func:`assemble` turn a
piece into a seed row and the drawn ids back into a piece.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from .codec import FEATURES, QUARTERS, KeyCondition, SpelledCodec, SpelledState, seed_transposition
from .constraints import Rules
from .cues import FAR, Cues, tonic_pc
from .errors import ConfigError
from .events import Note, Piece
from .guards import EventWatch
from .lines import state_columns
from .reduction import chordify
from .step import NumpyStep, TfStep



@dataclass(frozen=True)
class SampleSettings:
    """How each token is drawn: ``temperature``; ``top_k`` (0: off); ``top_p`` (1.0: off);
    ``compass``: lowest and highest MIDI pitch that may be struck, in the output's key
    (``None``: the whole piano; the sampler needs each row's ``moved_by`` to place it).
    The defaults a take is drawn with are :class:`~bachgen.config.SamplingConfig`'s (made into
    these by :func:`bachgen.pipeline.sample_settings`)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.95
    compass: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ConfigError("temperature must be > 0, top_k ≥ 0 and top_p in (0, 1].")
        if self.compass is not None and not self.compass[0] < self.compass[1]:
            raise ConfigError("compass must be (lowest, highest) with lowest < highest.")


def token_probabilities(logits: np.ndarray, mask: np.ndarray, settings: SampleSettings) -> np.ndarray:
    """``(B, V)`` probabilities after the grammar mask, temperature, top-k and top-p (unnormalised).

    Every row is worked out on its own (its values do not depend on the other rows). It
    runs once a token: few NumPy calls, ufunc methods rather than their wrappers."""
    z = logits.astype(np.float64)
    if settings.temperature != 1.0:  # x / 1 is x: the division would change nothing
        z /= settings.temperature
    z = np.where(mask, z, -np.inf)
    z -= np.maximum.reduce(z, axis=1, keepdims=True)
    p = np.exp(z)
    if 0 < settings.top_k < p.shape[1]:
        kth = -np.partition(-p, settings.top_k - 1, axis=1)[:, settings.top_k - 1:settings.top_k]
        p = np.where(p >= kth, p, 0.0)
    if settings.top_p < 1.0:
        p = _top_p(p, settings.top_p)
    return p


def _top_p(p: np.ndarray, top_p: float) -> np.ndarray:
    """``p`` without the tokens less likely than the one whose cumulative probability (from
    the likeliest down) crosses ``top_p`` of the row's total.

    That token is the ``keep``-th likeliest, ``keep`` the number of cumulative sums below
    the mark; the last sum (the total) never is, as ``top_p`` < 1."""
    ordered = np.sort(p, axis=1)[:, ::-1]
    cum = np.add.accumulate(ordered, axis=1)  # np.cumsum, without its wrapper
    keep = np.add.reduce(cum < top_p * cum[:, -1:], axis=1)
    threshold = ordered[np.arange(len(p)), keep]
    return np.where(p >= threshold[:, None], p, 0.0)


def draw(logits: np.ndarray, mask: np.ndarray, settings: SampleSettings,
         rng: np.random.Generator) -> np.ndarray:
    """One allowed token per row, drawn from :func:`token_probabilities` with ``rng``."""
    return pick(token_probabilities(logits, mask, settings), rng.random(len(logits)))


def pick(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The token of each row where its cumulative probabilities ``p`` pass ``u`` (in [0, 1)) of the total."""
    cdf = np.add.accumulate(p, axis=1)
    return (cdf > (u * cdf[:, -1])[:, None]).argmax(axis=1)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class SeedRow:
    """One row's seed: whole-event ids from tick ``start``, its time signature and key condition;
    ``cues``: what a told network is told of the plan (:mod:`bachgen.cues`; ``None``: nothing,
    and an untold network never reads it)."""

    ids: tuple[int, ...]
    start: int
    time_signature: tuple[int, int]
    key: KeyCondition
    cues: Cues | None = None

    def end(self, codec: SpelledCodec) -> int:
        """The tick where the seed's last event ends: where the new music starts."""
        return self.start + int(codec.ticks[np.asarray(self.ids, dtype=np.int64)].sum())


@dataclass(frozen=True)
class RowConditions:
    """Per-row constants the features need: bar length, meter category, key category.

    For the hot loop, ``places`` holds the features of every tick of the longest bar
    (quarter and phase; meter and key 0) and ``fixed`` each row's meter and key (quarter
    and phase 0): a row's features are the sum of the two. A told codec's rows also have
    ``told``: their end ticks (−1: unknown) and line tables (:func:`bachgen.cues.line_table`)."""

    bar: np.ndarray
    meter: np.ndarray
    key: np.ndarray
    places: np.ndarray = field(repr=False, compare=False)
    fixed: np.ndarray = field(repr=False, compare=False)
    told: "ToldRows | None" = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, codec: SpelledCodec, rows: Sequence[SeedRow]) -> "RowConditions":
        bar = np.array([codec.bar_ticks(r.time_signature) for r in rows], dtype=np.int64)
        meter = np.array([codec.meter_index(r.time_signature) for r in rows], dtype=np.int64)
        key = np.array([codec.told_key(r.key).index for r in rows], dtype=np.int64)
        pos = np.arange(int(bar.max(initial=1)))
        places = np.zeros((len(pos), len(FEATURES)), dtype=np.int64)
        places[:, 0] = np.minimum(pos // codec.resolution, QUARTERS - 1)
        places[:, 1] = (pos % codec.resolution) // codec.grid
        fixed = np.zeros((len(rows), len(FEATURES)), dtype=np.int64)
        fixed[:, 2], fixed[:, 3] = meter, key
        return cls(bar, meter, key, places, fixed, ToldRows.of(rows) if codec.told else None)

    def features(self, codec: SpelledCodec, ticks: np.ndarray, grammar: SpelledState | None = None) -> np.ndarray:
        """``(B, 4)`` features of events starting at ``ticks`` (as :meth:`SpelledCodec.features`;
        ``(B, 6)`` for a told codec); a codec told the lines adds the bass and the top of the
        rows' ``grammar`` state (:func:`bachgen.lines.state_columns`)."""
        out = self.places[ticks % self.bar] + self.fixed
        if self.told is not None:
            out = np.concatenate([out, self.told.columns(ticks, self.bar)], axis=1)
        if codec.lines:
            if grammar is None:
                raise ConfigError("A network told the lines needs the rows' grammar state.")
            out = np.concatenate([out, state_columns(grammar.prev, grammar.cur)], axis=1)
        return out


@dataclass(frozen=True)
class ToldRows:
    """Each row's cues ready for the hot loop: ``end`` ticks (−1: unknown) and ``lines``, the
    line column at every tick (rows padded with 0 to the longest)."""

    end: np.ndarray
    lines: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[SeedRow]) -> "ToldRows":
        cues = [r.cues or Cues() for r in rows]
        tables = [c.table(tonic_pc(r.key.minor, r.key.shift)) for c, r in zip(cues, rows)]
        lines = np.zeros((len(rows), max(len(t) for t in tables)), dtype=np.int64)
        for i, t in enumerate(tables):
            lines[i, :len(t)] = t
        end = np.array([-1 if c.end is None else c.end for c in cues], dtype=np.int64)
        return cls(end, lines)

    def columns(self, ticks: np.ndarray, bar: np.ndarray) -> np.ndarray:
        """``(B, 2)``: bars to the end and the planned line of each row's event at ``ticks``
        (as :meth:`bachgen.cues.Cues.columns`)."""
        out = np.empty((len(ticks), 2), dtype=np.int64)
        bars = np.clip((self.end - 1 - ticks) // bar, 0, FAR)
        out[:, 0] = np.where(self.end < 0, FAR, bars)
        inside = (ticks >= 0) & (ticks < self.lines.shape[1])
        at = self.lines[np.arange(len(ticks)), np.clip(ticks, 0, self.lines.shape[1] - 1)]
        out[:, 1] = np.where(inside, at, 0)
        return out


def warm_up(step: NumpyStep | TfStep, codec: SpelledCodec, rows: Sequence[SeedRow]) -> tuple[np.ndarray, Any]:
    """Read each row's seed; the logits after its last token ``(B, V)`` and the batched state."""
    if any(not r.ids for r in rows):
        raise ConfigError("Every row needs a seed of at least one whole event.")
    read: dict[SeedRow, tuple[np.ndarray, Any]] = {}  # a seed shared by rows is read once
    for row in rows:
        if row in read:
            continue
        ids = np.asarray(row.ids, dtype=np.int64)
        feats = codec.features(ids, row.time_signature, row.start, row.key, row.cues).astype(np.int64)
        state = step.zero_state(1)
        for t in range(len(ids)):
            out, state = step(ids[t:t + 1], feats[t:t + 1], state)
        read[row] = (out[0], state)
    return np.stack([read[r][0] for r in rows]), _stack_states([read[r][1] for r in rows])


def _stack_states(states: list) -> Any:
    """Batch per-row step states (NumPy list of ``(h, c)``, or the tf pair)."""
    first = states[0]
    if isinstance(first, list):
        return [(np.concatenate([s[l][0] for s in states]), np.concatenate([s[l][1] for s in states]))
                for l in range(len(first))]
    import tensorflow as tf

    return tf.concat([s[0] for s in states], axis=1), tf.concat([s[1] for s in states], axis=1)


@dataclass(frozen=True)
class TakeRows:
    """One take's part of a draw: its seed rows (its candidates) and how they are drawn.

    Takes drawn together (:func:`sample_takes`) share the network's steps but nothing else:
    each has its own events to write, settings, generator (one ``rng.random(rows)`` a step,
    as alone), seeds' moves (``moved_by``, to place the compass), guard (``watch``) and
    plan (``rules``, :class:`~bachgen.constraints.Rules`: planned notes, the end, best of N;
    one for all rows, or one per row).
    With an end in the rules, a row stops at its first event that reaches it (``events``
    is then only a bound). ``early``: a take of one row has its opening told once, as soon
    as its first ``early`` new events can no longer change (0: not told; see
    :func:`bachgen.sampling.sample_takes`), so that it can be heard while the rest is drawn.
    """

    rows: Sequence[SeedRow]
    events: int
    settings: SampleSettings
    rng: np.random.Generator
    moved_by: Sequence[int] | None = None
    watch: EventWatch | None = None
    rules: Rules | Sequence[Rules | None] | None = None
    early: int = 0

    def row_rules(self) -> list[Rules | None]:
        """Each row's rules (one plan for every row, or one per row)."""
        if self.rules is None or isinstance(self.rules, Rules):
            return [self.rules] * len(self.rows)
        return list(self.rules)


def check_take(step: Any, take: TakeRows) -> None:
    """Refuse a take that cannot be drawn (before it joins others)."""
    if take.events < 1:
        raise ConfigError("events must be at least 1.")
    if not take.rows or any(not r.ids for r in take.rows):
        raise ConfigError("Every row needs a seed of at least one whole event.")
    if take.moved_by is not None and len(take.moved_by) != len(take.rows):
        raise ConfigError("moved_by needs one number per row.")
    if take.watch is not None and not isinstance(getattr(step, "inner", step), NumpyStep):
        raise ConfigError("The loop and copy guards need the NumPy step (engine 'numpy').")
    if len(take.row_rules()) != len(take.rows):
        raise ConfigError("rules need one plan per row (or one for all).")


def seed_row(codec: SpelledCodec, piece: Piece, seed_events: int = 50,
             start_event: int = 0) -> tuple[SeedRow, int]:
    """The seed of ``seed_events`` events of ``piece`` from event ``start_event``, moved into a
    key the network knows; also the semitones it was moved (to move the result back)."""
    moved_by, key = seed_transposition(piece.key)
    events = chordify(piece.transpose(moved_by), codec.reduction_config)[start_event:start_event + seed_events]
    if not events:
        raise ConfigError(f"{piece.name or 'The seed'} has no events from event {start_event}.")
    ids = tuple(codec.encode_events(events))
    return SeedRow(ids, events[0].start, tuple(piece.time_signature), key), moved_by


@dataclass(frozen=True)
class Generation:
    """A generated piece (in the seed's key), its new ids, the seed row and the move applied."""

    piece: Piece
    new_ids: tuple[int, ...]
    seed: SeedRow
    moved_by: int

    @property
    def seed_end(self) -> int:
        """Tick where the generated music starts."""
        return int(self.piece.meta["seed_end"])


def assemble(codec: SpelledCodec, row: SeedRow, new_ids: Sequence[int], moved_by: int,
             template: Piece, include_seed: bool) -> Piece:
    """Decode seed + new ids, move back to the seed's key; without the seed, notes are cut at its end."""
    piece = codec.decode(list(row.ids) + list(new_ids), row.start)
    boundary = row.end(codec)
    notes = []
    for n in piece.notes:
        if not include_seed and n.end <= boundary:
            continue
        start = n.start if include_seed else max(n.start, boundary)
        notes.append(Note(start, n.end - start, n.pitch - moved_by, 0))
    return replace(template, notes=tuple(notes), meta={"seed_end": boundary})
