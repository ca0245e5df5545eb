"""Events spelled as short runs of sub-tokens: pitches marked struck or held, then a duration.

One event of the piano reduction (see :func:`bachgen.reduction.chordify`) is written as its
sounding pitches in ascending order, each as ``S<p>`` (struck at the event's onset) or ``H<p>``
(still sounding from the previous event), followed by one duration token ``D<ticks>`` that
also ends the event. A rest is the duration token alone::

    S48 H60 S64 D12     C3 struck, C4 held, E4 struck, for a sixteenth
    D24                 an eighth of silence

The vocabulary is small (the 88 piano keys twice, plus the event lengths of the corpus): chords
with tied notes are learnable from 48 fugues. ``decode(encode(p))`` is ``p``'s piano reduction.
Where an event falls in the bar is *not* a token: it follows from the durations written so far
and the time signature. :meth:`SpelledCodec.features` gives it to a network as per-token
conditioning instead, with the key condition (mode, and the shift from the common key C major /
A minor) — see :data:`FEATURES`. The grammar (:meth:`SpelledCodec.allowed`) keeps pitches
strictly ascending inside an event, allows ``H<p>`` only for a pitch that sounded in the previous
event, at most ``max_pitches`` pitches per event, and a duration token at any time; every
sequence it allows decodes. Grammar states are batched, in NumPy; no TensorFlow nor music21 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from .config import INPUT_FEATURES, LINE_FEATURES, TOLD_FEATURES, ReductionConfig
from .cues import END_CATEGORIES, LINE_CATEGORIES, Cues, tonic_pc
from .errors import BundleError, ConfigError
from .events import RESOLUTION, Event, Piece, key_is_minor, shift_to_common_key
from .lines import line_categories, line_columns
from .reduction import HIGHEST_PITCH, LOWEST_PITCH, chordify, events_to_piece, normalise, quantise


#: Names of the conditioning feature columns, in order (see :meth:`SpelledCodec.features`).
FEATURES = INPUT_FEATURES
#: Shifts from the common key the network is trained on (key condition ``shift``).
MAX_SHIFT = 3
#: Quarter index in the bar is capped here (4/2, 6/4, 3/2 and 12/8 bars fit).
QUARTERS = 8
#: What the key column tells (:attr:`SpelledCodec.key_told`): mode and shift, mode only, nothing.
KEY_TOLD = ("key", "mode", "none")


@dataclass(frozen=True)
class KeyCondition:
    """The key a network is told at every step: ``minor`` and ``shift`` from C major / A minor."""

    minor: bool
    shift: int = 0

    @property
    def index(self) -> int:
        """0..(2·(2·MAX_SHIFT+1)−1): mode and shift as one category."""
        return int(self.minor) * (2 * MAX_SHIFT + 1) + self.shift + MAX_SHIFT

    @staticmethod
    def count() -> int:
        return 2 * (2 * MAX_SHIFT + 1)


def seed_transposition(key: str | None) -> tuple[int, KeyCondition]:
    """How far to move a piece in ``key`` so its key is one the network knows, and that key.

    The network knows the common key shifted by −3..+3 semitones; a piece further away
    (e.g. F-sharp major, six semitones from C) is moved the least distance into that
    range. Returns ``(semitones to move the piece, key condition after moving)``; a piece
    with no key is taken as C major, unmoved.
    """
    if not key:
        return 0, KeyCondition(False, 0)
    offset = -shift_to_common_key(key)  # where the piece lies from its common key
    target = max(-MAX_SHIFT, min(MAX_SHIFT, offset))
    return target - offset, KeyCondition(key_is_minor(key), target)


@dataclass
class SpelledState:
    """Where each of ``B`` rows stands in the grammar (arrays with a leading row axis): ``last``,
    pitch index of the last pitch written in the unfinished event (−1: none); ``count``, pitches
    written in it; ``cur``, those pitches; ``prev``, the pitches sounding in the previous whole
    event; ``tick``, where the unfinished event starts; ``compass``, an optional ``(B, P)`` mask
    of the pitches a row may strike (``None``: all)."""

    last: np.ndarray
    count: np.ndarray
    cur: np.ndarray
    prev: np.ndarray
    tick: np.ndarray
    compass: np.ndarray | None = None

    #: The per-row fields a row's place in the grammar is (the compass is a setting).
    PLACE: ClassVar[tuple[str, ...]] = ("last", "count", "cur", "prev", "tick")

    @property
    def rows(self) -> int:
        return int(self.last.shape[0])

    def joined(self, other: "SpelledState") -> "SpelledState":
        """These rows, then ``other``'s (without a compass: the caller sets the rows' own)."""
        return SpelledState(*(np.concatenate([getattr(self, f), getattr(other, f)]) for f in self.PLACE))

    def copy(self) -> "SpelledState":
        return SpelledState(self.last.copy(), self.count.copy(), self.cur.copy(), self.prev.copy(),
                            self.tick.copy(), None if self.compass is None else self.compass.copy())

    def take(self, rows: Sequence[int] | np.ndarray) -> "SpelledState":
        """The states of the chosen ``rows`` (for batching and un-batching)."""
        rows = np.asarray(rows, dtype=np.int64)
        return SpelledState(self.last[rows], self.count[rows], self.cur[rows], self.prev[rows],
                            self.tick[rows], None if self.compass is None else self.compass[rows])


class SpelledCodec:
    """Events spelled as ``S<p>``/``H<p>`` pitch tokens and a closing ``D<ticks>`` (id 0 = padding).

    Ids: ``1..P`` struck pitches, ``P+1..2P`` held pitches (``P`` = the 88 piano keys, low
    to high), then one id per known duration. An event longer than any known duration
    (or of a length the corpus never had) is written as several events, the later ones
    holding every pitch of the first: it decodes to the same notes.

    ``key_told`` (:data:`KEY_TOLD`) says what the key column of the conditioning features
    holds; being part of the codec (saved in ``codec.json``; ``"key"`` when absent), it
    keeps training, evaluation and sampling consistent. ``told`` (saved only when on): the
    features also hold :data:`~bachgen.config.TOLD_FEATURES` (:mod:`bachgen.cues`); ``lines``
    (likewise), then :data:`~bachgen.config.LINE_FEATURES` (:mod:`bachgen.lines`)."""

    name = "spelled"
    spelling = "held"
    KIND_PAD, KIND_STRUCK, KIND_HELD, KIND_DURATION = 0, 1, 2, 3

    def __init__(self, durations: Sequence[int], max_pitches: int,
                 meters: Sequence[tuple[int, int]] = (), grid: int = 2,
                 max_event_quarters: float = 8.0, resolution: int = RESOLUTION,
                 key_told: str = "key", told: bool = False, lines: bool = False) -> None:
        self.told, self.lines = bool(told), bool(lines)
        if key_told not in KEY_TOLD:
            raise ConfigError(f"key_told must be one of {', '.join(KEY_TOLD)}, not {key_told!r}.")
        self.key_told = key_told
        if grid < 1 or resolution % grid:
            raise ConfigError(f"The grid ({grid} ticks) must divide the quarter note ({resolution}).")
        if max_pitches < 1:
            raise ConfigError("An event must be allowed at least one pitch.")
        self.grid, self.resolution = grid, resolution
        self.max_event_quarters = float(max_event_quarters)
        self.durations = tuple(sorted(set(int(d) for d in durations) | {grid}))
        if any(d <= 0 or d % grid for d in self.durations):
            raise ConfigError(f"Durations must be positive multiples of the grid: {self.durations}.")
        self.max_pitches = int(max_pitches)
        self.meters = tuple(tuple(int(x) for x in m) for m in meters)
        self.low, self.high = LOWEST_PITCH, HIGHEST_PITCH
        self.pitches = self.high - self.low + 1
        self._tables()

    def _tables(self) -> None:
        """Per-id lookup arrays (kind, pitch index, ticks) and the grammar's masks."""
        P, V = self.pitches, self.vocab_size
        self.kind = np.zeros(V, dtype=np.int8)
        self.pitch_index = np.full(V, -1, dtype=np.int64)
        self.ticks = np.zeros(V, dtype=np.int64)
        self.kind[1:1 + P], self.kind[1 + P:1 + 2 * P], self.kind[1 + 2 * P:] = 1, 2, 3
        self.pitch_index[1:1 + P] = np.arange(P)
        self.pitch_index[1 + P:1 + 2 * P] = np.arange(P)
        self.ticks[1 + 2 * P:] = self.durations
        self._duration_id = {d: 1 + 2 * P + i for i, d in enumerate(self.durations)}
        # _above[last + 1, j]: pitch j may follow pitch index ``last`` (−1: nothing yet)
        self._above = np.arange(P)[None, :] > np.arange(-1, P)[:, None]
        # _open[k]: the ids that may follow once the event's pitches reach index k (k = P: none)
        self._open = np.ones((P + 1, V), dtype=bool)
        self._open[:, 0] = False
        self._open[:, 1:1 + P] = self._open[:, 1 + P:1 + 2 * P] = np.arange(P)[None, :] >= np.arange(P + 1)[:, None]
        self._is_pitch = (self.kind == 1) | (self.kind == 2)
        self._is_end = self.kind == 3
        self._kinds_py = self.kind.tolist()
        self._pidx_py = self.pitch_index.tolist()
        self._ticks_py = self.ticks.tolist()

    @property
    def vocab_size(self) -> int:
        return 1 + 2 * self.pitches + len(self.durations)

    @property
    def reduction_config(self) -> ReductionConfig:
        """How :func:`~bachgen.reduction.chordify` cuts pieces into events for this codec."""
        return ReductionConfig(self.grid, self.max_event_quarters)

    # ------------------------------------------------------------------ building and saving

    @classmethod
    def build(cls, pieces: Iterable[Piece], grid: int = 2,
              max_event_quarters: float = 8.0, key_told: str = "key", told: bool = False,
              lines: bool = False) -> "SpelledCodec":
        """The codec for ``pieces``: their event lengths, widest chord and time signatures."""
        config = ReductionConfig(grid, max_event_quarters)
        durations: set[int] = set()
        widest, meters = 1, set()
        for piece in pieces:
            for event in chordify(piece, config):
                durations.add(event.duration)
                widest = max(widest, len(event.struck) + len(event.held))
            meters.add(tuple(piece.time_signature))
        return cls(sorted(durations), widest, sorted(meters), grid, max_event_quarters,
                   key_told=key_told, told=told, lines=lines)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "durations": list(self.durations),
                "max_pitches": self.max_pitches, "meters": [list(m) for m in self.meters],
                "grid": self.grid, "max_event_quarters": self.max_event_quarters,
                "resolution": self.resolution, "low": self.low, "high": self.high,
                "spelling": self.spelling, "key_told": self.key_told,
                **({"told": True} if self.told else {}), **({"lines": True} if self.lines else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SpelledCodec":
        try:
            if not isinstance(data, dict):
                raise TypeError(f"codec.json holds a {type(data).__name__}, not an object")
            if data.get("name") != cls.name:
                raise ValueError(f"codec name is {data.get('name')!r}")
            kind = {"held": SpelledCodec, "released": ReleasedCodec}[data.get("spelling", "held")]
            codec = kind(data["durations"], int(data["max_pitches"]),
                        [tuple(m) for m in data.get("meters", [])], int(data["grid"]),
                        float(data["max_event_quarters"]), int(data.get("resolution", RESOLUTION)),
                        key_told=str(data.get("key_told", "key")), told=bool(data.get("told", False)),
                        lines=bool(data.get("lines", False)))
            if (data.get("low", codec.low), data.get("high", codec.high)) != (codec.low, codec.high):
                raise ValueError("pitch range differs from the piano")
            return codec
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise BundleError(f"Cannot read the spelled codec: {exc}.",
                              "Train the bundle again with `bachgen train`.") from exc

    # ------------------------------------------------------------------ tokens

    def token_name(self, token: int) -> str:
        """Readable name of one id: ``"S60"``, ``"H64"``, ``"D12"`` or ``"<pad>"``."""
        kind = self._kinds_py[token]
        if kind == self.KIND_DURATION:
            return f"D{self._ticks_py[token]}"
        if kind == self.KIND_PAD:
            return "<pad>"
        return f"{'S' if kind == self.KIND_STRUCK else 'H'}{self.low + self._pidx_py[token]}"

    def split_duration(self, ticks: int) -> list[int]:
        """``ticks`` as a sum of known durations, longest first (exact when on the grid)."""
        if ticks in self._duration_id:
            return [ticks]
        parts, left = [], ticks
        for d in reversed(self.durations):
            while d <= left and (left - d == 0 or left - d >= self.grid):
                parts.append(d)
                left -= d
        if left:
            raise ConfigError(f"An event of {ticks} ticks is not on the {self.grid}-tick grid.")
        return parts

    def encode_events(self, events: Sequence[Event]) -> list[int]:
        """Ids of whole events (pitches on the piano, durations on the grid)."""
        P, ids = self.pitches, []
        for event in events:
            struck = set(event.struck)
            pitches = sorted(struck | set(event.held))
            for i, ticks in enumerate(self.split_duration(event.duration)):
                for p in pitches:
                    if not self.low <= p <= self.high:
                        raise ConfigError(f"Pitch {p} is off the piano ({self.low}–{self.high}).")
                    held = i > 0 or p not in struck
                    ids.append(1 + p - self.low + (P if held else 0))
                ids.append(self._duration_id[ticks])
        return ids

    def encode(self, piece: Piece) -> list[int]:
        """The piece's ids from its first onset (:meth:`first_tick`), whole events only."""
        return self.encode_events(chordify(piece, self.reduction_config))

    def first_tick(self, piece: Piece) -> int:
        """Tick of the first event :meth:`encode` writes (the ``start`` to decode from)."""
        events = chordify(piece, self.reduction_config)
        return events[0].start if events else 0

    def shift_ids(self, ids: Sequence[int] | np.ndarray, semitones: int) -> np.ndarray:
        """``ids`` of the same music moved by ``semitones`` (a :class:`ConfigError` off the piano)."""
        ids = np.asarray(ids, dtype=np.int64)
        pitch = (self.kind[ids] == 1) | (self.kind[ids] == 2)
        moved = self.pitch_index[ids[pitch]] + semitones
        if moved.size and (moved.min() < 0 or moved.max() >= self.pitches):
            raise ConfigError(f"Moving by {semitones} semitones takes pitches off the piano.")
        out = ids.copy()
        out[pitch] = ids[pitch] + semitones
        return out

    def events(self, ids: Sequence[int], start: int = 0) -> list[Event]:
        """The whole events written by ``ids`` from tick ``start`` (an unfinished tail is dropped).

        Lenient with sequences the grammar would not write: repeated pitches are merged
        and a held pitch that did not sound before is struck when decoded.
        """
        kinds, pidx, ticks, low = self._kinds_py, self._pidx_py, self._ticks_py, self.low
        events, struck, held, time = [], [], [], start
        for token in (int(t) for t in ids):
            kind = kinds[token]
            if kind == 1:
                struck.append(low + pidx[token])
            elif kind == 2:
                held.append(low + pidx[token])
            elif kind == 3:
                s = tuple(sorted(set(struck)))
                h = tuple(sorted(set(held) - set(s)))
                events.append(Event(time, ticks[token], s, h))
                time += ticks[token]
                struck, held = [], []
        return events

    def decode(self, ids: Sequence[int], start: int = 0, template: Piece | None = None) -> Piece:
        """Ids back to a piece laid out from tick ``start`` (voices all 0)."""
        return events_to_piece(self.events(ids, start), template)

    def kinds(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Kind of each id: 0 padding, 1 struck, 2 held, 3 duration."""
        return self.kind[np.asarray(ids, dtype=np.int64)]

    # ------------------------------------------------------------------ grammar

    def empty_state(self, rows: int = 1, tick: int | Sequence[int] = 0) -> SpelledState:
        """``rows`` states at the start of a sequence (no event before) at ``tick``."""
        P = self.pitches
        ticks = np.broadcast_to(np.asarray(tick, dtype=np.int64), (rows,)).copy()
        return SpelledState(np.full(rows, -1, dtype=np.int64), np.zeros(rows, dtype=np.int64),
                            np.zeros((rows, P), dtype=bool), np.zeros((rows, P), dtype=bool), ticks)

    def start_state(self, ids: Sequence[int], start: int = 0) -> SpelledState:
        """The one-row state after reading ``ids`` written from tick ``start``."""
        kinds, pidx, ticks = self._kinds_py, self._pidx_py, self._ticks_py
        last, cur, prev, tick = -1, [], [], start
        for token in (int(t) for t in ids):
            kind = kinds[token]
            if kind in (1, 2):
                last = pidx[token]
                cur.append(last)
            elif kind == 3:
                tick += ticks[token]
                prev, cur, last = cur, [], -1
        state = self.empty_state(1, tick)
        state.last[0], state.count[0] = last, len(cur)
        state.cur[0, cur] = True
        state.prev[0, prev] = True
        return state

    def compass_mask(self, low: int, high: int) -> np.ndarray:
        """``(P,)`` mask of the pitches ``low..high`` (to confine struck pitches to a keyboard)."""
        pitches = np.arange(self.low, self.high + 1)
        return (pitches >= low) & (pitches <= high)

    def start_states(self, rows: Sequence[Sequence[int]], starts: Sequence[int]) -> SpelledState:
        """One state per row of ids (rows may differ in length)."""
        states = [self.start_state(ids, s) for ids, s in zip(rows, starts)]
        return SpelledState(*(np.concatenate([getattr(s, f) for s in states])
                              for f in ("last", "count", "cur", "prev", "tick")))

    def advance(self, state: SpelledState, token: int | Sequence[int] | np.ndarray) -> SpelledState:
        """The states after each row writes its token (a new state; padding changes nothing)."""
        new = state.copy()
        self.advance_inplace(new, token)
        return new

    def advance_inplace(self, state: SpelledState, token: int | Sequence[int] | np.ndarray) -> None:
        """:meth:`advance` without the copy (the sampler's hot loop): row by row for a few
        rows (a handful of scalar writes beat a dozen whole-array calls), else for all
        rows at once."""
        t = _row_tokens(token, state.rows)
        if state.rows <= _FEW_ROWS:
            self._advance_rows(state, t.tolist())
        else:
            self._advance_all(state, t)

    def _advance_rows(self, state: SpelledState, tokens: list[int]) -> None:
        kinds, pidx = self._kinds_py, self._pidx_py
        for r, token in enumerate(tokens):
            kind = kinds[token]
            if kind == 1 or kind == 2:
                p = pidx[token]
                state.cur[r, p] = True
                state.last[r] = p
                state.count[r] += 1
            elif kind == 3:
                state.tick[r] += self._ticks_py[token]
                state.prev[r] = state.cur[r]
                state.cur[r] = False
                state.last[r] = -1
                state.count[r] = 0

    def _advance_all(self, state: SpelledState, t: np.ndarray) -> None:
        pitch = np.nonzero(self._is_pitch[t])[0]
        if pitch.size:
            p = self.pitch_index[t[pitch]]
            state.cur[pitch, p] = True
            state.last[pitch] = p
            state.count[pitch] += 1
        ended = np.nonzero(self._is_end[t])[0]
        if ended.size:
            state.tick[ended] += self.ticks[t[ended]]
            state.prev[ended] = state.cur[ended]
            state.cur[ended] = False
            state.last[ended] = -1
            state.count[ended] = 0

    def allowed(self, state: SpelledState) -> np.ndarray:
        """``(rows, vocab)`` boolean mask of the ids each row may write next.

        Pitches above the last one of the unfinished event (struck any — within the row's
        compass when it has one —, held only if it sounded in the previous event), none once
        the event has ``max_pitches``; a duration always; never padding. A one-row state
        gives a ``(1, vocab)`` mask.
        """
        P = self.pitches
        mask = self._open[np.where(state.count < self.max_pitches, state.last + 1, P)]
        if state.compass is not None:
            mask[:, 1:1 + P] &= state.compass
        mask[:, 1 + P:1 + 2 * P] &= state.prev
        return mask

    # ------------------------------------------------------------------ conditioning

    def meter_index(self, time_signature: tuple[int, int]) -> int:
        """Category of a time signature for the network (0: one the corpus never had)."""
        ts = tuple(int(x) for x in time_signature)
        return self.meters.index(ts) + 1 if ts in self.meters else 0

    def bar_ticks(self, time_signature: tuple[int, int]) -> int:
        num, den = time_signature
        if num < 1 or den < 1 or (self.resolution * 4 * num) % den:
            raise ConfigError(f"Cannot lay out bars of {num}/{den} on the tick grid.")
        return self.resolution * 4 * num // den

    def feature_sizes(self) -> dict[str, int]:
        """Number of categories of each feature column (:attr:`feature_names`)."""
        told = {"end": END_CATEGORIES, "line": LINE_CATEGORIES} if self.told else {}
        lines = {name: line_categories(self.pitches) for name in LINE_FEATURES} if self.lines else {}
        return {"quarter": QUARTERS, "phase": self.resolution // self.grid,
                "meter": len(self.meters) + 1, "key": KeyCondition.count(), **told, **lines}

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The feature columns :meth:`features` gives: :data:`FEATURES`, then the told ones."""
        return FEATURES + (TOLD_FEATURES if self.told else ()) + (LINE_FEATURES if self.lines else ())

    def told_key(self, key: KeyCondition) -> KeyCondition:
        """The key condition the network is told for ``key`` under :attr:`key_told`.

        ``"key"``: ``key`` itself; ``"mode"``: its mode in the common key (shift 0);
        ``"none"``: always C major. Idempotent, so a told key can be told again.
        """
        if self.key_told == "key":
            return key
        return KeyCondition(key.minor and self.key_told == "mode", 0)

    def position_features(self, ticks: np.ndarray, time_signature: tuple[int, int],
                          key: KeyCondition) -> np.ndarray:
        """``(n, 4)`` int32 features of event starts at ``ticks`` (tick 0 is a downbeat)."""
        ticks = np.asarray(ticks, dtype=np.int64)
        pos = ticks % self.bar_ticks(time_signature)
        out = np.empty((ticks.shape[0], len(FEATURES)), dtype=np.int32)
        out[:, 0] = np.minimum(pos // self.resolution, QUARTERS - 1)
        out[:, 1] = (pos % self.resolution) // self.grid
        out[:, 2] = self.meter_index(time_signature)
        out[:, 3] = self.told_key(key).index
        return out

    def features(self, ids: Sequence[int] | np.ndarray, time_signature: tuple[int, int],
                 start: int, key: KeyCondition, cues: Cues | None = None) -> np.ndarray:
        """Conditioning of each token: where the event *after reading it* starts, and the key.

        Row ``i`` goes with input token ``i``, which predicts token ``i+1``: after a duration
        token the next event's onset, else the onset of the event being written. Columns
        (:data:`FEATURES`): quarter note in the bar, tick in the quarter in grid steps (exact:
        32nds and triplets too), time signature, key condition; a ``told`` codec adds bars to the
        end and the planned line of ``cues`` (none: unknown), a ``lines`` codec the bass and top."""
        ids = np.asarray(ids, dtype=np.int64)
        ticks = start + np.cumsum(self.ticks[ids])
        parts = [self.position_features(ticks, time_signature, key)]
        if self.told:
            parts.append((cues or Cues()).columns(ticks, self.bar_ticks(time_signature), tonic_pc(key.minor, key.shift)))
        if self.lines:
            parts.append(line_columns(self.kind, self.pitch_index, ids))
        return np.concatenate(parts, axis=1)


#: Up to this many rows the grammar advances row by row (:meth:`SpelledCodec.advance_inplace`).
_FEW_ROWS = 8


def _row_tokens(token: int | Sequence[int] | np.ndarray, rows: int) -> np.ndarray:
    """``token`` as one int64 id per row (a single id goes to every row)."""
    t = np.asarray(token, dtype=np.int64)
    return t if t.shape == (rows,) else np.broadcast_to(t, (rows,))


class ReleasedCodec(SpelledCodec):
    """The same events spelled by change: ``S<p>`` struck, ``R<p>`` released, then ``D<ticks>``.

    A pitch sounding in the previous event and not named keeps sounding, so a voice goes on
    by default and stops only by an explicit ``R<p>`` (in :class:`SpelledCodec` every held
    pitch is named again in every event). Pitches named in an event ascend; ``R<p>`` only for
    a pitch sounding at the end of the previous event; at most ``max_pitches`` sounding.
    """

    spelling = "released"

    def token_name(self, token: int) -> str:
        name = super().token_name(token)
        return "R" + name[1:] if self._kinds_py[token] == self.KIND_HELD else name

    def encode_events(self, events: Sequence[Event]) -> list[int]:
        P, ids, before = self.pitches, [], set()
        for event in events:
            now = set(event.struck) | set(event.held)
            if any(not self.low <= p <= self.high for p in now):
                raise ConfigError(f"A pitch of {sorted(now)} is off the piano ({self.low}–{self.high}).")
            for i, ticks in enumerate(self.split_duration(event.duration)):
                if i == 0:
                    for p in sorted(set(event.struck) | (before - now)):
                        ids.append(1 + p - self.low + (0 if p in event.struck else P))
                ids.append(self._duration_id[ticks])
            before = now
        return ids

    def events(self, ids: Sequence[int], start: int = 0) -> list[Event]:
        kinds, pidx, ticks, low = self._kinds_py, self._pidx_py, self._ticks_py, self.low
        events, struck, released, sounding, time = [], set(), set(), set(), start
        for token in (int(t) for t in ids):
            kind = kinds[token]
            if kind == 1:
                struck.add(low + pidx[token])
            elif kind == 2:
                released.add(low + pidx[token])
            elif kind == 3:
                held = sounding - released - struck
                events.append(Event(time, ticks[token], tuple(sorted(struck)), tuple(sorted(held))))
                sounding, struck, released = held | struck, set(), set()
                time += ticks[token]
        return events

    def start_state(self, ids: Sequence[int], start: int = 0) -> SpelledState:
        state = self.empty_state(1, start)
        for token in ids:
            self.advance_inplace(state, int(token))
        return state

    def advance_inplace(self, state: SpelledState, token: int | Sequence[int] | np.ndarray) -> None:
        """``cur`` holds what sounds now (it starts each event as ``prev``)."""
        t = _row_tokens(token, state.rows)
        kind = self.kind[t]
        named = np.nonzero((kind == 1) | (kind == 2))[0]
        if named.size:
            p = self.pitch_index[t[named]]
            state.cur[named, p] = kind[named] == 1
            state.last[named] = p
        ended = np.nonzero(kind == 3)[0]
        if ended.size:
            state.tick[ended] += self.ticks[t[ended]]
            state.prev[ended] = state.cur[ended]
            state.last[ended] = -1
        state.count[:] = state.cur.sum(axis=1)

    def allowed(self, state: SpelledState) -> np.ndarray:
        P = self.pitches
        above = self._above[state.last + 1]
        strike = above & ((state.count < self.max_pitches)[:, None] | state.cur)
        mask = np.zeros((state.rows, self.vocab_size), dtype=bool)
        mask[:, 1:1 + P] = strike if state.compass is None else strike & state.compass
        mask[:, 1 + P:1 + 2 * P] = above & state.prev & state.cur
        mask[:, 1 + 2 * P:] = True
        return mask


def round_trip_ok(codec: SpelledCodec, piece: Piece) -> bool:
    """Whether ``decode(encode(piece))`` gives back the piece's quantised piano reduction,
    every note's onset, length and pitch."""
    def notes(p: Piece) -> list[tuple[int, int, int]]:
        return sorted((n.start, n.duration, n.pitch) for n in p.notes)

    got = codec.decode(codec.encode(piece), codec.first_tick(piece))
    return notes(got) == notes(normalise(quantise(piece, codec.grid)))


def codec_stats(codec: SpelledCodec, pieces: Sequence[Piece]) -> dict[str, Any]:
    """What ``bachgen tokens stats`` reports: pieces, events, tokens, vocabulary and the
    pieces whose round trip fails (none for the 48 fugues)."""
    failures = [p.name for p in pieces if not round_trip_ok(codec, p)]
    return {
        "codec": codec.name,
        "pieces": len(pieces),
        "events": sum(len(chordify(p, codec.reduction_config)) for p in pieces),
        "tokens": sum(len(codec.encode(p)) for p in pieces),
        "vocabulary": codec.vocab_size,
        "round_trip_failures": len(failures),
        "failed_pieces": failures,
    }
