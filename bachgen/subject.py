"""A fugue's subject, and where it comes back: the matcher the plan, the yardstick and
``bachgen entries`` share.

The **subject** is the line a fugue opens with: its first voice alone, up to the entry of
the second (:func:`subject_of`, which reads the kern spines' voices); for a file whose
voices are not known, its opening single line — the notes before any two sound together
(:func:`opening_line`).

An **entry** is the head of the subject (its first :data:`HEAD` notes) found anywhere in a
piece, in any voice and at any transposition: the same onsets one after another, the same
contour (up, down or the same at every step), and each pitch within a semitone of the
subject moved by the first note's interval — a tonal answer or a move within the scale
bends a step by a semitone (:func:`find_entries`). Voices are not needed, so it reads a
take's piano reduction as well as a kern score. On the 48 fugues it finds every fugue's
entries and "finds" the other 47 subjects 0.02 times per 10 bars (its false alarms).

Nothing here imports music21 or TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .events import Note, Piece, key_tonic_pc, transpose_key_name
from .voices import names_low_to_high, voice_count, voices_of

#: Notes of the subject's head that an entry must match.
HEAD = 7
#: A subject needs at least this many notes before its entries can be told from chance.
MIN_NOTES = 5
#: A take's MIDI file carries its form in a text event that begins with this, JSON after it:
#: ``{"subject": Subject.to_dict() or null, "close_bars": bars its close takes at the end}``,
#: so a take brought back to be continued keeps its own subject and loses its close.
FORM_TEXT = "bachgen form "


@dataclass(frozen=True)
class Subject:
    """A subject: its notes (one line, ``start`` from the first note's onset = 0), where in the
    bar it begins (``offset`` ticks after a bar line), the key it is in, and where it came
    from (``source``, for people)."""

    notes: tuple[Note, ...]
    offset: int = 0
    key: str | None = None
    source: str = ""

    @property
    def length(self) -> int:
        """Ticks from the first onset to the last note's end."""
        return max(n.end for n in self.notes) if self.notes else 0

    @property
    def matchable(self) -> bool:
        """Whether the subject has notes enough for its entries to be found (:data:`MIN_NOTES`)."""
        return len(self.notes) >= MIN_NOTES

    def describe(self, piece_resolution: int = 48) -> str:
        """One line for people: how many notes, how long, from where."""
        quarters = self.length / piece_resolution
        return f"{len(self.notes)} notes, {quarters:g} quarters, from {self.source}"

    def to_dict(self) -> dict[str, Any]:
        return {"notes": [[n.start, n.duration, n.pitch] for n in self.notes], "offset": self.offset,
                "key": self.key, "source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Subject":
        return cls(tuple(Note(int(s), int(d), int(p)) for s, d, p in data["notes"]),
                   int(data.get("offset", 0)), data.get("key"), str(data.get("source", "")))


def _line(notes: Iterable[Note], offset_from: int, bar: int, key: str | None, source: str) -> Subject:
    """A subject made of ``notes`` (moved so the first starts at 0)."""
    notes = sorted(notes, key=lambda n: (n.start, -n.pitch))
    first = notes[0].start if notes else 0
    return Subject(tuple(Note(n.start - first, n.duration, n.pitch) for n in notes),
                   (first - offset_from) % bar if bar else 0, key, source)


def subject_of(piece: Piece, source: str | None = None) -> Subject | None:
    """The subject of a fugue with its voices known: its first voice's notes before the
    second voice's first onset. ``None`` when the piece has one voice or none."""
    if not piece.notes:
        return None
    first_voice = piece.notes[0].voice
    others = [n.start for n in piece.notes if n.voice != first_voice]
    if not others:
        return None
    second = min(others)
    line = _monophonic([n for n in piece.notes if n.voice == first_voice and n.start < second])
    if not line:
        return None
    return _line(line, 0, piece.bar_ticks, piece.key, source or piece.name or "the fugue")


def opening_line(piece: Piece, source: str | None = None) -> Subject | None:
    """The opening single line of a piece whose voices are not known: its notes up to the first
    onset where two notes sound together. ``None`` when it begins with a chord or two voices."""
    at: dict[int, list[Note]] = {}
    for n in piece.notes:
        at.setdefault(n.start, []).append(n)
    line: list[Note] = []
    for start in sorted(at):
        if len(at[start]) > 1 or (line and line[-1].end > start):
            break
        line.append(at[start][0])
    if len(line) < 2:
        return None
    return _line(line, 0, piece.bar_ticks, piece.key, source or piece.name or "the file")


def own_subject(piece: Piece, source: str) -> Subject | None:
    """A file's own subject: the one a take's MIDI file carries (``piece.meta["form"]``, read by
    :mod:`bachgen.seeds`), else its first voice alone when its voices are known, else its
    opening single line."""
    form = piece.meta.get("form")
    if form:
        return Subject.from_dict(form["subject"]) if form.get("subject") else None
    if len(voices_of(piece)) > 1:
        return subject_of(piece, source)
    return opening_line(piece, source)


def _monophonic(notes: Sequence[Note]) -> list[Note]:
    """The top note of each onset (a line written in one voice with a double stop keeps one)."""
    by_start: dict[int, Note] = {}
    for n in notes:
        if n.start not in by_start or n.pitch > by_start[n.start].pitch:
            by_start[n.start] = n
    return [by_start[s] for s in sorted(by_start)]


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Entry:
    """Where the subject's head comes back: its first onset (tick), how far it is moved from the
    subject as stated (``level``, semitones), the pitches it matched, the voice of its first note
    (as the piece has it: 0 when voices are unknown) and what it is called (``voice_name``)."""

    start: int
    level: int
    pitches: tuple[int, ...]
    onsets: tuple[int, ...]
    voice: int = 0
    voice_name: str = ""
    key: str | None = None  # the key it was planned in (a whole fugue's), when known

    def key_name(self, subject_key: str | None) -> str | None:
        """The key the entry is in: the key it was planned in, else the subject's key moved by
        the entry's level, in the other mode at the relative key (a minor third down from a
        major key, up from a minor one)."""
        if self.key:
            return self.key
        if not subject_key:
            return None
        name = transpose_key_name(subject_key, self.level)
        relative = 3 if subject_key[0].islower() else 9
        return name.swapcase() if self.level % 12 == relative else name

    def to_dict(self, subject_key: str | None = None, bar_ticks: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "level": self.level, "voice": self.voice_name,
                               "key": self.key_name(subject_key), "pitches": list(self.pitches)}
        if bar_ticks:
            out["bar"] = self.start // bar_ticks + 1
        return out


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def find_entries(piece: Piece, subject: Subject, start: int = 0, end: int | None = None,
                 head: int = HEAD) -> list[Entry]:
    """Every entry of ``subject``'s head in ``piece`` with its first onset in ``[start, end)``,
    in time order, one per onset (the closest to the moved subject when several match)."""
    pattern = subject.notes[:head]
    if len(pattern) < 2:
        return []
    at: dict[int, list[Note]] = {}
    for n in piece.notes:
        at.setdefault(n.start, []).append(n)
    gaps = [n.start - pattern[0].start for n in pattern]
    steps = [_sign(b.pitch - a.pitch) for a, b in zip(pattern, pattern[1:])]
    found: list[Entry] = []
    for onset in sorted(at):
        if onset < start or (end is not None and onset >= end):
            continue
        best = None
        for first in at[onset]:
            level = first.pitch - pattern[0].pitch
            line = _follow(at, onset, gaps, steps, [p.pitch + level for p in pattern], [first])
            if line is not None:
                cost = sum(abs(n.pitch - p.pitch - level) for n, p in zip(line, pattern))
                if best is None or cost < best[0]:
                    best = (cost, level, line)
        if best is not None:
            _, level, line = best
            found.append(Entry(onset, level, tuple(n.pitch for n in line), tuple(n.start for n in line),
                               line[0].voice, ""))
    return name_voices(piece, found)


def _follow(at: dict[int, list[Note]], onset: int, gaps: Sequence[int], steps: Sequence[int],
            targets: Sequence[int], line: list[Note]) -> list[Note] | None:
    """Extend ``line`` note by note (depth first) to the whole head; ``None`` if it cannot be."""
    i = len(line)
    if i == len(gaps):
        return line
    for n in at.get(onset + gaps[i], ()):
        if abs(n.pitch - targets[i]) <= 1 and _sign(n.pitch - line[-1].pitch) == steps[i - 1]:
            got = _follow(at, onset, gaps, steps, targets, line + [n])
            if got is not None:
                return got
    return None


def name_voices(piece: Piece, entries: Sequence[Entry]) -> list[Entry]:
    """Each entry named by its voice: the piece's own voices when it has them (low to high by
    their average pitch), else by where the entry lies among the notes sounding with it."""
    voices = voices_of(piece)
    names = names_low_to_high(voice_count(piece))
    if len(voices) > 1:
        order = sorted(voices, key=lambda v: _mean(n.pitch for n in piece.notes if n.voice == v))
        rank = {v: i for i, v in enumerate(order)}
        return [_named(e, names[min(rank[e.voice], len(names) - 1)]) for e in entries]
    out = []
    for e in entries:
        mean = _mean(e.pitches)
        span = [n.pitch for n in piece.notes if n.start < e.onsets[-1] + 1 and n.end > e.start]
        low, high = min(span, default=mean), max(span, default=mean)
        place = 0.0 if high <= low else (mean - low) / (high - low)
        out.append(_named(e, names[min(len(names) - 1, int(place * len(names)))]))
    return out


def _named(entry: Entry, name: str) -> Entry:
    return Entry(entry.start, entry.level, entry.pitches, entry.onsets, entry.voice, name)


def _mean(values: Iterable[int]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def per_ten_bars(entries: Sequence[Entry], ticks: int, bar_ticks: int) -> float:
    """Entries per 10 bars over a stretch of ``ticks``."""
    return 10.0 * len(entries) * bar_ticks / ticks if ticks > 0 else 0.0


def tonic_pc(key: str | None) -> int | None:
    return key_tonic_pc(key) if key else None
