"""Comparing a set of pieces with the real fugues, statistic by statistic and as a whole.

For each statistic (:mod:`.statistics`): how many pieces fall inside the band of the
reference set, and the **overlapping area** of the two distributions (Yang & Lerch 2018):
Gaussian kernel density estimates of both sets, the area under their pointwise minimum
(1 = the same distribution, 0 = disjoint). Bandwidth: Silverman's rule of thumb,
``0.9 · min(sd, IQR / 1.34) · n^(-1/5)`` (the sd alone when the IQR is 0), computed for
each set and averaged, one bandwidth for both (so identical sets overlap fully), never
below 1 % of the range both sets span together. Then a **classifier two-sample test**: the
accuracy of a logistic regression on the standardised statistics telling the two sets
apart, by stratified 5-fold cross-validation repeated 10 times with a fixed seed — 0.5
means it cannot tell them apart.

Also the bar's pulse (:func:`meter_match`: does a generation strike where its fugue's
bar is strong?) and the spread of a few figures over sampling seeds (:func:`spread`).
"""

from __future__ import annotations

import math
import statistics as stats
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError
from ..events import Piece
from .statistics import STATISTICS, bands, bar_profile, piece_statistics

#: The classifier's random seed (and the yardstick's default sampling seed).
QUALITY_SEED = 1722
FOLDS, REPEATS = 5, 10


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


def spread(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample sd, min and max of a few figures (sd 0 for one)."""
    return {"mean": float(stats.mean(values)), "sd": float(stats.stdev(values)) if len(values) > 1 else 0.0,
            "min": float(min(values)), "max": float(max(values))}
