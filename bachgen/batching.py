"""Takes that ask for the model together are drawn together.

Most of a token's time goes to work done once per step whatever the rows (NumPy calls
of the step, the grammar's mask, the draw), so takes of several listeners are served
faster as one batch than one after another behind a lock (``bachgen bench``: 8 takes
at once). :class:`DrawQueue` gathers them; :class:`RowStableStep` gives a row the same
bits in any batch, so every take gets exactly the music it gets alone (its own
generator, settings and guard go with it, see :func:`bachgen.spelled_sampling.sample_takes`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Sequence, TypeVar

import numpy as np


class RowStableStep:
    """The step of a :class:`~bachgen.spelled_sampling.NumpyStep` in which every row gets the
    same logits and state, bit for bit, whatever the batch: the same arithmetic, but each
    matrix product taken row by row.

    Why: OpenBLAS (0.3.31 here) gives a row other bits in a product of 1 row (a
    matrix-vector product) than of 2 or more, and other bits again when a product grows
    past its small-matrix kernel (the 256×196 logits product at 20 rows). Row by row,
    every row's products are the lone row's, so a take drawn with others gets exactly what
    it gets alone (and what the plain step gives one row). It costs little: a product
    of a few rows is mostly reading the weights, and OpenBLAS copies them before a
    many-row product (2 rows cost 5–9× one there).
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def zero_state(self, rows: int) -> list:
        return self.inner.zero_state(rows)

    def __call__(self, tokens: np.ndarray, features: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        """As :meth:`NumpyStep.__call__ <bachgen.spelled_sampling.NumpyStep.__call__>`."""
        inner, w = self.inner, self.inner.w
        x = inner._embed(tokens, features)
        h, c = state[0]
        x += _by_row(h, w.recurrent[0])
        h, c = inner._cell(x, c)
        new = [(h, c)]
        for layer in range(1, w.layers):
            hp, cp = state[layer]
            gates = _by_row(np.concatenate([h, hp], axis=1), inner.stacked[layer - 1])
            gates += w.biases[layer - 1]
            h, c = inner._cell(gates, cp)
            new.append((h, c))
        logits = _by_row(h, w.out)
        logits += w.out_bias
        return logits, new


def _by_row(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``x @ weights``, one matrix-vector product per row (NumPy's stacked product; a
    lone row is that one product already)."""
    if len(x) == 1:
        return x @ weights
    return (x[:, None, :] @ weights)[:, 0]


T = TypeVar("T")


@dataclass
class _Ask(Generic[T]):
    """One take waiting in the queue: what it asks, when, and what it gets."""

    take: T
    asked: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    batch: int = 0
    result: Any = None
    error: BaseException | None = None
    ready: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Served:
    """What a take got from the queue: its result, seconds it waited for the batch before
    its own to end, and how many takes its batch held."""

    result: Any
    queued: float
    batch: int


class DrawQueue(Generic[T]):
    """Takes that ask while a batch runs wait; when it ends, all of them run as one batch.

    ``run(takes, done)`` draws a batch and calls ``done(i, result)`` for each take as soon
    as that take is finished (a short take need not wait for a long one). One worker
    thread runs the batches while there are takes waiting (it ends when there are none);
    a take that asks while no batch runs starts at once. An error of ``run`` goes to
    every take of that batch; a take that cannot be drawn should be refused before it
    asks (so it never spoils a batch).
    """

    def __init__(self, run: Callable[[Sequence[T], Callable[[int, Any], None]], None]) -> None:
        self._run = run
        self._waiting: list[_Ask[T]] = []
        self._guard = threading.Lock()
        self._worker: threading.Thread | None = None

    def draw(self, take: T) -> Served:
        """``take``'s result, drawn in the next batch (blocks until it is there)."""
        ask = _Ask(take)
        with self._guard:
            self._waiting.append(ask)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="bachgen-draws", daemon=True)
                self._worker.start()
        ask.ready.wait()
        if ask.error is not None:
            raise ask.error
        return Served(ask.result, ask.started - ask.asked, ask.batch)

    def _serve(self) -> None:
        while True:
            with self._guard:
                if not self._waiting:
                    self._worker = None
                    return
                batch, self._waiting = self._waiting, []
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Ask[T]]) -> None:
        started = time.perf_counter()
        for ask in batch:
            ask.started, ask.batch = started, len(batch)

        def done(i: int, result: Any) -> None:
            batch[i].result = result
            batch[i].ready.set()

        try:
            self._run([a.take for a in batch], done)
        except BaseException as exc:  # noqa: BLE001 - handed to every take of the batch
            for ask in batch:
                if not ask.ready.is_set():
                    ask.error = exc
                    ask.ready.set()
        for ask in batch:  # a run that forgot a take must not leave it waiting
            if not ask.ready.is_set():
                ask.error = RuntimeError("The draw ended without this take's music.")
                ask.ready.set()
