"""What a listener hears in one piece, in numbers: the statistics the yardstick compares.

Every statistic is measured on a :class:`~bachgen.events.Piece` after reducing it to a
piano reduction (a pitch sounds once at a time, :func:`bachgen.reduction.normalise`).
Times are counted in **beats of a quarter note** from the piece's own ticks, never in
seconds, so no tempo can hide anything:

* texture — ``sounding``: mean number of notes sounding over the time anything sounds;
  ``two_plus`` / ``three_plus``: share of that time with at least 2 / 3 notes sounding;
  ``silence``: share of the piece's span (first onset to last release) in silence;
* rhythm — ``note_length``: mean note length in quarter notes; ``long_notes``: share of
  notes of a quarter note or more; ``on_sixteenths``: share of onsets (distinct onset
  times) on the sixteenth grid; ``on_beats``: share of onsets on a beat of the piece's
  time signature. The beat is the denominator's unit, except in compound meters (6, 9 or
  12 over 8 or 16) where it is the **dotted** unit (a dotted quarter in 6/8); ``onset_rate``:
  distinct onsets per quarter note over the piece's span (how dense the pulse is);
* voice leading — ``steps``: share of struck notes within 2 semitones of a pitch sounding
  just before them; ``leaps``: share more than an octave away from every such pitch.
  "Just before" is the instant before the onset; after a rest, the last sounding instant.
  Notes with nothing sounding before them (the first onset) are not counted;
* pitch — ``pitch_class_entropy`` (bits, struck notes), ``scale_consistency`` (share of
  struck notes in the best-fitting major scale), ``pitch_range`` (semitones);
* ``distinct_8grams`` — distinct runs of 8 events over all runs of 8, events being the
  chordified piece (:func:`bachgen.reduction.chordify`) with struck and held pitches and length.

The real fugues are measured on **stretches** cut the way generations are
(:func:`stretch`: events 50–449 of each chordified fugue; a fugue shorter than 450 events
gives its last 400). The *band* of a statistic is its min–max over such a reference set
(:func:`bands`). The app shows a take's statistics beside the bands of the 48 real
stretches (:func:`take_statistics`, :func:`real_bands_for`); :mod:`.yardstick` compares
whole sets of pieces.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np

from .. import corpus
from ..config import CorpusConfig
from ..errors import ConfigError
from ..events import Note, Piece
from ..reduction import chordify, normalise

LABELS = {
    "sounding": "notes sounding (mean, while any sounds)",
    "two_plus": "time with >= 2 notes sounding",
    "three_plus": "time with >= 3 notes sounding",
    "silence": "share of time in silence",
    "note_length": "mean note length (quarters)",
    "long_notes": "notes of a quarter or more",
    "on_sixteenths": "onsets on the sixteenth grid",
    "on_beats": "onsets on a beat of the meter",
    "onset_rate": "onsets per quarter note",
    "steps": "struck notes within 2 semitones",
    "leaps": "struck notes > an octave away",
    "pitch_class_entropy": "pitch-class entropy (bits)",
    "scale_consistency": "share in best major scale",
    "pitch_range": "pitch range (semitones)",
    "distinct_8grams": "distinct 8-grams of events",
}
STATISTICS = tuple(LABELS)
MAJOR = (0, 2, 4, 5, 7, 9, 11)
FIRST_EVENT, STRETCH_EVENTS = 50, 400
Band = tuple[float, float]

#: The statistics that are shares (0..1) of time, notes, onsets or runs: shown as percentages.
SHARES = frozenset({"two_plus", "three_plus", "silence", "long_notes", "on_sixteenths", "on_beats",
                    "steps", "leaps", "scale_consistency", "distinct_8grams"})


# --------------------------------------------------------------------------- one piece


def beat_ticks(piece: Piece) -> int:
    """Ticks of one beat of the piece's meter: the denominator's unit, dotted in compound meters."""
    num, den = piece.time_signature
    unit = piece.resolution * 4 // den
    return unit * 3 if den >= 8 and num % 3 == 0 and num > 3 else unit


def reduction_arrays(piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, ends and pitches of the piece's piano reduction, as arrays (what every
    statistic reads)."""
    notes = normalise(piece).notes
    starts = np.array([n.start for n in notes], dtype=np.int64)
    ends = np.array([n.end for n in notes], dtype=np.int64)
    pitches = np.array([n.pitch for n in notes], dtype=np.int64)
    return starts, ends, pitches


def _sounding_segments(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (ticks) of the stretches between consecutive note boundaries and how many
    notes sound in each."""
    bounds = np.unique(np.concatenate([starts, ends]))
    if len(bounds) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    left = bounds[:-1]
    count = np.searchsorted(np.sort(starts), left, side="right") - np.searchsorted(np.sort(ends), left, side="right")
    return np.diff(bounds), count


def texture_statistics(piece: Piece) -> dict[str, float]:
    """Notes sounding at once, share of time with 2+ and 3+ notes, share of time in silence."""
    starts, ends, _ = reduction_arrays(piece)
    lengths, count = _sounding_segments(starts, ends)
    span = float(lengths.sum())
    voiced = float(lengths[count > 0].sum())
    if voiced == 0:
        return {"sounding": 0.0, "two_plus": 0.0, "three_plus": 0.0, "silence": 1.0 if span else 0.0}
    return {
        "sounding": float((lengths * count).sum()) / voiced,
        "two_plus": float(lengths[count >= 2].sum()) / voiced,
        "three_plus": float(lengths[count >= 3].sum()) / voiced,
        "silence": 1.0 - voiced / span,
    }


def rhythm_statistics(piece: Piece) -> dict[str, float]:
    """Note lengths in quarters; where onsets fall (on the sixteenth grid, on the beats) and
    how densely: distinct onsets per quarter note from the first onset to the last note's
    end (the pulse a listener hears: 400 events spread over 27 bars or over 40)."""
    starts, ends, _ = reduction_arrays(piece)
    if not len(starts):
        return {"note_length": 0.0, "long_notes": 0.0, "on_sixteenths": 0.0, "on_beats": 0.0,
                "onset_rate": 0.0}
    quarters = (ends - starts) / piece.resolution
    onsets = np.unique(starts)
    sixteenth = max(1, piece.resolution // 4)
    return {
        "note_length": float(quarters.mean()),
        "long_notes": float((quarters >= 1).mean()),
        "on_sixteenths": float((onsets % sixteenth == 0).mean()),
        "on_beats": float((onsets % beat_ticks(piece) == 0).mean()),
        "onset_rate": float(len(onsets) * piece.resolution / max(1, ends.max() - starts.min())),
    }


def _sounding_before(t: int, starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """Pitches sounding just before tick ``t``; after a rest, those of the last sounding instant."""
    before = pitches[(starts < t) & (ends >= t)]
    if len(before):
        return before
    earlier = ends[ends < t]
    if not len(earlier):
        return before
    last = earlier.max()
    return pitches[(starts < last) & (ends >= last)]


def voice_leading_statistics(piece: Piece) -> dict[str, float]:
    """Share of struck notes within 2 semitones of a pitch sounding just before them, and the
    share more than an octave from all of them (see the module docstring)."""
    starts, ends, pitches = reduction_arrays(piece)
    near = far = counted = 0
    for t in np.unique(starts):
        before = _sounding_before(int(t), starts, ends, pitches)
        if not len(before):
            continue
        for pitch in pitches[starts == t]:
            distance = int(np.abs(before - pitch).min())
            counted += 1
            near += distance <= 2
            far += distance > 12
    if not counted:
        return {"steps": 0.0, "leaps": 0.0}
    return {"steps": near / counted, "leaps": far / counted}


def pitch_statistics(piece: Piece) -> dict[str, float]:
    """Pitch-class entropy (bits), best major-scale share and range of the struck notes."""
    _, _, pitches = reduction_arrays(piece)
    if not len(pitches):
        return {"pitch_class_entropy": 0.0, "scale_consistency": 0.0, "pitch_range": 0.0}
    classes = Counter(int(p) % 12 for p in pitches)
    total = len(pitches)
    entropy = -sum(c / total * math.log2(c / total) for c in classes.values())
    best = max(sum(classes[(tonic + step) % 12] for step in MAJOR) for tonic in range(12))
    return {
        "pitch_class_entropy": entropy,
        "scale_consistency": best / total,
        "pitch_range": float(pitches.max() - pitches.min()),
    }


def distinct_8grams(piece: Piece) -> float:
    """Distinct runs of 8 chordified events over all runs of 8 (1.0: no run repeats)."""
    events = [(e.struck, e.held, e.duration) for e in chordify(piece)]
    grams = [tuple(events[i:i + 8]) for i in range(len(events) - 7)]
    return len(set(grams)) / len(grams) if grams else 1.0


def piece_statistics(piece: Piece) -> dict[str, float]:
    """Every statistic with a band (:data:`STATISTICS`) of one piece."""
    values = {**texture_statistics(piece), **rhythm_statistics(piece),
              **voice_leading_statistics(piece), **pitch_statistics(piece),
              "distinct_8grams": distinct_8grams(piece)}
    return {name: float(values[name]) for name in STATISTICS}


# --------------------------------------------------------------------------- stretches


def stretch_window(piece: Piece, first_event: int = FIRST_EVENT, events: int = STRETCH_EVENTS
                   ) -> tuple[int, int]:
    """Start and end tick of events ``first_event`` .. ``first_event + events - 1`` of the
    chordified piece; a piece too short for that gives its last ``events`` events (all of
    them if it has fewer)."""
    chord = chordify(piece)
    if not chord:
        return 0, 0
    first = min(first_event, max(0, len(chord) - events))
    last = min(len(chord), first + events) - 1
    return chord[first].start, chord[last].start + chord[last].duration


def clip(piece: Piece, start: int, end: int) -> Piece:
    """The notes of ``piece`` between ticks ``start`` and ``end``, cut at both edges and moved
    back by whole bars, so beats and bar positions stay where they were."""
    origin = (start // piece.bar_ticks) * piece.bar_ticks
    notes = []
    for note in piece.notes:
        a, b = max(note.start, start), min(note.end, end)
        if b > a:
            notes.append(Note(a - origin, b - a, note.pitch, note.voice))
    return piece.with_notes(notes)


def stretch(piece: Piece, first_event: int = FIRST_EVENT, events: int = STRETCH_EVENTS) -> Piece:
    """The stretch of a real piece that generations are compared with (see :func:`stretch_window`)."""
    return clip(piece, *stretch_window(piece, first_event, events))


# --------------------------------------------------------------------------- bands


def bands(values: Sequence[dict[str, float]]) -> dict[str, Band]:
    """Min and max of every statistic over a reference set of pieces' statistics."""
    if not values:
        raise ConfigError("A band needs at least one real piece.")
    return {name: (min(v[name] for v in values), max(v[name] for v in values)) for name in STATISTICS}


def real_bands(pieces: Iterable[Piece], events: int = STRETCH_EVENTS) -> dict[str, Band]:
    """The band of every statistic over the ``events``-event stretches (:func:`stretch`) of
    real pieces. About 0.1 s a fugue: compute once and keep."""
    return bands([piece_statistics(stretch(p, FIRST_EVENT, events)) for p in pieces])


def statistics_table(piece: Piece, bands: dict[str, Band]) -> list[dict[str, Any]]:
    """One row per statistic of ``piece`` beside the real band, for display:
    ``name``, ``label``, ``value``, ``low``, ``high``, ``inside``."""
    values = piece_statistics(piece)
    rows = []
    for name in STATISTICS:
        low, high = bands[name]
        rows.append({"name": name, "label": LABELS[name], "value": values[name], "low": low,
                     "high": high, "inside": bool(low <= values[name] <= high)})
    return rows


def real_bands_for(config: CorpusConfig, events: int = STRETCH_EVENTS) -> dict[str, Band]:
    """The band of every statistic over the ``events``-event stretches of the 48 real fugues
    (those whose files are verified, when some are damaged), read from the corpus ``config``
    names (a second or two: compute once and keep)."""
    return real_bands(corpus.load_corpus(config, corpus.usable(config)[0] or None), events)


def new_music(piece: Piece, seed_end_tick: int | None) -> Piece:
    """The music after the seed: ``piece`` from ``seed_end_tick`` on (the whole piece when the
    seed is not part of it, ``None``), on the bar positions it had."""
    if seed_end_tick is None:
        return piece
    return clip(piece, seed_end_tick, max(piece.end, seed_end_tick))


def measurable(piece: Piece) -> frozenset[str]:
    """The statistics that mean something for ``piece``: none without notes; the voice leading
    needs two onsets (a note with something sounding before it), the 8-grams eight events."""
    starts, _, _ = reduction_arrays(piece)
    if not len(starts):
        return frozenset()
    names = set(STATISTICS)
    if len(np.unique(starts)) < 2:
        names -= {"steps", "leaps"}
    if len(chordify(piece)) < 8:
        names.discard("distinct_8grams")
    return frozenset(names)


def take_statistics(piece: Piece, seed_end_tick: int | None = None,
                    bands: dict[str, Band] | None = None) -> dict[str, Any]:
    """The statistics of a composition's new music (the seed cut off, :func:`new_music`) beside
    the real bands, for display.

    ``rows``: one per statistic (:data:`STATISTICS` order) with ``name``, ``label``, ``value``,
    ``low``, ``high`` and ``inside`` — ``value`` is ``None`` when the statistic cannot be
    measured (:func:`measurable`), ``low`` / ``high`` / ``inside`` are ``None`` without bands
    or value. ``inside``: how many statistics fall inside their band (``None`` without bands);
    ``measured``: how many could be measured; ``total``: how many there are.
    """
    music = new_music(piece, seed_end_tick)
    names = measurable(music)
    values = piece_statistics(music) if names else {}
    rows = []
    for name in STATISTICS:
        value = values.get(name) if name in names else None
        if value is not None and not math.isfinite(value):
            value = None
        low, high = bands[name] if bands is not None else (None, None)
        inside = None if value is None or low is None else bool(low <= value <= high)
        rows.append({"name": name, "label": LABELS[name], "value": value, "low": low,
                     "high": high, "inside": inside})
    return {
        "rows": rows,
        "inside": sum(bool(r["inside"]) for r in rows) if bands is not None else None,
        "measured": sum(r["value"] is not None for r in rows),
        "total": len(rows),
    }


# --------------------------------------------------------------------------- the bar's pulse


def bar_slot(piece: Piece) -> int:
    """Ticks of one slot of a bar profile: a sixteenth, or a 32nd in meters counted in sixteenths."""
    return max(1, min(piece.resolution // 4, piece.resolution * 4 // piece.time_signature[1] // 2))


def bar_profile(piece: Piece) -> np.ndarray:
    """Share of the struck notes that start at each slot of the bar (:func:`bar_slot`): where
    the voices come in together is where a listener hears the strong beats."""
    starts, _, _ = reduction_arrays(piece)
    slot, bar = bar_slot(piece), piece.bar_ticks
    counts = np.bincount((starts % bar) // slot, minlength=-(-bar // slot)).astype(float)
    return counts / max(1.0, counts.sum())
