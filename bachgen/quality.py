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
  12 over 8 or 16) where it is the **dotted** unit (a dotted quarter in 6/8);
* voice leading — ``steps``: share of struck notes within 2 semitones of a pitch sounding
  just before them; ``leaps``: share more than an octave away from every such pitch.
  "Just before" is the instant before the onset; after a rest, the last sounding instant.
  Notes with nothing sounding before them (the first onset) are not counted;
* pitch — ``pitch_class_entropy`` (bits, struck notes), ``scale_consistency`` (share of
  struck notes in the best-fitting major scale), ``pitch_range`` (semitones);
* ``distinct_8grams`` — distinct runs of 8 events over all runs of 8, events being the
  chordified piece (:func:`bachgen.tokens.chordify`) with struck and held pitches and length.

Generated pieces carry two more figures from the sampler's ids: ``stuck`` (a loop left in
the output) and the longest run copied from the corpus, in any transposition.

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

Three rows: (1) real against real — Book II's 24 stretches against Book I's 24 (band, overlap
and classifier all between the two books), the ceiling; (2) the real fugues through the shipped
words and decoded — what the representation alone costs; (3) a model's generations, one per
fugue, 400 events after the seed. Beside row 1 the report counts how many real stretches fall
inside the band of the other 47 on every statistic: what "inside on every statistic" can ask.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics as stats
import time
from collections import Counter
from dataclasses import replace
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
    """Note lengths in quarters and where onsets fall: on the sixteenth grid, on the beats."""
    starts, ends, _ = _arrays(piece)
    if not len(starts):
        return {"note_length": 0.0, "long_notes": 0.0, "on_sixteenths": 0.0, "on_beats": 0.0}
    quarters = (ends - starts) / piece.resolution
    onsets = np.unique(starts)
    sixteenth = max(1, piece.resolution // 4)
    return {
        "note_length": float(quarters.mean()),
        "long_notes": float((quarters >= 1).mean()),
        "on_sixteenths": float((onsets % sixteenth == 0).mean()),
        "on_beats": float((onsets % beat_ticks(piece) == 0).mean()),
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
    """The band of every statistic over the ``events``-event stretches of the 48 real fugues,
    read from the corpus ``config`` names (a second or two: compute once and keep)."""
    from . import corpus

    return real_bands(corpus.load_corpus(config), events)


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


# --------------------------------------------------------------------------- the three rows


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


def real_rows(pieces: dict[str, Piece], tokens: TokenConfig, seed: int = QUALITY_SEED,
              events: int = STRETCH_EVENTS) -> tuple[list[dict[str, float]], dict[str, dict[str, Any]]]:
    """The real stretches' statistics and rows 1 and 2: Book II against Book I (the ceiling)
    and the real fugues through the words against the real fugues."""
    real, worded = real_statistics(list(pieces.values()), tokens, events)
    book1 = [v for fugue, v in zip(pieces, real) if fugue.startswith("wtc1")]
    book2 = [v for fugue, v in zip(pieces, real) if fugue.startswith("wtc2")]
    rows = {"real_vs_real": compare_statistics(book2, book1, seed),
            "through_words": compare_statistics(worded, real, seed)}
    rows["real_vs_real"]["all_inside_leave_one_out"] = leave_one_out_inside(real)
    return real, rows


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
    """Row 3 for any model: its generated pieces against the real stretches' statistics,
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


def _generate(engine: Any, config: Any, say: Callable[[str], None]) -> tuple[list[Any], Any]:
    """One generation per fugue from its opening (``seq_len`` events), all in one batch."""
    from . import sampling
    from .pipeline import SeedSpec, _seed_from_fugue

    say("seeds and corpus index")
    seeds = [_seed_from_fugue(SeedSpec(fugue=f), engine, np.random.default_rng(0)) for f in engine.corpus_words()]
    index, forms = engine.copy_index(config.copy_limit or 12)
    say(f"generating {len(seeds)} pieces of {config.events} events")
    with engine.lock:
        result = sampling.sample(engine.step, [s.ids for s in seeds], config,
                                 np.random.default_rng(config.seed), codec=engine.bundle.codec,
                                 copy_index=index if config.copy_limit else None, forms=forms,
                                 reseed=engine.reseed, context_len=engine.seq_len)
    return seeds, result


def decode_generation(codec: WordCodec, seed_words: Sequence[str], new_ids: Sequence[int],
                      fugue: Piece) -> Piece:
    """The new music as a listener hears it after the seed: the seed's raw words and the new
    ids decoded on the fugue's own ticks (so bar lines stay where the seed put them), the
    seed then cut away."""
    first = min((n.start for n in fugue.notes), default=0)
    whole = codec.decode_after(seed_words, new_ids, first, fugue)
    seed_end = first + codec.words_ticks(seed_words)
    return clip(whole, seed_end, max(whole.end, seed_end))


def generated_report(engine: Any, events: int = STRETCH_EVENTS, seed: int = QUALITY_SEED,
                     sampling_config: Any = None, progress: Callable[[str], None] | None = None
                     ) -> dict[str, Any]:
    """Generate from each of the 48 fugues and measure the three rows (module docstring)."""
    from .config import SamplingConfig
    from .guards import find_loops

    say = progress or (lambda message: None)
    config = sampling_config or SamplingConfig(events=events, seed=seed)
    started = time.perf_counter()
    corpus = engine.corpus_words()
    say("real stretches, as written and through the words")
    real, rows = real_rows({f: version for f, (_, version) in corpus.items()}, engine.tokens, seed,
                           config.events)
    t = time.perf_counter()
    seeds, result = _generate(engine, config, say)
    sample_s = time.perf_counter() - t
    say("measuring the generations")
    index, _ = engine.copy_index(config.copy_limit or 12)
    fugues = list(corpus)
    codec = engine.bundle.codec
    pieces = [decode_generation(codec, s.words, ids, corpus[f][1])
              for s, ids, f in zip(seeds, result.ids, fugues)]
    stuck = [bool(find_loops(ids, config.loop_max_period, config.loop_min_repeats, config.loop_min_events))
             for ids in result.ids]
    copied = [index.longest_run(codec.events(ids)) for ids in result.ids]
    rows["generated"] = generated_row(pieces, real, stuck, copied, seed)
    real_runs = real_copy_runs(index, [corpus[f][0] for f in fugues], config.events)
    details = [{"fugue": f, "events": len(ids), "stuck": s, "loop_recoveries": result.loop_recoveries[b],
                "reseeds": result.reseeds[b], "longest_copied_run": c, "real_longest_copied_run": r,
                "inside_all": rows["generated"]["inside_each"][b], **rows["generated"]["values"][b]}
               for b, (f, ids, s, c, r) in enumerate(zip(fugues, result.ids, stuck, copied, real_runs))]
    return {
        "settings": {"events": config.events, "temperature": config.temperature, "top_k": config.top_k,
                     "top_p": config.top_p, "seed": config.seed, "copy_limit": config.copy_limit,
                     "stretch": [FIRST_EVENT, FIRST_EVENT + config.events - 1],
                     "classifier": f"logistic regression, {FOLDS}-fold x {REPEATS}, seed {seed}"},
        "rows": rows,
        "generated": {"pieces": details, "loop_recoveries": int(sum(result.loop_recoveries)),
                      "real_vs_real_copied_run_median": float(stats.median(real_runs)),
                      "real_vs_real_copied_run_max": int(max(real_runs))},
        "seconds": {"sample": round(sample_s, 2), "total": round(time.perf_counter() - started, 2)},
    }


def real_copy_runs(index: Any, corpus_words: Sequence[Sequence[str]], length: int, offset: int = FIRST_EVENT
                   ) -> list[int]:
    """For each fugue, the longest run of a ``length``-word stretch (from ``offset``) found
    in the other fugues: what the copied runs of generations are measured against."""
    runs = []
    for i, words in enumerate(corpus_words):
        start = min(offset, max(0, len(words) - length))
        runs.append(index.longest_run(list(words[start:start + length]), exclude=[i]))
    return runs


# --------------------------------------------------------------------------- output

ROWS = {"real_vs_real": "real v real", "through_words": "real via words", "generated": "generated"}
ROW_NOTES = {
    "real_vs_real": "Book II's 24 stretches against Book I's 24 (band of Book I): the ceiling",
    "through_words": "the 48 real stretches written as the model's words and decoded",
    "generated": "one generation per fugue after its opening",
}


def _number(x: float) -> str:
    """Three decimals for shares and small means, one for semitones."""
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def format_report(report: dict[str, Any]) -> str:
    """The three rows side by side: per statistic the band of the 48 real stretches and, per
    row, the median, how many pieces fall inside the band and the overlapping area."""
    rows = report["rows"]
    names = [n for n in ROWS if n in rows]
    band = rows["through_words"]["statistics"] if "through_words" in rows else rows[names[-1]]["statistics"]
    head = f"{'statistic':<40} {'real band':^15}" + "".join(f" | {ROWS[n]:^21}" for n in names)
    sub = f"{'':<40} {'(48 stretches)':^15}" + " | median  inside  ovl" * len(names)
    lines = [head, sub]
    for name in STATISTICS:
        lo, hi = band[name]["band"]
        cells = ""
        for n in names:
            s = rows[n]["statistics"][name]
            cells += f" | {_number(s['median']):>6} {s['inside']:>4}/{rows[n]['pieces']:<3} {s['overlap']:.2f}"
        lines.append(f"{LABELS[name]:<40} {_number(lo) + '..' + _number(hi):^15}{cells}")
    lines.append(f"{'inside the band on every statistic':<56}" + "".join(
        f" | {str(rows[n]['all_inside']) + '/' + str(rows[n]['pieces']):^20}" for n in names))
    lines.append(f"{'classifier accuracy (0.5 = cannot tell)':<56}" + "".join(
        f" | {rows[n]['classifier']['accuracy']:>9.2f} +- {rows[n]['classifier']['sd']:<6.2f}" for n in names))
    lines += [f"  {ROWS[n]}: {ROW_NOTES[n]}" for n in names]
    if "all_inside_leave_one_out" in rows.get("real_vs_real", {}):
        count = rows["real_vs_real"]["all_inside_leave_one_out"]
        total = rows["real_vs_real"]["pieces"] + rows["real_vs_real"]["real_pieces"]
        lines.append(f"  each real stretch against the band of the other {total - 1}: "
                     f"{count} of {total} inside on every statistic")
    lines += _generated_lines(report)
    return "\n".join(lines)


def _generated_lines(report: dict[str, Any]) -> list[str]:
    """Loops, copied runs and timing of the generations."""
    row, extra = report["rows"].get("generated"), report.get("generated")
    if not row or not extra:
        return []
    return [
        f"stuck in a loop: {row.get('stuck', 0)} of {row['pieces']} (loop recoveries {extra['loop_recoveries']})",
        f"longest copied run: median {row.get('longest_copied_run_median', 0):g}, max "
        f"{row.get('longest_copied_run_max', 0)}; real fugues against one another: median "
        f"{extra['real_vs_real_copied_run_median']:g}, max {extra['real_vs_real_copied_run_max']}",
        f"time: sampling {report['seconds']['sample']} s, total {report['seconds']['total']} s",
    ]


def cmd_generated(args: argparse.Namespace) -> int:
    """``bachgen evaluate --generated [--json]``."""
    import sys

    from .bundle import require_words
    from .config import CorpusConfig
    from .pipeline import load_engine

    model_dir = getattr(args, "bundle", None) or getattr(args, "model", None)
    require_words(model_dir, "`bachgen evaluate --generated`")
    engine = load_engine(model_dir, CorpusConfig.from_env(corpus_dir=getattr(args, "corpus_dir", None)))

    def say(message: str) -> None:
        if not args.json:
            print(f"... {message}", file=sys.stderr, flush=True)

    report = generated_report(engine, events=args.events, seed=args.quality_seed, progress=say)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def extend_evaluate_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``--generated`` (and its options) to ``bachgen evaluate``."""
    previous = parser.get_default("handler")
    parser.add_argument("--generated", action="store_true",
                        help="measure generated music against the real fugues instead")
    parser.add_argument("--events", type=int, default=STRETCH_EVENTS, help="with --generated: events per piece")
    parser.add_argument("--quality-seed", type=int, default=QUALITY_SEED,
                        help="with --generated: random seed of the 48 generations and the classifier")

    def handler(args: argparse.Namespace) -> int:
        if args.generated:
            return cmd_generated(args)
        return previous(args)

    parser.set_defaults(handler=handler)
