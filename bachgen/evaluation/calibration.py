"""Does the network know where the bass is? ``bachgen evaluate --calibration``.

The critic (:mod:`.critic`) hears the takes' bass leap an octave a fifth as often as Bach's
and their chords hold minor ninths and major sevenths over the bass too often. Sampling cannot
write what the network does not expect, so the question comes first to the network itself, on
the real fugues, teacher-forced (:func:`~.heldout.model_logits`: the state carried through
each whole fugue, in the common key):

* **the bass**: at the first token of every event after a sounding one, the probability the
  network gives to striking the last bass moved by each interval −24..+24 semitones, beside
  how often Bach's next token is that;
* **above the bass**: at every later pitch token of an event, the probability of a pitch of
  each interval class above the event's bass, beside Bach's.

Both are normalised over what the grammar allows there (pitches above the last one, a pitch
held only if it sounded, a duration), as the sampler draws. A network that knows the last
bass only roughly spreads the probability of the interval Bach writes onto its neighbours:
too little on the octave, too much a semitone from it and on the tritone.

:func:`collect` and :func:`fit_leaning` fit the correction of that (:mod:`bachgen.leaning`) on
the training fugues' positions, ``bachgen evaluate --calibration --fit`` saves it in the bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..events import Piece
from ..leaning import SPAN, Leaning
from ..splits import HELD_OUT, VALIDATION
from .heldout import model_logits

#: The families of a leaning (:mod:`bachgen.leaning`).
FAMILIES = ("bass", "above", "top")


def _allowed(codec: Any, last: int, prev: np.ndarray) -> np.ndarray:
    """What the grammar allows after pitch index ``last`` (−1: none) given the last event's pitches."""
    P = codec.pitches
    allow = np.zeros(codec.vocab_size, dtype=bool)
    allow[1 + 2 * P:] = True
    above = np.arange(P) > last
    allow[1:1 + P], allow[1 + P:1 + 2 * P] = above, above & prev
    return allow


def _probabilities(logits: np.ndarray, allow: np.ndarray) -> np.ndarray:
    """Softmax of ``logits`` over the allowed ids."""
    z = np.where(allow, logits, -np.inf)
    p = np.exp(z - z.max())
    return p / p.sum()


def piece_calibration(bundle: Any, piece: Piece, bass: np.ndarray, above: np.ndarray) -> None:
    """Add one fugue's figures to ``bass`` ``(2·SPAN+1, 3)`` and ``above`` ``(12, 3)``: per
    interval the network's probability, Bach's count and the positions (summed)."""
    codec = bundle.codec
    ids, logits = model_logits(bundle, piece)
    kinds, pidx, P = codec.kind[ids], codec.pitch_index[ids], codec.pitches
    prev, cur = np.zeros(P, dtype=bool), np.zeros(P, dtype=bool)
    last, low, last_bass = -1, -1, -1
    for i in range(len(ids) - 1):
        if kinds[i] in (1, 2):
            cur[pidx[i]], last = True, pidx[i]
            low = pidx[i] if low < 0 else low
        elif kinds[i] == 3:
            prev, cur = cur.copy(), np.zeros(P, dtype=bool)
            last_bass, last, low = (low if low >= 0 else last_bass), -1, -1
        p, nxt = _probabilities(logits[i], _allowed(codec, last, prev)), ids[i + 1]
        if last < 0 and last_bass >= 0:
            for k, step in enumerate(range(-SPAN, SPAN + 1)):
                target = 1 + last_bass + step
                if 1 <= target <= P:
                    bass[k] += (p[target], float(nxt == target), 1.0)
        elif last >= 0:
            pitches = np.arange(last + 1, P)
            for ic in range(12):
                q = pitches[(pitches - low) % 12 == ic]
                targets = np.concatenate([1 + q, 1 + P + q[prev[q]]])
                above[ic] += (p[targets].sum(), float(nxt in targets), 1.0)


def calibration(bundle: Any, pieces: Sequence[Piece]) -> dict[str, Any]:
    """The network's probabilities beside Bach's rates over ``pieces``, in percent of the
    positions measured."""
    bass, above = np.zeros((2 * SPAN + 1, 3)), np.zeros((12, 3))
    for piece in pieces:
        piece_calibration(bundle, piece, bass, above)

    def table(rows: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float]]:
        n = max(1.0, float(rows[:, 2].max()))
        return {name: {"model": round(100 * r[0] / n, 2), "real": round(100 * r[1] / n, 2)}
                for name, r in zip(names, rows)}

    return {"fugues": len(pieces),
            "bass": table(bass, [f"{s:+d}" if s else "0" for s in range(-SPAN, SPAN + 1)]),
            "above": table(above, [str(ic) for ic in range(12)])}


def format_calibration(result: dict[str, Any]) -> str:
    """The two tables as text: network % / Bach %, and their ratio."""
    lines = [f"teacher-forced on {result['fugues']} fugues (percent of the positions; network / Bach):"]
    for key, title in (("bass", "the next bass struck, semitones from the last bass"),
                       ("above", "the next pitch above the bass, interval class")):
        lines.append(f"  {title}:")
        for name, v in result[key].items():
            ratio = f"{v['model'] / v['real']:.2f}x" if v["real"] else "-"
            lines.append(f"    {name:>4}: {v['model']:>6.2f} / {v['real']:>6.2f}  {ratio:>6}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- fitting a leaning


@dataclass
class Positions:
    """Teacher-forced positions of the fugues: the grammar-masked logits ``(n, V)``, the next
    token, each candidate's interval index per family (−1: none) and whether held out."""

    logits: list[np.ndarray] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    index: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in FAMILIES})
    held_out: list[bool] = field(default_factory=list)


def _interval_index(codec: Any, prev: np.ndarray, last: int, low: int) -> dict[str, np.ndarray]:
    """Each id's interval index per family at a position (see :mod:`bachgen.leaning`)."""
    P, V = codec.pitches, codec.vocab_size
    out = {k: np.full(V, -1, dtype=np.int16) for k in FAMILIES}
    pitches = np.arange(P)
    if prev.any():
        for family, ref in (("bass", int(prev.argmax())), ("top", P - 1 - int(prev[::-1].argmax()))):
            if family == "bass" and last >= 0:
                continue
            d = pitches - ref
            inside = np.abs(d) <= SPAN
            out[family][1:1 + P][inside] = d[inside] + SPAN
    if last >= 0:
        out["above"][1:1 + P] = out["above"][1 + P:1 + 2 * P] = (pitches - low) % 12
    return out


def collect(bundle: Any, pieces: Sequence[Piece]) -> Positions:
    """Every teacher-forced position of ``pieces`` (:class:`Positions`)."""
    codec, found = bundle.codec, Positions()
    for piece in pieces:
        ids, logits = model_logits(bundle, piece)
        kinds, pidx, P = codec.kind[ids], codec.pitch_index[ids], codec.pitches
        prev, cur, last, low = np.zeros(P, dtype=bool), np.zeros(P, dtype=bool), -1, -1
        for i in range(len(ids) - 1):
            if kinds[i] in (1, 2):
                cur[pidx[i]], last, low = True, pidx[i], (pidx[i] if low < 0 else low)
            elif kinds[i] == 3:
                prev, cur, last, low = cur.copy(), np.zeros(P, dtype=bool), -1, -1
            found.logits.append(np.where(_allowed(codec, last, prev), logits[i], -np.inf).astype(np.float32))
            found.targets.append(int(ids[i + 1]))
            for k, v in _interval_index(codec, prev, last, low).items():
                found.index[k].append(v)
            found.held_out.append(piece.name in HELD_OUT + VALIDATION)
    return found


def _leaned(logits: np.ndarray, index: dict[str, np.ndarray], numbers: dict[str, np.ndarray]) -> np.ndarray:
    """Softmax of the logits with every family's numbers added."""
    z = logits.astype(np.float64)
    for k, f in index.items():
        z = z + np.where(f >= 0, numbers[k][np.maximum(f, 0)], 0.0)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def fit_leaning(found: Positions, rounds: int = 8, damping: float = 0.8) -> tuple[Leaning, dict[str, float]]:
    """The leaning fitted on the training fugues' positions (iterative scaling: each family's
    numbers moved by the log of Bach's count over the expected one until they agree), and
    bits per token of the next token before and after, on training and held-out positions."""
    logits, targets = np.stack(found.logits), np.asarray(found.targets)
    index = {k: np.stack(v) for k, v in found.index.items()}
    held = np.asarray(found.held_out)
    sizes = {"bass": 2 * SPAN + 1, "above": 12, "top": 2 * SPAN + 1}
    numbers = {k: np.zeros(n) for k, n in sizes.items()}

    def bits(rows: np.ndarray) -> float:
        p = _leaned(logits[rows], {k: v[rows] for k, v in index.items()}, numbers)
        return float(-np.log2(p[np.arange(len(p)), targets[rows]]).mean())

    train = ~held
    figures = {"train_bits_before": bits(train), "held_out_bits_before": bits(held)}
    rows = np.nonzero(train)[0]
    for _ in range(rounds):
        for k in sizes:
            p = _leaned(logits[rows], {f: v[rows] for f, v in index.items()}, numbers)
            f = index[k][rows]
            chosen = f[np.arange(len(rows)), targets[rows]]
            seen = np.bincount(chosen[chosen >= 0], minlength=sizes[k])
            expected = np.bincount(f[f >= 0], weights=p[f >= 0], minlength=sizes[k])
            numbers[k] += damping * np.log((seen + 1.0) / (expected + 1.0))
    figures.update(train_bits_after=bits(train), held_out_bits_after=bits(held))
    leaning = Leaning(*(tuple(float(x) for x in numbers[k]) for k in ("bass", "above", "top")))
    return leaning, {k: round(v, 4) for k, v in figures.items()}
