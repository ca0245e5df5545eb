"""A network's leanings by interval: a small correction of its logits, relative to the lines.

The network writes absolute pitches, so "an octave below the last bass" is a different token
for every bass, and it learns such relations pitch by pitch. Measured teacher-forced on the
fugues (``bachgen evaluate --calibration``), the shipped network gives the bass's octave leap
a fifth of Bach's probability and a semitone beside it, or the tritone, up to three times his;
telling it the bass as an input (``train --lines``) barely changes that. A **leaning** adds,
before each draw, one number per interval shared by every pitch:

* ``bass``: to striking the first (lowest) pitch of an event at −24..+24 semitones from the
  last event's lowest;
* ``above``: to every later pitch of an event by its interval class above the event's lowest;
* ``top``: to striking a pitch at −24..+24 semitones from the last event's highest;

and four more, empty unless set. To striking a pitch that will likely be the event's top:

* ``high``: at −24..+24 semitones from the last event's highest, when the event has one pitch
  fewer than the last (most events keep their voices, so this pitch is its top): the top
  line's own move, which ``top`` cannot tell from an inner voice's.

To ending an event (every duration token):

* ``close``: by where the event's top (its last pitch written) stands from the last event's
  highest, −24..+24 (so ending on a fourth below the last top can weigh less than going on);
* ``count``: by how many pitches the event has (0 a rest .. the codec's most);
* ``length``: by the duration itself, one number per duration of the codec.

The first three are fitted by maximum likelihood on the training fugues' teacher-forced logits
(:func:`bachgen.evaluation.calibration.fit_leaning`): the log-linear correction whose expected
interval counts equal Bach's. All seven can then be set from the takes themselves
(:mod:`bachgen.evaluation.free_leaning`): what a free-running take drifts into, the network
reading its own notes, is not in its teacher-forced expectations. A leaning lives beside the
network in its bundle (``leaning.json``); a bundle without one draws as before. NumPy only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BundleError

#: Semitones either side of the last bass and top that have a number: two octaves, so a
#: voice that stops or comes back (the bass line jumping to the tenor) has one too.
SPAN = 24
#: Up to this many rows a leaning is added row by row (a dozen whole-array calls cost more).
FEW_ROWS = 4
#: The file in a bundle that holds a leaning.
LEANING_FILE = "leaning.json"
#: Its families: three on pitches, three on the ends of events, and the top voice's next pitch.
FAMILIES = ("bass", "above", "top", "close", "count", "length", "high")


@dataclass(frozen=True)
class Leaning:
    """Added log-probabilities by interval (see the module docstring)."""

    bass: tuple[float, ...] = (0.0,) * (2 * SPAN + 1)
    above: tuple[float, ...] = (0.0,) * 12
    top: tuple[float, ...] = (0.0,) * (2 * SPAN + 1)
    close: tuple[float, ...] = ()
    count: tuple[float, ...] = ()
    length: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.bass) != 2 * SPAN + 1 or len(self.top) != 2 * SPAN + 1 or len(self.above) != 12 \
                or len(self.close) not in (0, 2 * SPAN + 1) or len(self.high) not in (0, 2 * SPAN + 1):
            raise BundleError(f"A leaning needs {2 * SPAN + 1} bass, 12 above and {2 * SPAN + 1} top numbers "
                              f"(and {2 * SPAN + 1} close ones, if any).",
                              "Fit it again with `bachgen evaluate --calibration --fit`.")

    @property
    def ends(self) -> bool:
        """Whether it leans the ends of events (``close``, ``count`` or ``length``)."""
        return bool(self.close or self.count or self.length)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"span": SPAN}
        for family in FAMILIES:
            values = getattr(self, family)
            if values:
                out[family] = [round(x, 4) for x in values]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Leaning":
        try:
            pad = (0.0,) * (SPAN - int(data.get("span", SPAN)))  # an older, narrower leaning
            lines = {f: pad + tuple(map(float, data[f])) + pad for f in ("bass", "top", "close", "high")
                     if data.get(f)}
            return cls(lines["bass"], tuple(map(float, data["above"])), lines["top"], lines.get("close", ()),
                       *(tuple(map(float, data.get(f, ()))) for f in ("count", "length")), lines.get("high", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"Cannot read the leaning: {exc}.", "Fit it again.") from exc

    def tables(self, pitches: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(P, P)`` tables: [reference pitch, candidate pitch] → the number added (0 out of span)."""
        d = np.arange(pitches)[None, :] - np.arange(pitches)[:, None]
        return lines_table(self.bass, pitches), np.asarray(self.above)[d % 12], lines_table(self.top, pitches)


class Leaner:
    """A leaning ready for the hot loop of one codec's grammar: :meth:`add` adds it to logits
    ``(B, 1 + 2·pitches + durations)``."""

    def __init__(self, leaning: Leaning, pitches: int, durations: int = 0, max_pitches: int = 0) -> None:
        self.pitches = pitches
        self.bass, self.above, self.top = (t.astype(np.float32) for t in leaning.tables(pitches))
        self.high = lines_table(leaning.high, pitches) if leaning.high else None
        self.ends = leaning.ends
        if self.ends:
            if len(leaning.count) not in (0, max_pitches + 1) or len(leaning.length) not in (0, durations):
                raise BundleError(f"The leaning's ends do not fit this codec ({max_pitches} pitches an event, "
                                  f"{durations} durations).", "Fit it again for this bundle.")
            self.close = lines_table(leaning.close or (0.0,) * (2 * SPAN + 1), pitches)
            self.count = np.asarray(leaning.count or (0.0,) * (max_pitches + 1), dtype=np.float32)
            self.length = np.asarray(leaning.length or (0.0,) * durations, dtype=np.float32)

    def add(self, logits: np.ndarray, prev: np.ndarray, cur: np.ndarray, last: np.ndarray) -> np.ndarray:
        """``logits`` ``(B, V)`` leaned for rows whose grammar has ``prev`` and ``cur`` ``(B, P)``
        (the last event's pitches, this one's) and ``last`` (the last pitch written, −1: none)."""
        out = np.array(logits, dtype=np.float32, copy=True)
        if out.shape[0] <= FEW_ROWS:
            for r in range(out.shape[0]):
                self._add_row(out[r], prev[r], cur[r], int(last[r]))
            return out
        P = self.pitches
        sounded = prev.any(axis=1)
        low = prev.argmax(axis=1)
        high = P - 1 - prev[:, ::-1].argmax(axis=1)
        first = sounded & (last < 0)
        out[first, 1:1 + P] += self.bass[low[first]]
        out[sounded, 1:1 + P] += self.top[high[sounded]]
        count = cur.sum(axis=1)
        if self.high is not None:
            crown = sounded & (count == prev.sum(axis=1) - 1)
            out[crown, 1:1 + P] += self.high[high[crown]]
        later = last >= 0
        if later.any():
            bass = cur[later].argmax(axis=1)
            out[later, 1:1 + P] += self.above[bass]
            out[later, 1 + P:1 + 2 * P] += self.above[bass]
        if self.ends:
            end = self.count[count]
            closing = sounded & later
            end[closing] += self.close[high[closing], last[closing]]
            out[:, 1 + 2 * P:] += self.length
            out[:, 1 + 2 * P:] += end[:, None]
        return out

    def _add_row(self, out: np.ndarray, prev: np.ndarray, cur: np.ndarray, last: int) -> None:
        """:meth:`add` for one row in place, in the same order (the same bits, fewer calls)."""
        P = self.pitches
        sounded = np.flatnonzero(prev)
        if sounded.size:
            if last < 0:
                out[1:1 + P] += self.bass[sounded[0]]
            out[1:1 + P] += self.top[sounded[-1]]
            if self.high is not None and int(cur.sum()) == sounded.size - 1:
                out[1:1 + P] += self.high[sounded[-1]]
        if last >= 0:
            above = self.above[int(cur.argmax())]
            out[1:1 + P] += above
            out[1 + P:1 + 2 * P] += above
        if self.ends:
            end = self.count[int(cur.sum())]
            if sounded.size and last >= 0:
                end += self.close[sounded[-1], last]
            out[1 + 2 * P:] += self.length
            out[1 + 2 * P:] += end


def lines_table(values: tuple[float, ...], pitches: int) -> np.ndarray:
    """``(P, P)`` float32: [reference pitch, candidate pitch] → the number of their interval
    (−SPAN..+SPAN; 0 beyond)."""
    d = np.arange(pitches)[None, :] - np.arange(pitches)[:, None]
    table = np.asarray(values)[np.clip(d + SPAN, 0, 2 * SPAN)]
    return np.where(np.abs(d) <= SPAN, table, 0.0).astype(np.float32)


def read_leaning(folder: str | Path) -> Leaning | None:
    """The leaning saved in a bundle folder (``None``: the bundle has none)."""
    path = Path(folder) / LEANING_FILE
    if not path.exists():
        return None
    try:
        return Leaning.from_json(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise BundleError(f"Cannot read {path}: {exc}.", "Fit the leaning again.") from exc


def write_leaning(folder: str | Path, leaning: Leaning) -> Path:
    """Save ``leaning`` in a bundle folder."""
    path = Path(folder) / LEANING_FILE
    path.write_text(json.dumps(leaning.to_json(), indent=1) + "\n")
    return path
