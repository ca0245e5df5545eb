"""The piano reduction: a Piece chordified into onset events, and events back into notes.

An *event* starts wherever the set of sounding pitches changes: the pitches struck there,
the pitches still held from before, and how long it lasts. Decoding gives back a *piano
reduction* of the piece: one key sounds once at a time, so two voices on the same pitch
merge. :func:`normalise` makes that reduction, and ``events_to_piece(chordify(p))`` gives
back ``normalise(p)`` (quantised to the grid) for all 48 fugues. How events become token
ids is the codec's business (:mod:`bachgen.codec`). This module imports neither TensorFlow
nor music21.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .config import ReductionConfig
from .events import Event, Note, Piece

LOWEST_PITCH, HIGHEST_PITCH = 21, 108  # the piano keyboard


@dataclass
class CleanReport:
    """What :func:`quantise` changed: times moved to the grid, notes too short to keep."""

    moved: int = 0
    dropped: int = 0


# --------------------------------------------------------------------------- cleaning


def quantise(piece: Piece, grid: int, report: CleanReport | None = None) -> Piece:
    """Snap note starts and ends to multiples of ``grid`` ticks.

    Notes that collapse to zero length are dropped; both kinds of change are
    counted in ``report``. Pitches outside the piano are dropped and counted too.
    """
    report = report if report is not None else CleanReport()
    notes = []
    for note in piece.notes:
        start = round(note.start / grid) * grid
        end = round(note.end / grid) * grid
        if start != note.start or end != note.end:
            report.moved += 1
        if end <= start or not LOWEST_PITCH <= note.pitch <= HIGHEST_PITCH:
            report.dropped += 1
            continue
        notes.append(Note(start, end - start, note.pitch, note.voice))
    return piece.with_notes(notes)


def normalise(piece: Piece) -> Piece:
    """The piano reduction of ``piece``: a pitch struck again ends its earlier note.

    Of several notes struck on one pitch at one time only the longest is kept.
    Voices are dropped (set to 0): the event words do not carry them.
    """
    by_pitch: dict[int, list[Note]] = {}
    for note in piece.notes:
        by_pitch.setdefault(note.pitch, []).append(note)
    notes = []
    for pitch, group in by_pitch.items():
        group.sort(key=lambda n: (n.start, -n.duration))
        starts = []
        for note in group:
            if starts and starts[-1][0] == note.start:
                continue
            starts.append((note.start, note.end))
        merged: list[list[int]] = []
        for start, end in starts:
            if merged and merged[-1][1] > start:
                # struck again while sounding: the earlier note stops, the new one keeps the longer end
                end = max(end, merged[-1][1])
                merged[-1][1] = start
            merged.append([start, end])
        notes += [Note(s, e - s, pitch, 0) for s, e in merged if e > s]
    return piece.with_notes(notes)


# --------------------------------------------------------------------------- events


def chordify(piece: Piece, config: ReductionConfig = ReductionConfig()) -> list[Event]:
    """The piece as a list of onset events (see the module docstring).

    Events longer than ``config.max_event_quarters`` are split into a first event and
    held continuations, so no word has an unbounded duration. The piece is quantised
    to ``config.grid`` first.
    """
    piece = normalise(quantise(piece, config.grid))
    max_len = max(config.grid, int(config.max_event_quarters * piece.resolution))
    boundaries = sorted({n.start for n in piece.notes} | {n.end for n in piece.notes})
    starts_at: dict[int, list[int]] = {}
    end_of: dict[tuple[int, int], int] = {}  # (start, pitch) -> end of the first such note
    for note in piece.notes:
        starts_at.setdefault(note.start, []).append(note.pitch)
        end_of.setdefault((note.start, note.pitch), note.end)
    events: list[Event] = []
    sounding: dict[int, int] = {}  # pitch -> end tick
    for here, nxt in zip(boundaries, boundaries[1:]):
        sounding = {p: end for p, end in sounding.items() if end > here}
        struck = tuple(sorted(starts_at.get(here, ())))
        held = tuple(sorted(p for p in sounding if p not in struck))
        for pitch in struck:
            sounding[pitch] = end_of[here, pitch]
        at = here
        while at < nxt:
            length = min(max_len, nxt - at)
            if at == here:
                events.append(Event(at, length, struck, held))
            else:
                events.append(Event(at, length, (), tuple(sorted(struck + held))))
            at += length
    return events


def events_to_piece(events: Sequence[Event], template: Piece | None = None) -> Piece:
    """Notes from events: struck pitches start notes, held pitches extend them.

    A held pitch with nothing to extend (possible in generated music) is struck.
    """
    open_notes: dict[int, int] = {}  # pitch -> start
    notes: list[Note] = []
    time = events[0].start if events else 0
    for event in events:
        time = event.start
        keep = set(event.held)
        for pitch in list(open_notes):
            if pitch not in keep or pitch in event.struck:
                notes.append(Note(open_notes.pop(pitch), 0, pitch))
                notes[-1] = Note(notes[-1].start, time - notes[-1].start, pitch)
        for pitch in event.held:
            open_notes.setdefault(pitch, time)
        for pitch in event.struck:
            open_notes[pitch] = time
        time = event.start + event.duration
    for pitch, start in open_notes.items():
        notes.append(Note(start, time - start, pitch))
    notes = [n for n in notes if n.duration > 0]
    if template is None:
        return Piece(tuple(notes))
    return template.with_notes(notes)


def note_count(piece: Piece, grid: int) -> int:
    """Notes of the piece's quantised piano reduction: what bits per note divide by, the same
    for every way of spelling one piece."""
    return len(normalise(quantise(piece, grid)).notes)
