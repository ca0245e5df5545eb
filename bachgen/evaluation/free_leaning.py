"""A leaning set from the takes themselves: ``bachgen evaluate --calibration --fit --free-rounds N``.

The teacher-forced leaning (:func:`.calibration.fit_leaning`) corrects what the network
expects after Bach's own notes. A take is not Bach's notes: every step reads what the network
wrote itself, and what it drifts into there is not in those expectations — the takes' top line
falls a fourth 2.3 times as often as Bach's, and a leaning fitted teacher-forced on the top
line leaves it at 2.2 times (docs/critic.md). So this fit looks at the takes:

1. draw one take from each fugue as ``bachgen evaluate --generated`` does (its form, its
   length, a sampling seed of the fit's own, never one the yardstick reports);
2. count, in the takes' tokens and in the training fugues' stretches — the same place in
   each fugue the yardstick measures, events 50–449 — (:func:`line_counts`), each
   family of the leaning (:data:`bachgen.leaning.FAMILIES`): where the bass is struck from
   the last bass, the classes above the bass, the struck pitches from the last top, where an
   event's top ends from the last top when it is struck (the top line as the critic hears
   it: a held top is no move), how many pitches an event has, how long it is, and the pitch
   struck where the event reaches the last one's size (its likely top) from the last top;
3. move each number by the log of Bach's share over the takes' (damped, at most
   :data:`STEP` a round, never past :data:`LIMIT`; a case seen fewer than :data:`RARE` times
   on both sides together stays where it is; a line's leaps past an octave move together,
   :func:`groups`), and draw again.

It is iterative scaling on the free-running takes: a share the takes write too often is
leaned against until they write it as often as Bach. Only the training fugues are counted
(the held-out and validation ones stay out), and the fit's sampling seeds are its own. Only
fugues with a binary rhythm are drawn and counted (all but a few): a take of one may not
write a triplet's length, so the few with triplets would lean every take towards triplets
that only their takes may write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from ..codec import SpelledCodec
from ..config import FormConfig, SamplingConfig
from ..events import Piece
from ..form import binary_rhythm
from ..leaning import FAMILIES, SPAN, Leaning
from ..pipeline import Engine, SeedSpec, make_seed
from ..splits import HELD_OUT, VALIDATION
from .statistics import STRETCH_EVENTS, stretch
from .yardstick import spelled_generations, stretch_bars

#: The fit's own sampling seeds, one a round (the yardstick reports 1722, 7, 11, 1, 2, 3).
FIT_SEEDS = tuple(range(101, 133))
#: The most a number moves in one round (natural-log units).
STEP = 1.0
#: A count's pseudo-count, so a share never seen is not the log of zero.
PRIOR = 0.5
#: A number never leans a case more than e³ ≈ 20 times either way.
LIMIT = 3.0
#: Cases written fewer times than this by Bach and the takes together are left alone.
RARE = 20
#: The families that follow a line, and the widest move of one counted alone.
LINES = ("bass", "top", "close", "high")
OCTAVE = 12

Say = Callable[[str], None]


def family_sizes(codec: SpelledCodec) -> dict[str, int]:
    """How many numbers each family has for ``codec``."""
    line = 2 * SPAN + 1
    return {"bass": line, "above": 12, "top": line, "close": line,
            "count": codec.max_pitches + 1, "length": len(codec.durations), "high": line}


@dataclass
class LineCounts:
    """Per family, how often each of its numbers' cases was written (``hits``) and how many
    positions could have written it (``seen``): the share the leaning acts on."""

    hits: dict[str, np.ndarray]
    seen: dict[str, float]

    @classmethod
    def empty(cls, codec: SpelledCodec) -> "LineCounts":
        return cls({k: np.zeros(n) for k, n in family_sizes(codec).items()}, {k: 0.0 for k in FAMILIES})

    def share(self, family: str) -> np.ndarray:
        """Each case's share of its family's positions (:func:`share`)."""
        return share(self.hits[family], self.seen[family])


def share(hits: np.ndarray, seen: float) -> np.ndarray:
    """Each case's share of ``seen`` positions (with :data:`PRIOR`, so none is zero)."""
    return (hits + PRIOR) / (seen + PRIOR * len(hits))


def _line(counts: LineCounts, family: str, d: int, struck: bool = True) -> None:
    """A position of a line family: a move of ``d`` semitones counted when its pitch is
    ``struck`` and within the span (else only seen)."""
    counts.seen[family] += 1
    if struck and abs(d) <= SPAN:
        counts.hits[family][d + SPAN] += 1


def line_counts(codec: SpelledCodec, pieces: Sequence[Sequence[int]]) -> LineCounts:
    """Count every family's cases in token sequences (each whole events), as the leaning sees
    them while drawing (:class:`bachgen.leaning.Leaner`)."""
    counts = LineCounts.empty(codec)
    kinds, pidx = codec.kind, codec.pitch_index
    for ids in pieces:
        prev: list[int] = []
        cur: list[int] = []
        struck = False
        for token in ids:
            kind, p = int(kinds[token]), int(pidx[token])
            if kind in (1, 2):
                struck = kind == 1
                if prev and not cur:
                    _line(counts, "bass", p - prev[0], struck)
                if cur:
                    counts.seen["above"] += 1
                    counts.hits["above"][(p - cur[0]) % 12] += 1
                if prev:
                    _line(counts, "top", p - prev[-1], struck)
                if prev and len(cur) == len(prev) - 1:
                    _line(counts, "high", p - prev[-1], struck)
                cur.append(p)
            elif kind == 3:
                if prev and cur:
                    _line(counts, "close", cur[-1] - prev[-1], struck)  # the top line where struck
                counts.seen["count"] += 1
                counts.hits["count"][min(len(cur), codec.max_pitches)] += 1
                counts.seen["length"] += 1
                counts.hits["length"][token - 1 - 2 * codec.pitches] += 1
                prev, cur = cur, []
    return counts


def binary_fugues(engine: Engine) -> set[str]:
    """The fugues whose takes may not use a triplet's length: their seeds (the yardstick's,
    events 0–49) have a binary rhythm (:func:`bachgen.form.binary_rhythm`)."""
    out = set()
    for name in engine.corpus_pieces():
        row = make_seed(SeedSpec(fugue=name, start_event=0), engine, np.random.default_rng(0), []).row
        if binary_rhythm(engine.codec, row.ids, row.start):
            out.add(name)
    return out


def bach_counts(codec: SpelledCodec, pieces: dict[str, Piece], fugues: set[str]) -> LineCounts:
    """The counts of the training fugues' stretches (events 50–449, as the takes stand in for;
    the held-out and validation fugues left out), of ``fugues`` only."""
    training = [stretch(p) for name, p in sorted(pieces.items())
                if name in fugues and name not in HELD_OUT + VALIDATION]
    return line_counts(codec, [codec.encode(p) for p in training])


def takes_counts(engine: Engine, form: FormConfig, config: SamplingConfig, seed: int, say: Say,
                 fugues: set[str]) -> LineCounts:
    """Draw a take from each of ``fugues`` as ``bachgen evaluate --generated`` does (its form,
    Bach's stretch's length, ``config``'s draw) with sampling seed ``seed``, and count the new
    music's tokens."""
    pieces = engine.corpus_pieces()
    chosen = [f for f in pieces if f in fugues]
    bars = [stretch_bars(pieces[f]) for f in chosen]
    say(f"drawing {len(chosen)} takes, sampling seed {seed}")
    made = spelled_generations(engine, replace(config, seed=seed), chosen, form, bars)
    return line_counts(engine.codec, [engine.codec.encode(p) for p in made.pieces])


def as_numbers(leaning: Leaning, codec: SpelledCodec) -> dict[str, np.ndarray]:
    """A leaning's numbers per family (an empty family as zeros)."""
    return {k: np.asarray(getattr(leaning, k) or np.zeros(n), dtype=float) for k, n in family_sizes(codec).items()}


def as_leaning(numbers: dict[str, np.ndarray]) -> Leaning:
    return Leaning(*(tuple(float(x) for x in numbers[k]) for k in FAMILIES))


def groups(family: str, size: int) -> np.ndarray:
    """Which cases of a family move together: a line's leaps past an octave each way are one
    case (each alone is rare, together they are a voice stopping or coming back), every
    other case is its own."""
    if family not in LINES:
        return np.arange(size)
    d = np.arange(size) - SPAN
    return np.clip(d, -OCTAVE - 1, OCTAVE + 1) + OCTAVE + 1


def moved(numbers: dict[str, np.ndarray], bach: LineCounts, takes: LineCounts, damping: float
          ) -> dict[str, np.ndarray]:
    """Every number moved by the damped log of Bach's share over the takes' (module docstring)."""
    out = {}
    for k, v in numbers.items():
        g = groups(k, len(v))
        mine, theirs = (np.bincount(g, weights=c.hits[k]) for c in (takes, bach))
        step = np.clip(damping * np.log(share(theirs, bach.seen[k]) / share(mine, takes.seen[k])), -STEP, STEP)
        step[mine + theirs < RARE] = 0.0
        out[k] = np.clip(v + step[g], -LIMIT, LIMIT)
    return out


def distance(bach: LineCounts, takes: LineCounts) -> dict[str, float]:
    """Per family, half the summed absolute difference of the shares (0: the same, 1: disjoint)."""
    return {k: round(float(0.5 * np.abs(bach.share(k) - takes.share(k)).sum()), 4) for k in FAMILIES}


def fit_free(engine: Engine, start: Leaning, form: FormConfig, rounds: int, damping: float = 0.5,
             say: Say | None = None, keep: Callable[[Leaning, dict[str, Any]], None] | None = None,
             sampling: SamplingConfig = SamplingConfig(events=STRETCH_EVENTS)) -> tuple[Leaning, list[dict[str, Any]]]:
    """Set ``start`` from the takes for ``rounds`` rounds (module docstring), drawn with
    ``sampling`` (its seed replaced by the fit's); each round's leaning and figures go to
    ``keep`` as they come (a long fit saved as it goes)."""
    say = say or (lambda message: None)
    codec, pieces = engine.codec, engine.corpus_pieces()
    fugues = binary_fugues(engine)
    bach = bach_counts(codec, pieces, fugues)
    numbers, history = as_numbers(start, codec), []
    for r in range(rounds):
        engine.lean(as_leaning(numbers))
        takes = takes_counts(engine, form, sampling, FIT_SEEDS[r % len(FIT_SEEDS)], say, fugues)
        figures = {"round": r + 1, "seed": FIT_SEEDS[r % len(FIT_SEEDS)], "distance": distance(bach, takes)}
        say(f"round {r + 1}: distance by family {figures['distance']}")
        numbers = moved(numbers, bach, takes, damping)
        history.append(figures)
        if keep is not None:
            keep(as_leaning(numbers), figures)
    leaning = as_leaning(numbers)
    engine.lean(leaning)
    return leaning, history
