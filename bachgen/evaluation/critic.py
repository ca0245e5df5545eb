"""A critic that hears the lines and the harmony: a nonlinear two-sample test past the texture.

The yardstick's classifier (:mod:`.comparison`) reads fifteen texture statistics, means over a
whole stretch; music can match every one of them and still move its bass, or stack its chords,
unlike Bach. The critic reads **histograms** of what a listener follows from onset to onset,
each a share of its own family (so every piece, long or short, gives comparable numbers):

* ``top`` / ``bass`` — the melodic intervals of the top line and the bass line: at every event
  (:func:`bachgen.reduction.chordify`) where the highest (lowest) sounding pitch is *struck*, its
  distance in semitones from the highest (lowest) pitch of the last event that sounded,
  −12..+12 one bin each, wider leaps pooled as ``<-12`` / ``>12``;
* ``gap`` — the inter-onset intervals (each event's length, rests included) in quarter notes:
  the lengths the fugues use, one bin each, the rest pooled as ``other``;
* ``sounding`` — how many pitches sound at each event (0 a rest, 6 or more pooled);
* ``above`` — the interval class of every other sounding pitch above the lowest, mod 12
  (0 an octave or unison, 1 a minor second or ninth, 11 a major seventh).

A random forest (:data:`TREES` trees, scikit-learn, one thread) tells the two sets apart by
stratified 5-fold cross-validation repeated 10 times with a fixed seed, like the logistic
regression (0.5: it cannot tell). Which bins tell is read from a forest fitted on all the
pieces (impurity importance), each beside the two sets' pooled rates (counts over counts of
the family, over all pieces). :data:`WATCHED` are the tells named in issue 21, reported
always. Deterministic given the seed.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError
from ..events import Event, Piece
from ..reduction import chordify
from .comparison import FOLDS, QUALITY_SEED, REPEATS

#: Trees of the forest.
TREES = 300
#: How many ranked tells a comparison lists.
TOP_TELLS = 10
#: Event lengths (quarter notes) with a bin of their own; others pool as ``other``.
GAPS = tuple(Fraction(x) for x in ("1/8", "1/6", "1/4", "1/3", "3/8", "1/2", "3/4", "1", "3/2", "2", "3", "4"))
MAX_SOUNDING = 6
LEAP = 12

Counts = dict[str, Counter]


def _interval_bins() -> tuple[str, ...]:
    """``<-12``, −12..+12, ``>12``: the bins of a melodic interval."""
    return (f"<-{LEAP}", *(f"{d:+d}" if d else "0" for d in range(-LEAP, LEAP + 1)), f">{LEAP}")


#: Every family and its bins, in the feature matrix's column order.
BINS: dict[str, tuple[str, ...]] = {
    "top": _interval_bins(),
    "bass": _interval_bins(),
    "gap": (*(str(g) for g in GAPS), "other"),
    "sounding": (*(str(n) for n in range(MAX_SOUNDING)), f"{MAX_SOUNDING}+"),
    "above": tuple(str(ic) for ic in range(12)),
}
FEATURES = tuple(f"{family} {b}" for family, bins in BINS.items() for b in bins)

#: The tells the issue names: (name, family, bins pooled).
WATCHED = (
    ("bass octave leaps", "bass", (f"-{LEAP}", f"+{LEAP}")),
    ("tritone steps in the bass", "bass", ("-6", "+6")),
    ("minor 2nds / 9ths above the bass", "above", ("1",)),
    ("major 7ths above the bass", "above", ("11",)),
    ("falling fourths in the top line", "top", ("-5",)),
)


# --------------------------------------------------------------------------- one piece


def interval_bin(semitones: int) -> str:
    """The bin of a melodic interval (see the module docstring)."""
    if semitones < -LEAP:
        return f"<-{LEAP}"
    if semitones > LEAP:
        return f">{LEAP}"
    return f"{semitones:+d}" if semitones else "0"


def gap_bin(ticks: int, resolution: int) -> str:
    """The bin of an event's length in ticks at ``resolution`` ticks a quarter."""
    quarters = Fraction(ticks, resolution)
    return str(quarters) if quarters in GAPS else "other"


def sounding_bin(pitches: int) -> str:
    """The bin of how many pitches sound at an event."""
    return f"{MAX_SOUNDING}+" if pitches >= MAX_SOUNDING else str(pitches)


def _line_moves(events: Sequence[Event], pick: Any) -> Counter:
    """Intervals of the line ``pick`` chooses (``min`` the bass, ``max`` the top) where it is struck."""
    moves: Counter = Counter()
    last = None
    for e in events:
        sounding = e.struck + e.held
        if not sounding:
            continue
        here = pick(sounding)
        if last is not None and here in e.struck:
            moves[interval_bin(here - last)] += 1
        last = here
    return moves


def piece_counts(piece: Piece) -> Counts:
    """Counts of every family's bins in one piece (the module docstring says what is counted)."""
    events = chordify(piece)
    counts: Counts = {"top": _line_moves(events, max), "bass": _line_moves(events, min),
                      "gap": Counter(), "sounding": Counter(), "above": Counter()}
    for e in events:
        sounding = sorted(e.struck + e.held)
        counts["gap"][gap_bin(e.duration, piece.resolution)] += 1
        counts["sounding"][sounding_bin(len(sounding))] += 1
        for pitch in sounding[1:]:
            counts["above"][str((pitch - sounding[0]) % 12)] += 1
    return counts


def feature_vector(counts: Counts) -> np.ndarray:
    """One piece's counts as shares of their family, in :data:`FEATURES` order (0 for an empty family)."""
    values = []
    for family, bins in BINS.items():
        total = sum(counts[family].values())
        values += [counts[family][b] / total if total else 0.0 for b in bins]
    return np.array(values, dtype=float)


def pooled_rate(counts: Sequence[Counts], family: str, bins: Sequence[str]) -> float:
    """Share of ``bins`` among all counts of ``family`` over a set of pieces."""
    total = sum(sum(c[family].values()) for c in counts)
    return sum(c[family][b] for c in counts for b in bins) / total if total else 0.0


# --------------------------------------------------------------------------- two sets


def forest(seed: int, trees: int = TREES) -> Any:
    """The critic's random forest (one thread, seeded)."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1)


def critic_accuracy(a: np.ndarray, b: np.ndarray, seed: int = QUALITY_SEED, trees: int = TREES) -> dict[str, float]:
    """Cross-validated accuracy of the forest telling the rows of ``a`` from those of ``b``."""
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    folds = min(FOLDS, len(a), len(b))
    if folds < 2:
        raise ConfigError("The critic needs at least 2 pieces on each side.")
    features = np.vstack([a, b])
    labels = np.array([1] * len(a) + [0] * len(b))
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=REPEATS, random_state=seed)
    with threadpool_limits(1):
        scores = cross_val_score(forest(seed, trees), features, labels, cv=cv, scoring="accuracy")
    return {"accuracy": float(scores.mean()), "sd": float(scores.std()), "folds": folds, "repeats": REPEATS}


def importances(a: np.ndarray, b: np.ndarray, seed: int = QUALITY_SEED, trees: int = TREES) -> np.ndarray:
    """Impurity importance of every feature in a forest fitted on both sets at once."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        model = forest(seed, trees).fit(np.vstack([a, b]), np.array([1] * len(a) + [0] * len(b)))
    return np.asarray(model.feature_importances_)


def _ratio(mine: float, theirs: float) -> float | None:
    """``mine / theirs``, rounded (``None`` when the reference never does it)."""
    return round(mine / theirs, 2) if theirs else None


def ranked_tells(pieces: Sequence[Counts], real: Sequence[Counts], weights: np.ndarray,
                 top: int = TOP_TELLS) -> list[dict[str, Any]]:
    """The ``top`` features by importance, each with the reference's pooled rate and ours."""
    order = np.argsort(-weights, kind="stable")[:top]
    tells = []
    for i in order:
        family, b = FEATURES[i].split(" ", 1)
        mine, theirs = pooled_rate(pieces, family, [b]), pooled_rate(real, family, [b])
        tells.append({"feature": FEATURES[i], "importance": round(float(weights[i]), 4),
                      "real_rate": round(theirs, 4), "rate": round(mine, 4), "ratio": _ratio(mine, theirs)})
    return tells


def watched_tells(pieces: Sequence[Counts], real: Sequence[Counts]) -> list[dict[str, Any]]:
    """The rates of :data:`WATCHED`, ours beside the reference's, and whether ours is within 30 %."""
    out = []
    for name, family, bins in WATCHED:
        mine, theirs = pooled_rate(pieces, family, bins), pooled_rate(real, family, bins)
        ratio = _ratio(mine, theirs)
        out.append({"tell": name, "real_rate": round(theirs, 4), "rate": round(mine, 4), "ratio": ratio,
                    "within_30_percent": ratio is not None and abs(ratio - 1) <= 0.3})
    return out


def critic_compare(pieces: Sequence[Counts], real: Sequence[Counts], seed: int = QUALITY_SEED,
                   trees: int = TREES) -> dict[str, Any]:
    """The critic's verdict on ``pieces`` against ``real`` (both as :func:`piece_counts`):
    cross-validated accuracy, the ranked tells and the watched ones (``trees``: the forest's size)."""
    a = np.array([feature_vector(c) for c in pieces])
    b = np.array([feature_vector(c) for c in real])
    return {"classifier": critic_accuracy(a, b, seed, trees),
            "tells": ranked_tells(pieces, real, importances(a, b, seed, trees)),
            "watched": watched_tells(pieces, real)}


def describe() -> str:
    """One line saying what the critic is, for the report's settings."""
    return (f"random forest ({TREES} trees) on {len(FEATURES)} histogram bins of the top and bass lines' "
            f"intervals, event lengths, pitches sounding and intervals above the bass; {FOLDS}-fold x {REPEATS}")
