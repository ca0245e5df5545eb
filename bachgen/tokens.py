"""Event words: a Piece chordified into onset events, and the Vocabulary that numbers them.

An *event* starts wherever the set of sounding pitches changes. Its *word* names the
pitches struck there, the pitches still held from before (marked ``~``, never struck
again) and how long the event lasts, in quarter notes::

    "48.60~.64:1/4"   C3 struck, C4 held, E4 struck, for a sixteenth
    "R:1/2"           an eighth of silence

With ``TokenConfig(holds=False)`` the held pitches are left out, as in the original
project; then a decoded note lasts only as long as its event.

Decoding gives back a *piano reduction* of the piece: one key sounds once at a time,
so two voices on the same pitch merge. :func:`normalise` makes that reduction, and
the round trip ``decode(encode(p)) == normalise(p)`` holds exactly for all 48 fugues.
This module imports neither TensorFlow nor music21.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .config import TokenConfig
from .errors import BundleError
from .events import Event, Note, Piece, shift_to_common_key

REST = "R"
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


def chordify(piece: Piece, config: TokenConfig = TokenConfig()) -> list[Event]:
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


# --------------------------------------------------------------------------- words


def event_word(event: Event, holds: bool = True) -> str:
    """The word for one event, e.g. ``"48.60~.64:1/4"``; durations in quarter notes."""
    duration = Fraction(event.duration, 48)
    parts = [str(p) for p in event.struck]
    if holds:
        parts += [f"{p}~" for p in event.held]
        parts.sort(key=lambda s: int(s.rstrip("~")))
    if not parts:
        parts = [REST]
    return ".".join(parts) + f":{duration}"


def parse_word(word: str) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """``(struck, held, duration_ticks)`` of a word; raises ``ValueError`` if malformed."""
    pitches, _, duration = word.partition(":")
    ticks = Fraction(duration) * 48
    if ticks.denominator != 1 or ticks <= 0:
        raise ValueError(f"bad duration in word {word!r}")
    struck: list[int] = []
    held: list[int] = []
    if pitches != REST:
        for item in pitches.split("."):
            (held if item.endswith("~") else struck).append(int(item.rstrip("~")))
    return tuple(struck), tuple(held), int(ticks)


def word_event(word: str, start: int = 0) -> Event:
    """The event one word writes, placed at tick ``start``; raises ``ValueError`` if malformed."""
    struck, held, ticks = parse_word(word)
    return Event(start, ticks, struck, held)


def shift_words(words: Sequence[str], semitones: int) -> list[str]:
    """``words`` with every pitch moved by ``semitones`` (durations and rests unchanged).

    The words of a transposed piece are its words shifted: quantising, merging and
    chordifying do not depend on pitch, and a uniform shift keeps pitches in order.
    """
    memo: dict[str, str] = {}

    def shift(word: str) -> str:
        pitches, _, duration = word.partition(":")
        if pitches == REST:
            return word
        items = []
        for item in pitches.split("."):
            held = item.endswith("~")
            items.append(f"{int(item.rstrip('~')) + semitones}{'~' if held else ''}")
        return ".".join(items) + ":" + duration

    return [memo[w] if w in memo else memo.setdefault(w, shift(w)) for w in words]


def encode_events(events: Sequence[Event], holds: bool = True) -> list[str]:
    """Events as words. Without holds, an event with nothing struck merges into the one before."""
    words: list[str] = []
    if holds:
        return [event_word(e, True) for e in events]
    merged: list[Event] = []
    for event in events:
        if merged and not event.struck and not merged[-1].is_rest and event.held:
            last = merged[-1]
            merged[-1] = Event(last.start, last.duration + event.duration, last.struck, last.held)
        else:
            merged.append(event)
    words = [event_word(e, False) for e in merged]
    return words


def decode_words(words: Iterable[str], start: int = 0, template: Piece | None = None) -> Piece:
    """Words back to a Piece, laid end to end from tick ``start``."""
    events = []
    time = start
    for word in words:
        struck, held, ticks = parse_word(word)
        events.append(Event(time, ticks, struck, held))
        time += ticks
    return events_to_piece(events, template)


def piece_to_words(piece: Piece, config: TokenConfig = TokenConfig()) -> list[str]:
    return encode_events(chordify(piece, config), config.holds)


def piece_words(pieces: Sequence[Piece], tokens: TokenConfig, training: bool) -> list[list[str]]:
    """Word sequences of ``pieces``, one per version :func:`transpositions` gives.

    With ``training=False`` every piece gives exactly one sequence (for ``augment``,
    its original key; for ``common``, C major / A minor). The 12 versions of an
    augmented piece are made by shifting the words of the piece (:func:`shift_words`),
    not by chordifying each transposition again: the same words, twelve times faster.
    """
    sequences = []
    for piece in pieces:
        versions = transpositions(piece, tokens, training)
        if len(versions) == 1 or not piece.notes:
            sequences += [piece_to_words(v, tokens) for v in versions]
            continue
        base = piece_to_words(piece, tokens)
        for version in versions:
            sequences.append(shift_words(base, version.notes[0].pitch - piece.notes[0].pitch))
    return sequences


def transpositions(piece: Piece, config: TokenConfig, training: bool) -> list[Piece]:
    """The versions of ``piece`` the model sees under ``config.transpose``.

    ``common``: moved to C major / A minor (needs ``piece.key``). ``augment``: for
    training, all 12 transpositions between a tritone down and a fourth up that stay
    on the piano; otherwise the piece as it is.
    """
    if config.transpose == "common" and piece.key:
        return [piece.transpose(shift_to_common_key(piece.key))]
    if config.transpose == "augment" and training:
        low = min((n.pitch for n in piece.notes), default=60)
        high = max((n.pitch for n in piece.notes), default=60)
        return [piece.transpose(s) for s in range(-6, 6)
                if low + s >= LOWEST_PITCH and high + s <= HIGHEST_PITCH]
    return [piece]


# --------------------------------------------------------------------------- vocabulary


class Vocabulary:
    """Numbers for words. Saved as JSON beside any model that uses it.

    Id 0 is reserved for padding; every other id is a word seen in the training data.
    """

    PAD = "<pad>"

    def __init__(self, words: Sequence[str], counts: Sequence[int] | None = None) -> None:
        self.words: list[str] = [self.PAD] + [w for w in words if w != self.PAD]
        self.counts: list[int] = [0] + list(counts or [0] * (len(self.words) - 1))
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]]) -> "Vocabulary":
        """From word sequences: most frequent first, ties broken alphabetically (deterministic)."""
        counter: Counter[str] = Counter()
        for seq in sequences:
            counter.update(seq)
        ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        return cls([w for w, _ in ordered], [c for _, c in ordered])

    def encode(self, words: Sequence[str]) -> list[int]:
        """Ids of ``words``; raises ``KeyError`` on an unknown word (see :meth:`nearest`)."""
        return [self.index[w] for w in words]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.words[i] for i in ids if i != 0]

    def nearest(self, word: str) -> str:
        """The known word closest to ``word``: same kind of event, nearest pitches and length.

        This is the readable reference, one word at a time; :class:`NearestWords` makes
        the same choice for many words at once, fast.

        Cost: difference in duration (in octaves of length, weighted) plus, for each pitch
        of either word, the distance to the nearest pitch of the other.
        """
        if word in self.index:
            return word
        struck, held, ticks = parse_word(word)
        target = set(struck) | set(held)
        best, best_cost = self.words[1], float("inf")
        for candidate in self.words[1:]:
            c_struck, c_held, c_ticks = parse_word(candidate)
            pitches = set(c_struck) | set(c_held)
            cost = 4.0 * abs((c_ticks / ticks) - 1.0) if c_ticks >= ticks else 4.0 * abs(ticks / c_ticks - 1.0)
            if bool(pitches) != bool(target):
                cost += 100.0
            elif target:
                cost += sum(min(abs(p - q) for q in pitches) for p in target)
                cost += sum(min(abs(p - q) for q in target) for p in pitches)
                cost += 0.5 * len(set(struck) ^ set(c_struck))
            if cost < best_cost:
                best, best_cost = candidate, cost
        return best

    def encode_nearest(self, words: Sequence[str]) -> tuple[list[int], int]:
        """Ids of ``words`` with unknown words replaced by their nearest; also how many were."""
        ids, mapped = [], 0
        memo: dict[str, str] = {}
        for word in words:
            if word not in self.index:
                mapped += 1
                word = memo.setdefault(word, self.nearest(word))
            ids.append(self.index[word])
        return ids, mapped

    def to_json(self) -> str:
        return json.dumps({"words": self.words[1:], "counts": self.counts[1:]}, indent=0)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Vocabulary":
        try:
            data = json.loads(Path(path).read_text())
            return cls(data["words"], data.get("counts"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"Cannot read the vocabulary {path}: {exc}.",
                              "Re-create the model bundle with `bachgen train`.") from exc


class NearestWords:
    """Ids for words, unknown ones replaced by their nearest known word, fast.

    Gives the same choice as :meth:`bachgen.tokens.Vocabulary.nearest` (same cost: length
    ratio, pitch distances both ways, struck pitches that differ; first of equal
    costs), but compares a word with the whole vocabulary at once in NumPy instead of
    word by word, and remembers each answer.
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        parsed = [parse_word(w) for w in vocab.words[1:]]
        width = max([len(set(s) | set(h)) for s, h, _ in parsed] + [1])
        self.ticks = np.array([t for _, _, t in parsed], dtype=np.float64)
        self.pitches = np.full((len(parsed), width), np.nan)
        self.struck = np.zeros((len(parsed), 128), dtype=bool)
        for i, (struck, held, _) in enumerate(parsed):
            both = sorted(set(struck) | set(held))
            self.pitches[i, :len(both)] = both
            self.struck[i, list(struck)] = True
        self.sounding = ~np.isnan(self.pitches[:, 0])
        self.memo: dict[str, int] = {}

    def nearest_id(self, word: str) -> int:
        if word in self.vocab.index:
            return self.vocab.index[word]
        if word in self.memo:
            return self.memo[word]
        struck, held, ticks = parse_word(word)
        target = np.array(sorted(set(struck) | set(held)), dtype=np.float64)
        ratio = np.where(self.ticks >= ticks, self.ticks / ticks, ticks / self.ticks)
        cost = 4.0 * np.abs(ratio - 1.0)
        if len(target) == 0:
            cost += np.where(self.sounding, 100.0, 0.0)
        else:
            cost += np.where(self.sounding, 0.0, 100.0)
            dist = np.abs(self.pitches[:, :, None] - target[None, None, :])  # (V, K, k)
            dist = np.where(np.isnan(dist), np.inf, dist)
            to_candidates = dist.min(axis=1).sum(axis=1)
            to_target = np.where(np.isnan(self.pitches), 0.0, dist.min(axis=2)).sum(axis=1)
            mine = np.zeros(128, dtype=bool)
            mine[list(struck)] = True
            differ = (self.struck != mine[None, :]).sum(axis=1)
            cost += np.where(self.sounding, to_candidates + to_target + 0.5 * differ, 0.0)
        best = int(np.argmin(cost)) + 1
        self.memo[word] = best
        return best

    def nearest(self, word: str) -> str:
        """The nearest known word itself (``word`` when it is known)."""
        return self.vocab.words[self.nearest_id(word)]

    def encode(self, words: Sequence[str]) -> tuple[list[int], int]:
        """Ids of ``words`` and how many were unknown (replaced by their nearest)."""
        ids = [self.nearest_id(w) for w in words]
        return ids, sum(1 for w in words if w not in self.vocab.index)


# --------------------------------------------------------------------------- statistics


def round_trip_ok(piece: Piece, config: TokenConfig = TokenConfig()) -> bool:
    """True when decoding the piece's words gives back its piano reduction exactly.

    With ``holds=False`` the words cannot carry note lengths, so only onsets and
    pitches are compared.
    """
    expected = normalise(quantise(piece, config.grid))
    words = piece_to_words(piece, config)
    first = min((n.start for n in expected.notes), default=0)
    got = decode_words(words, start=first)
    if config.holds:
        return {(n.start, n.duration, n.pitch) for n in got.notes} == {
            (n.start, n.duration, n.pitch) for n in expected.notes}
    return {(n.start, n.pitch) for n in got.notes} == {(n.start, n.pitch) for n in expected.notes}


def stats(pieces: Sequence[Piece], config: TokenConfig) -> dict:
    """Pieces, events, vocabulary size, words seen once and round-trip failures under ``config``."""
    sequences = []
    failures = []
    for piece in pieces:
        for version in transpositions(piece, config, training=True):
            sequences.append(piece_to_words(version, config))
            if not round_trip_ok(version, config):
                failures.append(version.name)
    vocab = Vocabulary.build(sequences)
    return {
        "transpose": config.transpose,
        "holds": config.holds,
        "pieces": len(sequences),
        "events": sum(len(s) for s in sequences),
        "vocabulary": len(vocab) - 1,
        "words_seen_once": sum(1 for c in vocab.counts[1:] if c == 1),
        "round_trip_failures": len(failures),
        "failed_pieces": sorted(set(failures)),
    }
