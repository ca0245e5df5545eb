"""A take's form, planned before it is drawn: where the subject comes back, and how it ends.

A fugue's form is not something to hope a network remembers over 400 events; it is planned
here and then held to by the sampler (:mod:`bachgen.constraints`), the way DeepBach and
Coconet hold a sampler to fixed notes. A :class:`Plan` holds

* **entries** (:class:`PlannedEntry`): the subject again, each at the bar position it was
  stated at, in turn in each voice (placed in that voice's register), at a pitch level drawn
  from what the 48 fugues do (:data:`LEVEL_WEIGHTS`) — the dominant as a tonal answer where
  the subject's head moves between tonic and dominant — with an episode between entries as
  long as the 48's gaps between entries (:data:`GAP_BARS`); the last entry in the tonic;
* the **close** (:class:`Close`), for a take that ends on a bar line: the bass on the
  dominant from half a bar before the last bar, then a tonic chord over the tonic, struck on
  the last downbeat and held to the end.

Ticks and pitches are the sampler's: the seed's ticks (0 is a downbeat), pitches in the key
the network reads the seed in. The figures below were measured with
:func:`bachgen.subject.find_entries` on the 48 fugues (``tests/test_plan.py`` measures them
again from the corpus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .config import FormConfig
from .events import Note
from .subject import Subject, tonic_pc
from .voices import names_low_to_high

#: Bars between the onsets of successive entries in the 48 fugues (their deciles, 462 gaps).
GAP_BARS = (0.5, 1.0, 1.5, 2.5, 3.5, 5.0, 6.53, 8.2, 12.0)
#: How often the 48 fugues bring their subject at each level (semitones above the subject
#: as first stated, mod 12): counts over all their entries, major and minor keys apart.
LEVEL_WEIGHTS = {
    "major": {0: 109, 7: 59, 9: 35, 5: 17, 2: 16, 4: 13, 11: 3, 6: 2},
    "minor": {0: 125, 7: 41, 5: 27, 3: 26, 10: 14, 11: 6, 8: 6, 6: 3, 2: 3, 9: 2, 4: 1},
}
#: Bars at the end of a take its close takes: the bar the bass reaches the dominant in, and the last.
CLOSE_BARS = 2
#: Where each voice's line lies (MIDI pitch of its middle), low to high: bass to soprano.
LOWEST_CENTRE, HIGHEST_CENTRE = 48, 69


@dataclass(frozen=True)
class PlannedEntry:
    """One planned entry: the subject's notes moved to ``level`` (and an octave to sit in its
    voice), from tick ``start``; ``answer``: ``"subject"``, ``"real"`` or ``"tonal"``."""

    start: int
    level: int
    voice: int
    voice_name: str
    notes: tuple[Note, ...]
    answer: str = "subject"

    @property
    def end(self) -> int:
        return max(n.end for n in self.notes)


@dataclass(frozen=True)
class Close:
    """The ending: the bass's ``dominant`` note, then the final chord over ``tonic`` (a
    pitch) from ``start`` (the last downbeat) to ``end``; its notes are of ``chord`` (pitch
    classes: the tonic triad, with either third)."""

    dominant: Note
    tonic: int
    start: int
    end: int
    chord: frozenset[int]


@dataclass(frozen=True)
class Section:
    """One stretch of a whole fugue's plan, for people (the timeline above the piano roll):
    ``kind`` is ``"exposition"``, ``"episode"``, ``"entry"`` (a middle entry), ``"final entry"``
    or ``"close"``; ticks from ``start`` to ``end``; an entry's ``key`` and ``voice_name``."""

    kind: str
    start: int
    end: int
    key: str | None = None
    voice_name: str | None = None

    def to_dict(self, bar: int) -> dict:
        """The section in bars (1-based, fractional), as the CLI's ``--json`` and the page show it."""
        return {"kind": self.kind, "from_bar": round(self.start / bar + 1, 2),
                "to_bar": round(self.end / bar + 1, 2), "key": self.key, "voice": self.voice_name}


@dataclass(frozen=True)
class Plan:
    """What a take is held to: its entries, its close (``None``: left open) and its end tick
    (``None``: a number of events, no end known in advance). A whole fugue's plan also has its
    ``sections`` and ``caps``: from each tick on, the most pitches any event may hold (the
    voices that have entered in the exposition); its entries are ``voiced``: each kept in its
    place among the voices (:meth:`bachgen.constraints.Rules.in_its_voice`). ``binary``: the
    seed's rhythm divides the beat in twos only (every event a whole number of 32nds), so the
    take's does too — no triplet lengths in a fugue that has none."""

    entries: tuple[PlannedEntry, ...] = ()
    close: Close | None = None
    end: int | None = None
    voices: int = 3
    sections: tuple[Section, ...] = ()
    caps: tuple[tuple[int, int], ...] = ()
    voiced: bool = False
    binary: bool = False

    @property
    def empty(self) -> bool:
        return not self.entries and self.close is None and self.end is None

    def cap_at(self, tick: int) -> int | None:
        """The most pitches an event starting at ``tick`` may hold by ``caps`` (``None``: no cap)."""
        cap = None
        for at, most in self.caps:
            if at <= tick:
                cap = most
        return cap


@dataclass(frozen=True)
class Span:
    """Where a take is written, in the sampler's ticks and pitches: from ``start`` (the seed's
    end) to ``end`` (a bar line; ``None``: unknown, plan up to ``horizon``); the bar's length,
    the key (tonic pitch class and mode), the fugue's voices, the compass, and where each voice
    lies (``centres``, mean pitches low to high; empty: spread from C3 to A4); whether the
    seed's rhythm is ``binary`` (see :class:`Plan`)."""

    start: int
    end: int | None
    horizon: int
    bar: int
    tonic: int
    minor: bool
    voices: int = 3
    compass: tuple[int, int] = (36, 84)
    centres: tuple[int, ...] = ()
    binary: bool = False


def plan_take(subject: Subject | None, span: Span, form: FormConfig, rng: np.random.Generator,
              move: int = 0) -> Plan:
    """The plan of one take (see the module docstring). ``subject`` is in the piece's key;
    ``move``: semitones from there to the sampler's key."""
    close = plan_close(span) if form.close and span.end is not None else None
    entries: tuple[PlannedEntry, ...] = ()
    if form.entries and subject is not None and subject.matchable:
        limit = close.dominant.start if close else (span.end if span.end is not None else span.horizon)
        entries = plan_entries(subject, span, form, rng, move, limit)
    return Plan(entries, close, span.end, span.voices, binary=span.binary)


def entry_onsets(subject: Subject, span: Span, rng: np.random.Generator, limit: int) -> list[int]:
    """Onsets of the entries: at the subject's place in the bar, the first within three bars
    of the seed's end, then gaps drawn from :data:`GAP_BARS` but never shorter than the
    subject and a bar of episode; each entry ends by ``limit``."""
    bar, length = span.bar, subject.length
    least = math.ceil(length / bar) + 1
    first = span.start + bar // 2
    at = first + (subject.offset - first) % bar + bar * int(rng.integers(0, 3))
    onsets = []
    while at + length <= limit:
        onsets.append(at)
        at += bar * max(least, int(round(float(rng.choice(GAP_BARS)))))
    return onsets


def plan_entries(subject: Subject, span: Span, form: FormConfig, rng: np.random.Generator,
                 move: int, limit: int) -> tuple[PlannedEntry, ...]:
    """Entries at :func:`entry_onsets`, levels drawn by :func:`draw_levels`, voices in turn."""
    onsets = entry_onsets(subject, span, rng, limit)
    levels = draw_levels(len(onsets), form.levels, span.minor, rng)
    voices = draw_voices(len(onsets), span.voices, rng)
    names = names_low_to_high(span.voices)
    home = tonic_pc(subject.key)
    tonic = span.tonic if home is None else (home + move) % 12
    out = []
    for at, level, voice in zip(onsets, levels, voices):
        pitches, answer = entry_pitches([n.pitch + move for n in subject.notes], level, tonic)
        pitches = placed(pitches, voice, span)
        notes = tuple(Note(at + n.start, n.duration, p) for n, p in zip(subject.notes, pitches))
        out.append(PlannedEntry(at, level, voice, names[min(voice, len(names) - 1)], notes, answer))
    return tuple(out)


def draw_levels(count: int, allowed: Sequence[int], minor: bool, rng: np.random.Generator) -> list[int]:
    """``count`` levels: each drawn by the 48's weights among ``allowed``, never the same as the
    one before; the last in the tonic (0) when 0 is allowed, as fugues bring the subject home
    (so the one before it is not)."""
    weights = LEVEL_WEIGHTS["minor" if minor else "major"]
    choices = sorted({lv % 12 for lv in allowed})
    levels: list[int] = []
    for i in range(count):
        if i == count - 1 and 0 in choices and (not levels or levels[-1] != 0):
            levels.append(0)
            continue
        pool = [lv for lv in choices if (not levels or lv != levels[-1]) and not (lv == 0 and i == count - 2)]
        pool = pool or choices
        w = np.array([weights.get(lv, 1) for lv in pool], dtype=float)
        levels.append(int(rng.choice(pool, p=w / w.sum())))
    return [lv - 12 if lv > 6 and lv - 12 in allowed else lv for lv in levels]


def draw_voices(count: int, voices: int, rng: np.random.Generator) -> list[int]:
    """Which voice brings each entry: the one that has waited longest, never the same twice in
    a row (ties drawn)."""
    last_heard = {v: -1 - int(rng.integers(0, 100)) for v in range(voices)}
    out: list[int] = []
    for i in range(count):
        pool = [v for v in range(voices) if not out or v != out[-1] or voices == 1]
        voice = min(pool, key=lambda v: last_heard[v])
        out.append(voice)
        last_heard[voice] = i
    return out


def entry_pitches(pitches: Sequence[int], level: int, tonic: int) -> tuple[list[int], str]:
    """The subject's pitches moved to ``level``; at the dominant (7 or −5) a *tonal* answer when
    its head moves between tonic and dominant: in the head's opening run of tonic and dominant
    notes, the dominant is answered by the tonic (a fourth up, not a fifth)."""
    if level % 12 == 0:
        return [p + level for p in pitches], "subject"
    if level % 12 != 7:
        return [p + level for p in pitches], "real"
    dominant = (tonic + 7) % 12
    run = 0
    while run < len(pitches) and pitches[run] % 12 in (tonic, dominant):
        run += 1
    if not any(p % 12 == dominant for p in pitches[:run]):
        return [p + level for p in pitches], "real"
    return [p + (level - 2 if i < run and p % 12 == dominant else level)
            for i, p in enumerate(pitches)], "tonal"


def placed(pitches: Sequence[int], voice: int, span: Span) -> list[int]:
    """``pitches`` moved by octaves to lie around ``voice``'s register (the fugue's own, else
    spread evenly from C3 to A4), within the compass."""
    centre = voice_centre(voice, span.voices, span.centres)
    mean = sum(pitches) / len(pitches)
    octave = round((centre - mean) / 12)
    low, high = span.compass
    while min(pitches) + 12 * octave < low:
        octave += 1
    while max(pitches) + 12 * octave > high and min(pitches) + 12 * (octave - 1) >= low:
        octave -= 1
    return [p + 12 * octave for p in pitches]


def voice_centre(voice: int, voices: int, centres: Sequence[float] = ()) -> float:
    """The middle of ``voice``'s register: the fugue's own (``centres``, low to high) when
    known, else spread evenly from C3 to A4."""
    if len(centres) == voices:
        return float(centres[voice])
    if voices < 2:
        return float(LOWEST_CENTRE)
    return LOWEST_CENTRE + voice * (HIGHEST_CENTRE - LOWEST_CENTRE) / (voices - 1)


def plan_close(span: Span) -> Close:
    """The close of a take ending at ``span.end``: the bass on the dominant (below the tonic
    where the compass allows) from half a bar before the last bar, then the tonic chord over
    the tonic in the bass's low register, from the last downbeat to the end."""
    assert span.end is not None
    bar, grid = span.bar, 12
    last = span.end - bar
    half = max(grid, (bar // 2) // grid * grid)
    tonic = 40 + (span.tonic - 40) % 12
    dominant = tonic - 5 if tonic - 5 >= span.compass[0] else tonic + 7
    third = (span.tonic + 3) % 12, (span.tonic + 4) % 12
    chord = frozenset({span.tonic, (span.tonic + 7) % 12, *third})
    return Close(Note(last - half, half, dominant), tonic, last, span.end, chord)
