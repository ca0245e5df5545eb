"""Stepping and sampling the conditioned spelled LSTM (:mod:`bachgen.conditioned`).

:class:`NumpyStep` runs the trained network one token at a time in NumPy, carrying the
LSTM state: the first layer's input weights are folded into per-token and per-feature
tables, so a step is two small matrix products per layer and one for the logits.
:class:`TfStep` does the same in a ``tf.function`` for comparison.

At every step the sampler asks the codec's grammar which tokens may come next, draws one
with temperature / top-k / top-p from a seeded ``numpy.random.Generator`` (the same seed
gives the same ids), advances the grammar state, and computes the next conditioning
features from it: where the next event starts in the bar (durations written so far and
the seed's time signature) and the seed's key condition. Rows are batched: each row
has its own seed, time signature and key.

This module imports TensorFlow only in :class:`TfStep` and in bundle loading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from .codecs.spelled import FEATURES, QUARTERS, KeyCondition, SpelledCodec, seed_transposition
from .errors import ConfigError
from .events import Note, Piece
from .guards import EventWatch
from .tokens import chordify

# --------------------------------------------------------------------------- steps


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


@dataclass
class StepWeights:
    """The network's weights in step form (float32).

    ``tables``: for the token and each feature, its embedding already multiplied by its
    slice of the first LSTM kernel; ``bias0``: the first layer's bias; ``recurrent``:
    per layer; ``kernels``/``biases``: input weights of layers 2..; ``out``/``out_bias``: logits.
    """

    tables: list[np.ndarray]
    bias0: np.ndarray
    recurrent: list[np.ndarray]
    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    out: np.ndarray
    out_bias: np.ndarray

    @property
    def units(self) -> int:
        return int(self.recurrent[0].shape[0])

    @property
    def layers(self) -> int:
        return len(self.recurrent)


def step_weights(model: Any) -> StepWeights:
    """Read a :func:`bachgen.conditioned.build_model` network's weights by layer name.

    ``model`` is the Keras network, or its arrays by layer name as
    :func:`bachgen.weights.read_layer_weights` reads them from the saved file (the same
    arrays, without starting TensorFlow); both give the same weights, bit for bit.
    """
    layers = model if isinstance(model, dict) else {l.name: l.get_weights() for l in model.layers}
    embeds = [layers["token_embed"][0]] + [layers[f"{name}_embed"][0] for name in FEATURES]
    lstms = []
    while f"lstm_{len(lstms) + 1}" in layers:
        lstms.append(layers[f"lstm_{len(lstms) + 1}"])
    kernel0, tables, at = lstms[0][0], [], 0
    for table in embeds:
        tables.append((table @ kernel0[at:at + table.shape[1]]).astype(np.float32))
        at += table.shape[1]
    out, out_bias = layers["logits"]
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return StepWeights(tables, f32(lstms[0][2]), [f32(l[1]) for l in lstms],
                       [f32(l[0]) for l in lstms[1:]], [f32(l[2]) for l in lstms[1:]],
                       f32(out), f32(out_bias))


class NumpyStep:
    """One token per row per call; ``state`` is a list of ``(h, c)`` per layer, shape ``(B, units)``.

    Layers 2.. multiply ``[h_below, h_own]`` by their stacked input and recurrent kernels in
    one product; the four gates go through one ``tanh`` (σ(x) = (tanh(x/2) + 1) / 2).
    """

    def __init__(self, weights: StepWeights) -> None:
        self.w = weights
        units = weights.units
        self.stacked = [np.vstack([k, r]) for k, r in zip(weights.kernels, weights.recurrent[1:])]
        self.scale = np.full(4 * units, 0.5, dtype=np.float32)
        self.scale[2 * units:3 * units] = 1.0

    def zero_state(self, rows: int) -> list[tuple[np.ndarray, np.ndarray]]:
        z = np.zeros((rows, self.w.units), dtype=np.float32)
        return [(z.copy(), z.copy()) for _ in range(self.w.layers)]

    def _cell(self, gates: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keras LSTM gate order i, f, c, o; tanh activation, sigmoid recurrent activation."""
        units = self.w.units
        t = np.tanh(gates * self.scale)
        i = 0.5 * (t[:, :units] + 1.0)
        f = 0.5 * (t[:, units:2 * units] + 1.0)
        o = 0.5 * (t[:, 3 * units:] + 1.0)
        c = f * c + i * t[:, 2 * units:3 * units]
        return o * np.tanh(c), c

    def __call__(self, tokens: np.ndarray, features: np.ndarray,
                 state: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, list]:
        """Logits ``(B, vocab)`` after reading ``tokens`` ``(B,)`` with ``features`` ``(B, 4)``."""
        w = self.w
        x = w.tables[0][tokens] + w.bias0
        for col in range(features.shape[1]):
            x += w.tables[col + 1][features[:, col]]
        h, c = state[0]
        h, c = self._cell(x + h @ w.recurrent[0], c)
        new = [(h, c)]
        for layer in range(1, w.layers):
            hp, cp = state[layer]
            gates = np.concatenate([h, hp], axis=1) @ self.stacked[layer - 1] + w.biases[layer - 1]
            h, c = self._cell(gates, cp)
            new.append((h, c))
        return h @ w.out + w.out_bias, new

    def run(self, tokens: np.ndarray, features: np.ndarray,
            state: list | None = None) -> tuple[np.ndarray, list]:
        """Read a whole ``(B, T)`` sequence; logits ``(B, T, vocab)`` and the final state."""
        state = state if state is not None else self.zero_state(tokens.shape[0])
        out = []
        for t in range(tokens.shape[1]):
            logits, state = self(tokens[:, t], features[:, t], state)
            out.append(logits)
        return np.stack(out, axis=1), state


class TfStep:
    """The same step as :class:`NumpyStep` in a ``tf.function`` (for speed comparison)."""

    def __init__(self, weights: StepWeights) -> None:
        import tensorflow as tf

        self.w = weights
        c = tf.constant
        tables, rec = [c(t) for t in weights.tables], [c(r) for r in weights.recurrent]
        kernels, biases = [c(k) for k in weights.kernels], [c(b) for b in weights.biases]
        out, out_bias, bias0, units = c(weights.out), c(weights.out_bias), c(weights.bias0), weights.units

        def cell(gates, cc):
            i, f, g, o = tf.split(gates, 4, axis=1)
            cc = tf.sigmoid(f) * cc + tf.sigmoid(i) * tf.tanh(g)
            return tf.sigmoid(o) * tf.tanh(cc), cc

        @tf.function(reduce_retracing=True)
        def step(tokens, features, hs, cs):
            x = tf.gather(tables[0], tokens) + bias0
            for col in range(len(FEATURES)):
                x = x + tf.gather(tables[col + 1], features[:, col])
            h, cc = cell(x + hs[0] @ rec[0], cs[0])
            new_h, new_c = [h], [cc]
            for layer in range(1, len(rec)):
                h, cc = cell(h @ kernels[layer - 1] + biases[layer - 1] + hs[layer] @ rec[layer], cs[layer])
                new_h.append(h)
                new_c.append(cc)
            return h @ out + out_bias, tf.stack(new_h), tf.stack(new_c)

        self._step, self.units = step, units

    def zero_state(self, rows: int) -> tuple[Any, Any]:
        import tensorflow as tf

        z = tf.zeros((self.w.layers, rows, self.units), dtype=tf.float32)
        return z, z

    def __call__(self, tokens: np.ndarray, features: np.ndarray, state: tuple) -> tuple[np.ndarray, tuple]:
        logits, h, c = self._step(tokens.astype(np.int32), features.astype(np.int32), state[0], state[1])
        return logits.numpy(), (h, c)


def load_step(bundle: Any, engine: str = "numpy") -> NumpyStep | TfStep:
    """The step engine for a :class:`bachgen.conditioned.SpelledBundle` (``numpy`` or ``tf``).

    A bundle read from its folder (:func:`bachgen.bundle.load_spelled_bundle`) carries its
    arrays as ``layer_weights``, so the NumPy step starts without TensorFlow; otherwise the
    weights come from the Keras network ``bundle.model``.
    """
    from .conditioned import require_step

    require_step(bundle)  # the original network has no embeddings to fold into tables
    layers = getattr(bundle, "layer_weights", None)
    weights = step_weights(layers if layers is not None else bundle.model)
    if engine == "numpy":
        return NumpyStep(weights)
    if engine == "tf":
        return TfStep(weights)
    raise ConfigError(f"engine must be 'numpy' or 'tf', not {engine!r}.")


# --------------------------------------------------------------------------- the draw


#: The keyboard the fugues are written for: C2..C6 holds every stretch but a handful of notes.
FUGUE_COMPASS = (36, 84)


@dataclass(frozen=True)
class SampleSettings:
    """How each token is drawn: ``temperature``; ``top_k`` (0: off); ``top_p`` (1.0: off);
    ``compass``: lowest and highest MIDI pitch that may be struck, in the output's key
    (``None``: the whole piano; the sampler needs each row's ``moved_by`` to place it).
    Best measured on the 48 fugues: temperature 1.0, top-p 0.98, ``FUGUE_COMPASS``
    (the defaults of :func:`generate`)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.95
    compass: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ConfigError("temperature must be > 0, top_k ≥ 0 and top_p in (0, 1].")
        if self.compass is not None and not self.compass[0] < self.compass[1]:
            raise ConfigError("compass must be (lowest, highest) with lowest < highest.")


def token_probabilities(logits: np.ndarray, mask: np.ndarray, settings: SampleSettings) -> np.ndarray:
    """``(B, V)`` probabilities after the grammar mask, temperature, top-k and top-p (unnormalised)."""
    z = np.where(mask, logits.astype(np.float64) / settings.temperature, -np.inf)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    if 0 < settings.top_k < p.shape[1]:
        kth = -np.partition(-p, settings.top_k - 1, axis=1)[:, settings.top_k - 1:settings.top_k]
        p = np.where(p >= kth, p, 0.0)
    if settings.top_p < 1.0:
        ordered = -np.sort(-p, axis=1)
        cum = np.cumsum(ordered, axis=1)
        keep = (cum < settings.top_p * cum[:, -1:]).sum(axis=1)  # tokens before the one that crosses
        threshold = ordered[np.arange(len(p)), np.minimum(keep, p.shape[1] - 1)]
        p = np.where(p >= threshold[:, None], p, 0.0)
    return p


def draw(logits: np.ndarray, mask: np.ndarray, settings: SampleSettings,
         rng: np.random.Generator) -> np.ndarray:
    """One allowed token per row, drawn from :func:`token_probabilities` with ``rng``."""
    cdf = np.cumsum(token_probabilities(logits, mask, settings), axis=1)
    return _pick(cdf, rng.random(len(cdf)))


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The token of each row where its cumulative probabilities pass ``u`` (in [0, 1)) of the total."""
    return np.argmax(cdf > (u * cdf[:, -1])[:, None], axis=1)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class SeedRow:
    """One row's seed: whole-event ids from tick ``start``, its time signature and key condition."""

    ids: tuple[int, ...]
    start: int
    time_signature: tuple[int, int]
    key: KeyCondition


@dataclass(frozen=True)
class RowConditions:
    """Per-row constants the features need: bar length, meter category, key category."""

    bar: np.ndarray
    meter: np.ndarray
    key: np.ndarray

    @classmethod
    def of(cls, codec: SpelledCodec, rows: Sequence[SeedRow]) -> "RowConditions":
        return cls(np.array([codec.bar_ticks(r.time_signature) for r in rows], dtype=np.int64),
                   np.array([codec.meter_index(r.time_signature) for r in rows], dtype=np.int64),
                   np.array([codec.told_key(r.key).index for r in rows], dtype=np.int64))

    def features(self, codec: SpelledCodec, ticks: np.ndarray) -> np.ndarray:
        """``(B, 4)`` features of events starting at ``ticks`` (as :meth:`SpelledCodec.features`)."""
        pos = ticks % self.bar
        out = np.empty((len(ticks), len(FEATURES)), dtype=np.int64)
        out[:, 0] = np.minimum(pos // codec.resolution, QUARTERS - 1)
        out[:, 1] = (pos % codec.resolution) // codec.grid
        out[:, 2] = self.meter
        out[:, 3] = self.key
        return out


def warm_up(step: NumpyStep | TfStep, codec: SpelledCodec, rows: Sequence[SeedRow]) -> tuple[np.ndarray, Any]:
    """Read each row's seed; the logits after its last token ``(B, V)`` and the batched state."""
    if any(not r.ids for r in rows):
        raise ConfigError("Every row needs a seed of at least one whole event.")
    read: dict[SeedRow, tuple[np.ndarray, Any]] = {}  # a seed shared by rows is read once
    for row in rows:
        if row in read:
            continue
        ids = np.asarray(row.ids, dtype=np.int64)
        feats = codec.features(ids, row.time_signature, row.start, row.key).astype(np.int64)
        state = step.zero_state(1)
        for t in range(len(ids)):
            out, state = step(ids[t:t + 1], feats[t:t + 1], state)
        read[row] = (out[0], state)
    return np.stack([read[r][0] for r in rows]), _stack_states([read[r][1] for r in rows])


def _stack_states(states: list) -> Any:
    """Batch per-row step states (NumPy list of ``(h, c)``, or the tf pair)."""
    first = states[0]
    if isinstance(first, list):
        return [(np.concatenate([s[l][0] for s in states]), np.concatenate([s[l][1] for s in states]))
                for l in range(len(first))]
    import tensorflow as tf

    return tf.concat([s[0] for s in states], axis=1), tf.concat([s[1] for s in states], axis=1)


@dataclass(frozen=True)
class TakeRows:
    """One take's part of a draw: its seed rows (its candidates) and how they are drawn.

    Takes drawn together (:func:`sample_takes`) share the network's steps but nothing else:
    each has its own events to write, settings, generator (one ``rng.random(rows)`` a step,
    as alone), seeds' moves (``moved_by``, to place the compass) and guard (``watch``).
    """

    rows: Sequence[SeedRow]
    events: int
    settings: SampleSettings
    rng: np.random.Generator
    moved_by: Sequence[int] | None = None
    watch: EventWatch | None = None


def check_take(step: Any, take: TakeRows) -> None:
    """Refuse a take that cannot be drawn (before it joins others)."""
    if take.events < 1:
        raise ConfigError("events must be at least 1.")
    if not take.rows or any(not r.ids for r in take.rows):
        raise ConfigError("Every row needs a seed of at least one whole event.")
    if take.moved_by is not None and len(take.moved_by) != len(take.rows):
        raise ConfigError("moved_by needs one number per row.")
    if take.watch is not None and not isinstance(getattr(step, "inner", step), NumpyStep):
        raise ConfigError("The loop and copy guards need the NumPy step (engine 'numpy').")


def sample_ids(step: NumpyStep | TfStep, codec: SpelledCodec, rows: Sequence[SeedRow], events: int,
               settings: SampleSettings, rng: np.random.Generator,
               moved_by: Sequence[int] | None = None, watch: EventWatch | None = None) -> list[list[int]]:
    """``events`` new whole events per row after its seed, drawn under the grammar.

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
    return sample_takes(step, codec, [TakeRows(rows, events, settings, rng, moved_by, watch)])[0]


def sample_takes(step: Any, codec: SpelledCodec, takes: Sequence[TakeRows],
                 on_done: Callable[[int, list[list[int]]], None] | None = None) -> list[list[list[int]]]:
    """:func:`sample_ids` for several takes at once: their rows share every step of the
    network, each take is drawn as it would be alone (same ids, given a step whose rows do
    not depend on the batch, :class:`bachgen.batching.RowStableStep`). A take stops drawing
    when its rows are done (``on_done(take, ids)`` is told then); its rows are stepped no
    more."""
    for take in takes:
        check_take(step, take)
    if not takes:
        return []
    b = _Batch(codec, takes)
    logits, state = warm_up(step, codec, b.rows)
    grammar = codec.start_states([r.ids for r in b.rows], [r.start for r in b.rows])
    grammar.compass = b.compass()
    conditions = RowConditions.of(codec, b.rows)
    rewind = _Rewind(b.keeps) if b.watched.any() else None
    for r in np.nonzero(b.watched)[0]:
        rewind.mark(r, 0, 0, logits, state, grammar)
    for count in range(max(b.limits)):
        mask = codec.allowed(grammar)
        if rewind is not None:
            rewind.bar(mask, b.written, np.asarray([len(o) for o in b.out]))
        tokens = b.draw(logits, mask)
        active = np.nonzero(b.live & (b.written < b.events))[0]
        for r in active:
            b.out[r].append(int(tokens[r]))
        ended = active[codec.kind[tokens[active]] == codec.KIND_DURATION]
        b.written[ended[~b.watched[ended]]] += 1
        if b.all_written():
            break
        codec.advance_inplace(grammar, tokens)
        logits, state = _step_live(step, tokens, conditions.features(codec, grammar.tick), state, logits,
                                   b.live)
        for r in ended[b.watched[ended]]:
            b.written[r] = _watch_event(codec, b, rewind, r, int(b.written[r]) + 1, b.out[r],
                                        logits, state, grammar)
        b.finish(count + 1, on_done)
        if all(b.done):
            break
    b.finish(max(b.limits), on_done)
    return [[b.out[r] for r in range(s.start, s.stop)] for s in b.slices]


def _step_live(step: Any, tokens: np.ndarray, features: np.ndarray, state: Any, logits: np.ndarray,
               live: np.ndarray) -> tuple[np.ndarray, Any]:
    """The step for the rows of takes still drawing; the other rows keep their logits and
    state (their tokens are not used). Only when takes are drawn together (with a step
    whose rows do not depend on the batch) are some rows left out."""
    if live.all():
        return step(tokens, features, state)
    rows = np.nonzero(live)[0]
    new_logits, new_state = step(tokens[rows], features[rows], [(h[rows], c[rows]) for h, c in state])
    logits[rows] = new_logits
    for (h, c), (new_h, new_c) in zip(state, new_state):
        h[rows], c[rows] = new_h, new_c
    return logits, state


class _Batch:
    """The rows of several takes drawn together: where each take's rows are, what each row
    needs (events, guard, how far back it may go) and which takes are still drawing."""

    def __init__(self, codec: SpelledCodec, takes: Sequence[TakeRows]) -> None:
        self.codec, self.takes = codec, list(takes)
        sizes = np.cumsum([0] + [len(t.rows) for t in takes])
        self.slices = [slice(int(a), int(z)) for a, z in zip(sizes[:-1], sizes[1:])]
        self.take_of = np.repeat(np.arange(len(takes)), np.diff(sizes))
        self.rows = [r for t in takes for r in t.rows]
        each = lambda f: np.concatenate([np.full(len(t.rows), f(t)) for t in takes])  # noqa: E731
        self.events = each(lambda t: t.events).astype(np.int64)
        self.watched = each(lambda t: t.watch is not None).astype(bool)
        self.keeps = [int(k) for k in each(lambda t: 2 * t.watch.loops.window if t.watch else 0)]
        self.limits = [(t.events + (max(t.watch.budget) * 2 * t.watch.loops.window if t.watch else 0))
                       * (codec.max_pitches + 1) for t in takes]
        self.written = np.zeros(len(self.rows), dtype=np.int64)
        self.live = np.ones(len(self.rows), dtype=bool)
        self.done = [False] * len(takes)
        self.out: list[list[int]] = [[] for _ in self.rows]

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

    def draw(self, logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One token per row: drawn for the takes still drawing (settings shared by takes are
        worked out on their rows at once, each take's generator drawn as alone); any allowed
        token for the rows of takes that are done."""
        tokens = np.argmax(mask, axis=1)
        drawing = [i for i, done in enumerate(self.done) if not done]
        by_settings: dict[SampleSettings, list[int]] = {}
        for i in drawing:
            by_settings.setdefault(self.takes[i].settings, []).append(i)
        for settings, group in by_settings.items():
            rows = np.concatenate([np.arange(self.slices[i].start, self.slices[i].stop) for i in group])
            cdf = np.cumsum(token_probabilities(logits[rows], mask[rows], settings), axis=1)
            u = np.concatenate([self.takes[i].rng.random(len(self.takes[i].rows)) for i in group])
            tokens[rows] = _pick(cdf, u)
        return tokens

    def all_written(self) -> bool:
        return bool((self.written[self.live] >= self.events[self.live]).all())

    def finish(self, count: int, on_done: Callable[[int, list[list[int]]], None] | None) -> None:
        """Stop the takes whose rows are all written, or that reached their step limit."""
        for i, s in enumerate(self.slices):
            if not self.done[i] and (count >= self.limits[i] or (self.written[s] >= self.events[s]).all()):
                self.done[i], self.live[s] = True, False
                if on_done is not None:
                    on_done(i, self.out[s])

    def push(self, r: int, event: Any, reach: int | None = None) -> int:
        """Show row ``r``'s event to its take's guard (:meth:`EventWatch.push`)."""
        i = int(self.take_of[r])
        return self.takes[i].watch.push(r - self.slices[i].start, event, reach)


def _watch_event(codec: SpelledCodec, watch: Any, rewind: "_Rewind", r: int, position: int,
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
    rewind.barred[r].setdefault(target, set()).add(first)
    return target


@dataclass
class _Mark:
    """Where a row stood when one of its events began: enough to draw that event again."""

    tokens: int
    logits: np.ndarray
    state: list[tuple[np.ndarray, np.ndarray]]
    grammar: Any


class _Rewind:
    """The last ``keeps[r]`` event beginnings of every row ``r`` (NumPy step state), and the
    first tokens barred at each place after an event there was taken back. After a row went
    back, fewer beginnings may be left behind it: the watch is told how far it can go."""

    _FIELDS = ("last", "count", "cur", "prev", "tick")

    def __init__(self, keeps: Sequence[int]) -> None:
        self.keeps = list(keeps)
        self.marks: list[dict[int, _Mark]] = [{} for _ in self.keeps]
        self.barred: list[dict[int, set[int]]] = [{} for _ in self.keeps]

    def mark(self, r: int, position: int, tokens: int, logits: np.ndarray, state: list, grammar: Any) -> None:
        marks = self.marks[r]
        marks[position] = _Mark(tokens, logits[r].copy(), [(h[r].copy(), c[r].copy()) for h, c in state],
                                grammar.take([r]))
        marks.pop(position - self.keeps[r], None)

    def tokens_at(self, r: int, position: int) -> int:
        return self.marks[r][position].tokens

    def restore(self, r: int, position: int, logits: np.ndarray, state: list, grammar: Any) -> int:
        """Put row ``r`` back where event ``position`` began; the tokens it had then."""
        mark = self.marks[r][position]
        for later in [p for p in self.marks[r] if p > position]:
            del self.marks[r][later]
        logits[r] = mark.logits
        for (h, c), (mh, mc) in zip(state, mark.state):
            h[r], c[r] = mh, mc
        for name in self._FIELDS:
            getattr(grammar, name)[r] = getattr(mark.grammar, name)[0]
        return mark.tokens

    def bar(self, mask: np.ndarray, written: np.ndarray, tokens: np.ndarray) -> None:
        """Forbid the barred first tokens of rows standing at the start of a barred place
        (never every token: a duration always stays)."""
        for r, barred in enumerate(self.barred):
            place = barred.get(int(written[r]))
            mark = self.marks[r].get(int(written[r]))
            if place and mark is not None and mark.tokens == tokens[r]:
                allowed = mask[r].copy()
                mask[r, list(place)] = False
                if not mask[r].any():
                    mask[r] = allowed


def seed_row(codec: SpelledCodec, piece: Piece, seed_events: int = 50,
             start_event: int = 0) -> tuple[SeedRow, int]:
    """The seed of ``seed_events`` events of ``piece`` from event ``start_event``, moved into a
    key the network knows; also the semitones it was moved (to move the result back)."""
    moved_by, key = seed_transposition(piece.key)
    events = chordify(piece.transpose(moved_by), codec.token_config)[start_event:start_event + seed_events]
    if not events:
        raise ConfigError(f"{piece.name or 'The seed'} has no events from event {start_event}.")
    ids = tuple(codec.encode_events(events))
    return SeedRow(ids, events[0].start, tuple(piece.time_signature), key), moved_by


@dataclass(frozen=True)
class Generation:
    """A generated piece (in the seed's key), its new ids, the seed row and the move applied."""

    piece: Piece
    new_ids: tuple[int, ...]
    seed: SeedRow
    moved_by: int

    @property
    def seed_end(self) -> int:
        """Tick where the generated music starts."""
        return int(self.piece.meta["seed_end"])


def assemble(codec: SpelledCodec, row: SeedRow, new_ids: Sequence[int], moved_by: int,
             template: Piece, include_seed: bool) -> Piece:
    """Decode seed + new ids, move back to the seed's key; without the seed, notes are cut at its end."""
    piece = codec.decode(list(row.ids) + list(new_ids), row.start)
    boundary = row.start + int(codec.ticks[np.asarray(row.ids, dtype=np.int64)].sum())
    notes = []
    for n in piece.notes:
        if not include_seed and n.end <= boundary:
            continue
        start = n.start if include_seed else max(n.start, boundary)
        notes.append(Note(start, n.end - start, n.pitch - moved_by, 0))
    return replace(template, notes=tuple(notes), meta={"seed_end": boundary})


def generate_batch(bundle: Any, seeds: Sequence[Piece | SeedRow], events: int = 400, seed_events: int = 50,
                   start_event: int = 0, settings: SampleSettings = SampleSettings(), seed: int = 0,
                   include_seed: bool = False, step: NumpyStep | TfStep | None = None) -> list[Generation]:
    """One generation per seed, all rows drawn together from one ``seed``ed generator.

    A seed is a piece (``seed_events`` of its events from ``start_event`` are read, moved
    into a key the network knows, and the result moved back) or a ready :class:`SeedRow`
    of ids (used as it is, in the model's key).
    """
    codec = bundle.codec
    step = step or load_step(bundle)
    made = [(s, 0) if isinstance(s, SeedRow) else seed_row(codec, s, seed_events, start_event) for s in seeds]
    templates = [Piece((), time_signature=s.time_signature) if isinstance(s, SeedRow) else s for s in seeds]
    new = sample_ids(step, codec, [r for r, _ in made], events, settings, np.random.default_rng(seed),
                     [m for _, m in made])
    return [Generation(assemble(codec, r, ids, moved, t, include_seed), tuple(ids), r, moved)
            for (r, moved), ids, t in zip(made, new, templates)]


def generate(bundle: Any, seed_piece: Piece | SeedRow, events: int = 400, seed_events: int = 50,
             start_event: int = 0, temperature: float = 1.0, top_k: int = 0, top_p: float = 0.98,
             seed: int = 0, include_seed: bool = False, step: NumpyStep | TfStep | None = None,
             compass: tuple[int, int] | None = FUGUE_COMPASS) -> Piece:
    """``events`` new events continuing ``seed_events`` events of ``seed_piece`` (in its key and meter)."""
    settings = SampleSettings(temperature, top_k, top_p, compass)
    return generate_batch(bundle, [seed_piece], events, seed_events, start_event, settings, seed,
                          include_seed, step)[0].piece


def bench(bundle: Any, seed_piece: Piece, events: int = 400, engine: str = "numpy",
          repeats: int = 3, seed: int = 0,
          settings: SampleSettings = SampleSettings(1.0, 0, 0.98, FUGUE_COMPASS)) -> dict[str, float]:
    """Events and tokens a second for one row (seed read included), best of ``repeats``."""
    import time

    step = load_step(bundle, engine)
    generate_batch(bundle, [seed_piece], 20, settings=settings, seed=seed, step=step)  # warm-up
    best, tokens = math.inf, 0
    for _ in range(repeats):
        started = time.perf_counter()
        made = generate_batch(bundle, [seed_piece], events, settings=settings, seed=seed, step=step)[0]
        best = min(best, time.perf_counter() - started)
        tokens = len(made.new_ids)
    return {"engine": engine, "events": events, "tokens": tokens, "seconds": round(best, 4),
            "events_per_second": round(events / best, 1), "tokens_per_second": round(tokens / best, 1)}
