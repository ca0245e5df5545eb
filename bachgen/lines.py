"""What a network *told the lines* reads beside every token: where the bass and the top are.

A spelled event writes its lowest pitch first, as one token among the pitches of every
event before it; a network reading only the tokens has to carry the exact pitch of the last
bass across an event's tokens, and measured teacher-forced on the fugues it carries it
blurred — it spreads the next bass note's probability onto the neighbours of the interval
Bach wrote (a semitone either side of an octave, the tritone between a fourth and a fifth),
so it rarely leaps an octave and writes minor ninths and major sevenths over the bass too
often (``docs/critic.md``). A network told the lines (:attr:`bachgen.config.NetConfig.lines`)
reads, after each token, three categories (:data:`~bachgen.config.LINE_FEATURES`):

* ``last_bass``, ``last_top`` — the lowest and the highest pitch of the last whole event;
* ``bass`` — the lowest pitch written so far in the event being written;

each the pitch index + 1 (0: none — a rest, or nothing written yet). In training they come
from the tokens (:func:`line_columns`); while sampling, from the grammar's state
(:func:`state_columns`), which holds the same pitches.
"""

from __future__ import annotations

import numpy as np

def line_categories(pitches: int) -> int:
    """How many categories a line column has (0 none, then one per pitch)."""
    return pitches + 1


def line_columns(kind: np.ndarray, pitch_index: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``(n, 3)`` line columns of token sequence ``ids`` after reading each token.

    ``kind`` and ``pitch_index`` are the codec's per-id tables (1 struck, 2 held, 3 a
    duration; the pitch index of a pitch id)."""
    ids = np.asarray(ids, dtype=np.int64)
    out = np.zeros((len(ids), 3), dtype=np.int32)
    last_bass = last_top = bass = top = 0
    for i, (k, p) in enumerate(zip(kind[ids].tolist(), pitch_index[ids].tolist())):
        if k == 1 or k == 2:
            if not bass:
                bass = p + 1
            top = p + 1
        elif k == 3:
            last_bass, last_top, bass, top = bass, top, 0, 0
        out[i] = (last_bass, last_top, bass)
    return out


def _lowest(mask: np.ndarray) -> np.ndarray:
    """Index + 1 of each row's lowest set pitch (0: none)."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1) + 1, 0)


def state_columns(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """``(B, 3)`` line columns from the grammar's ``prev`` (pitches of the last whole event)
    and ``cur`` (pitches written in this one), both ``(B, P)`` boolean."""
    top = np.where(prev.any(axis=1), prev.shape[1] - prev[:, ::-1].argmax(axis=1), 0)
    return np.stack([_lowest(prev), top, _lowest(cur)], axis=1).astype(np.int64)
