"""The guards that watch sampling: loops and copies of the corpus.

* **Loops** — :func:`loop_at_end` notices when the last events repeat one short block
  (period 1 to 8, at least 3 times and over at least 16 events); :func:`find_loops`
  counts the places where a finished sequence ends such a loop. The sampler takes the
  repeats back and recovers (see :mod:`bachgen.sampling`).
* **Copies** — :class:`CopyIndex` knows every run of ``copy_limit`` events of the corpus
  in a transposition-free form (each event as its chord shape and length, plus the
  interval from the previous event). When a row's last ``copy_limit`` events occur in
  the corpus, the event that would make the copy longer is taken back (:class:`EventWatch`).
  :meth:`CopyIndex.longest_run` measures the longest verbatim run (in any transposition)
  with a suffix automaton.

The copy index reads :class:`~bachgen.events.Event` s (the codec's
:meth:`~bachgen.codec.SpelledCodec.events`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from .events import Event

#: What the copy index reads: events.
Item = Event

# --------------------------------------------------------------------------- loops


def loop_at_end(seq: Sequence[int], max_period: int = 8, min_repeats: int = 3,
                min_events: int = 16) -> tuple[int, int] | None:
    """``(period, span)`` when the end of ``seq`` is one block repeated, else ``None``.

    The last ``span = max(min_events, min_repeats * period)`` items must repeat with
    ``period`` (1 to ``max_period``); the shortest such period is reported.
    """
    n = len(seq)
    for period in range(1, max_period + 1):
        span = max(min_events, min_repeats * period)
        if span > n or (span > period and seq[n - 1] != seq[n - 1 - period]):  # mostly decided here
            continue
        tail = seq[n - span:]
        if all(tail[i] == tail[i - period] for i in range(period, span)):
            return period, span
    return None


def find_loops(seq: Sequence[int], max_period: int = 8, min_repeats: int = 3,
               min_events: int = 16) -> int:
    """How many positions of ``seq`` end a loop as :func:`loop_at_end` sees it
    (0: the sequence never gets stuck)."""
    arr = np.asarray(list(seq))
    ends = np.zeros(len(arr) + 1, dtype=bool)
    for period in range(1, max_period + 1):
        span = max(min_events, min_repeats * period)
        need = span - period  # consecutive equalities seq[i] == seq[i - period]
        if span > len(arr):
            break
        equal = (arr[period:] == arr[:-period]).astype(np.int64)
        # run length of equalities ending at each index of `equal`
        runs = np.zeros(len(equal), dtype=np.int64)
        run = 0
        for i, e in enumerate(equal):
            run = run + 1 if e else 0
            runs[i] = run
        # equal[i] compares arr[i + period] and arr[i]: a loop ends after arr[i + period]
        ends[np.flatnonzero(runs >= need) + period + 1] = True
    return int(ends.sum())


# --------------------------------------------------------------------------- copies


class _Automaton:
    """Suffix automaton of one token sequence: longest match of any text, in linear time."""

    __slots__ = ("next", "link", "length")

    def __init__(self, seq: Iterable[int]) -> None:
        self.next: list[dict[int, int]] = [{}]
        self.link = [-1]
        self.length = [0]
        last = 0
        for token in seq:
            cur = len(self.length)
            self.next.append({})
            self.length.append(self.length[last] + 1)
            self.link.append(0)
            p = last
            while p != -1 and token not in self.next[p]:
                self.next[p][token] = cur
                p = self.link[p]
            if p != -1:
                q = self.next[p][token]
                if self.length[p] + 1 == self.length[q]:
                    self.link[cur] = q
                else:
                    clone = len(self.length)
                    self.next.append(dict(self.next[q]))
                    self.length.append(self.length[p] + 1)
                    self.link.append(self.link[q])
                    while p != -1 and self.next[p].get(token) == q:
                        self.next[p][token] = clone
                        p = self.link[p]
                    self.link[q] = clone
                    self.link[cur] = clone
            last = cur

    def match_lengths(self, seq: Sequence[int]) -> list[int]:
        """For each position of ``seq``, the longest substring ending there found in the text."""
        state, length, out = 0, 0, []
        nxt, link, lens = self.next, self.link, self.length
        for token in seq:
            while state and token not in nxt[state]:
                state = link[state]
                length = lens[state]
            if token in nxt[state]:
                state = nxt[state][token]
                length += 1
            else:
                state, length = 0, 0
            out.append(length)
        return out


_DELTA_BASE = 1_000_000  # delta tokens are negative; chord-shape tokens are >= 0


class CopyIndex:
    """The corpus in transposition-free form, for measuring and preventing copies.

    Each event becomes its *shape* (pitches relative to its lowest, with hold marks,
    and its length) and the *interval* from the previous event's lowest pitch (a rest
    keeps the previous one). A run of events is in the corpus "in some transposition"
    exactly when these match, interval of the first event excepted.
    """

    def __init__(self, sequences: Sequence[Sequence[Item]], limit: int = 12,
                 names: Sequence[str] | None = None) -> None:
        self.limit = int(limit)
        self._shape_ids: dict[tuple, int] = {}
        self._form_cache: dict[Any, tuple[int, int | None]] = {}
        self.names = list(names) if names is not None else [str(i) for i in range(len(sequences))]
        self.pieces: list[list[tuple[int, int]]] = [self.relative(seq) for seq in sequences]
        self._continuations: dict[tuple[int, ...], set[tuple[int, int]]] = {}
        if self.limit:
            k = self.limit
            for events in self.pieces:
                for j in range(k, len(events)):
                    key = self._key(events, j - k, j)
                    self._continuations.setdefault(key, set()).add(
                        (events[j][1] - events[j - 1][1], events[j][0]))
        self._automata: list[_Automaton] | None = None

    # -- relative form
    def form(self, item: Item) -> tuple[int, int | None]:
        """``(shape id, lowest pitch or None for a rest)`` of one event."""
        key = (item.struck, item.held, item.duration)
        cached = self._form_cache.get(key)
        if cached is not None:
            return cached
        event = item
        pitches = sorted([(p, False) for p in event.struck] + [(p, True) for p in event.held])
        base = pitches[0][0] if pitches else None
        shape = (tuple((p - base, h) for p, h in pitches) if pitches else "rest", event.duration)
        sid = self._shape_ids.setdefault(shape, len(self._shape_ids))
        self._form_cache[key] = (sid, base)
        return sid, base

    def relative(self, items: Sequence[Item], base: int = 0) -> list[tuple[int, int]]:
        """Events as ``(shape id, lowest pitch carried over rests)``; ``base`` before the first."""
        return carry_bases([self.form(item) for item in items], base)

    @staticmethod
    def _key(events: Sequence[tuple[int, int]], start: int, stop: int) -> tuple[int, ...]:
        key = [events[start][0]]
        for j in range(start + 1, stop):
            key.append(events[j][1] - events[j - 1][1])
            key.append(events[j][0])
        return tuple(key)

    def continuations(self, events: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """``(interval, shape)`` of every event that follows the last ``limit`` events in the corpus."""
        if not self.limit or len(events) < self.limit:
            return set()
        return self._continuations.get(self._key(events, len(events) - self.limit, len(events)), set())

    # -- measuring
    @staticmethod
    def _tokens(events: Sequence[tuple[int, int]]) -> list[int]:
        tokens: list[int] = []
        for j, (sid, base) in enumerate(events):
            if j:
                tokens.append(-_DELTA_BASE - (base - events[j - 1][1]))
            tokens.append(sid)
        return tokens

    def _build_automata(self) -> None:
        if self._automata is None:
            self._automata = [_Automaton(self._tokens(events)) for events in self.pieces]

    def longest_run(self, items: Sequence[Item], exclude: Iterable[int] = ()) -> int:
        """The longest run of ``items`` (events) found verbatim, in any
        transposition, in the corpus (pieces whose index is in ``exclude`` left out)."""
        if not items:
            return 0
        self._build_automata()
        assert self._automata is not None
        tokens = self._tokens(self.relative(items))
        skip = set(exclude)
        best = 0
        for index, automaton in enumerate(self._automata):
            if index in skip:
                continue
            for position, length in enumerate(automaton.match_lengths(tokens)):
                if position % 2:  # an interval token: a run ends on an event
                    continue
                if length % 2 == 0:  # the match starts on an interval: drop it
                    length -= 1
                best = max(best, (length + 1) // 2)
        return best


def carry_bases(forms: Sequence[tuple[int, int | None]], base: int = 0) -> list[tuple[int, int]]:
    """``(shape id, lowest pitch)`` forms with a rest's missing pitch taken from the event
    before (``base`` before the first)."""
    out = []
    for sid, low in forms:
        base = base if low is None else low
        out.append((sid, base))
    return out


# --------------------------------------------------------------------------- watching a draw


@dataclass(frozen=True)
class LoopRule:
    """A loop: the last ``min_events`` events (at least ``min_repeats`` periods) repeating
    one block of 1 to ``max_period`` events (see :func:`loop_at_end`)."""

    max_period: int = 8
    min_repeats: int = 3
    min_events: int = 16

    @property
    def window(self) -> int:
        """The most events a loop can span."""
        return max(self.min_events, self.min_repeats * self.max_period)


class EventWatch:
    """Each row's events while they are drawn, and how many of the last ones must go.

    The sampler pushes every event a row finishes; :meth:`push` answers how many events
    to take back (0: keep it) and forgets them itself:

    * a **loop** at the end of the row's new events: its repeats go, one block stays;
    * with a copy ``index``: an event that makes a run found in the corpus (in any
      transposition, the seed's events included) longer than ``index.limit``: it goes.

    Each row may be sent back ``budget`` times; after that its events stand (the
    candidate choice and the reported figures still see any loop or copy).
    """

    def __init__(self, seeds: Sequence[Sequence[Event]], loops: LoopRule = LoopRule(),
                 index: CopyIndex | None = None, budget: int = 40) -> None:
        self.loops, self.index = loops, index if index is not None and index.limit else None
        self.budget = [int(budget)] * len(seeds)
        self.loops_taken_back = [0] * len(seeds)
        self.copies_refused = [0] * len(seeds)
        self._numbers: dict[tuple, int] = {}
        self._new: list[list[int]] = [[] for _ in seeds]
        self._forms: list[list[tuple[int, int]]] = [
            self.index.relative(list(seed)) if self.index else [] for seed in seeds]

    def push(self, row: int, event: Event, reach: int | None = None) -> int:
        """Record ``row``'s next event; the number of its last events to take back (at most
        ``reach``, how far back the sampler can still go; a loop is then cut short)."""
        self._new[row].append(self._numbers.setdefault((event.struck, event.held, event.duration),
                                                       len(self._numbers)))
        if self.index:
            sid, low = self.index.form(event)
            if low is None:  # a rest keeps the lowest pitch before it
                low = self._forms[row][-1][1] if self._forms[row] else 0
            self._forms[row].append((sid, low))
        if self.budget[row] <= 0:
            return 0
        back = min(self._loop_back(row) or self._copy_back(row), len(self._new[row]) if reach is None else reach)
        if back:
            self.budget[row] -= 1
            self.forget(row, back)
        return back

    def forget(self, row: int, events: int) -> None:
        """Drop ``row``'s last ``events`` new events."""
        del self._new[row][len(self._new[row]) - events:]
        if self.index:
            del self._forms[row][len(self._forms[row]) - events:]

    def _loop_back(self, row: int) -> int:
        rule, new = self.loops, self._new[row]
        if len(new) < rule.min_events:
            return 0
        found = loop_at_end(new[-rule.window:], rule.max_period, rule.min_repeats, rule.min_events)
        if found is None:
            return 0
        self.loops_taken_back[row] += 1
        period, span = found
        return span - period

    def _copy_back(self, row: int) -> int:
        forms, index = self._forms[row], self.index
        if index is None or len(forms) <= index.limit or not self._new[row]:
            return 0
        last, before = forms[-1], forms[-2]
        if (last[1] - before[1], last[0]) not in index.continuations(forms[-index.limit - 1:-1]):
            return 0
        self.copies_refused[row] += 1
        return 1


__all__ = ["loop_at_end", "find_loops", "CopyIndex", "carry_bases",
           "LoopRule", "EventWatch"]
