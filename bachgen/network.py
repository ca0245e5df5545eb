"""The network: a key- and meter-conditioned LSTM over spelled tokens (Keras 3).

The network reads spelled tokens (:mod:`bachgen.codec`) and, at every step, four small
conditioning inputs beside the token: the quarter note of the bar and the tick within
that quarter where the current event starts, the time signature, and the key condition
(mode and shift from C major / A minor). Each goes through its own small embedding; all
are concatenated with the token embedding and fed to two LSTM layers and a dense layer
of logits. Telling the network its key and its place in the bar at every step keeps the
music in the seed's key and pulse without any pull from the sampler.

``NetConfig.arch == "original"`` is the original project's network on the same tokens,
kept as the baseline. Keras is imported inside the builders only, so the rest of the
package (the NumPy step included) runs without TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .codec import FEATURES, SpelledCodec
from .config import TOLD_FEATURES, NetConfig
from .errors import ConfigError

#: The network's inputs, in order: the token id and the conditioning features.
INPUTS = ("tokens",) + FEATURES
#: The inputs of a network told the plan (``NetConfig.told``): the same, then the told features.
TOLD_INPUTS = INPUTS + TOLD_FEATURES


def build_original(codec: SpelledCodec, net: NetConfig, seed: int | None = None):
    """The original project's network on spelled tokens: input ``tokens``, output ``logits``.

    The token id divided by the vocabulary size is the single input feature, then one
    LSTM of ``net.units`` (``lstm_1``) and a dense layer of logits — no embedding, no
    conditioning, no dropout — so its score shows what the rest of the design buys.
    """
    import keras

    init = keras.initializers.GlorotUniform(seed=seed)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Rescaling(1.0 / codec.vocab_size, name="scale")(tokens)
    x = keras.layers.Reshape((-1, 1), name="feature")(x)
    x = keras.layers.LSTM(net.units, return_sequences=True, name="lstm_1", kernel_initializer=init,
                          recurrent_initializer=keras.initializers.Orthogonal(seed=seed))(x)
    logits = keras.layers.Dense(codec.vocab_size, name="logits", kernel_initializer=init)(x)
    return keras.Model({"tokens": tokens}, logits, name="spelled_original")


def build_model(codec: SpelledCodec, net: NetConfig, seed: int | None = None):
    """The network (Keras functional): inputs named by ``net.input_names``, output ``logits``.

    Layer names (``token_embed``, ``<feature>_embed``, ``lstm_1``.., ``logits``) are what
    the NumPy step reads the weights by. ``net.arch == "original"``: :func:`build_original`.
    A told network (``net.told``, with a told codec) also reads ``end`` and ``line``; their
    embeddings come after the others, so the untold network is built exactly as before.
    """
    import keras

    if net.arch == "original":
        return build_original(codec, net, seed)
    if net.told != codec.told:
        raise ConfigError(f"The network is {'' if net.told else 'not '}told the plan but its codec "
                          f"is {'' if codec.told else 'not'}.", "Build both with the same told setting.")

    if net.lines != codec.lines:
        raise ConfigError(f"The network is {'' if net.lines else 'not '}told the lines but its codec "
                          f"is {'' if codec.lines else 'not'}.", "Build both with the same lines setting.")
    init = keras.initializers.GlorotUniform(seed=seed)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    parts = [keras.layers.Embedding(codec.vocab_size, net.embed, name="token_embed",
                                    embeddings_initializer=keras.initializers.RandomUniform(
                                        -0.05, 0.05, seed=seed))(tokens)]
    inputs = [tokens]
    sizes, dims = codec.feature_sizes(), net.embed_sizes()
    for i, name in enumerate(net.input_names[1:]):
        feature = keras.Input(shape=(None,), dtype="int32", name=name)
        inputs.append(feature)
        uniform = keras.initializers.RandomUniform(-0.05, 0.05, seed=None if seed is None else seed + 1 + i)
        parts.append(keras.layers.Embedding(sizes[name], dims[name], name=f"{name}_embed",
                                            embeddings_initializer=uniform)(feature))
    x = keras.layers.Concatenate(name="concat")(parts)
    for layer in range(net.layers):
        if net.dropout:
            x = keras.layers.Dropout(net.dropout, seed=seed, name=f"dropout_{layer + 1}")(x)
        x = keras.layers.LSTM(net.units, return_sequences=True, name=f"lstm_{layer + 1}",
                              kernel_initializer=init,
                              recurrent_initializer=keras.initializers.Orthogonal(seed=seed))(x)
    if net.dropout:
        x = keras.layers.Dropout(net.dropout, seed=seed, name="dropout_out")(x)
    logits = keras.layers.Dense(codec.vocab_size, name="logits", kernel_initializer=init)(x)
    return keras.Model(inputs, logits, name="spelled_lstm")


def init_output_bias(model: Any, counts: np.ndarray) -> None:
    """Start the logits at the log token frequencies (padding very unlikely)."""
    freq = np.asarray(counts, dtype=np.float64)
    freq[0] = 0.0
    bias = np.log((freq + 0.1) / (freq + 0.1).sum())
    bias[0] = -20.0
    model.get_layer("logits").bias.assign(bias.astype("float32"))
