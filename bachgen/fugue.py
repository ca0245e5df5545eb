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
from typing import Mapping, Sequence, TypeVar

import numpy as np

from .config import FormConfig
from .errors import ConfigError
from .events import Note, key_is_minor, key_tonic_pc
from .harmony import key_name
from .plan import (Close, PlannedEntry, Plan, Section, Span, entry_pitches, placed, plan_close,
                   voice_centre)
from .subject import Entry, Subject
from .voices import names_low_to_high

K = TypeVar("K")

#: A subject of our own, in tinyNotation (:mod:`bachgen.notation`): what the page's box holds
#: at first, and what the bench and the README's picture write a fugue on.
EXAMPLE_SUBJECT = "4/4 c4 g a8 g f e d e f d c4"

#: Under an entry, a whole fugue's events are the least harsh of this many drawn (a take's: six).
#: On the 48 subjects (seeds 1722 / 7 / 11) best of 3 put 39 / 42 / 41 whole fugues inside every
#: texture band with the classifier at 0.551 / 0.574 / 0.523, against 39 / 42 / 40 and 0.585 /
#: 0.572 / 0.568 with best of 6 — and writes a fugue in little more than half the time.
FUGUE_BEST_OF = 3

# The figures below were measured on the 48 fugues (bachgen/evaluation/expositions.py,
# docs/expositions.md; a slow test measures them again).

#: The order voices first enter in, as ranks from the bass (0) up, by the number of voices:
#: how often each order opens one of the 48 fugues.
ORDERS: dict[int, dict[tuple[int, ...], int]] = {
    2: {(1, 0): 1},
    3: {(2, 1, 0): 12, (1, 2, 0): 10, (0, 2, 1): 2, (0, 1, 2): 2},
    4: {(0, 1, 2, 3): 4, (1, 2, 3, 0): 4, (2, 3, 1, 0): 3, (2, 3, 0, 1): 3, (1, 2, 0, 3): 2,
        (2, 1, 0, 3): 2, (1, 0, 3, 2): 1},
    5: {(0, 1, 2, 3, 4): 1, (4, 3, 2, 1, 0): 1},
}
#: Whole bars of codetta after the answer, and after a later exposition entry, and how often
#: (the 48: none before the answer, ever; after it a median of a bar; after the third rarely).
CODETTA_BARS = ({0: 4, 1: 4, 2: 2}, {0: 8, 1: 2})
#: Bars of the first episode after the exposition (quartiles 2, 3.25, 6.25), and of the later
#: episodes between entries (deciles of those longer than nothing).
FIRST_EPISODE_BARS = (2.0, 2.0, 3.0, 3.25, 4.0, 6.25)
EPISODE_BARS = (0.84, 1.0, 2.0, 2.83, 3.12, 4.0, 5.0, 7.0, 10.0)
#: Bars from the final entry's end to the fugue's end (its quartiles: 1.18, 3.62, 7.81).
TAIL_BARS = (1.18, 2.0, 3.62, 5.0, 7.81)
#: How often the bass holds the dominant for a bar before the close (8 of the 48 fugues' last
#: four bars; 7 hold the tonic, 33 neither).
DOMINANT_PEDAL = 8 / 48
#: Where each voice lies (its mean pitch, bass first) in the 48 fugues of 2, 3, 4 and 5 voices
#: (the kern voices' means, averaged over the fugues of that many voices).
VOICE_CENTRES = {2: (55.0, 72.0), 3: (52.3, 64.0, 72.2), 4: (50.6, 58.6, 66.6, 73.1),
                 5: (50.0, 56.5, 64.0, 69.5, 75.5)}
#: Semitones the outer voices are placed beyond those means (the inner ones in proportion):
#: the voices the network writes around an entry keep nearer the middle than Bach's, so entries
#: placed at his means made pieces narrower than his. Measured on the 48 subjects (sampling
#: seeds 1722 and 11): 39 and 40 whole fugues inside every texture band with 3, against 37 and
#: 38 with none; the classifier 0.585 and 0.568 against 0.643 and 0.638.
SPREAD = 3.0
#: The related keys of a middle entry: semitones above the tonic, and whether the key is minor.
RELATED = {
    "major": {7: False, 9: True, 5: False, 4: True, 2: True},
    "minor": {3: False, 7: True, 5: True, 10: False, 8: False},
}
#: How often the 48 bring a middle entry to each level in each third of the piece (the
#: related keys; the tonic, common too, is left to the final entry).
THIRDS = {
    "major": ({7: 16, 9: 6, 2: 3}, {7: 23, 9: 22, 5: 10, 4: 9, 2: 8}, {7: 23, 9: 9, 5: 7, 2: 6, 4: 5}),
    "minor": ({3: 12, 7: 12, 10: 3}, {7: 17, 5: 14, 3: 11, 10: 11}, {5: 13, 7: 9, 10: 5, 8: 4}),
}
#: Where each scale degree lies in a major and a (natural) minor key.
SCALES = {False: (0, 2, 4, 5, 7, 9, 11), True: (0, 2, 3, 5, 7, 8, 10)}


@dataclass(frozen=True)
class FugueShape:
    """What a whole fugue is laid out for: its ``voices`` (2–5), the order they first enter in
    (``order``: voice indices from the bass up, the subject's voice first), and whether an
    exposition entry may come half a bar from the subject's place (a metre of an even number
    of beats: 4/4, 2/4, 6/8, 12/8)."""

    voices: int
    order: tuple[int, ...]
    half_bar: bool = True


def voice_centres(voices: int) -> tuple[float, ...]:
    """Where a whole fugue's voices lie, bass first: the 48's means (:data:`VOICE_CENTRES`)
    spread :data:`SPREAD` semitones wider at each end (empty: a number of voices they lack)."""
    centres = VOICE_CENTRES.get(voices, ())
    if len(centres) < 2:
        return centres
    middle, half = (centres[0] + centres[-1]) / 2, (centres[-1] - centres[0]) / 2
    return tuple(middle + (c - middle) * (half + SPREAD) / half for c in centres)


def first_voice(subject: Subject, voices: int) -> int:
    """The voice the subject is stated in: the one whose register (:func:`voice_centres`) its
    notes lie nearest (a subject typed low opens in the bass)."""
    mean = sum(n.pitch for n in subject.notes) / len(subject.notes)
    return min(range(voices), key=lambda v: abs(voice_centre(v, voices, voice_centres(voices)) - mean))


def entry_order(first: int, voices: int, rng: np.random.Generator) -> tuple[int, ...]:
    """The order the voices enter in, starting with ``first``: drawn from the 48's orders
    (:data:`ORDERS`) that start there; else each next voice the nearest not yet heard."""
    known = {o: w for o, w in ORDERS.get(voices, {}).items() if o[0] == first}
    if known:
        return drawn(known, rng)
    order = [first]
    while len(order) < voices:
        rest = [v for v in range(voices) if v not in order]
        order.append(min(rest, key=lambda v: (abs(v - order[-1]), -v)))
    return tuple(order)


def plan_fugue(subject: Subject, span: Span, shape: FugueShape, form: FormConfig,
               rng: np.random.Generator, move: int = 0) -> Plan:
    """The plan of a whole fugue on ``subject`` (its notes as the seed states them, in the
    piece's key; ``move``: semitones to the sampler's key) from the seed's first note to
    ``span.end`` (see the module docstring). ``form.entries``: middle entries in the related
    keys (otherwise only the exposition, the final entry and the close); ``form.keep_voices``:
    each entry kept in its place among the voices."""
    assert span.end is not None
    pitches = [n.pitch + move for n in subject.notes]
    close = pedalled(plan_close(span), span, rng)
    exposition = exposition_entries(subject, pitches, span.start - subject.length, span, shape, rng)
    final = final_entry(subject, pitches, span, shape, exposition[-1], close, rng)
    between = middle_entries(subject, pitches, span, shape, exposition, final, rng) if form.entries else []
    entries = (*exposition, *between, final)
    caps = tuple((e.start, min(i + 1, shape.voices)) for i, e in enumerate(exposition))
    return Plan(entries, close, span.end, shape.voices,
                sections(entries, len(exposition), close.dominant.start, span, (span.tonic - move) % 12), caps,
                voiced=form.keep_voices, binary=span.binary)


def next_place(after: int, offset: int, span: Span, shape: FugueShape) -> int:
    """The first tick from ``after`` at the subject's place in the bar, or half a bar from it
    in a metre of an even number of beats (the 48's exposition entries: 101 at the same
    place, 16 half a bar away)."""
    step = span.bar // 2 if shape.half_bar and span.bar % 2 == 0 else span.bar
    return after + (offset - after) % step


def exposition_entries(subject: Subject, pitches: list[int], first: int, span: Span,
                       shape: FugueShape, rng: np.random.Generator) -> list[PlannedEntry]:
    """The subject in ``shape.order[0]`` (as stated), then in turn the answer, the subject … in
    each voice: the answer as soon as the subject has ended (the 48 never wait), each later
    entry after a codetta of whole bars now and then (:data:`CODETTA_BARS`)."""
    names = names_low_to_high(shape.voices)
    out: list[PlannedEntry] = []
    at = first
    for k, voice in enumerate(shape.order):
        level = 7 if k % 2 else 0
        moved, answer = entry_pitches(pitches, level, span.tonic)
        if k == 0:
            moved = pitches
        else:
            codetta = 0 if k == 1 else span.bar * drawn(CODETTA_BARS[0 if k == 2 else 1], rng)
            at = next_place(out[-1].end + codetta, subject.offset, span, shape)
            moved = placed(moved, voice, span)
        notes = tuple(Note(at + n.start, n.duration, p) for n, p in zip(subject.notes, moved))
        out.append(PlannedEntry(at, level, voice, names[voice], notes, answer))
    return out


def final_entry(subject: Subject, pitches: list[int], span: Span, shape: FugueShape,
                last: PlannedEntry, close: Close, rng: np.random.Generator) -> PlannedEntry:
    """The subject in the tonic, ending a few bars before the end (:data:`TAIL_BARS`) and
    before the close begins, at the subject's place in the bar, in the bass or the top voice
    (the one that has not just had the subject; the top one over a pedal). Too few bars for it
    after the exposition: a :class:`ConfigError` naming the least that fits."""
    limit = close.dominant.start
    tail = span.end - int(span.bar * float(rng.choice(TAIL_BARS)))
    earliest = next_place(last.end, subject.offset, span, shape)
    at = min(limit, tail) - subject.length
    at -= (at - subject.offset) % span.bar
    if at < earliest:
        at = limit - subject.length - (limit - subject.length - subject.offset) % span.bar
    if at < earliest:
        need = math.ceil((earliest + subject.length + span.end - limit) / span.bar) + 1
        raise ConfigError(f"{span.end // span.bar} bars are too few for a fugue in {shape.voices} voices "
                          f"on a subject of {subject.length / span.bar:.3g} bars.",
                          f"Ask for at least {need} bars, or fewer voices.")
    pedal = close.dominant.duration > span.bar
    pool = [v for v in (0, shape.voices - 1) if v != last.voice and not (pedal and v == 0)]
    voice = int(rng.choice(pool or [shape.voices - 1]))
    notes = tuple(Note(at + n.start, n.duration, p)
                  for n, p in zip(subject.notes, placed(pitches, voice, span)))
    return PlannedEntry(at, 0, voice, names_low_to_high(shape.voices)[voice], notes, "subject")


def pedalled(close: Close, span: Span, rng: np.random.Generator) -> Close:
    """The close, now and then (:data:`DOMINANT_PEDAL`) with the bass holding its dominant a
    bar longer: a pedal under the last bars."""
    if rng.random() >= DOMINANT_PEDAL:
        return close
    d = close.dominant
    return replace(close, dominant=Note(d.start - span.bar, d.duration + span.bar, d.pitch))


def middle_entries(subject: Subject, pitches: list[int], span: Span, shape: FugueShape,
                   exposition: Sequence[PlannedEntry], final: PlannedEntry,
                   rng: np.random.Generator) -> list[PlannedEntry]:
    """Entries in related keys between the exposition and the final entry, an episode before
    each (the first :data:`FIRST_EPISODE_BARS`, then :data:`EPISODE_BARS`) and one before the
    final entry; each in the voice that has waited longest, at a level drawn by how often the
    48 go there in that third of the piece (:data:`THIRDS`), not the level before it."""
    names = names_low_to_high(shape.voices)
    heard = {e.voice: i for i, e in enumerate(exposition)}
    out: list[PlannedEntry] = []
    end, previous = exposition[-1].end, None
    while True:
        episode = FIRST_EPISODE_BARS if not out else EPISODE_BARS
        at = next_place(end + int(span.bar * float(rng.choice(episode))), subject.offset, span, shape)
        if at + subject.length + span.bar > final.start:
            return out
        level, minor = related_level(span.minor, previous, min(2, 3 * at // span.end), rng)
        voices = [v for v in range(shape.voices) if not out or v != out[-1].voice]
        voice = min(voices, key=lambda v: (heard.get(v, -1), rng.random()))
        moved = placed(in_mode(pitches, span.tonic, span.minor, level, minor), voice, span)
        notes = tuple(Note(at + n.start, n.duration, p) for n, p in zip(subject.notes, moved))
        out.append(PlannedEntry(at, level, voice, names[voice], notes, "real"))
        heard[voice] = len(exposition) + len(out)
        end, previous = out[-1].end, level


def related_level(minor: bool, previous: int | None, third: int, rng: np.random.Generator) -> tuple[int, bool]:
    """A related key drawn by how often the 48 bring the subject there in that ``third`` of the
    piece (:data:`THIRDS`), not the one before: semitones above the tonic, and whether it is minor."""
    mode = "minor" if minor else "major"
    weights = {lv: w for lv, w in THIRDS[mode][third].items() if lv != previous}
    level = drawn(weights, rng)
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


def drawn(weights: Mapping[K, int], rng: np.random.Generator) -> K:
    """One of ``weights``' keys, drawn by its weight."""
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def stated(subject: Subject, voice: int, voices: int, compass: tuple[int, int] = (36, 84)) -> Subject:
    """``subject`` moved by octaves to lie in ``voice``'s register, within ``compass``."""
    span = Span(0, None, 0, 1, 0, False, voices, compass, voice_centres(voices))
    pitches = placed([n.pitch for n in subject.notes], voice, span)
    return replace(subject, notes=tuple(replace(n, pitch=p) for n, p in zip(subject.notes, pitches)))


def planned_entries(plan: Plan, moved_by: int, key: str) -> list[Entry]:
    """A whole fugue's planned entries as the piano roll, the score and the page show entries:
    in the piece's key (``key``; the plan's pitches less ``moved_by``), each with the key it
    was planned in and its voice numbered from the top (as a piece's voices are)."""
    home, minor = key_tonic_pc(key), key_is_minor(key)
    return [Entry(e.start, e.level, tuple(n.pitch - moved_by for n in e.notes), tuple(n.start for n in e.notes),
                  plan.voices - 1 - e.voice, e.voice_name, key_name(home + e.level, entry_minor(minor, e.level)))
            for e in plan.entries]

