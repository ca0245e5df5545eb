"""Serving many listeners from one engine: takes drawn together, audio first, waits counted.

Most of a token's time goes to work done once per step whatever the rows (NumPy calls
of the step, the grammar's mask, the draw), so takes of several listeners are served
faster as one batch than one after another behind a lock (``bachgen bench``: 8 takes
at once). :class:`DrawQueue` gathers them, a take that asks while others are drawn
joining them at the next step (continuous batching); :class:`~bachgen.step.RowStableStep`
gives a row the same bits in any batch, so every take gets exactly the music it gets alone
(its own generator, settings and guard go with it, see :func:`bachgen.sampling.sample_takes`).
:class:`AudioFirst` lets a server put every listener's music before the rest of its pages;
:class:`TimedLock` tells a take's wait for the model apart from its own drawing.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Sequence, TypeVar



T = TypeVar("T")

#: ``run(takes, done, joiners, early)``: draws ``takes``, polls ``joiners()`` for takes to add
#: between steps, calls ``done(i, result)`` for take ``i`` (numbered in the order they came)
#: and ``early(i, part)`` with a part of its result it has before the end, if any.
Run = Callable[[Sequence[T], Callable[[int, Any], None], Callable[[], list[T]],
                Callable[[int, Any], None]], None]


@dataclass
class _Ask(Generic[T]):
    """One take in the queue: what it asks, when, when its drawing began, and what it gets."""

    take: T
    asked: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    batch: int = 0
    result: Any = None
    error: BaseException | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    told: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)  # early parts, then None

    def finish(self) -> None:
        """The take has its result or its error: wake the thread that asked."""
        self.ready.set()
        self.told.put(None)


@dataclass(frozen=True)
class Served:
    """What a take got from the queue: its result; ``queued``, the seconds from asking to
    its drawing beginning (for a take that joined a running draw, at most about one token
    step and the seeds read before it); ``batch``, the takes it shared at least one step
    with, itself included (1: drawn alone)."""

    result: Any
    queued: float
    batch: int


class DrawQueue(Generic[T]):
    """Takes asking from many threads are drawn by one worker thread, together.

    A take that asks while no draw runs starts one at once. A take that asks while one
    runs joins it at its next step: ``run(takes, done, joiners)`` calls ``joiners()``
    before every step and gets the takes that asked since (the worker's inbox, emptied).
    ``done(i, result)`` is called for each take as soon as it is finished (a short take
    need not wait for a long one). Only the worker touches a draw's arrays; the asking
    threads only fill the inbox and wait. The worker ends when the inbox is empty after a
    draw. An error of ``run`` goes to every take of that draw, those that joined it
    included; a take that cannot be drawn should be refused before it asks (so it never
    spoils a draw).
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self._waiting: list[_Ask[T]] = []
        self._guard = threading.Lock()
        self._worker: threading.Thread | None = None

    def draw(self, take: T, on_early: Callable[[Any], None] | None = None) -> Served:
        """``take``'s result, drawn in the running draw or a new one (blocks until it is
        there). ``on_early(part)`` is called on this thread with each part of the result the
        draw tells before its end (while the draw goes on)."""
        ask = _Ask(take)
        with self._guard:
            self._waiting.append(ask)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="bachgen-draws", daemon=True)
                self._worker.start()
        while (part := ask.told.get()) is not None:
            if on_early is not None:
                on_early(part)
        if ask.error is not None:
            raise ask.error
        return Served(ask.result, ask.started - ask.asked, ask.batch)

    def _inbox(self) -> list[_Ask[T]]:
        """The takes that asked since the last look (emptied)."""
        with self._guard:
            new, self._waiting = self._waiting, []
        return new

    def _serve(self) -> None:
        while True:
            with self._guard:
                if not self._waiting:
                    self._worker = None
                    return
            self._run_draw()

    def _run_draw(self) -> None:
        """One ``run``: the takes waiting now, and those that join it."""
        asks: list[_Ask[T]] = []
        drawing: set[int] = set()  # the takes not finished, by number

        def admit(new: list[_Ask[T]]) -> list[T]:
            started = time.perf_counter()
            for i in drawing:
                asks[i].batch += len(new)
            for ask in new:
                ask.started, ask.batch = started, len(drawing) + len(new)
            drawing.update(range(len(asks), len(asks) + len(new)))
            asks.extend(new)
            return [a.take for a in new]

        def done(i: int, result: Any) -> None:
            drawing.discard(i)
            asks[i].result = result
            asks[i].finish()

        try:
            self._run(admit(self._inbox()), done, lambda: admit(self._inbox()),
                      lambda i, part: asks[i].told.put(part))
        except BaseException as exc:  # noqa: BLE001 - handed to every take of the draw
            for ask in asks:
                if not ask.ready.is_set():
                    ask.error = exc
                    ask.finish()
        for ask in asks:  # a run that forgot a take must not leave it waiting
            if not ask.ready.is_set():
                ask.error = RuntimeError("The draw ended without this take's music.")
                ask.finish()


class AudioFirst:
    """Takes still waiting for their audio go before everything else on a server.

    A take is *held* from the press of Generate until its audio is on the page
    (:meth:`hold`, :meth:`release`). What a page does after its audio (the piano roll, the
    statistics, the score's engraving) first :meth:`wait` s while other takes are held, at
    most ``longest_wait_s``, so the cores serve every listener's music first. A hold older
    than ``hold_expires_s`` (a session that went away mid-take) no longer counts.
    """

    def __init__(self, longest_wait_s: float = 20.0, hold_expires_s: float = 60.0) -> None:
        self.longest_wait_s, self.hold_expires_s = longest_wait_s, hold_expires_s
        self._held: dict[int, float] = {}
        self._guard = threading.Lock()
        self._next = 0

    def hold(self) -> int:
        """A new take starts: its ticket."""
        with self._guard:
            self._next += 1
            self._held[self._next] = time.monotonic()
            return self._next

    def release(self, ticket: int | None) -> None:
        """The take's audio is on the page (or it ended without): it holds no more."""
        with self._guard:
            self._held.pop(ticket, None)

    def busy(self) -> bool:
        """Whether a take (its hold not expired) still waits for its audio."""
        now = time.monotonic()
        with self._guard:
            return any(now - started < self.hold_expires_s for started in self._held.values())

    def wait(self) -> float:
        """Wait (asleep, the interpreter lock free) until no take is held, at most
        ``longest_wait_s``; the seconds waited."""
        started = time.perf_counter()
        while self.busy() and time.perf_counter() - started < self.longest_wait_s:
            time.sleep(0.05)
        return time.perf_counter() - started


class TimedLock:
    """A lock that notes, for each thread, how long it waited to be acquired.

    Installed as an engine's ``lock`` by a server that shares the engine between
    sessions, it tells a take's queueing for the model apart from its own sampling
    (:func:`compose` reports both: ``lock_wait`` and ``sample``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        asked = time.perf_counter()
        acquired = self._lock.acquire(blocking, timeout)
        self._local.waited = getattr(self._local, "waited", 0.0) + time.perf_counter() - asked
        return acquired

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()

    def take_waited(self) -> float:
        """Seconds this thread waited since the last call (and start counting again)."""
        waited = getattr(self._local, "waited", 0.0)
        self._local.waited = 0.0
        return waited


def lock_waited(engine: Any) -> float:
    """What the calling thread waited for the engine's lock, if the lock keeps count."""
    lock = getattr(engine, "lock", None)
    return lock.take_waited() if isinstance(lock, TimedLock) else 0.0
