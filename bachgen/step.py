"""The network one token at a time, in NumPy: what sampling calls at every step.

:class:`NumpyStep` runs the trained network one token at a time, carrying the LSTM state:
the first layer's input weights are folded into per-token and per-feature tables, so a
step is two small matrix products per layer and one for the logits. :class:`TfStep` does
the same in a ``tf.function`` for comparison. :class:`RowStableStep` gives every row the
same bits whatever the batch, so takes drawn together get what they get alone.
:func:`blas_single_thread` keeps BLAS on the calling thread for these tiny products.

This module imports TensorFlow only in :class:`TfStep`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .bundle import require_step
from .codec import FEATURES
from .config import LINE_FEATURES, TOLD_FEATURES
from .errors import ConfigError
from .leaning import Leaner


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
    """Read a :func:`bachgen.network.build_model` network's weights by layer name.

    ``model`` is the Keras network, or its arrays by layer name as
    :func:`bachgen.weights.read_layer_weights` reads them from the saved file (the same
    arrays, without starting TensorFlow); both give the same weights, bit for bit. A network
    told the plan (or the lines) has those features' embeddings too (after the others, as it reads them).
    """
    layers = model if isinstance(model, dict) else {l.name: l.get_weights() for l in model.layers}
    told = tuple(name for name in TOLD_FEATURES + LINE_FEATURES if f"{name}_embed" in layers)
    embeds = [layers["token_embed"][0]] + [layers[f"{name}_embed"][0] for name in FEATURES + told]
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

    def __init__(self, weights: StepWeights, leaner: Leaner | None = None) -> None:
        self.w, self.leaner = weights, leaner
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
        """Logits ``(B, vocab)`` after reading ``tokens`` ``(B,)`` with ``features`` ``(B, 4)``
        (``(B, 6)`` for a network told the plan)."""
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

    def __init__(self, weights: StepWeights, leaner: Leaner | None = None) -> None:
        import tensorflow as tf

        self.w, self.leaner = weights, leaner
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
            for col in range(len(tables) - 1):
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
    """The step engine for a :class:`bachgen.bundle.Bundle` (``numpy`` or ``tf``).

    A bundle read from its folder (:func:`bachgen.bundle.load_bundle`) carries its
    arrays as ``layer_weights``, so the NumPy step starts without TensorFlow; otherwise the
    weights come from the Keras network ``bundle.model``.
    """
    require_step(bundle)  # the original network has no embeddings to fold into tables
    layers = getattr(bundle, "layer_weights", None)
    weights = step_weights(layers if layers is not None else bundle.model)
    leaning = getattr(bundle, "leaning", None)
    codec = bundle.codec
    leaner = Leaner(leaning, codec.pitches, len(codec.durations), codec.max_pitches) if leaning is not None else None
    if engine == "numpy":
        return NumpyStep(weights, leaner)
    if engine == "tf":
        return TfStep(weights, leaner)
    raise ConfigError(f"engine must be 'numpy' or 'tf', not {engine!r}.")


@contextmanager
def blas_single_thread() -> Iterator[None]:
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


_SETTER: list = []  # the OpenBLAS per-thread setter, looked up once (None: not there)


def _openblas_setter():
    """OpenBLAS's ``openblas_set_num_threads_local`` from the library NumPy ships, or None."""
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


class RowStableStep:
    """The step of a :class:`NumpyStep` in which every row gets the
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

    @property
    def leaner(self) -> Leaner | None:
        """The inner step's leaning (:mod:`bachgen.leaning`)."""
        return self.inner.leaner

    def zero_state(self, rows: int) -> list:
        return self.inner.zero_state(rows)

    def __call__(self, tokens: np.ndarray, features: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        """As :meth:`NumpyStep.__call__`."""
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
