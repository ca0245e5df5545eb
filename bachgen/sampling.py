"""Drawing new events from the network, one step at a time, with the LSTM state carried.

The original project re-ran the whole 50-event window through ``model.predict`` for
every new event. Here the seed is read once (*priming*) and each new event costs one
recurrent step: the embedding row of the last word, one update per LSTM layer, and the
logits. The step runs on the trained weights read by layer name (``embedding``,
``lstm_i``, ``logits``), either in NumPy (:class:`NumpyStep`, the default: no graph
dispatch per call, which dominates at this size) or as a compiled ``tf.function``
(:class:`TFStep`); both give the Keras model's logits (see the tests).

Several candidates are drawn at once (a batch of rows). Each row has its own
:class:`numpy.random.Generator`-driven draw, temperature, top-k and top-p, so one seed
and one set of settings always give the same events.

Two guards work while sampling:

* **Loops** — :func:`loop_at_end` notices when the last events repeat one short block
  (period 1 to 8, at least 3 times and over at least 16 events). The repeats are taken
  back (the state is restored from a snapshot), the row is sampled hotter for a while,
  and a row that keeps looping is re-primed from another place in the corpus (or, with
  no corpus, its state is perturbed). Every recovery is counted.
* **Copies** — :class:`CopyIndex` knows every run of ``copy_limit`` events of the corpus
  in a transposition-free form (each event as its chord shape and length, plus the
  interval from the previous event). When a row's last ``copy_limit`` events occur in
  the corpus, the words that would make the copy longer are masked.
  :meth:`CopyIndex.longest_run` measures the longest verbatim run (in any transposition)
  with a suffix automaton.
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from .config import SamplingConfig
from .errors import BundleError
from .tokens import REST, Vocabulary, parse_word

# --------------------------------------------------------------------------- the step


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class NumpyStep:
    """One recurrent step of the bachgen network in NumPy, from the trained weights.

    State is a list ``[h_0, c_0, h_1, c_1, ...]`` of ``(batch, units)`` float32 arrays.
    Keras LSTM gate order is input, forget, cell, output; the kernel and the recurrent
    kernel are stacked so each layer is one matrix product.
    """

    name = "numpy"

    def __init__(self, embedding: np.ndarray, lstms: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 dense: np.ndarray, dense_bias: np.ndarray) -> None:
        self.embedding = np.ascontiguousarray(embedding, dtype=np.float32)
        self.layers = [(np.ascontiguousarray(np.vstack([k, u]), dtype=np.float32),
                        np.asarray(b, dtype=np.float32), int(u.shape[0])) for k, u, b in lstms]
        self.dense = np.ascontiguousarray(dense, dtype=np.float32)
        self.dense_bias = np.asarray(dense_bias, dtype=np.float32)
        # the bias as one more row, so the logits are one product: [h, 1] @ [[W], [b]]
        self._dense_with_bias = np.ascontiguousarray(np.vstack([self.dense, self.dense_bias[None, :]]))
        self.vocab_size = int(self.dense.shape[1])
        self.units = [units for _, _, units in self.layers]

    @classmethod
    def from_model(cls, model) -> "NumpyStep":
        """Read the weights of a :func:`bachgen.model.build_model` network by layer name."""
        return cls(*read_weights(model))

    def zero_state(self, batch: int) -> list[np.ndarray]:
        state = []
        for units in self.units:
            state += [np.zeros((batch, units), np.float32), np.zeros((batch, units), np.float32)]
        return state

    def step(self, ids: np.ndarray, state: list[np.ndarray], out: np.ndarray | None = None
             ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits ``(batch, vocab)`` after reading ``ids`` ``(batch,)``, and the new state
        (``out``: an array to write the logits into)."""
        x = self.embedding[np.asarray(ids, dtype=np.int64)]
        new_state = []
        for i, (kernel, bias, units) in enumerate(self.layers):
            h, c = state[2 * i], state[2 * i + 1]
            z = np.concatenate([x, h], axis=1) @ kernel
            z += bias
            gates = _sigmoid(z[:, :2 * units])
            g = np.tanh(z[:, 2 * units:3 * units])
            o = _sigmoid(z[:, 3 * units:])
            c = gates[:, units:] * c + gates[:, :units] * g
            h = o * np.tanh(c)
            new_state += [h, c]
            x = h
        return self.logits(new_state, out), new_state

    def logits(self, state: list[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
        """The logits a state predicts (from the top layer's output)."""
        h = state[-2]
        h1 = np.empty((h.shape[0], h.shape[1] + 1), np.float32)
        h1[:, :-1] = h
        h1[:, -1] = 1.0
        return np.matmul(h1, self._dense_with_bias, out=out)

    def prime(self, ids: np.ndarray, state: list[np.ndarray] | None = None
              ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Read a ``(batch, time)`` block of ids; the logits after the last one and the state."""
        ids = np.asarray(ids)
        state = state if state is not None else self.zero_state(ids.shape[0])
        logits = None
        for t in range(ids.shape[1]):
            logits, state = self.step(ids[:, t], state)
        if logits is None:
            logits = self.logits(state)
        return logits, state


class TFStep(NumpyStep):
    """The same step as a compiled ``tf.function`` (same weights, same state layout)."""

    name = "tf.function"

    def __init__(self, *weights) -> None:
        super().__init__(*weights)
        import tensorflow as tf

        self._tf = tf
        emb = tf.constant(self.embedding)
        layers = [(tf.constant(k), tf.constant(b), units) for k, b, units in self.layers]
        dense, dense_bias = tf.constant(self.dense), tf.constant(self.dense_bias)
        n = len(layers)
        spec = [tf.TensorSpec([None], tf.int32)] + [
            tf.TensorSpec([None, units], tf.float32) for units in self.units for _ in range(2)]

        @tf.function(input_signature=spec, reduce_retracing=True)
        def _step(ids, *state):
            x = tf.gather(emb, ids)
            out = []
            for i in range(n):
                kernel, bias, units = layers[i]
                h, c = state[2 * i], state[2 * i + 1]
                z = tf.matmul(tf.concat([x, h], axis=1), kernel) + bias
                ig, fg, g, o = tf.split(z, 4, axis=1)
                c = tf.sigmoid(fg) * c + tf.sigmoid(ig) * tf.tanh(g)
                h = tf.sigmoid(o) * tf.tanh(c)
                out += [h, c]
                x = h
            return (tf.matmul(x, dense) + dense_bias, *out)

        self._step = _step

    @classmethod
    def from_model(cls, model) -> "TFStep":
        return cls(*read_weights(model))

    def step(self, ids, state, out=None):
        result = self._step(np.asarray(ids, dtype=np.int32), *state)
        return result[0].numpy(), [t.numpy() for t in result[1:]]


STEP_BACKENDS = {"numpy": NumpyStep, "tf": TFStep}


def read_weights(model):
    """``(embedding, [(kernel, recurrent_kernel, bias), ...], dense, dense_bias)`` by layer name."""
    names = {layer.name: layer for layer in model.layers}
    if "embedding" not in names or "lstm_0" not in names or "logits" not in names:
        raise BundleError(
            "The model has no 'embedding', 'lstm_0' and 'logits' layers, so it cannot be sampled "
            "step by step.", "Use a bundle trained by `bachgen train` (embedding-lstm).")
    embedding = names["embedding"].get_weights()[0]
    lstms = []
    i = 0
    while f"lstm_{i}" in names:
        kernel, recurrent, bias = names[f"lstm_{i}"].get_weights()
        lstms.append((kernel, recurrent, bias))
        i += 1
    dense, dense_bias = names["logits"].get_weights()
    return embedding, lstms, dense, dense_bias


def make_step(model, backend: str = "numpy") -> NumpyStep:
    """The step function for ``model`` on ``backend`` (``"numpy"`` or ``"tf"``)."""
    try:
        cls = STEP_BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown step backend {backend!r}") from None
    return cls.from_model(model)


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
        if span > n:
            continue
        tail = seq[n - span:]
        if all(tail[i] == tail[i - period] for i in range(period, span)):
            return period, span
    return None


def _loops_at_end_batch(window: np.ndarray, lengths: np.ndarray, max_period: int,
                        min_repeats: int, min_events: int) -> list[tuple[int, int] | None]:
    """:func:`loop_at_end` for every row of ``window`` (the last ``W`` ids of each row,
    right-aligned; ``lengths`` how many of them are real)."""
    rows = window.shape[0]
    width = window.shape[1]
    found: list[tuple[int, int] | None] = [None] * rows
    for period in range(1, max_period + 1):
        span = max(min_events, min_repeats * period)
        if span > width:
            break
        tail = window[:, width - span:]
        same = np.all(tail[:, period:] == tail[:, :-period], axis=1) & (lengths >= span)
        for b in np.flatnonzero(same):
            if found[b] is None:
                found[b] = (period, span)
    return found


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

    def __init__(self, sequences: Sequence[Sequence[str]], limit: int = 12,
                 names: Sequence[str] | None = None) -> None:
        self.limit = int(limit)
        self._shape_ids: dict[tuple, int] = {}
        self._word_cache: dict[str, tuple[int, int | None]] = {}
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
        self._whole: _Automaton | None = None

    # -- relative form
    def word_form(self, word: str) -> tuple[int, int | None]:
        """``(shape id, lowest pitch or None for a rest)`` of one word."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        struck, held, ticks = parse_word(word)
        pitches = sorted([(p, False) for p in struck] + [(p, True) for p in held])
        base = pitches[0][0] if pitches else None
        shape = (tuple((p - base, h) for p, h in pitches) if pitches else REST, ticks)
        sid = self._shape_ids.setdefault(shape, len(self._shape_ids))
        self._word_cache[word] = (sid, base)
        return sid, base

    def relative(self, words: Sequence[str], base: int = 0) -> list[tuple[int, int]]:
        """Events as ``(shape id, lowest pitch carried over rests)``; ``base`` before the first."""
        out = []
        for word in words:
            sid, low = self.word_form(word)
            base = base if low is None else low
            out.append((sid, base))
        return out

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

    def longest_run(self, words: Sequence[str], exclude: Iterable[int] = ()) -> int:
        """The longest run of ``words`` found verbatim, in any transposition, in the corpus
        (pieces whose index is in ``exclude`` left out)."""
        if not words:
            return 0
        self._build_automata()
        assert self._automata is not None
        tokens = self._tokens(self.relative(words))
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


class VocabForms:
    """Every vocabulary word in the relative form of a :class:`CopyIndex`, for masking."""

    def __init__(self, vocab: Vocabulary, index: CopyIndex) -> None:
        self.forms: list[tuple[int, int | None]] = [(-1, None)]
        self.lookup: dict[tuple[int, int | None], int] = {}
        for vid, word in enumerate(vocab.words[1:], start=1):
            form = index.word_form(word)
            self.forms.append(form)
            self.lookup.setdefault(form, vid)

    def ids_for(self, continuations: set[tuple[int, int]], base: int) -> list[int]:
        """Vocabulary ids of the continuations ``(interval, shape)`` after an event at ``base``."""
        ids = []
        for delta, sid in continuations:
            vid = self.lookup.get((sid, base + delta))
            if vid is None:
                vid = self.lookup.get((sid, None))
            if vid is not None:
                ids.append(vid)
        return ids


# --------------------------------------------------------------------------- key guide

_WORD_PCS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def word_pitch_classes(vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """``(counts (V, 12), ticks (V,))``: struck pitch classes and length of every word."""
    cached = _WORD_PCS.get(vocab)
    if cached is None:
        counts = np.zeros((len(vocab), 12), np.float32)
        ticks = np.zeros(len(vocab), np.float32)
        for vid, word in enumerate(vocab.words[1:], start=1):
            struck, held, length = parse_word(word)
            for pitch in struck:
                counts[vid, pitch % 12] += 1
            ticks[vid] = length
        cached = _WORD_PCS[vocab] = (counts, ticks)
    return cached


def _key_profiles() -> tuple[np.ndarray, np.ndarray]:
    """The 24 rotated key profiles, standardised, and each key's out-of-scale mask."""
    from .harmony import MAJOR_PROFILE, MINOR_PROFILE

    profiles, masks = [], []
    for minor, profile, scale in ((False, MAJOR_PROFILE, _MAJOR_SCALE), (True, MINOR_PROFILE, _MINOR_SCALE)):
        for tonic in range(12):
            rolled = np.roll(np.asarray(profile, np.float64), tonic)
            profiles.append((rolled - rolled.mean()) / rolled.std())
            mask = np.ones(12, np.float32)
            mask[[(tonic + step) % 12 for step in scale]] = 0.0
            if minor:  # harmonic minor; the raised 6th and the natural 7th count half
                mask[[(tonic + 9) % 12, (tonic + 10) % 12]] = 0.5
            masks.append(mask)
    return np.array(profiles), np.array(masks)


def key_outside(histograms: np.ndarray) -> np.ndarray:
    """For pitch-class histograms ``(rows, 12)``, 1 for the pitch classes outside the scale
    of each row's most likely key (Krumhansl–Kessler profiles, the correlation of the
    Krumhansl–Schmuckler method; harmonic minor, where the raised 6th and the natural
    7th count 0.5), else 0. A flat histogram
    counts as C major."""
    profiles, masks = _key_profiles()
    h = np.atleast_2d(np.asarray(histograms, np.float64))
    spread = h.std(axis=1, keepdims=True)
    z = np.where(spread > 0, (h - h.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1), 0)
    return masks[np.argmax(z @ profiles.T, axis=1)]


# --------------------------------------------------------------------------- drawing


def _weights_inplace(scaled: np.ndarray, top_k: int | None, top_p: float | None) -> np.ndarray:
    """Turn scaled logits (``-inf`` = masked) into unnormalised weights, in place."""
    vocab = scaled.shape[1]
    if top_k is not None and top_k < vocab:
        kth = np.partition(scaled, vocab - top_k, axis=1)[:, vocab - top_k][:, None]
        scaled[scaled < kth] = -np.inf
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled, out=scaled)
    if top_p is not None and top_p < 1.0:
        total = weights.sum(axis=1, keepdims=True, dtype=np.float64)
        # the likeliest SHORTLIST words usually hold mass p: sort only those
        if vocab > 2 * SHORTLIST:
            part = np.argpartition(-weights, SHORTLIST - 1, axis=1)[:, :SHORTLIST]
            short = np.take_along_axis(weights, part, axis=1)
            order = np.argsort(-short, axis=1, kind="stable")
            index = np.take_along_axis(part, order, axis=1)
            ranked = np.take_along_axis(short, order, axis=1)
            running = np.cumsum(ranked, axis=1, dtype=np.float64)
            fits = running[:, -1] / total[:, 0] >= top_p
            if fits.all():
                before = (running - ranked) / total
                ranked[before >= top_p] = 0.0
                weights[:] = 0.0
                np.put_along_axis(weights, index, ranked, axis=1)
                return weights
        order = np.argsort(-weights, axis=1, kind="stable")
        ranked = np.take_along_axis(weights, order, axis=1)
        before = (np.cumsum(ranked, axis=1, dtype=np.float64) - ranked) / total  # likelier mass
        drop = before >= top_p
        drop[:, 0] = False
        ranked[drop] = 0.0
        np.put_along_axis(weights, order, ranked, axis=1)
    return weights


SHORTLIST = 512


def filter_logits(logits: np.ndarray, temperature: np.ndarray | float, top_k: int | None,
                  top_p: float | None) -> np.ndarray:
    """Probabilities ``(batch, vocab)`` after temperature, top-k and top-p.

    Entries that are ``-inf`` in ``logits`` (masked words) get probability 0.
    """
    inverse = (1.0 / np.reshape(np.asarray(temperature, dtype=np.float64), (-1, 1))).astype(np.float32)
    weights = _weights_inplace(np.asarray(logits, dtype=np.float32) * inverse, top_k, top_p)
    return weights / weights.sum(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)


BLOCK = 256  # words per block when drawing


def draw(probs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One id per row from (unnormalised) ``probs`` by inverse CDF, one uniform number per
    row; also each drawn id's probability.

    Two levels, so no running sum over the whole vocabulary is needed: the sums of blocks
    of :data:`BLOCK` words pick a block, a running sum inside it picks the word. A width
    that is a multiple of :data:`BLOCK` is used as it is (pad with zeros).
    """
    rows, width = probs.shape
    if width % BLOCK:
        padded = np.zeros((rows, width + BLOCK - width % BLOCK), probs.dtype)
        padded[:, :width] = probs
        probs = padded
    blocks = probs.reshape(rows, -1, BLOCK)
    block_sums = np.cumsum(blocks.sum(axis=2, dtype=np.float64), axis=1)
    totals = block_sums[:, -1]
    u = rng.random(rows) * totals
    which = np.minimum((block_sums <= u[:, None]).sum(axis=1), block_sums.shape[1] - 1)
    before = np.where(which > 0, block_sums[np.arange(rows), np.maximum(which - 1, 0)], 0.0)
    inside = blocks[np.arange(rows), which]  # (rows, BLOCK)
    running = np.cumsum(inside, axis=1, dtype=np.float64)
    offset = np.minimum((running <= (u - before)[:, None]).sum(axis=1), BLOCK - 1)
    for b in np.flatnonzero(inside[np.arange(rows), offset] <= 0):  # rounding at a block's end
        offset[b] = np.flatnonzero(inside[b] > 0)[-1]
    ids = which * BLOCK + offset
    return ids, probs[np.arange(rows), ids] / totals


@contextmanager
def blas_single_thread():
    """Run NumPy's BLAS on the calling thread only while inside the block.

    Recurrent steps are many small products; BLAS worker threads cost more than they
    give there, and much more when the cores are busy. Uses OpenBLAS's per-thread
    setting, so other threads keep theirs; does nothing when it is not available.
    """
    setter = _openblas_setter()
    if setter is None:
        yield
        return
    previous = setter(1)
    try:
        yield
    finally:
        setter(previous if previous and previous > 0 else 0)


_SETTER: list = []


def _openblas_setter():
    if not _SETTER:
        function = None
        try:
            import ctypes
            import glob
            import os

            folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
            for path in sorted(glob.glob(os.path.join(folder, "lib*openblas*.so*"))):
                library = ctypes.CDLL(path)
                if hasattr(library, "openblas_set_num_threads_local"):
                    function = library.openblas_set_num_threads_local
                    function.argtypes = [ctypes.c_int]
                    function.restype = ctypes.c_int
                    break
        except OSError:
            function = None
        _SETTER.append(function)
    return _SETTER[0]


@dataclass
class SampleResult:
    """What :func:`sample` drew: ``ids[b]`` the new events of row ``b`` and what happened."""

    ids: list[list[int]]
    loop_recoveries: list[int]
    reseeds: list[int]
    copy_masks: list[int]
    stuck: list[bool]
    mean_log_prob: list[float]
    steps: int
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


#: Re-seeding: a function ``(rng, length) -> ids`` giving another place of the corpus.
Reseeder = Callable[[np.random.Generator, int], list[int]]

_SNAPSHOTS = 96  # steps of state kept for taking loops back


def sample(step: NumpyStep, seeds: Sequence[Sequence[int]], config: SamplingConfig,
           rng: np.random.Generator, vocab: Vocabulary | None = None,
           copy_index: CopyIndex | None = None, forms: VocabForms | None = None,
           reseed: Reseeder | None = None, context_len: int = 50,
           progress: Callable[[float], None] | None = None) -> SampleResult:
    """Draw ``config.events`` new events for each seed (one row per seed), all rows at once.

    ``seeds`` are lists of ids (at least one each). ``copy_index`` (with ``forms`` or
    ``vocab``) turns on the copy guard; ``reseed`` gives another corpus excerpt when a row
    keeps looping. ``progress`` gets the fraction done. ``mean_log_prob`` in the result is
    the mean log-probability of the drawn words under the distribution they were drawn from.
    """
    with blas_single_thread():
        return _sample(step, seeds, config, rng, vocab, copy_index, forms, reseed, context_len,
                       progress)


def _sample(step, seeds, config, rng, vocab, copy_index, forms, reseed, context_len, progress):
    import time

    started = time.perf_counter()
    rows = len(seeds)
    if rows == 0 or any(len(s) == 0 for s in seeds):
        raise ValueError("every row needs a seed of at least one id")
    target = config.events
    if copy_index is not None and config.copy_limit and copy_index.limit != config.copy_limit:
        copy_index = None  # built for another limit: not usable
    if copy_index is not None and not config.copy_limit:
        copy_index = None
    if copy_index is not None and forms is None:
        if vocab is None:
            raise ValueError("the copy guard needs the vocabulary")
        forms = VocabForms(vocab, copy_index)

    # prime: identical seeds once, otherwise rows of equal length together
    primed, state = _prime_rows(step, [list(s) for s in seeds])
    logits = np.empty(primed.shape, np.float32)  # buffers reused at every step
    logits[:] = primed
    padded = np.zeros((rows, -(-logits.shape[1] // BLOCK) * BLOCK), np.float32)
    weights = padded[:, :logits.shape[1]]  # the padding stays 0: never drawn

    history: list[list[int]] = [list(s) for s in seeds]  # seed + new ids
    seed_len = [len(s) for s in seeds]
    words = vocab.words if vocab is not None else None
    rel: list[list[tuple[int, int]]] = []
    if copy_index is not None and words is not None:
        rel = [copy_index.relative([words[i] for i in s]) for s in seeds]

    recoveries = [0] * rows
    reseeds = [0] * rows
    copy_masks = [0] * rows
    log_prob_sum = np.zeros(rows)
    recent: list[deque[int]] = [deque() for _ in range(rows)]  # steps of recent recoveries
    boost = np.zeros(rows)
    boost_left = np.zeros(rows, dtype=np.int64)
    window = max(config.loop_min_events, config.loop_min_repeats * config.loop_max_period)
    snapshots: list[list[np.ndarray] | None] = [None] * _SNAPSHOTS
    snapshots[0] = [s.copy() for s in state]
    at_step: list[dict[int, int]] = [{0: 0} for _ in range(rows)]  # new-event count -> global step
    max_steps = target + (config.max_recoveries + 1) * window + 8
    step_no = 0
    done = np.zeros(rows, dtype=bool)
    vocab_size = logits.shape[1]

    guide = config.key_guide if vocab is not None else 0.0
    if guide:
        word_pcs, word_ticks = word_pitch_classes(vocab)
        word_voices = np.maximum(word_pcs.sum(axis=1), 1.0)
        penalty = np.zeros((rows, vocab_size), np.float32)

    while not done.all() and step_no < max_steps:
        step_no += 1
        work = logits
        if guide:
            if step_no == 1:  # the key of the seed
                outside = key_outside(np.stack([(word_pcs[h] * word_ticks[h, None]).sum(axis=0)
                                                for h in history]))
                np.matmul(outside, word_pcs.T, out=penalty)
                penalty /= word_voices  # the share of a word's notes outside the key
            work -= guide * penalty
        work[:, 0] = -np.inf  # padding is never a word
        if copy_index is not None and forms is not None:
            for b in range(rows):
                if done[b]:
                    continue
                cont = copy_index.continuations(rel[b])
                if cont:
                    banned = forms.ids_for(cont, rel[b][-1][1])
                    if banned and len(banned) < vocab_size - 1:
                        work[b, banned] = -np.inf
                        copy_masks[b] += 1
        temperature = config.temperature + boost * np.maximum(boost_left, 0) / (2 * window)
        np.multiply(work, (1.0 / temperature).astype(np.float32)[:, None], out=weights)
        _weights_inplace(weights, config.top_k, config.top_p)
        chosen, chosen_prob = draw(padded, rng)
        boost_left -= 1

        for b in range(rows):
            if not done[b]:
                history[b].append(int(chosen[b]))
                log_prob_sum[b] += math.log(max(float(chosen_prob[b]), 1e-30))
                if rel:
                    rel[b].append(copy_index.relative([words[chosen[b]]], rel[b][-1][1])[0])

        new_logits, state = step.step(chosen, state, out=logits)
        if new_logits is not logits:
            logits[:] = new_logits

        # loops: the new part of each row, last `window` ids
        lengths = [len(h) - s for h, s in zip(history, seed_len)]
        loops: list[tuple[int, int] | None] = [None] * rows
        for b in range(rows):
            # a loop can only end here if the last event came up within the last periods
            if done[b] or lengths[b] < config.loop_min_events:
                continue
            last = history[b][-config.loop_max_period - 1:]
            if last[-1] in last[:-1]:
                loops[b] = loop_at_end(history[b][seed_len[b]:][-window:], config.loop_max_period,
                                       config.loop_min_repeats, config.loop_min_events)
        for b, found in enumerate(loops):
            if done[b] or found is None or recoveries[b] >= config.max_recoveries:
                continue
            period, span = found
            recoveries[b] += 1
            keep = int(lengths[b]) - (span - period)
            while recent[b] and recent[b][0] < step_no - 3 * window:
                recent[b].popleft()
            recent[b].append(step_no)
            del history[b][seed_len[b] + keep:]
            if rel:
                del rel[b][seed_len[b] + keep:]
            boost[b] = config.recovery_boost * min(len(recent[b]), 3)
            boost_left[b] = 2 * window
            restored = _restore(snapshots, at_step[b], keep, step_no)
            if restored is not None and len(recent[b]) < 3:
                for layer, saved in zip(state, restored):
                    layer[b] = saved[b]
            else:
                # keeps looping (or too far back): read a fresh context for this row
                reseeds[b] += 1
                context = history[b][-min(8, len(history[b])):]
                if reseed is not None:
                    context = reseed(rng, max(1, context_len - len(context))) + context
                row_logits, row_state = step.prime(np.array([context]))
                for layer, fresh in zip(state, row_state):
                    layer[b] = fresh[0]
                    if reseed is None:
                        layer[b] += rng.normal(0.0, 0.5, size=layer[b].shape).astype(np.float32)
            logits[b] = step.logits([s[b:b + 1] for s in state])[0]
            at_step[b] = {n: g for n, g in at_step[b].items() if n <= keep}
        snapshots[step_no % _SNAPSHOTS] = [s.copy() for s in state]
        for b in range(rows):
            n = len(history[b]) - seed_len[b]
            at_step[b][n] = step_no
            if n > window + 2:
                at_step[b].pop(n - _SNAPSHOTS, None)
            if n >= target:
                done[b] = True
        if progress is not None and step_no % 25 == 0:
            progress(float(np.mean([min(1.0, (len(h) - s) / target) for h, s in zip(history, seed_len)])))

    new = [h[s:s + target] for h, s in zip(history, seed_len)]
    stuck = [find_loops(ids, config.loop_max_period, config.loop_min_repeats, config.loop_min_events) > 0
             for ids in new]
    return SampleResult(
        ids=new, loop_recoveries=recoveries, reseeds=reseeds, copy_masks=copy_masks, stuck=stuck,
        mean_log_prob=[float(log_prob_sum[b] / max(1, len(new[b]))) for b in range(rows)],
        steps=step_no, seconds=time.perf_counter() - started)


def _restore(snapshots: list, at_step: dict[int, int], keep: int, now: int) -> list[np.ndarray] | None:
    """The saved state of a row after its ``keep``-th new event, if still in the ring."""
    g = at_step.get(keep)
    if g is None or now - g >= _SNAPSHOTS or snapshots[g % _SNAPSHOTS] is None:
        return None
    return snapshots[g % _SNAPSHOTS]


def _prime_rows(step: NumpyStep, seeds: list[list[int]]) -> tuple[np.ndarray, list[np.ndarray]]:
    rows = len(seeds)
    if all(s == seeds[0] for s in seeds):
        logits, state = step.prime(np.array([seeds[0]]))
        return np.repeat(logits, rows, axis=0), [np.repeat(s, rows, axis=0) for s in state]
    groups: dict[int, list[int]] = {}
    for b, s in enumerate(seeds):
        groups.setdefault(len(s), []).append(b)
    logits = np.zeros((rows, step.vocab_size), np.float32)
    state = step.zero_state(rows)
    for length, members in groups.items():
        g_logits, g_state = step.prime(np.array([seeds[b] for b in members]))
        logits[members] = g_logits
        for layer, fresh in zip(state, g_state):
            layer[members] = fresh
    return logits, state


def neutral_word(vocab: Vocabulary) -> int:
    """A start for music with no seed: the commonest rest, else the commonest word."""
    best = None
    for vid, word in enumerate(vocab.words[1:], start=1):
        if word.startswith(REST + ":"):
            if best is None or vocab.counts[vid] > vocab.counts[best]:
                best = vid
    return best if best is not None else 1


def new_rng(seed: int | None) -> tuple[np.random.Generator, int]:
    """A generator and the seed it was made from (a fresh one when ``seed`` is None)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    return np.random.default_rng(seed), seed


def best_row(result: SampleResult) -> int:
    """The candidate to keep: not stuck, fewest recoveries, then likeliest."""
    def score(b: int) -> tuple:
        return (result.stuck[b], result.loop_recoveries[b], -result.mean_log_prob[b], b)
    return min(range(len(result.ids)), key=score)


__all__ = [
    "NumpyStep", "TFStep", "make_step", "read_weights", "loop_at_end", "find_loops",
    "CopyIndex", "VocabForms", "filter_logits", "draw", "sample", "SampleResult",
    "neutral_word", "new_rng", "best_row",
]
