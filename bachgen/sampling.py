"""Sampling: new events drawn after their seeds under the codec's grammar, guards taking back
loops and copies, several takes sharing the network's steps.

:func:`sample_ids` draws one take; :func:`sample_takes` several at once, each drawn as it
would be alone (given a step whose rows do not depend on the batch,
:class:`~bachgen.step.RowStableStep`), takes joining between steps. A :class:`Batch` holds
where each take's rows are and which are still drawing; a :class:`Rewind` takes back the
events a guard (:class:`~bachgen.guards.EventWatch`) sends back, returning the row's state,
logits and grammar to where the first of them began.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .codec import SpelledCodec
from .guards import EventWatch
from .harmony import harshness
from .rows import (RowConditions, SampleSettings, SeedRow, TakeRows, check_take, pick, token_probabilities,
                   warm_up)
from .step import NumpyStep, TfStep


def sample_ids(step: NumpyStep | TfStep, codec: SpelledCodec, rows: Sequence[SeedRow], events: int,
               settings: SampleSettings, rng: np.random.Generator,
               moved_by: Sequence[int] | None = None, watch: EventWatch | None = None,
               rules: Any = None) -> list[list[int]]:
    """``events`` new whole events per row after its seed, drawn under the grammar (and the
    plan's ``rules``, one for all rows or one per row: :class:`~bachgen.rows.TakeRows`).

    All rows step together; a row that has its events keeps stepping (its extra tokens are
    cut off) until the last row is done. Every row is cut after its ``events``-th duration
    token, so each decodes to exactly ``events`` events. ``moved_by``: semitones each row's
    seed was moved (to place ``settings.compass``, given in the output's key).

    With a ``watch`` (:class:`~bachgen.guards.EventWatch`, NumPy step only) every finished
    event is shown to it; events it sends back are taken back — the row's state, logits
    and grammar return to where the first of them began — and that event's first token
    is barred at that place, so the row goes another way. With no event sent back the ids
    are the same as without a watch.
    """
    return sample_takes(step, codec, [TakeRows(rows, events, settings, rng, moved_by, watch, rules)])[0]


def sample_takes(step: Any, codec: SpelledCodec, takes: Sequence[TakeRows],
                 on_done: Callable[[int, list[list[int]]], None] | None = None,
                 joiners: Callable[[], Sequence[TakeRows]] | None = None,
                 on_early: Callable[[int, list[int]], None] | None = None) -> list[list[list[int]]]:
    """:func:`sample_ids` for several takes at once: their rows share every step of the
    network, each take is drawn as it would be alone (same ids, given a step whose rows do
    not depend on the batch, :class:`bachgen.step.RowStableStep`). A take stops drawing
    when its rows are done (``on_done(take, ids)`` is told then); its rows are stepped no
    more.

    ``joiners`` (optional) is asked once before every token step for takes that join the
    draw there (a take that asked while the others were drawing need not wait for them to
    end, :class:`bachgen.serving.DrawQueue`): their seeds are read and their rows added,
    and each is then drawn as alone. Takes are numbered in the order they came (``takes``
    first); the result holds every take's ids in that order. The draw ends when no take is
    left drawing (takes that ask after that start a new one).

    ``on_early(take, ids)`` is told once for each take of one row with ``early`` set, as
    soon as its first ``early`` new events are final: ``ids`` is then the start of the ids
    it will get (see :meth:`Draw.final_tokens`)."""
    if not takes:
        return []
    run = Draw(step, codec, on_done, on_early)
    run.join(takes, 0)
    count = 0
    while True:
        new = joiners() if joiners is not None else ()
        if new:
            run.join(new, count)
        if run.token(count):
            break
        count += 1
    run.batch.finish(math.inf, on_done)
    return [run.batch.results[i] for i in range(run.batch.joined)]


class Draw:
    """The arrays of a draw of several takes — logits, network state, grammar state, row
    conditions and rewind marks, one row per seed row of a take — and the token step that
    carries them. Takes can join between steps (:meth:`join`). A step with a leaning
    (:mod:`bachgen.leaning`) has its logits leaned by the grammar's lines before each draw."""

    def __init__(self, step: Any, codec: SpelledCodec,
                 on_done: Callable[[int, list[list[int]]], None] | None,
                 on_early: Callable[[int, list[int]], None] | None = None) -> None:
        self.step, self.codec, self.on_done, self.on_early = step, codec, on_done, on_early
        self.batch = Batch(codec)
        self.rewind = Rewind([])
        self.chooser = Chooser(codec)
        self.leaner = getattr(step, "leaner", None)  # the network's leaning by interval, if any
        self.logits: Any = None
        self.state: Any = None
        self.grammar: Any = None
        self.conditions: RowConditions | None = None

    def join(self, takes: Sequence[TakeRows], count: int) -> None:
        """Add ``takes``, drawing from token step ``count``: the rows of takes that are done
        are dropped first (so a draw that takes keep joining does not grow), then the new
        rows' seeds are read and their rows appended to every array."""
        for take in takes:
            check_take(self.step, take)
        b = self.batch
        kept = b.drop_done()
        if kept is not None:
            self._keep(kept)
        start = len(b.rows)
        b.add(takes, count)
        rows = b.rows[start:]
        logits, state = warm_up(self.step, self.codec, rows)
        grammar = self.codec.start_states([r.ids for r in rows], [r.start for r in rows])
        if self.logits is None:
            self.logits, self.state, self.grammar = logits, state, grammar
        else:
            self.logits = np.concatenate([self.logits, logits])
            self.state = [(np.concatenate([h, nh]), np.concatenate([c, nc]))
                          for (h, c), (nh, nc) in zip(self.state, state)]
            self.grammar = self.grammar.joined(grammar)
        self.grammar.compass = b.compass()
        self.conditions = RowConditions.of(self.codec, b.rows)
        self.rewind.add(b.keeps[start:])
        self.chooser.add(len(rows))
        for r in range(start, len(b.rows)):
            if b.watched[r]:
                self.rewind.mark(r, 0, 0, self.logits, self.state, self.grammar)
            if b.rules[r] is not None:
                self.chooser.begin(r, 0, self.logits, self.state, self.grammar)

    def _keep(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` of every array (in that order)."""
        self.logits = self.logits[rows]
        self.state = [(h[rows], c[rows]) for h, c in self.state]
        self.grammar = self.grammar.take(rows)
        self.rewind.keep(rows.tolist())
        self.chooser.keep(rows.tolist())

    def token(self, count: int) -> bool:
        """Token step ``count``: one token per row, the network stepped for the takes still
        drawing, finished events shown to the guards; whether the draw is over."""
        b, codec, rewind = self.batch, self.codec, self.rewind
        mask = codec.allowed(self.grammar)
        b.constrain(mask, self.grammar)
        rewind.bar(mask, b.written, b.out)
        g = self.grammar
        logits = self.logits if self.leaner is None else self.leaner.add(self.logits, g.prev, g.cur, g.last)
        tokens = b.draw(logits, mask)
        ended = b.write(tokens)
        if b.all_written():
            return True
        codec.advance_inplace(self.grammar, tokens)
        features = self.conditions.features(codec, self.grammar.tick, self.grammar)
        self.logits, self.state = step_live(self.step, tokens, features, self.state, self.logits, b.stepped)
        for r in ended:
            self.event_ended(r)
        b.finish(count + 1, self.on_done)
        return all(b.done)

    def event_ended(self, r: int) -> None:
        """Row ``r`` ended an event: under a planned note it may be drawn again (best of N);
        once kept, the guard sees it; a row with an end stops when its event reaches it."""
        b, rules = self.batch, self.batch.rules[r]
        if rules is not None and self.chooser.again(r, b.out[r], rules, self.logits, self.state, self.grammar):
            if not b.watched[r]:
                b.written[r] -= 1
            return
        if b.watched[r]:
            b.written[r] = watch_event(self.codec, b, self.rewind, r, b.written[r] + 1, b.out[r],
                                        self.logits, self.state, self.grammar)
        if rules is not None:
            self.chooser.begin(r, len(b.out[r]), self.logits, self.state, self.grammar)
            if rules.finished(int(self.grammar.tick[r])):
                b.events[r] = b.written[r]
        if b.early[r] and self.on_early is not None:
            self.tell_early(r)

    def final_tokens(self, r: int) -> tuple[int, int]:
        """Row ``r``'s events and tokens that can no longer change: those before its oldest
        rewind mark (a guard only ever sends a row back to a mark, and marks are dropped
        oldest first), or, with no guard, every event written (best of N draws only the
        event being written again)."""
        b = self.batch
        if not b.watched[r]:
            return b.written[r], len(b.out[r])
        oldest = min(self.rewind.marks[r])
        return oldest, self.rewind.tokens_at(r, oldest)

    def tell_early(self, r: int) -> None:
        """Tell row ``r``'s take its opening once its first ``early`` events are final."""
        b = self.batch
        events, tokens = self.final_tokens(r)
        if events >= b.early[r]:
            b.early[r] = 0
            self.on_early(b.ids[b.take_of[r]], list(b.out[r][:tokens]))


def step_live(step: Any, tokens: np.ndarray, features: np.ndarray, state: Any, logits: np.ndarray,
               rows: np.ndarray | None) -> tuple[np.ndarray, Any]:
    """The step for the ``rows`` of takes still drawing (``None``: every row); the other rows
    keep their logits and state (their tokens are not used). Only when takes are drawn
    together (with a step whose rows do not depend on the batch) are some rows left out."""
    if rows is None:
        return step(tokens, features, state)
    new_logits, new_state = step(tokens[rows], features[rows], [(h[rows], c[rows]) for h, c in state])
    logits[rows] = new_logits
    for (h, c), (new_h, new_c) in zip(state, new_state):
        h[rows], c[rows] = new_h, new_c
    return logits, state


#: The rows of a draw group that holds every row (no copies of the logits and mask).
EVERY_ROW = slice(None)


@dataclass(frozen=True)
class Group:
    """Takes drawn with the same settings: their rows (in take order) and the takes."""

    settings: SampleSettings
    rows: np.ndarray | slice
    takes: list[int]


class Batch:
    """The rows of several takes drawn together: where each take's rows are, what each row
    needs (events, guard, how far back it may go) and which takes are still drawing.

    Per-row figures are Python lists (a few rows, read every token). ``open``: the rows
    still writing events, in order; ``changed``: the takes with a row that ended an event
    since the last :meth:`finish` (only these can have become done); ``groups``: the
    takes still drawing, by settings; ``stepped``: their rows when some take is done.
    Per take: ``ids``, its number in the draw (takes that join are numbered on);
    ``begun``, the token step it joined at (its step limit counts from there)."""

    _PER_ROW = ("take_of", "rows", "events", "watched", "keeps", "written", "out", "rules", "early")
    _PER_TAKE = ("takes", "ids", "limits", "begun")

    def __init__(self, codec: SpelledCodec) -> None:
        self.codec = codec
        self.takes: list[TakeRows] = []
        self.ids: list[int] = []
        self.limits: list[int] = []
        self.begun: list[int] = []
        self.slices: list[slice] = []
        self.done: list[bool] = []
        self.take_of: list[int] = []
        self.rows: list[SeedRow] = []
        self.events: list[int] = []
        self.watched: list[bool] = []
        self.keeps: list[int] = []
        self.written: list[int] = []
        self.out: list[list[int]] = []
        self.rules: list[Any] = []
        self.early: list[int] = []  # events to be final before the opening is told (0: never)
        self.live = np.ones(0, dtype=bool)
        self.stepped: np.ndarray | None = None
        self.open: list[int] = []
        self.changed: set[int] = set()
        self.results: dict[int, list[list[int]]] = {}
        self.joined = 0  # takes so far (the next one's number)
        self.ends = (codec.kind == codec.KIND_DURATION).tolist()  # by id: a duration token
        self.groups: list[Group] = []

    def add(self, takes: Sequence[TakeRows], count: int) -> None:
        """Append the rows of ``takes``, drawing from token step ``count``."""
        codec = self.codec
        for take in takes:
            n, at = len(take.rows), len(self.rows)
            window = 2 * take.watch.loops.window if take.watch else 0
            self.take_of += [len(self.takes)] * n
            self.takes.append(take)
            self.ids.append(self.joined)
            self.joined += 1
            rules = take.row_rules()
            tries = max((r.best_of for r in rules if r is not None), default=1)
            self.limits.append((take.events + (max(take.watch.budget) * window if take.watch else 0))
                               * (codec.max_pitches + 1) * tries)
            self.begun.append(count)
            self.slices.append(slice(at, at + n))
            self.done.append(False)
            self.rows += take.rows
            self.events += [take.events] * n
            self.watched += [take.watch is not None] * n
            self.keeps += [window] * n
            self.written += [0] * n
            self.out += [[] for _ in range(n)]
            self.rules += rules
            self.early += [take.early if n == 1 else 0] * n
        self.live = np.concatenate([self.live, np.ones(len(self.rows) - len(self.live), dtype=bool)])
        self.stepped = None if self.live.all() else np.nonzero(self.live)[0]
        self.open = [r for r in range(len(self.rows)) if self.live[r] and self.written[r] < self.events[r]]
        self.groups = self._groups()

    def drop_done(self) -> np.ndarray | None:
        """Forget the takes that are done (their ids are in ``results``); the rows kept, in
        order (``None``: no take is done, nothing changed). Called between steps."""
        if not any(self.done):
            return None
        kept = [i for i, done in enumerate(self.done) if not done]
        rows = [r for i in kept for r in range(self.slices[i].start, self.slices[i].stop)]
        sizes = np.cumsum([0] + [len(self.takes[i].rows) for i in kept]).tolist()
        self.take_of = [t for t, i in enumerate(kept) for _ in self.takes[i].rows]
        for name in self._PER_ROW[1:]:
            setattr(self, name, [getattr(self, name)[r] for r in rows])
        for name in self._PER_TAKE:
            setattr(self, name, [getattr(self, name)[i] for i in kept])
        self.slices = [slice(a, z) for a, z in zip(sizes[:-1], sizes[1:])]
        self.done = [False] * len(kept)
        self.live = np.ones(len(rows), dtype=bool)
        return np.asarray(rows, dtype=np.int64)

    def constrain(self, mask: np.ndarray, grammar: Any) -> None:
        """Narrow the mask of every open row that has a plan (:meth:`Rules.restrict`); nothing
        to do, and no per-row loop in the hot path, when no take has one."""
        if not any(self.rules):
            return
        for r in self.open:
            rules = self.rules[r]
            if rules is not None:
                rules.restrict(mask[r], int(grammar.tick[r]), int(grammar.last[r]), int(grammar.count[r]),
                               grammar.prev[r])

    def compass(self) -> np.ndarray | None:
        """Each row's compass mask in the model's key (``None``: no take has a compass)."""
        if all(t.settings.compass is None for t in self.takes):
            return None
        masks = []
        for t in self.takes:
            for m in (t.moved_by or [0] * len(t.rows)):
                low, high = t.settings.compass or (-1000, 1000)
                masks.append(self.codec.compass_mask(low + m, high + m))
        return np.stack(masks)

    def _groups(self) -> list[Group]:
        """The takes still drawing, by settings (worked out again when a take is done)."""
        by_settings: dict[SampleSettings, list[int]] = {}
        for i, done in enumerate(self.done):
            if not done:
                by_settings.setdefault(self.takes[i].settings, []).append(i)
        if len(by_settings) == 1 and not any(self.done):
            ((settings, group),) = by_settings.items()
            return [Group(settings, EVERY_ROW, group)]
        return [Group(settings, np.concatenate([np.arange(self.slices[i].start, self.slices[i].stop)
                                                 for i in group]), group)
                for settings, group in by_settings.items()]

    def draw(self, logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One token per row: drawn for the takes still drawing (settings shared by takes are
        worked out on their rows at once, each take's generator drawn as alone); any allowed
        token for the rows of takes that are done."""
        tokens = None
        for group in self.groups:
            p = token_probabilities(logits[group.rows], mask[group.rows], group.settings)
            u = [self.takes[i].rng.random(len(self.takes[i].rows)) for i in group.takes]
            picked = pick(p, u[0] if len(u) == 1 else np.concatenate(u))
            if group.rows is EVERY_ROW:
                return picked
            if tokens is None:
                tokens = np.argmax(mask, axis=1)
            tokens[group.rows] = picked
        return tokens

    def write(self, tokens: np.ndarray) -> list[int]:
        """Append each open row's token; the open rows whose event it ended. A row without
        a guard has that event written at once, a guarded row when its guard keeps it."""
        drawn, ends = tokens.tolist(), self.ends
        ended = []
        for r in self.open:
            self.out[r].append(drawn[r])
            if ends[drawn[r]]:
                ended.append(r)
                self.changed.add(self.take_of[r])
                if not self.watched[r]:
                    self.written[r] += 1
        return ended

    def all_written(self) -> bool:
        """Whether every row of the takes still drawing has its events (rows not open have)."""
        return bool(self.changed) and all(self.written[r] >= self.events[r] for r in self.open)

    def finish(self, count: float, on_done: Callable[[int, list[list[int]]], None] | None) -> None:
        """Stop the takes whose rows are all written, or that reached their step limit
        (``count`` token steps drawn, counted from the first; ``math.inf``: stop every take);
        the open rows, draw groups and stepped rows follow."""
        stopped = False
        for i, s in enumerate(self.slices):
            if not self.done[i] and (count - self.begun[i] >= self.limits[i]
                                     or (i in self.changed and self._written(s))):
                self.done[i], self.live[s], stopped = True, False, True
                self.results[self.ids[i]] = self.out[s]
                if on_done is not None:
                    on_done(self.ids[i], self.out[s])
        if stopped:
            self.groups = self._groups()
            self.stepped = np.nonzero(self.live)[0]
        if stopped or self.changed:
            self.open = [r for r in self.open if self.live[r] and self.written[r] < self.events[r]]
        self.changed.clear()

    def _written(self, rows: slice) -> bool:
        """Whether each of ``rows`` has its events."""
        return all(w >= e for w, e in zip(self.written[rows], self.events[rows]))

    def push(self, r: int, event: Any, reach: int | None = None) -> int:
        """Show row ``r``'s event to its take's guard (:meth:`EventWatch.push`)."""
        i = self.take_of[r]
        return self.takes[i].watch.push(r - self.slices[i].start, event, reach)


def watch_event(codec: SpelledCodec, watch: Any, rewind: "Rewind", r: int, position: int,
                 row_out: list[int], logits: np.ndarray, state: list, grammar: Any) -> int:
    """Show row ``r``'s event that just ended to the watch; keep it (and mark where the next
    begins) or take events back. Returns the row's events written after that."""
    begun = rewind.tokens_at(r, position - 1)
    back = watch.push(r, codec.events(row_out[begun:])[0], position - min(rewind.marks[r]))
    if not back:
        rewind.mark(r, position, len(row_out), logits, state, grammar)
        return position
    target = position - back
    first = row_out[rewind.tokens_at(r, target)]
    del row_out[rewind.restore(r, target, logits, state, grammar):]
    rewind.forbid(r, target, first)
    return target


class Chooser:
    """Best of N: an event that a planned note sounds in is drawn ``rules.best_of`` times from
    the same place (the row goes back after each), and the least harsh is kept
    (:func:`~bachgen.harmony.harshness` as ``rules.chooser`` counts it: clashes and thickness;
    the first of equals). It keeps the harmony around a
    line the network is given as mild as Bach's, where the first draw often clashes with it."""

    def __init__(self, codec: SpelledCodec) -> None:
        self.codec = codec
        self.starts: list[Mark | None] = []
        self.tries: list[list[tuple[int, list[int], Mark]]] = []

    def add(self, rows: int) -> None:
        self.starts += [None] * rows
        self.tries += [[] for _ in range(rows)]

    def keep(self, rows: Sequence[int]) -> None:
        self.starts = [self.starts[r] for r in rows]
        self.tries = [self.tries[r] for r in rows]

    def begin(self, r: int, tokens: int, logits: np.ndarray, state: list, grammar: Any) -> None:
        """Row ``r``'s next event begins here (after ``tokens`` tokens)."""
        self.starts[r] = snapshot(r, tokens, logits, state, grammar)
        self.tries[r] = []

    def again(self, r: int, row_out: list[int], rules: Any, logits: np.ndarray, state: list,
              grammar: Any) -> bool:
        """Whether row ``r`` goes back to draw its event again; when the last try is in, the
        row is put where the best try left it (its tokens in ``row_out``)."""
        start = self.starts[r]
        if start is None or rules.best_of <= 1 or not rules.at(int(start.grammar[4])).chosen:
            return False
        tokens = row_out[start.tokens:]
        pitches = [self.codec.low + self.codec.pitch_index[t] for t in tokens if self.codec.pitch_index[t] >= 0]
        tries = self.tries[r]
        tries.append((harshness(pitches, rules.chooser), tokens, snapshot(r, len(row_out), logits, state, grammar)))
        if len(tries) < rules.best_of:
            put_back(r, start, logits, state, grammar)
            del row_out[start.tokens:]
            return True
        _, best, mark = min(tries, key=lambda t: t[0])
        put_back(r, mark, logits, state, grammar)
        row_out[start.tokens:] = best
        return False


def snapshot(r: int, tokens: int, logits: np.ndarray, state: list, grammar: Any) -> "Mark":
    """Where row ``r`` stands: enough to put it back there (:func:`put_back`)."""
    return Mark(tokens, logits[r].copy(), [(h[r].copy(), c[r].copy()) for h, c in state],
                tuple(np.array(getattr(grammar, name)[r]) for name in grammar.PLACE))


def put_back(r: int, mark: "Mark", logits: np.ndarray, state: list, grammar: Any) -> None:
    """Row ``r``'s logits, network state and grammar as they were at ``mark``."""
    logits[r] = mark.logits
    for (h, c), (mh, mc) in zip(state, mark.state):
        h[r], c[r] = mh, mc
    for name, value in zip(grammar.PLACE, mark.grammar):
        getattr(grammar, name)[r] = value


@dataclass
class Mark:
    """Where a row stood when one of its events began: enough to draw that event again."""

    tokens: int
    logits: np.ndarray
    state: list[tuple[np.ndarray, np.ndarray]]
    grammar: tuple[Any, ...]  # the row's place in the grammar (:attr:`SpelledState.PLACE`)


class Rewind:
    """The last ``keeps[r]`` event beginnings of every row ``r`` (NumPy step state), and the
    first tokens barred at each place after an event there was taken back. After a row went
    back, fewer beginnings may be left behind it: the watch is told how far it can go."""

    def __init__(self, keeps: Sequence[int]) -> None:
        self.keeps = list(keeps)
        self.marks: list[dict[int, Mark]] = [{} for _ in self.keeps]
        self.barred: list[dict[int, set[int]]] = [{} for _ in self.keeps]
        self.barring: set[int] = set()  # the rows with a barred place

    def mark(self, r: int, position: int, tokens: int, logits: np.ndarray, state: list, grammar: Any) -> None:
        marks = self.marks[r]
        marks[position] = snapshot(r, tokens, logits, state, grammar)
        marks.pop(position - self.keeps[r], None)

    def add(self, keeps: Sequence[int]) -> None:
        """Rows appended (takes that join a draw)."""
        self.keeps += keeps
        self.marks += [{} for _ in keeps]
        self.barred += [{} for _ in keeps]

    def keep(self, rows: Sequence[int]) -> None:
        """Keep only ``rows`` (in that order; the others' takes are done)."""
        at = {r: i for i, r in enumerate(rows)}
        self.keeps = [self.keeps[r] for r in rows]
        self.marks = [self.marks[r] for r in rows]
        self.barred = [self.barred[r] for r in rows]
        self.barring = {at[r] for r in self.barring if r in at}

    def tokens_at(self, r: int, position: int) -> int:
        return self.marks[r][position].tokens

    def restore(self, r: int, position: int, logits: np.ndarray, state: list, grammar: Any) -> int:
        """Put row ``r`` back where event ``position`` began; the tokens it had then."""
        mark = self.marks[r][position]
        for later in [p for p in self.marks[r] if p > position]:
            del self.marks[r][later]
        put_back(r, mark, logits, state, grammar)
        return mark.tokens

    def forbid(self, r: int, position: int, token: int) -> None:
        """Bar ``token`` as the first of row ``r``'s event ``position``."""
        self.barred[r].setdefault(position, set()).add(token)
        self.barring.add(r)

    def bar(self, mask: np.ndarray, written: Sequence[int], out: Sequence[list[int]]) -> None:
        """Forbid the barred first tokens of rows standing at the start of a barred place
        (never every token: a duration always stays). ``written``: each row's events;
        ``out``: its tokens."""
        for r in self.barring:
            place = self.barred[r].get(int(written[r]))
            mark = self.marks[r].get(int(written[r]))
            if place and mark is not None and mark.tokens == len(out[r]):
                allowed = mask[r].copy()
                mask[r, list(place)] = False
                if not mask[r].any():
                    mask[r] = allowed
