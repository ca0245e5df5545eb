"""Does the generated music sound like the fugues? ``bachgen evaluate --generated``.

Every statistic is measured on a :class:`~bachgen.events.Piece` — what a listener hears —
after reducing it to a piano reduction (a pitch sounds once at a time,
:func:`bachgen.tokens.normalise`). Times are counted in **beats of a quarter note**
from the piece's own ticks, never in seconds, so no tempo can hide anything:

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
  chordified piece (:func:`bachgen.tokens.chordify`) with struck and held pitches and length.

Generated pieces carry two more figures: ``stuck`` (a loop left in the output, found on
events) and the longest run copied from the corpus, in any transposition.

**Generating.** One generation per fugue, all in one batch, 400 events after a seed of the
fugue's events 0–49, one random seed for the batch. The spelled model (the default) draws
with the default :class:`~bachgen.config.SamplingConfig` (temperature, top-k, top-p), no key
treatment (no pull towards the key, no snapping), and each generation is decoded in its
seed's key on the fugue's bar grid; the word model draws with its sampler and guards as the
app does. Only the new music is measured, cut after the seed as the real stretches are.

**Comparing sets** (:func:`compare`). The *band* of a statistic is the min–max over the
reference set: the real fugues cut the way generations are (:func:`stretch`: events 50–449
of each chordified fugue; a fugue shorter than 450 events gives its last 400). For each
statistic: how many pieces fall inside the band, and the **overlapping area** of the two
distributions (Yang & Lerch 2018): Gaussian kernel density estimates of both sets, the area
under their pointwise minimum (1 = the same distribution, 0 = disjoint). Bandwidth: Silverman's
rule of thumb, ``0.9 · min(sd, IQR / 1.34) · n^(-1/5)`` (the sd alone when the IQR is 0),
computed for each set and averaged, one bandwidth for both (so identical sets overlap fully),
never below 1 % of the range both sets span together. Then a **classifier two-sample
test**: the accuracy of a logistic regression on the standardised statistics telling the
two sets apart, by stratified 5-fold cross-validation repeated 10 times with a fixed seed —
0.5 means it cannot tell them apart.

The rows: (1) real against real — Book II's 24 stretches against Book I's 24 (band, overlap
and classifier all between the two books), the ceiling; (2) the real fugues through a
representation and decoded — what it alone costs: the spelled codec's round trip (lossless:
the real values) and the old words; (3) the model's generations; (4) optionally a second
model's, under the same seeds and settings. Beside row 1 the report counts how many real
stretches fall inside the band of the other 47 on every statistic: what "inside on every
statistic" can ask. With several sampling seeds each seed's pieces inside every band and
classifier accuracy are reported with their spread (48 pieces make both noisy); the first
seed is the headline.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics as stats
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .codecs import WordCodec
from .config import CorpusConfig, TokenConfig
from .errors import ConfigError
from .events import Note, Piece
from .tokens import chordify, normalise

#: The statistics with a band, in table order: name -> what it measures.
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
QUALITY_SEED = 1722
FIRST_EVENT, STRETCH_EVENTS = 50, 400
FOLDS, REPEATS = 5, 10
Band = tuple[float, float]


# --------------------------------------------------------------------------- one piece


def beat_ticks(piece: Piece) -> int:
    """Ticks of one beat of the piece's meter: the denominator's unit, dotted in compound meters."""
    num, den = piece.time_signature
    unit = piece.resolution * 4 // den
    return unit * 3 if den >= 8 and num % 3 == 0 and num > 3 else unit


def _arrays(piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, ends and pitches of the piece's piano reduction, as arrays."""
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
    starts, ends, _ = _arrays(piece)
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
    starts, ends, _ = _arrays(piece)
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
    starts, ends, pitches = _arrays(piece)
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
    _, _, pitches = _arrays(piece)
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
    events = [(e.struck, e.held, e.duration) for e in chordify(piece, TokenConfig(holds=True))]
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
    chord = chordify(piece, TokenConfig(holds=True))
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


def through_words(piece: Piece, tokens: TokenConfig) -> Piece:
    """The piece written as event words under ``tokens`` and decoded again, on its own ticks
    (what the representation keeps of it; the key is left as it is)."""
    return WordCodec.for_tokens(replace(tokens, transpose="none")).reduce(piece)


# --------------------------------------------------------------------------- comparing sets


def bands(values: Sequence[dict[str, float]]) -> dict[str, Band]:
    """Min and max of every statistic over a reference set of pieces' statistics."""
    if not values:
        raise ConfigError("A band needs at least one real piece.")
    return {name: (min(v[name] for v in values), max(v[name] for v in values)) for name in STATISTICS}


def _bandwidth(values: np.ndarray) -> float:
    """Silverman's rule of thumb for one set (see the module docstring)."""
    sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    q75, q25 = np.percentile(values, [75, 25])
    spread = min(sd, (q75 - q25) / 1.34) if q75 > q25 else sd
    return 0.9 * spread * len(values) ** -0.2


def _density(values: np.ndarray, grid: np.ndarray, h: float) -> np.ndarray:
    """Gaussian kernel density estimate of ``values`` with bandwidth ``h`` at the ``grid`` points."""
    z = (grid[:, None] - values[None, :]) / h
    return np.exp(-0.5 * z * z).sum(axis=1) / (len(values) * h * math.sqrt(2 * math.pi))


def overlap_area(a: Sequence[float], b: Sequence[float], points: int = 2001) -> float:
    """Area under the pointwise minimum of the two sets' kernel density estimates (0..1)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(x) or not len(y):
        return 0.0
    lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
    if hi == lo:
        return 1.0
    h = max((_bandwidth(x) + _bandwidth(y)) / 2, 0.01 * (hi - lo))
    grid = np.linspace(lo - 5 * h, hi + 5 * h, points)
    low = np.minimum(_density(x, grid, h), _density(y, grid, h))
    area = float(((low[1:] + low[:-1]) / 2 * np.diff(grid)).sum())  # trapezoid rule
    return min(1.0, area)


def classifier_accuracy(a: np.ndarray, b: np.ndarray, seed: int = QUALITY_SEED) -> dict[str, float]:
    """Cross-validated accuracy of a logistic regression (standardised features) telling the
    rows of ``a`` from those of ``b``: stratified k-fold repeated with a fixed seed."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    folds = min(FOLDS, len(a), len(b))
    if folds < 2:
        raise ConfigError("The classifier test needs at least 2 pieces on each side.")
    features = np.vstack([a, b])
    labels = np.array([1] * len(a) + [0] * len(b))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=REPEATS, random_state=seed)
    with threadpool_limits(1):  # tiny problems: threads only contend (15x slower on 2 busy cores)
        scores = cross_val_score(model, features, labels, cv=cv, scoring="accuracy")
    return {"accuracy": float(scores.mean()), "sd": float(scores.std()), "folds": folds, "repeats": REPEATS}


def _matrix(values: Sequence[dict[str, float]]) -> np.ndarray:
    """The statistics as a feature matrix, one row a piece, columns in :data:`STATISTICS` order."""
    return np.array([[v[name] for name in STATISTICS] for v in values], dtype=float)


def compare_statistics(pieces: Sequence[dict[str, float]], real: Sequence[dict[str, float]],
                       seed: int = QUALITY_SEED) -> dict[str, Any]:
    """:func:`compare` on statistics already measured (one dict per piece)."""
    band = bands(real)
    inside = [all(band[n][0] <= v[n] <= band[n][1] for n in STATISTICS) for v in pieces]
    per_statistic = {}
    for name in STATISTICS:
        mine, theirs = [v[name] for v in pieces], [v[name] for v in real]
        per_statistic[name] = {
            "band": [band[name][0], band[name][1]],
            "inside": sum(band[name][0] <= x <= band[name][1] for x in mine),
            "overlap": overlap_area(mine, theirs),
            "median": stats.median(mine),
            "real_median": stats.median(theirs),
        }
    return {
        "pieces": len(pieces),
        "real_pieces": len(real),
        "statistics": per_statistic,
        "all_inside": sum(inside),
        "inside_each": inside,
        "classifier": classifier_accuracy(_matrix(pieces), _matrix(real), seed),
    }


def compare(generated: Sequence[Piece], real: Sequence[Piece], seed: int = QUALITY_SEED) -> dict[str, Any]:
    """Per statistic the band of ``real`` (min–max), how many ``generated`` pieces fall inside
    it and the overlapping area of the two distributions; pieces inside on every statistic;
    and the classifier two-sample accuracy (see the module docstring)."""
    return compare_statistics([piece_statistics(p) for p in generated],
                              [piece_statistics(p) for p in real], seed)


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


#: The statistics that are shares (0..1) of time, notes, onsets or runs: shown as percentages.
SHARES = frozenset({"two_plus", "three_plus", "silence", "long_notes", "on_sixteenths", "on_beats",
                    "steps", "leaps", "scale_consistency", "distinct_8grams"})


def real_bands_for(config: CorpusConfig, events: int = STRETCH_EVENTS) -> dict[str, Band]:
    """The band of every statistic over the ``events``-event stretches of the 48 real fugues
    (those whose files are verified, when some are damaged), read from the corpus ``config``
    names (a second or two: compute once and keep)."""
    from . import corpus

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
    starts, _, _ = _arrays(piece)
    if not len(starts):
        return frozenset()
    names = set(STATISTICS)
    if len(np.unique(starts)) < 2:
        names -= {"steps", "leaps"}
    if len(chordify(piece, TokenConfig(holds=True))) < 8:
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


# --------------------------------------------------------------------------- the rows


def real_statistics(pieces: Sequence[Piece], tokens: TokenConfig, events: int = STRETCH_EVENTS
                    ) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Statistics of each real piece's stretch, as written and through the words of ``tokens``
    (both cut at the same ticks, so the two measure the same music)."""
    real, worded = [], []
    for piece in pieces:
        start, end = stretch_window(piece, FIRST_EVENT, events)
        real.append(piece_statistics(clip(piece, start, end)))
        worded.append(piece_statistics(clip(through_words(piece, tokens), start, end)))
    return real, worded


def through_spelled(piece: Piece, codec: Any) -> Piece:
    """The piece spelled as the spelled codec's ids and decoded again, on its own ticks and in
    its own key (what that representation keeps of it)."""
    return codec.decode(codec.encode(piece), codec.first_tick(piece), piece)


def spelled_statistics(pieces: Sequence[Piece], codec: Any, events: int = STRETCH_EVENTS
                       ) -> list[dict[str, float]]:
    """Statistics of each real piece's stretch after the spelled round trip (same ticks as
    :func:`real_statistics`)."""
    values = []
    for piece in pieces:
        start, end = stretch_window(piece, FIRST_EVENT, events)
        values.append(piece_statistics(clip(through_spelled(piece, codec), start, end)))
    return values


def real_rows(pieces: dict[str, Piece], tokens: TokenConfig | None, seed: int = QUALITY_SEED,
              events: int = STRETCH_EVENTS, spelled: Any = None
              ) -> tuple[list[dict[str, float]], dict[str, dict[str, Any]]]:
    """The real stretches' statistics and the rows on real music: Book II against Book I (the
    ceiling); the real fugues through the spelled codec ``spelled`` (when given) and through
    the words of ``tokens`` (when given), each against the real fugues."""
    names, values = list(pieces), list(pieces.values())
    real = [piece_statistics(stretch(p, FIRST_EVENT, events)) for p in values]
    book1 = [v for fugue, v in zip(names, real) if fugue.startswith("wtc1")]
    book2 = [v for fugue, v in zip(names, real) if fugue.startswith("wtc2")]
    rows = {"real_vs_real": compare_statistics(book2, book1, seed)}
    rows["real_vs_real"]["all_inside_leave_one_out"] = leave_one_out_inside(real)
    if spelled is not None:
        spelt = spelled_statistics(values, spelled, events)
        rows["through_spelled"] = compare_statistics(spelt, real, seed)
        rows["through_spelled"]["equals_real"] = spelt == real
    if tokens is not None:
        _, worded = real_statistics(values, tokens, events)
        rows["through_words"] = compare_statistics(worded, real, seed)
    return real, rows


# --------------------------------------------------------------------------- the bar's pulse


def bar_slot(piece: Piece) -> int:
    """Ticks of one slot of a bar profile: a sixteenth, or a 32nd in meters counted in sixteenths."""
    return max(1, min(piece.resolution // 4, piece.resolution * 4 // piece.time_signature[1] // 2))


def bar_profile(piece: Piece) -> np.ndarray:
    """Share of the struck notes that start at each slot of the bar (:func:`bar_slot`): where
    the voices come in together is where a listener hears the strong beats."""
    starts, _, _ = _arrays(piece)
    slot, bar = bar_slot(piece), piece.bar_ticks
    counts = np.bincount((starts % bar) // slot, minlength=-(-bar // slot)).astype(float)
    return counts / max(1.0, counts.sum())


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation (0 when either profile is flat)."""
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def meter_match(generated: Sequence[Piece], real: Sequence[Piece]) -> dict[str, Any]:
    """Does each generation keep its seed's pulse? Per time signature: the correlation of the
    generation's bar profile with its own fugue's real stretch, beside the same real profile
    moved by one slot (the pulse a sixteenth off). Medians, and how many generations follow
    the real profile better than the moved one."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for gen, ref in zip(generated, real):
        target = bar_profile(ref)
        pair = (_correlation(bar_profile(gen), target), _correlation(bar_profile(gen), np.roll(target, 1)))
        groups.setdefault("/".join(map(str, ref.time_signature)), []).append(pair)
    groups["all"] = [pair for name in list(groups) for pair in groups[name]]

    def summary(pairs: list[tuple[float, float]]) -> dict[str, Any]:
        return {"pieces": len(pairs), "match": round(float(np.median([m for m, _ in pairs])), 3),
                "moved": round(float(np.median([o for _, o in pairs])), 3),
                "better": int(sum(m > o for m, o in pairs))}

    return {name: summary(pairs) for name, pairs in groups.items()}


def leave_one_out_inside(values: Sequence[dict[str, float]]) -> int:
    """How many of the real pieces fall inside the band of all the others on every statistic:
    the most that "inside on every statistic" can ask of new music against a band of this size."""
    count = 0
    for i, piece in enumerate(values):
        band = bands([v for j, v in enumerate(values) if j != i])
        count += all(band[n][0] <= piece[n] <= band[n][1] for n in STATISTICS)
    return count


def generated_row(pieces: Sequence[Piece], real: Sequence[dict[str, float]],
                  stuck: Sequence[bool] | None = None, copied_runs: Sequence[int] | None = None,
                  seed: int = QUALITY_SEED) -> dict[str, Any]:
    """A generated row for any model: its pieces against the real stretches' statistics,
    with how many pieces were stuck in a loop and their longest copied runs when known."""
    values = [piece_statistics(p) for p in pieces]
    row = compare_statistics(values, real, seed)
    row["values"] = [{name: round(v[name], 4) for name in STATISTICS} for v in values]
    if stuck is not None:
        row["stuck"] = int(sum(bool(s) for s in stuck))
    if copied_runs:
        row["longest_copied_run_median"] = float(stats.median(copied_runs))
        row["longest_copied_run_max"] = int(max(copied_runs))
    return row


# --------------------------------------------------------------------------- generating


@dataclass
class Generations:
    """One generation per fugue of one model under one random seed: the new music as a
    listener hears it (cut after the seed, on the fugue's bar grid), whether each got stuck
    in a loop, its longest run copied from the corpus, and per-piece facts of the model."""

    fugues: list[str]
    pieces: list[Piece]
    stuck: list[bool]
    copied: list[int]
    seconds: float
    extra: list[dict[str, Any]] = field(default_factory=list)
    loop_recoveries: int = 0


def real_pieces(engine: Any) -> dict[str, Piece]:
    """The 48 fugues as the engine reads them: their own keys for a spelled engine, the
    version the words were made from for a word engine."""
    if getattr(engine, "kind", "words") == "spelled":
        return dict(engine.corpus_pieces())
    return {f: version for f, (_, version) in engine.corpus_words().items()}


def spelled_generations(engine: Any, config: Any, fugues: Sequence[str]) -> Generations:
    """One generation per fugue from its events 0–49, all rows in one batch, with the default
    draw of the spelled model (:func:`bachgen.spelled_pipeline.sample_settings`), no key
    treatment; each decoded in its seed's key on its bar grid
    (:func:`bachgen.spelled_pipeline.decode`, snap off) and cut after the seed."""
    from .config import RenderConfig
    from .guards import find_loops
    from .pipeline import SeedSpec
    from .spelled_pipeline import SpelledDraw, decode, event_ids, make_seed, sample_settings, watch
    from .spelled_sampling import sample_ids
    from .step import blas_single_thread

    codec = engine.codec
    seeds = [make_seed(SeedSpec(fugue=f, start_event=0), engine, np.random.default_rng(0), [])
             for f in fugues]
    index = engine.copy_index(config.copy_limit or 12)
    guard = watch(config, engine, seeds, index)
    started = time.perf_counter()
    with engine.lock, blas_single_thread():
        rows = sample_ids(engine.step, codec, [s.row for s in seeds], config.events,
                          sample_settings(config), np.random.default_rng(config.seed),
                          moved_by=[s.moved_by for s in seeds], watch=guard)
    seconds = time.perf_counter() - started
    render = RenderConfig(audio=False, score=False, include_seed=True, snap="off")
    pieces, stuck, copied, extra = [], [], [], []
    for seed, ids in zip(seeds, rows):
        tick = seed.row.start + int(codec.ticks[np.asarray(seed.row.ids)].sum())
        events = codec.events(ids, tick)
        loops = find_loops(event_ids(events), config.loop_max_period, config.loop_min_repeats,
                           config.loop_min_events)
        run = index.longest_run(events)
        piece, _, seed_end = decode(seed, SpelledDraw(list(ids), events, loops, run, 0), engine, render)
        pieces.append(new_music(piece, seed_end))
        stuck.append(loops > 0)
        copied.append(run)
        extra.append({"events": len(events), "tokens": len(ids), "moved_by": seed.moved_by,
                      "loops_taken_back": guard.loops_taken_back[len(extra)],
                      "copies_refused": guard.copies_refused[len(extra)]})
    return Generations(list(fugues), pieces, stuck, copied, seconds, extra, sum(guard.loops_taken_back))


def word_generations(engine: Any, config: Any, fugues: Sequence[str]) -> Generations:
    """One generation per fugue from its opening (``seq_len`` words) with the word model's
    sampler and guards, all in one batch, decoded on the fugue's ticks after the seed."""
    from . import sampling
    from .guards import find_loops
    from .pipeline import SeedSpec, _seed_from_fugue

    corpus = engine.corpus_words()
    seeds = [_seed_from_fugue(SeedSpec(fugue=f), engine, np.random.default_rng(0)) for f in fugues]
    index, forms = engine.copy_index(config.copy_limit or 12)
    started = time.perf_counter()
    with engine.lock:
        result = sampling.sample(engine.step, [s.ids for s in seeds], config,
                                 np.random.default_rng(config.seed), codec=engine.bundle.codec,
                                 copy_index=index if config.copy_limit else None, forms=forms,
                                 reseed=engine.reseed, context_len=engine.seq_len)
    seconds = time.perf_counter() - started
    codec = engine.bundle.codec
    pieces = [decode_generation(codec, s.words, ids, corpus[f][1]) for s, ids, f in zip(seeds, result.ids, fugues)]
    stuck = [bool(find_loops(ids, config.loop_max_period, config.loop_min_repeats, config.loop_min_events))
             for ids in result.ids]
    copied = [index.longest_run(codec.events(ids)) for ids in result.ids]
    extra = [{"events": len(ids), "loop_recoveries": result.loop_recoveries[b], "reseeds": result.reseeds[b]}
             for b, ids in enumerate(result.ids)]
    return Generations(list(fugues), pieces, stuck, copied, seconds, extra, int(sum(result.loop_recoveries)))


def generations(engine: Any, config: Any, fugues: Sequence[str]) -> Generations:
    """:func:`spelled_generations` or :func:`word_generations`, by the engine's kind."""
    if getattr(engine, "kind", "words") == "spelled":
        return spelled_generations(engine, config, fugues)
    return word_generations(engine, config, fugues)


def decode_generation(codec: WordCodec, seed_words: Sequence[str], new_ids: Sequence[int],
                      fugue: Piece) -> Piece:
    """The new music as a listener hears it after the seed: the seed's raw words and the new
    ids decoded on the fugue's own ticks (so bar lines stay where the seed put them), the
    seed then cut away."""
    first = min((n.start for n in fugue.notes), default=0)
    whole = codec.decode_after(seed_words, new_ids, first, fugue)
    seed_end = first + codec.words_ticks(seed_words)
    return clip(whole, seed_end, max(whole.end, seed_end))


def real_copy_runs(index: Any, corpus_words: Sequence[Sequence[Any]], length: int, offset: int = FIRST_EVENT
                   ) -> list[int]:
    """For each fugue, the longest run of a ``length``-event stretch (from ``offset``) found
    in the other fugues: what the copied runs of generations are measured against.
    ``corpus_words``: the fugues' words or events, in the index's order."""
    runs = []
    for i, words in enumerate(corpus_words):
        start = min(offset, max(0, len(words) - length))
        runs.append(index.longest_run(list(words[start:start + length]), exclude=[i]))
    return runs


def engine_copy_runs(engine: Any, config: Any) -> list[int]:
    """:func:`real_copy_runs` with the engine's own copy index (events with holds for a spelled
    engine, the words' events for a word engine)."""
    if getattr(engine, "kind", "words") == "spelled":
        index = engine.copy_index(config.copy_limit or 12)
        return real_copy_runs(index, [engine.fugue_events(f) for f in index.names], config.events)
    index, _ = engine.copy_index(config.copy_limit or 12)
    corpus = engine.corpus_words()
    return real_copy_runs(index, [corpus[f][0] for f in index.names], config.events)


# --------------------------------------------------------------------------- the report


def settings_of(engine: Any, config: Any) -> dict[str, Any]:
    """The sampling settings a model's row was drawn with, as plain JSON."""
    spelled = getattr(engine, "kind", "words") == "spelled"
    out = {"model": "spelled" if spelled else "words", "events": config.events,
           "temperature": config.temperature, "top_k": config.top_k, "top_p": config.top_p,
           "copy_limit": config.copy_limit}
    if spelled:
        out.update(key_treatment="off (no key guide, snap off)",
                   copy_guard=f"runs over {config.copy_limit} events taken back" if config.copy_limit else "off",
                   loop_guard="on (taken back)", compass=list(config.compass) if config.compass else None)
    else:
        out.update(key_guide=config.key_guide, copy_guard=f"runs over {config.copy_limit} events blocked",
                   loop_guard="on (recoveries)")
    return out


def row_label(settings: dict[str, Any]) -> str:
    """A short name of a generated row: the model and the settings it was drawn with (top-k
    only when on)."""
    p = settings["top_p"] if settings["top_p"] is not None else "off"
    k = f" k={settings['top_k']}" if settings["top_k"] else ""
    compass = settings.get("compass")
    c = f" compass {compass[0]}-{compass[1]}" if compass else ""
    return f"{settings['model']} T={settings['temperature']:g} p={p}{k}{c}"


def spread(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample sd, min and max of a few figures (sd 0 for one)."""
    return {"mean": float(stats.mean(values)), "sd": float(stats.stdev(values)) if len(values) > 1 else 0.0,
            "min": float(min(values)), "max": float(max(values))}


def seed_summary(seed: int, row: dict[str, Any], made: Generations) -> dict[str, Any]:
    """One sampling seed's figures: pieces inside every band, classifier accuracy, loops, copies."""
    return {"seed": seed, "pieces": row["pieces"], "all_inside": row["all_inside"],
            "accuracy": row["classifier"]["accuracy"], "accuracy_sd": row["classifier"]["sd"],
            "stuck": row.get("stuck"), "longest_copied_run_median": row.get("longest_copied_run_median"),
            "longest_copied_run_max": row.get("longest_copied_run_max"),
            "sample_seconds": round(made.seconds, 2)}


def model_row(engine: Any, config: Any, fugues: Sequence[str], real: Sequence[dict[str, float]],
              sampling_seeds: Sequence[int], seed: int, say: Callable[[str], None],
              real_stretches: dict[str, Piece] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's generated row under each sampling seed: the full row of the first (the
    headline) with its per-seed figures, their spread and (given the real stretches by
    fugue) the meter check of :func:`meter_match`; and the headline's per-piece facts."""
    runs = []
    for s in sampling_seeds:
        say(f"{getattr(engine, 'kind', 'words')}: generating {len(fugues)} pieces "
            f"of {config.events} events, sampling seed {s}")
        made = generations(engine, replace(config, seed=s), fugues)
        runs.append((s, made, generated_row(made.pieces, real, made.stuck, made.copied, seed)))
    first_seed, made, row = runs[0]
    row["settings"] = {**settings_of(engine, config), "seed": first_seed}
    row["label"] = row_label(row["settings"])
    row["sampling_seeds"] = [seed_summary(s, r, m) for s, m, r in runs]
    row["spread"] = {"all_inside": spread([r["all_inside"] for _, _, r in runs]),
                     "accuracy": spread([r["classifier"]["accuracy"] for _, _, r in runs])}
    row["loop_recoveries"] = made.loop_recoveries
    if real_stretches:
        row["meter"] = meter_match(made.pieces, [real_stretches[f] for f in made.fugues])
    details = [{"fugue": f, "stuck": st, "longest_copied_run": c, "inside_all": row["inside_each"][b],
                **made.extra[b], **row["values"][b]}
               for b, (f, st, c) in enumerate(zip(made.fugues, made.stuck, made.copied))]
    return row, {"pieces": details, "sample_seconds": round(made.seconds, 2)}


def word_tokens_of(folder: str | Path) -> TokenConfig | None:
    """The token settings of the word bundle in ``folder`` (``None`` when there is none)."""
    from .config import from_dict

    try:
        return from_dict(TokenConfig, json.loads((Path(folder) / "config.json").read_text())["tokens"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def generated_report(engine: Any, events: int = STRETCH_EVENTS, seed: int = QUALITY_SEED,
                     sampling_config: Any = None, progress: Callable[[str], None] | None = None,
                     sampling_seeds: Sequence[int] | None = None, fugues: int | None = None,
                     compare_engine: Any = None, word_tokens: TokenConfig | None = None
                     ) -> dict[str, Any]:
    """Generate from each fugue and measure the rows (module docstring).

    ``engine``: the model measured (spelled or words); ``compare_engine``: a second model
    measured beside it under the same seeds and settings; ``sampling_seeds``: the random
    seeds of the generations (the first is the headline; default ``sampling_config.seed``,
    else ``seed``); ``seed`` seeds the classifier; ``fugues``: generate from the first
    ``fugues`` fugues only (the real rows always use all 48); ``word_tokens``: the token
    settings of the words the "through the words" row writes (a word engine's own by default).
    """
    from .config import SamplingConfig

    say = progress or (lambda message: None)
    config = sampling_config or SamplingConfig(events=events, seed=seed)
    seeds = list(sampling_seeds or [config.seed if config.seed is not None else seed])
    started = time.perf_counter()
    spelled = getattr(engine, "kind", "words") == "spelled"
    if not spelled:
        word_tokens = engine.tokens
    elif word_tokens is None and compare_engine is not None and getattr(compare_engine, "kind", "words") != "spelled":
        word_tokens = compare_engine.tokens
    pieces = real_pieces(engine)
    say("real stretches, as written and through the representations")
    real, rows = real_rows(pieces, word_tokens, seed, config.events, engine.codec if spelled else None)
    chosen = list(pieces)[:fugues] if fugues else list(pieces)
    generated: dict[str, Any] = {}
    for key, model in (("generated", engine), ("generated_compare", compare_engine)):
        if model is not None:
            rows[key], generated[key] = model_row(model, config, chosen, real, seeds, seed, say,
                                                  {f: stretch(pieces[f], FIRST_EVENT, config.events) for f in chosen})
    say("copied runs of the real fugues against one another")
    real_runs = engine_copy_runs(engine, config)
    for b, f in enumerate(chosen):
        generated["generated"]["pieces"][b]["real_longest_copied_run"] = real_runs[list(pieces).index(f)]
    generated["real_vs_real_copied_run_median"] = float(stats.median(real_runs))
    generated["real_vs_real_copied_run_max"] = int(max(real_runs))
    return {
        "settings": {"events": config.events, "seed_events": FIRST_EVENT, "sampling_seeds": seeds,
                     "fugues": len(chosen), "stretch": [FIRST_EVENT, FIRST_EVENT + config.events - 1],
                     "classifier": f"logistic regression, {FOLDS}-fold x {REPEATS}, seed {seed}"},
        "band": {name: list(b) for name, b in bands(real).items()},
        "rows": rows,
        "generated": generated,
        "seconds": {"sample": round(sum(s["sample_seconds"] for key in ("generated", "generated_compare")
                                        for s in rows.get(key, {}).get("sampling_seeds", [])), 2),
                    "total": round(time.perf_counter() - started, 2)},
    }


# --------------------------------------------------------------------------- output

ROWS = {"real_vs_real": "real v real", "through_spelled": "real via spelled",
        "through_words": "real via words", "generated": "generated", "generated_compare": "compared"}
ROW_NOTES = {
    "real_vs_real": "Book II's 24 stretches against Book I's 24 (band of Book I): the ceiling",
    "through_spelled": "the 48 real stretches spelled as the model's events and decoded",
    "through_words": "the 48 real stretches written as the old word model's words and decoded",
    "generated": "one generation per fugue after its first 50 events",
    "generated_compare": "the second model, same seeds and settings",
}


def _number(x: float) -> str:
    """Three decimals for shares and small means, one for semitones."""
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def _label(key: str, row: dict[str, Any]) -> str:
    """A row's column title: the settings of a generated row, else its name."""
    return row.get("label", ROWS.get(key, key))


def format_report(report: dict[str, Any]) -> str:
    """The rows side by side: per statistic the band of the 48 real stretches and, per row,
    the median, how many pieces fall inside the band and the overlapping area; then each
    sampling seed's figures."""
    rows = report["rows"]
    names = [n for n in ROWS if n in rows]
    band = report.get("band") or rows[names[-1]]["statistics"]
    head = f"{'statistic':<40} {'real band':^15}" + "".join(f" | {_label(n, rows[n])[:25]:^25}" for n in names)
    sub = f"{'':<40} {'(48 stretches)':^15}" + " |  median  inside      ovl  " * len(names)
    lines = [head, sub]
    for name in STATISTICS:
        lo, hi = band[name] if isinstance(band[name], list) else band[name]["band"]
        cells = ""
        for n in names:
            s = rows[n]["statistics"][name]
            cells += f" | {_number(s['median']):>7} {s['inside']:>5}/{rows[n]['pieces']:<3} {s['overlap']:>5.2f}  "
        lines.append(f"{LABELS[name]:<40} {_number(lo) + '..' + _number(hi):^15}{cells}")
    lines.append(f"{'inside the band on every statistic':<56}" + "".join(
        f" | {str(rows[n]['all_inside']) + '/' + str(rows[n]['pieces']):^25}" for n in names))
    lines.append(f"{'classifier accuracy (0.5 = cannot tell)':<56}" + "".join(
        f" | {rows[n]['classifier']['accuracy']:>11.2f} +- {rows[n]['classifier']['sd']:<9.2f}" for n in names))
    lines += [f"  {_label(n, rows[n])}: {ROW_NOTES[n]}" for n in names]
    if "all_inside_leave_one_out" in rows.get("real_vs_real", {}):
        count = rows["real_vs_real"]["all_inside_leave_one_out"]
        total = rows["real_vs_real"]["pieces"] + rows["real_vs_real"]["real_pieces"]
        lines.append(f"  each real stretch against the band of the other {total - 1}: "
                     f"{count} of {total} inside on every statistic")
    if "through_spelled" in rows:
        same = rows["through_spelled"].get("equals_real")
        lines.append("  the spelled round trip gives " + ("exactly the real values on every statistic"
                                                           if same else "values that differ from the real ones"))
    lines += _generated_lines(report)
    return "\n".join(lines)


def _generated_lines(report: dict[str, Any]) -> list[str]:
    """Loops, copied runs, each sampling seed's figures and timing of the generated rows."""
    extra = report.get("generated") or {}
    lines = []
    for key in ("generated", "generated_compare"):
        row = report["rows"].get(key)
        if not row:
            continue
        lines.append(f"{row.get('label', key)}:")
        if "settings" in row and row["settings"].get("model") == "words":
            lines.append(f"  key guide {row['settings'].get('key_guide')}, "
                         f"loop recoveries {row.get('loop_recoveries', 0)}")
        for s in row.get("sampling_seeds", []):
            lines.append(f"  seed {s['seed']:>6}: inside on every statistic {s['all_inside']:>2}/{s['pieces']}, "
                         f"classifier {s['accuracy']:.2f} +- {s['accuracy_sd']:.2f}, stuck {s['stuck']}, "
                         f"longest copied run median {s['longest_copied_run_median']:g} max "
                         f"{s['longest_copied_run_max']}, sampling {s['sample_seconds']} s")
        if "meter" in row:
            lines.append("  the bar's pulse (notes struck per slot of the bar, against the fugue's own; "
                         "correlation, moved a slot):")
            lines += [f"    {name:>6}: {m['pieces']:>2} pieces, match {m['match']:.2f} vs moved {m['moved']:.2f}, "
                      f"closer to the real than to the moved in {m['better']}" for name, m in row["meter"].items()]
        if len(row.get("sampling_seeds", [])) > 1:
            a, c = row["spread"]["all_inside"], row["spread"]["accuracy"]
            lines.append(f"  over {len(row['sampling_seeds'])} seeds: inside {a['mean']:.1f} +- {a['sd']:.1f} "
                         f"({a['min']:g}..{a['max']:g}), classifier {c['mean']:.2f} +- {c['sd']:.2f} "
                         f"({c['min']:.2f}..{c['max']:.2f})")
    if "real_vs_real_copied_run_median" in extra:
        lines.append(f"real fugues against one another, longest copied run: median "
                     f"{extra['real_vs_real_copied_run_median']:g}, max {extra['real_vs_real_copied_run_max']}")
    if "seconds" in report:
        lines.append(f"time: sampling {report['seconds']['sample']} s, total {report['seconds']['total']} s")
    return lines


def _seed_list(text: str) -> list[int]:
    """``"1722,7,11"`` as a list of seeds."""
    try:
        seeds = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sampling seeds must be integers separated by commas, not {text!r}")
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError("give at least one non-negative sampling seed")
    return seeds


def sampling_config_of(args: argparse.Namespace) -> Any:
    """The default :class:`~bachgen.config.SamplingConfig` with the command line's overrides."""
    from .config import SamplingConfig

    overrides = {name: getattr(args, name) for name in ("temperature", "top_k", "top_p")
                 if getattr(args, name, None) is not None}
    return SamplingConfig(events=args.events, seed=args.quality_seed, **overrides)


def cmd_generated(args: argparse.Namespace) -> int:
    """``bachgen evaluate --generated [--json]``."""
    import sys

    from .bundle import words_bundle_dir
    from .config import CorpusConfig
    from .pipeline import load_engine

    corpus = CorpusConfig.from_env(corpus_dir=getattr(args, "corpus_dir", None))
    model_dir = getattr(args, "bundle", None) or getattr(args, "model", None)
    engine = load_engine(model_dir, corpus)
    compare_engine = load_engine(args.compare_model, corpus) if args.compare_model else None
    words = word_tokens_of(words_bundle_dir()) if getattr(engine, "kind", "words") == "spelled" else None

    def say(message: str) -> None:
        if not args.json:
            print(f"... {message}", file=sys.stderr, flush=True)

    report = generated_report(engine, events=args.events, seed=args.quality_seed,
                              sampling_config=sampling_config_of(args), progress=say,
                              sampling_seeds=args.sampling_seeds, fugues=args.fugues,
                              compare_engine=compare_engine, word_tokens=words)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def extend_evaluate_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``--generated`` (and its options) to ``bachgen evaluate``."""
    from .evaluate import add_evaluate_mode

    add_evaluate_mode(parser, "generated", cmd_generated,
                      "measure generated music against the real fugues instead")
    parser.add_argument("--events", type=int, default=STRETCH_EVENTS, help="with --generated: events per piece")
    parser.add_argument("--quality-seed", type=int, default=QUALITY_SEED,
                        help="with --generated: random seed of the classifier (and of the generations "
                             "unless --sampling-seeds)")
    parser.add_argument("--sampling-seeds", type=_seed_list, default=None, metavar="S1,S2,...",
                        help="with --generated: random seeds of the generations, each measured; "
                             "the first is the headline")
    parser.add_argument("--compare-model", default=None, metavar="FOLDER",
                        help="with --generated: a second bundle measured beside the first "
                             "(e.g. assets/words)")
    parser.add_argument("--temperature", type=float, default=None, help="with --generated: sampling temperature")
    parser.add_argument("--top-p", type=float, default=None, help="with --generated: nucleus sampling p")
    parser.add_argument("--top-k", type=int, default=None, help="with --generated: keep the k likeliest")
    parser.add_argument("--fugues", type=int, default=None,
                        help="with --generated: generate from the first N fugues only (quick checks)")

