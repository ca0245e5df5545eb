"""A key- and meter-conditioned LSTM over spelled events, its training data and its bundle.

The network reads spelled tokens (:mod:`bachgen.codecs.spelled`) and, at every step, four
small conditioning inputs beside the token: the quarter note of the bar and the tick
within that quarter where the current event starts, the time signature, and the key
condition (mode and shift from C major / A minor). Each goes through its own small
embedding; all are concatenated with the token embedding and fed to two LSTM layers and
a dense layer of logits. Telling the network its key and its place in the bar at every
step keeps the music in the seed's key and pulse without any pull from the sampler.

Training data: every training fugue moved to the common key, plus shifts of
−``shifts``..+``shifts`` semitones with the matching key condition; windows of
``seq_len + 1`` tokens cut from one piece at a time (never across pieces). The split is
the fixed one of :mod:`bachgen.dataset`. TensorFlow is imported inside functions only.

Study options (see :mod:`bachgen.spelled_studies`): ``NetConfig.arch`` ``"original"`` is
the original project's network on the same tokens; the codec's ``key_told`` says what the
key column tells (mode and shift, mode only, nothing); ``FitConfig.augment`` ``"all12"``
trains on every piece in its own key moved −5..+6 semitones; ``FitConfig.modes`` trains
on the major or the minor fugues only.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .codecs.spelled import FEATURES, KEY_TOLD, KeyCondition, ReleasedCodec, SpelledCodec
from .config import TrainConfig
from .dataset import HELD_OUT, VALIDATION, split_pieces
from .errors import BundleError, ConfigError
from .events import Piece, key_is_minor, shift_to_common_key

INPUTS = ("tokens",) + FEATURES
#: Networks :func:`build_model` knows: the conditioned one, and the original project's
#: (token id / vocabulary as the single input, one LSTM, no conditioning).
ARCHS = ("conditioned", "original")
#: Augmentations (:attr:`FitConfig.augment`) and mode filters (:attr:`FitConfig.modes`);
#: the key treatments are the codec's (:data:`~bachgen.codecs.spelled.KEY_TOLD`).
AUGMENTS = ("shifts", "all12")
MODES = ("both", "major", "minor")
#: Semitones each piece is moved from its own key by ``augment="all12"``.
ALL12 = tuple(range(-5, 7))
#: Codec per spelling: pitches held from the previous event named again, or releases named.
SPELLINGS = {"held": SpelledCodec, "released": ReleasedCodec}
MODEL_FILE, CODEC_FILE, CONFIG_FILE, HISTORY_FILE = "model.keras", "codec.json", "config.json", "history.json"


@dataclass(frozen=True)
class NetConfig:
    """Sizes of the network: token embedding, conditioning embeddings, LSTM layers.

    ``arch``: ``"conditioned"`` (token and feature embeddings, ``layers`` LSTMs) or
    ``"original"`` — the original project's network on the same tokens: the token id
    divided by the vocabulary size as the single input, one LSTM of ``units``, dense
    logits, no dropout (as :func:`bachgen.train.build_baseline`); only ``units`` applies.
    """

    embed: int = 96
    units: int = 256
    layers: int = 2
    quarter_embed: int = 4
    phase_embed: int = 8
    meter_embed: int = 4
    key_embed: int = 8
    dropout: float = 0.1
    arch: str = "conditioned"

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"arch must be one of {', '.join(ARCHS)}, not {self.arch!r}.")
        if min(self.embed, self.units, self.layers, self.quarter_embed, self.phase_embed,
               self.meter_embed, self.key_embed) < 1 or not 0.0 <= self.dropout < 1.0:
            raise ConfigError("Network sizes must be positive and dropout in [0, 1).")

    @property
    def input_names(self) -> tuple[str, ...]:
        """The inputs the network reads (a subset of :data:`INPUTS`)."""
        return INPUTS if self.arch == "conditioned" else ("tokens",)

    def embed_sizes(self) -> dict[str, int]:
        return {"quarter": self.quarter_embed, "phase": self.phase_embed,
                "meter": self.meter_embed, "key": self.key_embed}


@dataclass(frozen=True)
class FitConfig:
    """How the network is trained.

    ``seq_len`` tokens per window (~3.8 tokens an event: 192 ≈ 50 events), windows start
    every ``stride`` tokens. ``epochs`` is a ceiling: training stops when the validation
    loss has not improved for ``patience`` epochs (best weights kept) or when the next
    epoch would pass ``budget_minutes`` of wall-clock time. ``shifts``: semitones of
    augmentation each way around the common key. ``strategy``/``devices`` as in
    :class:`~bachgen.config.TrainConfig`; ``threads`` caps TensorFlow's CPU threads.

    ``augment``: ``"shifts"`` (the common key ± ``shifts``) or ``"all12"`` (the original
    project's augmentation: each piece left in its own key and moved by −5..+6 semitones;
    only with a codec that does not tell the shift, see :func:`check_key_treatment`).
    ``modes``: train and validate on ``"both"`` modes or on the ``"major"`` / ``"minor"``
    fugues only. Validation is always in the common key.
    """

    seq_len: int = 192
    stride: int = 96
    batch_size: int = 64
    learning_rate: float = 2e-3
    clipnorm: float = 1.0
    epochs: int = 30
    patience: int = 3
    budget_minutes: float = 28.0
    shifts: int = 3
    seed: int = 1685
    strategy: str = "default"
    devices: int = 2
    threads: int = 2
    deterministic: bool = True
    limit_pieces: int | None = None
    augment: str = "shifts"
    modes: str = "both"

    def __post_init__(self) -> None:
        if self.augment not in AUGMENTS:
            raise ConfigError(f"augment must be one of {', '.join(AUGMENTS)}, not {self.augment!r}.")
        if self.modes not in MODES:
            raise ConfigError(f"modes must be one of {', '.join(MODES)}, not {self.modes!r}.")
        if self.seq_len < 2 or self.stride < 1 or self.batch_size < 1 or self.epochs < 1:
            raise ConfigError("seq_len, stride, batch_size and epochs must be positive.")
        if not 0 <= self.shifts <= 3:
            raise ConfigError("shifts must be 0..3 (the key condition knows −3..+3).")
        if self.budget_minutes <= 0 or self.learning_rate <= 0:
            raise ConfigError("budget_minutes and learning_rate must be positive.")

    def train_config(self) -> TrainConfig:
        """The strategy part, in the form :mod:`bachgen.train` expects."""
        return TrainConfig(strategy=self.strategy, devices=self.devices, seed=self.seed,
                           batch_size=self.batch_size, deterministic=self.deterministic)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Sequence_:
    """One version of one piece: token ids and their ``(n, 4)`` conditioning features."""

    name: str
    shift: int
    ids: np.ndarray
    features: np.ndarray


def common_key(piece: Piece) -> tuple[Piece, bool]:
    """The piece moved to C major / A minor (unmoved when its key is unknown), and its mode."""
    if not piece.key:
        return piece, False
    return piece.transpose(shift_to_common_key(piece.key)), key_is_minor(piece.key)


def piece_versions(piece: Piece, codec: SpelledCodec, shifts: int) -> list[Sequence_]:
    """The piece in the common key shifted by −shifts..+shifts, each with its key condition.

    Encoded once and shifted as ids (chordifying does not depend on pitch); a shift that
    would leave the piano is skipped.
    """
    moved, minor = common_key(piece)
    ids = np.asarray(codec.encode(moved), dtype=np.int64)
    start = codec.first_tick(moved)
    out = []
    for shift in range(-shifts, shifts + 1):
        try:
            shifted = codec.shift_ids(ids, shift)
        except ConfigError:
            continue
        feats = codec.features(shifted, moved.time_signature, start, KeyCondition(minor, shift))
        out.append(Sequence_(piece.name, shift, shifted.astype(np.int32), feats))
    return out


def own_key_versions(piece: Piece, codec: SpelledCodec) -> list[Sequence_]:
    """The piece in its own key moved by each of :data:`ALL12` semitones (``augment="all12"``).

    A shift that would leave the piano is skipped. The key condition carries the mode
    only (``shift`` 0): a codec used with this augmentation does not tell the shift.
    """
    minor = common_key(piece)[1]
    ids = np.asarray(codec.encode(piece), dtype=np.int64)
    start, out = codec.first_tick(piece), []
    for shift in ALL12:
        try:
            shifted = codec.shift_ids(ids, shift)
        except ConfigError:
            continue
        feats = codec.features(shifted, piece.time_signature, start, KeyCondition(minor, 0))
        out.append(Sequence_(piece.name, shift, shifted.astype(np.int32), feats))
    return out


def check_key_treatment(codec: SpelledCodec, fit: FitConfig) -> None:
    """Refuse 12-key augmentation with a codec that tells the shift from the common key.

    Pieces left in their own key have no shift in −3..+3 to tell, so ``augment="all12"``
    needs ``key_told`` ``"none"`` or ``"mode"``.
    """
    if fit.augment == "all12" and codec.key_told == "key":
        raise ConfigError("augment 'all12' needs a codec with key_told 'none' or 'mode', not 'key'.",
                          "Pass --key-told none (or mode).")


def in_modes(piece: Piece, modes: str) -> bool:
    """Whether ``piece`` belongs to the fugues of ``modes`` (:data:`MODES`; unknown key: major)."""
    return modes == "both" or common_key(piece)[1] == (modes == "minor")


def cut_windows(sequences: Sequence[Sequence_], seq_len: int, stride: int) -> np.ndarray:
    """``(n, seq_len + 1, 5)`` int32 windows (token id, then the 4 features), one piece at a time.

    Starts every ``stride`` tokens plus one window ending at the piece's end; a piece
    shorter than a window is padded with zeros (padding targets are ignored by the loss).
    """
    width, rows = seq_len + 1, []
    for seq in sequences:
        data = np.concatenate([seq.ids[:, None], seq.features], axis=1).astype(np.int32)
        if len(data) < 2:
            continue
        if len(data) <= width:
            rows.append(np.pad(data, ((0, width - len(data)), (0, 0))))
            continue
        starts = list(range(0, len(data) - width + 1, stride))
        if starts[-1] != len(data) - width:
            starts.append(len(data) - width)
        rows.extend(data[s:s + width] for s in starts)
    return np.stack(rows) if rows else np.zeros((0, width, 1 + len(FEATURES)), dtype=np.int32)


def window_inputs(windows: np.ndarray, names: Sequence[str] = INPUTS) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Model inputs (a dict of the columns ``names`` of :data:`INPUTS`) and targets (ids shifted by one).

    A network that reads fewer inputs (``arch="original"``) gets only its own.
    """
    inputs = {name: windows[:, :-1, i] for i, name in enumerate(INPUTS) if name in names}
    return inputs, windows[:, 1:, 0]


@dataclass(frozen=True)
class Data:
    """Training and validation windows, token counts for the output bias, the split's names."""

    train: np.ndarray
    validation: np.ndarray
    counts: np.ndarray
    names: dict[str, list[str]] = field(default_factory=dict)


def prepare_data(pieces: Sequence[Piece], codec: SpelledCodec, fit: FitConfig) -> Data:
    """Split by piece (fixed sets), augment the training pieces, cut windows.

    Validation pieces are used in the common key only (shift 0), in windows that do not
    overlap: they only measure. ``fit.modes`` keeps the fugues of one mode only (training
    and validation); ``fit.augment`` picks :func:`piece_versions` or :func:`own_key_versions`.
    """
    check_key_treatment(codec, fit)
    split = split_pieces(pieces, HELD_OUT, VALIDATION)
    train_pieces = [p for p in split.train if in_modes(p, fit.modes)]
    val_pieces = [p for p in split.validation if in_modes(p, fit.modes)]
    if fit.limit_pieces:
        train_pieces, val_pieces = train_pieces[:fit.limit_pieces], val_pieces[:max(1, fit.limit_pieces // 4)]
    if fit.augment == "all12":
        train = [v for p in train_pieces for v in own_key_versions(p, codec)]
    else:
        train = [v for p in train_pieces for v in piece_versions(p, codec, fit.shifts)]
    val = [v for p in val_pieces for v in piece_versions(p, codec, 0)]
    counts = np.bincount(np.concatenate([s.ids for s in train]), minlength=codec.vocab_size)
    names = {"train": [p.name for p in train_pieces], "validation": [p.name for p in val_pieces],
             "test": [p.name for p in split.test]}
    return Data(cut_windows(train, fit.seq_len, fit.stride),
                cut_windows(val, fit.seq_len, fit.seq_len), counts, names)


def to_tf_dataset(windows: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                  drop_remainder: bool = False, names: Sequence[str] = INPUTS):
    """A ``tf.data.Dataset`` of ``(inputs dict, targets)`` batches (a fresh order each epoch)."""
    import tensorflow as tf

    inputs, targets = window_inputs(windows, names)
    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        data = data.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def replica_datasets(data: Data, fit: FitConfig, replicas: int, names: Sequence[str] = INPUTS):
    """Training and validation datasets whose every batch splits evenly over ``replicas``.

    With one replica: all windows. With several (``mirrored``): the batch size must be a
    multiple of the replicas, the last partial training batch of each epoch is dropped and
    the validation windows are cut to a multiple of the replicas (an uneven split of a
    batch fails inside the loss).
    """
    if replicas > 1 and fit.batch_size % replicas:
        raise ConfigError(f"batch_size ({fit.batch_size}) must be a multiple of the {replicas} replicas.")
    val = data.validation[:len(data.validation) - len(data.validation) % replicas]
    return (to_tf_dataset(data.train, fit.batch_size, True, fit.seed, drop_remainder=replicas > 1,
                          names=names),
            to_tf_dataset(val, fit.batch_size, False, fit.seed, names=names))


# --------------------------------------------------------------------------- network


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
    """
    import keras

    if net.arch == "original":
        return build_original(codec, net, seed)

    init = keras.initializers.GlorotUniform(seed=seed)
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    parts = [keras.layers.Embedding(codec.vocab_size, net.embed, name="token_embed",
                                    embeddings_initializer=keras.initializers.RandomUniform(
                                        -0.05, 0.05, seed=seed))(tokens)]
    inputs = [tokens]
    sizes, dims = codec.feature_sizes(), net.embed_sizes()
    for i, name in enumerate(FEATURES):
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


# --------------------------------------------------------------------------- training


def setup_tensorflow(fit: FitConfig) -> None:
    """Threads, devices, seeds and determinism — before TensorFlow runs anything."""
    import keras
    import tensorflow as tf

    from .train import configure_devices

    configure_devices(fit.train_config())
    try:
        tf.config.threading.set_intra_op_parallelism_threads(fit.threads)
        tf.config.threading.set_inter_op_parallelism_threads(fit.threads)
    except RuntimeError:
        pass  # already fixed by an earlier TensorFlow call in this process
    keras.utils.set_random_seed(fit.seed)
    if fit.deterministic:
        tf.config.experimental.enable_op_determinism()


def _callbacks(fit: FitConfig, started: float, log: Any):
    """Early stopping (best weights kept), the wall-clock budget, and one log line an epoch."""
    import keras

    class Budget(keras.callbacks.Callback):
        """Stop when one more epoch (as long as the slowest so far) would pass the budget."""

        def on_train_begin(self, logs=None):
            self.last, self.slowest = time.monotonic(), 0.0

        def on_epoch_end(self, epoch, logs=None):
            now = time.monotonic()
            self.slowest, self.last = max(self.slowest, now - self.last), now
            logs = logs or {}
            print(f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')) / math.log(2):.4f} "
                  f"val {logs.get('val_loss', float('nan')) / math.log(2):.4f} bits/token, "
                  f"{now - started:.0f} s", file=log, flush=True)
            if now - started + self.slowest > fit.budget_minutes * 60:
                print("stopping: the next epoch would pass the time budget", file=log, flush=True)
                self.model.stop_training = True

    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=fit.patience,
                                         restore_best_weights=True)
    return [stop, Budget()]


def fit_model(codec: SpelledCodec, data: Data, net: NetConfig, fit: FitConfig,
              log: Any = None) -> tuple[Any, dict[str, list[float]], float]:
    """Train a fresh network on ``data``; returns it (best weights), its history and seconds."""
    import keras

    from .train import make_strategy

    started = time.monotonic()
    strategy = make_strategy(fit.train_config())
    with strategy.scope():
        model = build_model(codec, net, seed=fit.seed)
        init_output_bias(model, data.counts)
        model.compile(
            optimizer=keras.optimizers.Adam(fit.learning_rate, clipnorm=fit.clipnorm),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    train, val = replica_datasets(data, fit, strategy.num_replicas_in_sync, net.input_names)
    history = model.fit(train, validation_data=val, epochs=fit.epochs, verbose=0,
                        callbacks=_callbacks(fit, started, log))
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}, \
        time.monotonic() - started


# --------------------------------------------------------------------------- bundle


@dataclass
class SpelledBundle:
    """A trained network with its codec and the settings it was trained with."""

    model: Any
    codec: SpelledCodec
    net: NetConfig
    config: dict[str, Any]


def save_bundle(folder: str | Path, model: Any, codec: SpelledCodec, net: NetConfig,
                config: dict[str, Any], history: dict[str, list[float]] | None = None) -> Path:
    """Write ``model.keras`` (weights only, no optimizer state), ``codec.json``, ``config.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clean = build_model(codec, net)
    clean.set_weights(model.get_weights())
    clean.save(folder / MODEL_FILE)
    (folder / CODEC_FILE).write_text(json.dumps(codec.to_json(), indent=1) + "\n")
    (folder / CONFIG_FILE).write_text(json.dumps({"net": asdict(net), **config}, indent=1) + "\n")
    if history is not None:
        (folder / HISTORY_FILE).write_text(json.dumps(history, indent=1) + "\n")
    return folder


def load_bundle(folder: str | Path) -> SpelledBundle:
    """The bundle saved by :func:`save_bundle` (a :class:`BundleError` when incomplete)."""
    import keras

    folder = Path(folder)
    try:
        codec = SpelledCodec.from_json(json.loads((folder / CODEC_FILE).read_text()))
        config = json.loads((folder / CONFIG_FILE).read_text())
        net = NetConfig(**config["net"])
        model = keras.models.load_model(folder / MODEL_FILE, compile=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"Cannot load the spelled model bundle in {folder}: {exc}.",
                          "Train it again (python -m bachgen.conditioned).") from exc
    return SpelledBundle(model, codec, net, config)


def can_step(bundle: SpelledBundle) -> bool:
    """Whether the NumPy step (:mod:`bachgen.spelled_sampling`) can run the bundle's network:
    it reads the conditioned network's layers by name; the original network has no embeddings."""
    return bundle.net.arch == "conditioned"


def require_step(bundle: SpelledBundle) -> None:
    """Refuse a network the NumPy step cannot run (see :func:`can_step`)."""
    if not can_step(bundle):
        raise ConfigError(f"The {bundle.net.arch!r} network cannot be sampled by the step engine; "
                          "only the conditioned network can.",
                          "Measure it by held-out bits (python -m bachgen.spelled_eval BUNDLE --heldout).")


# --------------------------------------------------------------------------- one run


def train_bundle(pieces: Sequence[Piece], out: str | Path, net: NetConfig, fit: FitConfig,
                 log: Any = None, spelling: str = "held", key_told: str = "key") -> dict[str, Any]:
    """Build the codec, train from scratch, save the bundle in ``out``; returns the summary.

    The codec's vocabulary (event lengths, widest chord, time signatures) comes from all
    pieces given: it holds no note data, and so every held-out event has its tokens.
    ``spelling`` picks the codec (:data:`SPELLINGS`) and ``key_told`` what its key column
    tells (:data:`~bachgen.codecs.spelled.KEY_TOLD`); both are saved in ``codec.json``.
    """
    import os

    if spelling not in SPELLINGS:
        raise ConfigError(f"spelling must be one of {', '.join(SPELLINGS)}, not {spelling!r}.")
    codec = SPELLINGS[spelling].build(pieces, key_told=key_told)
    data = prepare_data(pieces, codec, fit)  # refuses a key treatment the augmentation cannot use
    print(f"codec {codec.vocab_size} ids; {len(data.train)} training windows, "
          f"{len(data.validation)} validation windows", file=log, flush=True)
    load_before = os.getloadavg()
    model, history, seconds = fit_model(codec, data, net, fit, log)
    val = [v / math.log(2) for v in history.get("val_loss", [])]
    summary = {
        "fit": asdict(fit), "split": data.names, "vocab_size": codec.vocab_size,
        "train_windows": int(len(data.train)), "validation_windows": int(len(data.validation)),
        "train_tokens": int(data.counts.sum()), "parameters": int(model.count_params()),
        "key_told": codec.key_told,
        "epochs_run": len(val), "best_epoch": int(np.argmin(val)) + 1 if val else 0,
        "best_val_bits_per_token": float(min(val)) if val else None,
        "train_seconds": round(seconds, 1), "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
    }
    save_bundle(out, model, codec, net, summary, history)
    return summary


@dataclass(frozen=True)
class TrainOptions:
    """Everything ``python -m bachgen.conditioned`` is told: where to, the network, the
    training, the spelling and what the key column tells."""

    out: str
    net: NetConfig
    fit: FitConfig
    spelling: str = "held"
    key_told: str = "key"


def parse_options(argv: Sequence[str] | None = None) -> TrainOptions:
    """The command line, one option per :class:`NetConfig` / :class:`FitConfig` field
    (``--arch``, ``--augment``, ``--modes`` restricted to their values) plus ``--spelling``
    and ``--key-told``; a bad combination raises :class:`ConfigError`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bachgen.conditioned",
                                     description="Train the key- and meter-conditioned spelled LSTM.")
    parser.add_argument("out")
    parser.add_argument("--spelling", choices=sorted(SPELLINGS), default="held")
    parser.add_argument("--key-told", choices=KEY_TOLD, default="key",
                        help="what the key column tells: mode and shift, mode only, or nothing")
    choices = {"arch": ARCHS, "augment": AUGMENTS, "modes": MODES}
    for name, value in {**asdict(NetConfig()), **asdict(FitConfig())}.items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(value, bool):
            parser.add_argument(flag, default=value, type=lambda s: s.lower() in ("1", "true", "yes"))
        else:
            kind = int if name == "limit_pieces" else type(value)
            parser.add_argument(flag, type=kind, default=value, choices=choices.get(name))
    args = vars(parser.parse_args(argv))
    options = TrainOptions(args["out"], NetConfig(**{k: args[k] for k in asdict(NetConfig())}),
                           FitConfig(**{k: args[k] for k in asdict(FitConfig())}),
                           args["spelling"], args["key_told"])
    if options.fit.augment == "all12" and options.key_told == "key":
        raise ConfigError("augment 'all12' needs --key-told none or mode.")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bachgen.conditioned OUT [--units N] [--budget-minutes M] ...``: train and save."""
    import sys

    from .config import CorpusConfig
    from .corpus import load_corpus

    options = parse_options(argv)
    setup_tensorflow(options.fit)
    pieces = load_corpus(CorpusConfig.from_env())
    summary = train_bundle(pieces, options.out, options.net, options.fit, log=sys.stdout,
                           spelling=options.spelling, key_told=options.key_told)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
