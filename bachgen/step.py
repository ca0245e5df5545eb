"""The recurrent step engines: one event of the bachgen network at a time, state carried.

The original project re-ran the whole 50-event window through ``model.predict`` for
every new event. Here the seed is read once (*priming*) and each new event costs one
recurrent step: the embedding row of the last word, one update per LSTM layer, and the
logits. The step runs on the trained weights read by layer name (``embedding``,
``lstm_i``, ``logits``), either in NumPy (:class:`NumpyStep`, the default: no graph
dispatch per call, which dominates at this size) or as a compiled ``tf.function``
(:class:`TFStep`); both give the Keras model's logits (see the tests). TensorFlow is
imported only when a :class:`TFStep` is made.

:func:`blas_single_thread` keeps NumPy's BLAS on the calling thread while stepping.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from .errors import BundleError


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, element by element (the LSTM gates)."""
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


__all__ = ["NumpyStep", "TFStep", "STEP_BACKENDS", "read_weights", "make_step", "blas_single_thread"]
