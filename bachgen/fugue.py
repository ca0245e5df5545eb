"""A whole fugue on a subject, planned before it is drawn: exposition, episodes, middle
entries in related keys, a final entry in the tonic, and the close.

A take (:mod:`bachgen.plan`) continues Bach and brings his subject back; a *fugue* starts
from nothing but the subject and is laid out the way the 48 fugues are:

* the **exposition**: the subject alone in one voice (the seed: the network reads it and
  writes on from its end), then the answer at the dominant in the next voice — tonal where
  the head moves between tonic and dominant (:func:`bachgen.plan.entry_pitches`) —, the
  subject again in the third, and so on, each voice entering in turn (:data:`ORDERS`), at
  the subject's place in the bar, a bar of codetta between two entries now and then
  (:data:`CODETTA_BARS`). Until every voice has entered an event holds no more pitches than
  the voices that have (the plan's ``caps``): the network writes the countersubject against
  each entry, and nothing more;
* **episodes**, written freely by the network, between
* **middle entries** in related keys (:data:`RELATED`: the relative key, the dominant, the
  subdominant …), the subject moved into the key's mode (:func:`in_mode`), each voice in
  turn;
* a **final entry** in the tonic, ending where the close begins, and
* the **close** of :func:`bachgen.plan.plan_close`: the bass on the dominant, then the tonic
  chord over the tonic, held to the end.

Ticks and pitches are the sampler's, as in :mod:`bachgen.plan`; the subject's first note is
the piece's first (the seed starts in its first bar).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .errors import ConfigError
from .events import Note, PITCH_CLASS_NAMES
from .plan import (LEVEL_WEIGHTS, PlannedEntry, Plan, Section, Span, entry_pitches, placed,
                   plan_close, voice_centre)
from .subject import Subject
from .voices import names_low_to_high

#: The order voices first enter in, as ranks from the bass (0) up, by the number of voices:
#: how often each order opens one of the 48 fugues.
ORDERS: dict[int, dict[tuple[int, ...], int]] = {
    2: {(1, 0): 7, (0, 1): 5},
    3: {(1, 2, 0): 9, (2, 1, 0): 5, (0, 1, 2): 4, (1, 0, 2): 3, (2, 0, 1): 2, (0, 2, 1): 1},
    4: {(2, 3, 1, 0): 4, (1, 2, 3, 0): 2, (3, 2, 1, 0): 2, (0, 1, 2, 3): 2, (2, 1, 3, 0): 1,
        (1, 0, 2, 3): 1},
    5: {(0, 1, 2, 3, 4): 1, (2, 3, 4, 1, 0): 1},
}
#: Bars of codetta between an exposition entry's end and the next entry (beyond the rest of
#: the bar the entry ends in), and how often.
CODETTA_BARS = {0: 3, 1: 1}
#: Bars of episode between a middle entry and the next (deciles).
EPISODE_BARS = (1.0, 1.0, 1.5, 2.0, 2.0, 3.0, 3.0, 4.0, 5.0)
#: The related keys of a middle entry: semitones above the tonic, and whether the key is minor.
RELATED = {
    "major": {7: False, 9: True, 5: False, 4: True, 2: True},
    "minor": {3: False, 7: True, 5: True, 10: False, 8: False},
}
#: Where each scale degree lies in a major and a (natural) minor key.
SCALES = {False: (0, 2, 4, 5, 7, 9, 11), True: (0, 2, 3, 5, 7, 8, 10)}


@dataclass(frozen=True)
class FugueShape:
    """What a whole fugue is laid out for: its ``voices`` (2–5) and the order they first enter
    in (``order``: voice indices from the bass up, the subject's voice first)."""

    voices: int
    order: tuple[int, ...]


def first_voice(subject: Subject, voices: int, centres: Sequence[float] = ()) -> int:
    """The voice the subject is stated in: the one whose register its notes lie nearest (a
    subject typed low opens in the bass)."""
    mean = sum(n.pitch for n in subject.notes) / len(subject.notes)
    return min(range(voices), key=lambda v: abs(voice_centre(v, voices, centres) - mean))


def entry_order(first: int, voices: int, rng: np.random.Generator) -> tuple[int, ...]:
    """The order the voices enter in, starting with ``first``: drawn from the 48's orders
    (:data:`ORDERS`) that start there; else each next voice the nearest not yet heard."""
    known = {o: w for o, w in ORDERS.get(voices, {}).items() if o[0] == first}
    if known:
        orders = list(known)
        w = np.array([known[o] for o in orders], dtype=float)
        return orders[int(rng.choice(len(orders), p=w / w.sum()))]
    order = [first]
    while len(order) < voices:
        rest = [v for v in range(voices) if v not in order]
        order.append(min(rest, key=lambda v: (abs(v - order[-1]), -v)))
    return tuple(order)


def plan_fugue(subject: Subject, span: Span, shape: FugueShape, best_levels: bool,
               rng: np.random.Generator, move: int = 0) -> Plan:
    """The plan of a whole fugue on ``subject`` (its notes as the seed states them, in the
    piece's key; ``move``: semitones to the sampler's key) from the seed's first note to
    ``span.end`` (see the module docstring). ``best_levels``: middle entries in the related
    keys; otherwise none (exposition, final entry, close)."""
    assert span.end is not None
    pitches = [n.pitch + move for n in subject.notes]
    first = span.start - subject.length
    close = plan_close(span)
    exposition = exposition_entries(subject, pitches, first, span, shape, rng)
    final = final_entry(subject, pitches, span, shape, close.dominant.start, exposition[-1], rng)
    middle = middle_entries(subject, pitches, span, shape, exposition, final, rng) if best_levels else []
    entries = (*exposition, *middle, final)
    caps = tuple((e.start, min(i + 1, shape.voices)) for i, e in enumerate(exposition))
    return Plan(entries, close, span.end, shape.voices,
                sections(entries, len(exposition), close.dominant.start, span, (span.tonic - move) % 12), caps)


def exposition_entries(subject: Subject, pitches: list[int], first: int, span: Span,
                       shape: FugueShape, rng: np.random.Generator) -> list[PlannedEntry]:
    """The subject in ``shape.order[0]`` (as stated), then in turn the answer, the subject … in
    each voice, each at the subject's place in the bar once the entry before has ended (and
    now and then a bar of codetta)."""
    step = math.ceil(subject.length / span.bar) * span.bar
    names = names_low_to_high(shape.voices)
    out, at = [], first
    for k, voice in enumerate(shape.order):
        level = 7 if k % 2 else 0
        moved, answer = entry_pitches(pitches, level, span.tonic)
        if k == 0:
            moved = pitches
        else:
            at += step + span.bar * drawn(CODETTA_BARS, rng)
            moved = placed(moved, voice, span)
        notes = tuple(Note(at + n.start, n.duration, p) for n, p in zip(subject.notes, moved))
        out.append(PlannedEntry(at, level, voice, names[voice], notes, answer))
    return out


def final_entry(subject: Subject, pitches: list[int], span: Span, shape: FugueShape, limit: int,
                last: PlannedEntry, rng: np.random.Generator) -> PlannedEntry:
    """The subject in the tonic, ending by ``limit`` (where the close begins), as late as the
    subject's place in the bar allows, in the bass or the top voice (the one that has not just
    had the subject). Too few bars for it after the exposition: a :class:`ConfigError` naming
    the least that fits."""
    at = limit - subject.length
    at -= (at - subject.offset) % span.bar
    if at < last.end:
        need = math.ceil((last.end + subject.length + (limit and span.end - limit)) / span.bar) + 1
        raise ConfigError(f"{span.end // span.bar} bars are too few for a fugue in {shape.voices} voices "
                          f"on a subject of {subject.length / span.bar:.3g} bars.",
                          f"Ask for at least {need} bars, or fewer voices.")
    pool = [v for v in (0, shape.voices - 1) if v != last.voice] or [0]
    voice = int(rng.choice(pool))
    notes = tuple(Note(at + n.start, n.duration, p)
                  for n, p in zip(subject.notes, placed(pitches, voice, span)))
    return PlannedEntry(at, 0, voice, names_low_to_high(shape.voices)[voice], notes, "subject")


def middle_entries(subject: Subject, pitches: list[int], span: Span, shape: FugueShape,
                   exposition: Sequence[PlannedEntry], final: PlannedEntry,
                   rng: np.random.Generator) -> list[PlannedEntry]:
    """Entries in related keys between the exposition and the final entry, an episode before
    each (:data:`EPISODE_BARS`) and one before the final entry; each in the voice that has
    waited longest, at a level not the one before it."""
    names = names_low_to_high(shape.voices)
    heard = {e.voice: i for i, e in enumerate(exposition)}
    out: list[PlannedEntry] = []
    end, previous = exposition[-1].end, None
    while True:
        at = end + int(span.bar * float(rng.choice(EPISODE_BARS)))
        at += (subject.offset - at) % span.bar
        if at + subject.length + span.bar > final.start:
            return out
        level, minor = related_level(span.minor, previous, rng)
        voices = [v for v in range(shape.voices) if not out or v != out[-1].voice]
        voice = min(voices, key=lambda v: (heard.get(v, -1), rng.random()))
        moved = placed(in_mode(pitches, span.tonic, span.minor, level, minor), voice, span)
        notes = tuple(Note(at + n.start, n.duration, p) for n, p in zip(subject.notes, moved))
        out.append(PlannedEntry(at, level, voice, names[voice], notes, "real"))
        heard[voice] = len(exposition) + len(out)
        end, previous = out[-1].end, level


def related_level(minor: bool, previous: int | None, rng: np.random.Generator) -> tuple[int, bool]:
    """A related key drawn by how often the 48 bring the subject there (:data:`LEVEL_WEIGHTS`),
    not the one before: semitones above the tonic, and whether it is minor."""
    mode = "minor" if minor else "major"
    pool = [lv for lv in RELATED[mode] if lv != previous]
    w = np.array([LEVEL_WEIGHTS[mode].get(lv, 1) for lv in pool], dtype=float)
    level = int(rng.choice(pool, p=w / w.sum()))
    return level, RELATED[mode][level]


def in_mode(pitches: Sequence[int], tonic: int, minor: bool, level: int, to_minor: bool) -> list[int]:
    """``pitches`` (in the key of ``tonic``, minor or major) moved up ``level`` semitones into a
    key of the other mode where ``to_minor`` differs: each note keeps its scale degree. From
    minor to major the raised sixth and seventh are the major scale's own; from major to minor
    the seventh stays a leading tone."""
    if minor == to_minor:
        return [p + level for p in pitches]
    source, target = SCALES[minor], SCALES[to_minor]
    out = []
    for p in pitches:
        r = (p - tonic) % 12
        degree = max(d for d in range(7) if source[d] <= r)
        alter = r - source[degree]
        if minor and degree in (5, 6):
            alter = 0                       # raised 6th / 7th: the major scale's own
        to = target[degree] + alter
        if to_minor and degree == 6 and alter == 0:
            to = 11                         # the leading tone stays one
        out.append(p + level + (to - r))
    return out


def sections(entries: Sequence[PlannedEntry], exposed: int, close_at: int, span: Span,
             home: int) -> tuple[Section, ...]:
    """The timeline: the exposition (its first ``exposed`` entries), then for each later entry
    the episode before it (when there is one) and the entry (its key named from ``home``, the
    piece's tonic), the close."""
    out = [Section("exposition", entries[0].start, entries[exposed - 1].end)]
    last = out[0].end
    for i, e in enumerate(entries[exposed:]):
        if e.start > last:
            out.append(Section("episode", last, e.start))
        final = i == len(entries) - exposed - 1
        out.append(Section("final entry" if final else "entry", e.start, e.end,
                           key_name(home + e.level, entry_minor(span.minor, e.level)),
                           e.voice_name))
        last = max(last, e.end)
    if close_at > last:
        out.append(Section("episode", last, close_at))
    out.append(Section("close", close_at, span.end or close_at))
    return tuple(out)


def entry_minor(minor: bool, level: int) -> bool:
    """Whether an entry ``level`` semitones above the tonic is in a minor key."""
    return RELATED["minor" if minor else "major"].get(level % 12, minor)


def key_name(pc: int, minor: bool) -> str:
    """A key's name as the project spells keys (lower case: minor)."""
    name = PITCH_CLASS_NAMES[pc % 12]
    return name.lower() if minor else name


def drawn(weights: dict[int, int], rng: np.random.Generator) -> int:
    """One of ``weights``' keys, drawn by its weight."""
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=float)
    return int(keys[int(rng.choice(len(keys), p=w / w.sum()))])


def stated(subject: Subject, voice: int, voices: int, compass: tuple[int, int] = (36, 84)) -> Subject:
    """``subject`` moved by octaves to lie in ``voice``'s register, within ``compass``."""
    span = Span(0, None, 0, 1, 0, False, voices, compass)
    pitches = placed([n.pitch for n in subject.notes], voice, span)
    return replace(subject, notes=tuple(replace(n, pitch=p) for n, p in zip(subject.notes, pitches)))
