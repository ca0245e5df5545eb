"""A plan (:mod:`bachgen.plan`) as rules on the codec's grammar: what each row may write next.

The codec's grammar already says what may come next; a planned note adds required tokens:

* at its onset the event must strike it — ``S<p>`` comes before any higher pitch and before
  the duration, and nothing may replace it;
* while it lasts every event holds it (``H<p>``); after its end it is not held on;
* no event lasts past the next planned onset or end (nor past the take's end), so events
  start exactly where the plan needs them.

While a planned note sounds an event holds at most as many pitches as the fugue has voices
(the planned line counts as one of them). The close adds: nothing below the planned bass,
the final chord's notes struck within the tonic triad on the last downbeat and held at least a
half note (the take ends when it does: :meth:`Rules.finished`).

:class:`Rules` answers, for a tick, what holds there (:class:`Rule`, cached per tick);
:meth:`Rules.restrict` narrows one row's grammar mask. Pitches here are the sampler's (the
key the network reads the seed in). This module imports neither TensorFlow nor music21.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .codec import SpelledCodec
from .errors import ConfigError
from .plan import Plan


@dataclass(frozen=True)
class Rule:
    """What holds for an event starting at one tick: the ``required`` pitches (``(pitch,
    struck)``, low to high), the tick no event may pass (``boundary``), the most pitches it may
    hold (``cap``; ``None``: the grammar's), the lowest pitch it may have (``floor``), the pitch
    classes it may strike (``chord``; ``None``: any), the shortest it may last (``least``: the
    final chord), the pitches not to hold on, and for an entry kept in its voice (a whole
    fugue's) the highest pitch (``ceiling``: a top voice's entry) and the most pitches under the
    planned one (``under``: the voices below it)."""

    required: tuple[tuple[int, bool], ...] = ()
    boundary: int | None = None
    cap: int | None = None
    floor: int | None = None
    chord: frozenset[int] | None = None
    least: int = 0
    released: tuple[int, ...] = ()
    ceiling: int | None = None
    under: int | None = None

    @property
    def planned(self) -> bool:
        """Whether a planned note sounds in the event."""
        return bool(self.required)

    @property
    def chosen(self) -> bool:
        """Whether the event is the least harsh of several drawn (under a planned note, but not
        the final chord: the least harsh of those is a bare octave, and the network voices it
        within the triad on its own)."""
        return self.planned and self.chord is None


class Rules:
    """The rules of one plan for the sampler (one object shared by a take's rows)."""

    def __init__(self, plan: Plan, codec: SpelledCodec, cap_voices: bool = True, best_of: int = 1,
                 chooser: str = "strict") -> None:
        if codec.spelling != "held":
            raise ConfigError("A planned form needs a model that spells held notes (codec 'held').")
        self.plan, self.codec, self.best_of, self.chooser = plan, codec, int(best_of), chooser
        self.cap = plan.voices if cap_voices else None  # every event, planned note or not
        self.notes = [n for e in plan.entries for n in e.notes]
        self.voice_of = {(n.start, n.pitch): e.voice for e in plan.entries for n in e.notes} if plan.voiced else {}
        self.entered = [(e.start, e.voice) for e in plan.entries[:plan.voices]]
        if plan.close is not None:
            self.notes.append(plan.close.dominant)
        marks = {n.start for n in self.notes} | {n.end for n in self.notes}
        if plan.close is not None:
            marks |= {plan.close.start, plan.close.end}
        if plan.end is not None:
            marks.add(plan.end)
        self.marks = sorted(marks)
        self._cache: dict[int, Rule] = {}
        P = codec.pitches
        self._struck = np.arange(1, 1 + P)
        self._held = np.arange(1 + P, 1 + 2 * P)
        self._durations = np.arange(1 + 2 * P, codec.vocab_size)
        self._lengths = codec.ticks[self._durations]
        step = codec.resolution // 8
        binary = plan.binary and all(m % step == 0 for m in self.marks)  # every mark reachable in 32nds
        self._triplets = self._durations[self._lengths % step != 0] if binary else self._durations[:0]

    @property
    def end(self) -> int | None:
        return self.plan.end

    def finished(self, tick: int) -> bool:
        """Whether a row whose events reach ``tick`` is done: at the end, or once its final
        chord has sounded."""
        close = self.plan.close
        return (self.plan.end is not None and tick >= self.plan.end) or (close is not None and tick > close.start)

    def at(self, tick: int) -> Rule:
        """The rule for an event starting at ``tick``."""
        rule = self._cache.get(tick)
        if rule is None:
            rule = self._cache[tick] = self._rule(tick)
        return rule

    def _rule(self, tick: int) -> Rule:
        required = sorted({(n.pitch, n.start == tick) for n in self.notes if n.start <= tick < n.end})
        released = tuple(sorted({n.pitch for n in self.notes if n.end == tick}
                                - {p for p, _ in required}))
        i = bisect.bisect_right(self.marks, tick)
        boundary = self.marks[i] if i < len(self.marks) else None
        close = self.plan.close
        floor = chord = None
        least = 0
        if close is not None and close.dominant.start <= tick <= close.start:
            floor = close.dominant.pitch if tick < close.start else close.tonic
            if tick == close.start:
                required, chord = [(close.tonic, True)], close.chord
                least = min(close.end - close.start, 2 * self.codec.resolution)
        cap = self.cap
        limit = self.plan.cap_at(tick)
        if limit is not None:
            cap = limit if cap is None else min(cap, limit)
        ceiling, under = None, None
        sounding = [n for n in self.notes if n.start <= tick < n.end] if self.voice_of else []
        if len(sounding) == 1 and chord is None and (sounding[0].start, sounding[0].pitch) in self.voice_of:
            note = sounding[0]
            floor, ceiling, under = self.in_its_voice(self.voice_of[(note.start, note.pitch)], note.pitch, floor, tick)
        return Rule(tuple(required), boundary, cap, floor, chord, least, released, ceiling, under)

    def in_its_voice(self, voice: int, pitch: int, floor: int | None, tick: int
                     ) -> tuple[int | None, int | None, int]:
        """An entry kept in its voice among the voices that have entered by ``tick`` (the
        first ``plan.voices`` entries bring them in): the lowest of them has nothing under it,
        the highest nothing over it, one in between no more pitches under it than voices below."""
        entered = {v for start, v in self.entered if start <= tick} | {voice}
        rank = sum(1 for v in entered if v < voice)
        if rank == 0:
            floor = pitch if floor is None else max(floor, pitch)
        return floor, (pitch if rank == len(entered) - 1 else None), rank

    def restrict(self, mask: np.ndarray, tick: int, last: int, count: int, prev: np.ndarray) -> None:
        """Narrow one row's ``mask`` (``(V,)``, in place) for its event starting at ``tick``,
        with ``last`` (pitch index written last, −1: none) and ``count`` pitches written, and
        the previous event's pitches ``prev`` (``(P,)`` booleans)."""
        rule = self.at(tick)
        codec, low = self.codec, self.codec.low
        P = codec.pitches
        if rule.released:
            mask[self._held[[p - low for p in rule.released if 0 <= p - low < P]]] = False
        if rule.floor is not None:
            cut = max(0, min(P, rule.floor - low))
            mask[self._struck[:cut]] = False
            mask[self._held[:cut]] = False
        if rule.ceiling is not None:
            cut = max(0, min(P, rule.ceiling - low + 1))
            mask[self._struck[cut:]] = False
            mask[self._held[cut:]] = False
        if rule.chord is not None:
            pcs = (np.arange(P) + low) % 12
            off = ~np.isin(pcs, list(rule.chord))
            mask[self._struck[off]] = False
            mask[self._held] = False
        ahead = [(p - low, struck) for p, struck in rule.required if p - low > last]
        if ahead:
            self._require(mask, ahead, count, rule, prev)
        elif rule.boundary is not None:
            lengths = self._lengths
            mask[self._durations[(tick + lengths > rule.boundary) | (lengths < rule.least)]] = False
        cap = rule.cap
        if cap is not None and count >= cap and not ahead:
            mask[self._struck] = False
            mask[self._held] = False
        if self._triplets.size:
            mask[self._triplets] = False
        if not mask.any():  # never a dead end: the grid's duration always decodes
            mask[self._durations[0]] = True

    def _require(self, mask: np.ndarray, ahead: Sequence[tuple[int, bool]], count: int, rule: Rule,
                 prev: np.ndarray) -> None:
        """The next required pitch (index ``ahead[0]``) before any higher one or a duration;
        with the voice cap reached, it alone."""
        index, struck = ahead[0]
        if not struck and not prev[index]:
            struck = True  # it did not sound before (a take that starts inside an entry)
        mask[self._durations] = False
        mask[self._struck[index:]] = False
        mask[self._held[index:]] = False
        if (rule.cap is not None and count + len(ahead) >= rule.cap) or (rule.under is not None and count >= rule.under):
            mask[self._struck] = False
            mask[self._held] = False
        mask[(self._struck if struck else self._held)[index]] = True
