"""The Keras network, built from a :class:`~bachgen.config.ModelConfig`.

Word ids ``(batch, time)`` -> ``Embedding`` -> ``layers`` x ``LSTM`` (each returning the
whole sequence) -> ``Dense`` logits over the vocabulary ``(batch, time, vocab)``.
Training predicts the next word at every position of a window; generation runs one
step at a time and carries the LSTM state (see :mod:`bachgen.sampling`).

Layer names are fixed (``embedding``, ``lstm_0`` … ``lstm_{n-1}``, ``logits``) so other
stages can read the weights by name. Id 0 is padding and is masked.
"""

from __future__ import annotations

from .config import ModelConfig


def build_model(config: ModelConfig, seed: int | None = None):
    """A fresh, compiled-free Keras model for ``config`` (weights seeded by ``seed``)."""
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(config.vocab_size, config.embed_dim, mask_zero=True,
                               name="embedding")(inputs)
    for i in range(config.layers):
        x = keras.layers.LSTM(config.units, return_sequences=True, dropout=0.0,
                              name=f"lstm_{i}")(x)
        if config.dropout:
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(config.vocab_size, name="logits")(x)
    return keras.Model(inputs, logits, name="bachgen_lstm")
