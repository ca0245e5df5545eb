"""Does the network know where the bass is? ``bachgen evaluate --calibration``.

The critic (:mod:`.critic`) hears the takes' bass leap an octave a fifth as often as Bach's
and their chords hold minor ninths and major sevenths over the bass too often. Sampling cannot
write what the network does not expect, so the question comes first to the network itself, on
the real fugues, teacher-forced (:func:`~.heldout.model_logits`: the state carried through
each whole fugue, in the common key):

* **the bass**: at the first token of every event after a sounding one, the probability the
  network gives to striking the last bass moved by each interval −14..+14 semitones, beside
  how often Bach's next token is that;
* **above the bass**: at every later pitch token of an event, the probability of a pitch of
  each interval class above the event's bass, beside Bach's.

Both are normalised over what the grammar allows there (pitches above the last one, a pitch
held only if it sounded, a duration), as the sampler draws. A network that knows the last
bass only roughly spreads the probability of the interval Bach writes onto its neighbours:
too little on the octave, too much a semitone from it and on the tritone.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..events import Piece
from ..splits import HELD_OUT, VALIDATION
from .heldout import model_logits

#: The bass intervals measured (semitones from the last bass).
SPAN = 14


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


def calibration(bundle: Any, pieces: Sequence[Piece], held_out_only: bool = False) -> dict[str, Any]:
    """The network's probabilities beside Bach's rates over ``pieces`` (all, or only the
    held-out and validation fugues), in percent of the positions measured."""
    bass, above = np.zeros((2 * SPAN + 1, 3)), np.zeros((12, 3))
    chosen = [p for p in pieces if not held_out_only or p.name in HELD_OUT + VALIDATION]
    for piece in chosen:
        piece_calibration(bundle, piece, bass, above)

    def table(rows: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float]]:
        n = max(1.0, float(rows[:, 2].max()))
        return {name: {"model": round(100 * r[0] / n, 2), "real": round(100 * r[1] / n, 2)}
                for name, r in zip(names, rows)}

    return {"fugues": len(chosen),
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
