"""What a network *told the plan* reads at every step: bars to the end, and the planned line.

The shipped network is held to a plan (:mod:`bachgen.constraints`) without knowing it: it
does not see a subject entry coming, nor how far the end is. A network built with
``NetConfig.told`` reads two more conditioning columns beside every token
(:data:`~bachgen.config.TOLD_FEATURES`), computed here for the event being written (the
same tick the bar position is computed for, :meth:`bachgen.codec.SpelledCodec.features`):

* **end** — whole bars from the event to the end of the piece: 0 in its last bar, 1 in the
  bar before, …, 7; :data:`FAR` (8) for eight bars or more, or when the end is not known;
* **line** — whether a note of the planned line (an entry of the subject) sounds at the event,
  and which: 0 none, else ``1 + (pitch − tonic) mod 12 + 12 · band`` — its degree above the
  key's tonic and its octave band (:data:`LINE_BANDS` bands of 12 semitones from
  :data:`LINE_LOW`, the outer ones open). Where entries overlap, the latest one is told.

In training both come from the real fugue (:func:`piece_cues`): its end, and the entries the
matcher finds (:func:`bachgen.subject.find_entries`), each as the notes the piece really
plays — the matched head, then the subject's later notes moved to the entry's level for as
long as the piece keeps to them (within a semitone). When sampling they come from the plan
(:func:`plan_cues`: its end tick and its entries' notes) and from the seed's own entries.
A :class:`Cues` holds the facts; the columns are worked out for any ticks. Nothing here
imports TensorFlow or music21.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .events import Note, Piece
from .plan import Plan
from .subject import HEAD, Subject, find_entries, subject_of

#: The end column's category for eight bars or more to go, or an end not known.
FAR = 8
#: Categories of the end column (0..7 bars, and :data:`FAR`).
END_CATEGORIES = FAR + 1
#: The line column's octave bands: 12 semitones each from this pitch (below: the first band).
LINE_LOW = 48
#: How many octave bands the line column tells apart (above the last: the last).
LINE_BANDS = 4
#: Categories of the line column (0: no planned note sounds).
LINE_CATEGORIES = 1 + 12 * LINE_BANDS

#: One note of a planned line: ``(start, end, pitch)`` in ticks and MIDI pitch.
LineNote = tuple[int, int, int]


@dataclass(frozen=True)
class Cues:
    """The plan a told network is told: the tick the piece ends at (``None``: not known) and
    the notes of the planned line (:data:`LineNote`, any order)."""

    end: int | None = None
    line: tuple[LineNote, ...] = ()

    def moved(self, semitones: int) -> "Cues":
        """The same cues with the line's pitches moved by ``semitones``."""
        return Cues(self.end, tuple((s, e, p + semitones) for s, e, p in self.line))

    def table(self, tonic: int) -> np.ndarray:
        """The line column at every tick from 0 to the line's last end (see :func:`line_table`)."""
        return line_table(self.line, tonic)

    def columns(self, ticks: np.ndarray, bar: int, tonic: int) -> np.ndarray:
        """``(n, 2)`` int32: the end and line columns of events starting at ``ticks``."""
        ticks = np.asarray(ticks, dtype=np.int64)
        out = np.empty((len(ticks), 2), dtype=np.int32)
        out[:, 0] = end_category(ticks, self.end, bar)
        out[:, 1] = line_at(self.table(tonic), ticks)
        return out


def end_category(ticks: np.ndarray, end: int | None, bar: int) -> np.ndarray:
    """Whole bars (of ``bar`` ticks) from each of ``ticks`` to ``end``: 0 within the last bar
    (and at or past the end), capped at :data:`FAR`; all :data:`FAR` when ``end`` is ``None``."""
    ticks = np.asarray(ticks, dtype=np.int64)
    if end is None:
        return np.full(ticks.shape, FAR, dtype=np.int64)
    return np.clip((end - 1 - ticks) // bar, 0, FAR)


def line_category(pitch: int, tonic: int) -> int:
    """The line column for a planned ``pitch`` in a key whose tonic is pitch class ``tonic``."""
    band = min(LINE_BANDS - 1, max(0, (pitch - LINE_LOW) // 12 + 1))
    return 1 + (pitch - tonic) % 12 + 12 * band


def line_table(line: Sequence[LineNote], tonic: int) -> np.ndarray:
    """The line column at each tick ``0..`` the last note's end (int64; 0 where no planned
    note sounds); where notes overlap the one that began last (then the higher) is told."""
    length = max((e for _, e, _ in line), default=0) + 1
    table = np.zeros(length, dtype=np.int64)
    for start, end, pitch in sorted(line, key=lambda n: (n[0], n[2])):
        table[max(0, start):max(0, end)] = line_category(pitch, tonic)
    return table


def line_at(table: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """The line column of ``table`` (:func:`line_table`) at ``ticks`` (0 past its end)."""
    ticks = np.asarray(ticks, dtype=np.int64)
    inside = (ticks >= 0) & (ticks < len(table))
    return np.where(inside, table[np.clip(ticks, 0, len(table) - 1)], 0)


def tonic_pc(minor: bool, shift: int) -> int:
    """The tonic's pitch class of a key condition (C major / A minor moved by ``shift``)."""
    return ((9 if minor else 0) + shift) % 12


def entry_line(piece: Piece, subject: Subject, start: int = 0, end: int | None = None) -> tuple[LineNote, ...]:
    """The notes of every entry of ``subject`` in ``piece`` (onsets in ``[start, end)``): its
    matched head as the piece plays it, then the subject's later notes moved to the entry's
    level as long as the piece has one at that onset within a semitone (the closest)."""
    at: dict[int, list[Note]] = {}
    for n in piece.notes:
        at.setdefault(n.start, []).append(n)
    line: list[LineNote] = []
    for entry in find_entries(piece, subject, start, end):
        for onset, pitch in zip(entry.onsets, entry.pitches):
            note = next(n for n in at[onset] if n.pitch == pitch)
            line.append((note.start, note.end, note.pitch))
        first = subject.notes[0].start
        for planned in subject.notes[HEAD:]:
            onset, target = entry.start + planned.start - first, planned.pitch + entry.level
            near = [n for n in at.get(onset, ()) if abs(n.pitch - target) <= 1]
            if not near:
                break
            note = min(near, key=lambda n: (abs(n.pitch - target), n.pitch))
            line.append((note.start, note.end, note.pitch))
    return tuple(line)


def piece_cues(piece: Piece, end: int | None = None) -> Cues:
    """A real fugue's cues (for training and held-out figures): its end (``end``, else its
    last note's end) and the entries of its own subject (none when it has no subject)."""
    last = max((n.end for n in piece.notes), default=0) if end is None else end
    subject = subject_of(piece)
    if subject is None or not subject.matchable:
        return Cues(last)
    return Cues(last, entry_line(piece, subject))


def plan_cues(plan: Plan, seed_line: Sequence[LineNote] = ()) -> Cues:
    """What a told network is told of ``plan`` (the sampler's ticks and pitches): its end and
    its entries' notes, after ``seed_line`` (the seed's own entries, :func:`entry_line`)."""
    planned = tuple((n.start, n.end, n.pitch) for e in plan.entries for n in e.notes)
    return Cues(plan.end, tuple(seed_line) + planned)
