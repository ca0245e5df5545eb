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
from dataclasses import dataclass, field, replace
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
    The token's and the features' tables are one table (the token's rows with the first
    layer's bias added, the first sum of every step), read in one lookup a step.
    """

    def __init__(self, weights: StepWeights) -> None:
        self.w = weights
        self.units = units = weights.units
        self.stacked = [np.vstack([k, r]) for k, r in zip(weights.kernels, weights.recurrent[1:])]
        self.scale = np.full(4 * units, 0.5, dtype=np.float32)
        self.scale[2 * units:3 * units] = 1.0
        self.embeddings = np.concatenate([weights.tables[0] + weights.bias0] + weights.tables[1:])
        self.offsets = np.cumsum([len(t) for t in weights.tables[:-1]])  # where each feature's rows begin

    def zero_state(self, rows: int) -> list[tuple[np.ndarray, np.ndarray]]:
        z = np.zeros((rows, self.w.units), dtype=np.float32)
        return [(z.copy(), z.copy()) for _ in range(self.w.layers)]

    def _embed(self, tokens: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The first layer's input ``(B, 4·units)``: ``(((table₀[token] + bias₀) + table₁[f₁])
        + …) + table₄[f₄]``, added in that order (``np.add.reduce`` over an axis that is not
        the fastest in memory adds one row after another: no pairwise summation)."""
        index = np.empty((len(tokens), features.shape[1] + 1), dtype=np.int64)
        index[:, 0] = tokens
        np.add(features, self.offsets, out=index[:, 1:])
        return np.add.reduce(self.embeddings[index], axis=1)

    def _cell(self, gates: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keras LSTM gate order i, f, c, o; tanh activation, sigmoid recurrent activation.

        ``gates`` is the caller's fresh array and is overwritten. The sigmoid is taken of
        all four gates in one go (the cell gate's part goes unused): few, whole-array
        NumPy calls, each element's arithmetic as in ``σ = (tanh(x/2) + 1) / 2``."""
        units = self.units
        t = np.tanh(np.multiply(gates, self.scale, out=gates), out=gates)
        s = t + 1.0
        s *= 0.5
        c = s[:, units:2 * units] * c
        c += s[:, :units] * t[:, 2 * units:3 * units]
        h = np.tanh(c)
        h *= s[:, 3 * units:]
        return h, c

    def __call__(self, tokens: np.ndarray, features: np.ndarray,
                 state: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, list]:
        """Logits ``(B, vocab)`` after reading ``tokens`` ``(B,)`` with ``features`` ``(B, 4)``."""
        w = self.w
        x = self._embed(tokens, features)
        h, c = state[0]
        x += h @ w.recurrent[0]
        h, c = self._cell(x, c)
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
    """``(B, V)`` probabilities after the grammar mask, temperature, top-k and top-p (unnormalised).

    Every row is worked out on its own (its values do not depend on the other rows). It
    runs once a token: few NumPy calls, ufunc methods rather than their wrappers."""
    z = logits.astype(np.float64)
    if settings.temperature != 1.0:  # x / 1 is x: the division would change nothing
        z /= settings.temperature
    z = np.where(mask, z, -np.inf)
    z -= np.maximum.reduce(z, axis=1, keepdims=True)
    p = np.exp(z)
    if 0 < settings.top_k < p.shape[1]:
        kth = -np.partition(-p, settings.top_k - 1, axis=1)[:, settings.top_k - 1:settings.top_k]
        p = np.where(p >= kth, p, 0.0)
    if settings.top_p < 1.0:
        p = _top_p(p, settings.top_p)
    return p


def _top_p(p: np.ndarray, top_p: float) -> np.ndarray:
    """``p`` without the tokens less likely than the one whose cumulative probability (from
    the likeliest down) crosses ``top_p`` of the row's total.

    That token is the ``keep``-th likeliest, ``keep`` the number of cumulative sums below
    the mark; the last sum (the total) never is, as ``top_p`` < 1."""
    ordered = np.sort(p, axis=1)[:, ::-1]
    cum = np.add.accumulate(ordered, axis=1)  # np.cumsum, without its wrapper
    keep = np.add.reduce(cum < top_p * cum[:, -1:], axis=1)
    threshold = ordered[np.arange(len(p)), keep]
    return np.where(p >= threshold[:, None], p, 0.0)


def draw(logits: np.ndarray, mask: np.ndarray, settings: SampleSettings,
         rng: np.random.Generator) -> np.ndarray:
    """One allowed token per row, drawn from :func:`token_probabilities` with ``rng``."""
    return _pick(token_probabilities(logits, mask, settings), rng.random(len(logits)))


def _pick(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The token of each row where its cumulative probabilities ``p`` pass ``u`` (in [0, 1)) of the total."""
    cdf = np.add.accumulate(p, axis=1)
    return (cdf > (u * cdf[:, -1])[:, None]).argmax(axis=1)


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
    """Per-row constants the features need: bar length, meter category, key category.

    For the hot loop, ``places`` holds the features of every tick of the longest bar
    (quarter and phase; meter and key 0) and ``fixed`` each row's meter and key (quarter
    and phase 0): a row's features are the sum of the two."""

    bar: np.ndarray
    meter: np.ndarray
    key: np.ndarray
    places: np.ndarray = field(repr=False, compare=False)
    fixed: np.ndarray = field(repr=False, compare=False)

    @classmethod
    def of(cls, codec: SpelledCodec, rows: Sequence[SeedRow]) -> "RowConditions":
        bar = np.array([codec.bar_ticks(r.time_signature) for r in rows], dtype=np.int64)
        meter = np.array([codec.meter_index(r.time_signature) for r in rows], dtype=np.int64)
        key = np.array([codec.told_key(r.key).index for r in rows], dtype=np.int64)
        pos = np.arange(int(bar.max(initial=1)))
        places = np.zeros((len(pos), len(FEATURES)), dtype=np.int64)
        places[:, 0] = np.minimum(pos // codec.resolution, QUARTERS - 1)
        places[:, 1] = (pos % codec.resolution) // codec.grid
        fixed = np.zeros((len(rows), len(FEATURES)), dtype=np.int64)
        fixed[:, 2], fixed[:, 3] = meter, key
        return cls(bar, meter, key, places, fixed)

    def features(self, codec: SpelledCodec, ticks: np.ndarray) -> np.ndarray:
        """``(B, 4)`` features of events starting at ``ticks`` (as :meth:`SpelledCodec.features`)."""
        return self.places[ticks % self.bar] + self.fixed


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
                 on_done: Callable[[int, list[list[int]]], None] | None = None,
                 joiners: Callable[[], Sequence[TakeRows]] | None = None) -> list[list[list[int]]]:
    """:func:`sample_ids` for several takes at once: their rows share every step of the
    network, each take is drawn as it would be alone (same ids, given a step whose rows do
    not depend on the batch, :class:`bachgen.batching.RowStableStep`). A take stops drawing
    when its rows are done (``on_done(take, ids)`` is told then); its rows are stepped no
    more.

    ``joiners`` (optional) is asked once before every token step for takes that join the
    draw there (a take that asked while the others were drawing need not wait for them to
    end, :class:`bachgen.batching.DrawQueue`): their seeds are read and their rows added,
    and each is then drawn as alone. Takes are numbered in the order they came (``takes``
    first); the result holds every take's ids in that order. The draw ends when no take is
    left drawing (takes that ask after that start a new one)."""
    if not takes:
        return []
    run = _Draw(step, codec, on_done)
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


class _Draw:
    """The arrays of a draw of several takes — logits, network state, grammar state, row
    conditions and rewind marks, one row per seed row of a take — and the token step that
    carries them. Takes can join between steps (:meth:`join`)."""

    def __init__(self, step: Any, codec: SpelledCodec,
                 on_done: Callable[[int, list[list[int]]], None] | None) -> None:
        self.step, self.codec, self.on_done = step, codec, on_done
        self.batch = _Batch(codec)
        self.rewind = _Rewind([])
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
        for r in range(start, len(b.rows)):
            if b.watched[r]:
                self.rewind.mark(r, 0, 0, self.logits, self.state, self.grammar)

    def _keep(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` of every array (in that order)."""
        self.logits = self.logits[rows]
        self.state = [(h[rows], c[rows]) for h, c in self.state]
        self.grammar = self.grammar.take(rows)
        self.rewind.keep(rows.tolist())

    def token(self, count: int) -> bool:
        """Token step ``count``: one token per row, the network stepped for the takes still
        drawing, finished events shown to the guards; whether the draw is over."""
        b, codec, rewind = self.batch, self.codec, self.rewind
        mask = codec.allowed(self.grammar)
        rewind.bar(mask, b.written, b.out)
        tokens = b.draw(self.logits, mask)
        ended = b.write(tokens)
        if b.all_written():
            return True
        codec.advance_inplace(self.grammar, tokens)
        self.logits, self.state = _step_live(self.step, tokens, self.conditions.features(codec, self.grammar.tick),
                                             self.state, self.logits, b.stepped)
        for r in ended:
            if b.watched[r]:
                b.written[r] = _watch_event(codec, b, rewind, r, b.written[r] + 1, b.out[r],
                                            self.logits, self.state, self.grammar)
        b.finish(count + 1, self.on_done)
        return all(b.done)


def _step_live(step: Any, tokens: np.ndarray, features: np.ndarray, state: Any, logits: np.ndarray,
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
_EVERY_ROW = slice(None)


@dataclass(frozen=True)
class _Group:
    """Takes drawn with the same settings: their rows (in take order) and the takes."""

    settings: SampleSettings
    rows: np.ndarray | slice
    takes: list[int]


class _Batch:
    """The rows of several takes drawn together: where each take's rows are, what each row
    needs (events, guard, how far back it may go) and which takes are still drawing.

    Per-row figures are Python lists (a few rows, read every token). ``open``: the rows
    still writing events, in order; ``changed``: the takes with a row that ended an event
    since the last :meth:`finish` (only these can have become done); ``groups``: the
    takes still drawing, by settings; ``stepped``: their rows when some take is done.
    Per take: ``ids``, its number in the draw (takes that join are numbered on);
    ``begun``, the token step it joined at (its step limit counts from there)."""

    _PER_ROW = ("take_of", "rows", "events", "watched", "keeps", "written", "out")
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
        self.live = np.ones(0, dtype=bool)
        self.stepped: np.ndarray | None = None
        self.open: list[int] = []
        self.changed: set[int] = set()
        self.results: dict[int, list[list[int]]] = {}
        self.joined = 0  # takes so far (the next one's number)
        self.ends = (codec.kind == codec.KIND_DURATION).tolist()  # by id: a duration token
        self.groups: list[_Group] = []

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
            self.limits.append((take.events + (max(take.watch.budget) * window if take.watch else 0))
                               * (codec.max_pitches + 1))
            self.begun.append(count)
            self.slices.append(slice(at, at + n))
            self.done.append(False)
            self.rows += take.rows
            self.events += [take.events] * n
            self.watched += [take.watch is not None] * n
            self.keeps += [window] * n
            self.written += [0] * n
            self.out += [[] for _ in range(n)]
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

    def _groups(self) -> list[_Group]:
        """The takes still drawing, by settings (worked out again when a take is done)."""
        by_settings: dict[SampleSettings, list[int]] = {}
        for i, done in enumerate(self.done):
            if not done:
                by_settings.setdefault(self.takes[i].settings, []).append(i)
        if len(by_settings) == 1 and not any(self.done):
            ((settings, group),) = by_settings.items()
            return [_Group(settings, _EVERY_ROW, group)]
        return [_Group(settings, np.concatenate([np.arange(self.slices[i].start, self.slices[i].stop)
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
            picked = _pick(p, u[0] if len(u) == 1 else np.concatenate(u))
            if group.rows is _EVERY_ROW:
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
    rewind.forbid(r, target, first)
    return target


@dataclass
class _Mark:
    """Where a row stood when one of its events began: enough to draw that event again."""

    tokens: int
    logits: np.ndarray
    state: list[tuple[np.ndarray, np.ndarray]]
    grammar: tuple[Any, ...]  # the row's place in the grammar (:attr:`SpelledState.PLACE`)


class _Rewind:
    """The last ``keeps[r]`` event beginnings of every row ``r`` (NumPy step state), and the
    first tokens barred at each place after an event there was taken back. After a row went
    back, fewer beginnings may be left behind it: the watch is told how far it can go."""

    def __init__(self, keeps: Sequence[int]) -> None:
        self.keeps = list(keeps)
        self.marks: list[dict[int, _Mark]] = [{} for _ in self.keeps]
        self.barred: list[dict[int, set[int]]] = [{} for _ in self.keeps]
        self.barring: set[int] = set()  # the rows with a barred place

    def mark(self, r: int, position: int, tokens: int, logits: np.ndarray, state: list, grammar: Any) -> None:
        marks = self.marks[r]
        marks[position] = _Mark(tokens, logits[r].copy(), [(h[r].copy(), c[r].copy()) for h, c in state],
                                tuple(np.array(getattr(grammar, name)[r]) for name in grammar.PLACE))
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
        logits[r] = mark.logits
        for (h, c), (mh, mc) in zip(state, mark.state):
            h[r], c[r] = mh, mc
        for name, value in zip(grammar.PLACE, mark.grammar):
            getattr(grammar, name)[r] = value
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
