"""Training one network: devices and strategy, the baseline architecture, the fit loop.

One run: split the fugues by piece (:mod:`bachgen.dataset`), build the codec's vocabulary
on the training pieces, cut windows, and fit the network with a ``tf.data`` pipeline
under the chosen ``tf.distribute`` strategy. The loss is sparse categorical
cross-entropy from logits with padding (id 0) ignored. Training stops when the
validation loss stops improving (the best weights are kept). A run folder
(``runs/NAME``) receives ``history.csv``, ``loss.png``, TensorBoard logs
(``tensorboard/``) and ``.keras`` checkpoints (``checkpoints/best.keras``,
``checkpoints/last.keras``).

A run is repeatable: the seed fixes weights, shuffling and dropout, and TensorFlow op
determinism is on unless switched off.

The studies that vary one setting at a time live in :mod:`bachgen.studies`, the model
card in :mod:`bachgen.card`, and the ``bachgen train`` command in :mod:`bachgen.cli`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from .config import ModelConfig, TokenConfig, TrainConfig, to_dict
from .errors import ConfigError
from .events import Piece

ARCHITECTURES = ("embedding-lstm", "scalar-lstm")


# --------------------------------------------------------------------------- devices, strategy


def configure_devices(config: TrainConfig) -> None:
    """For ``mirrored`` on a machine without GPUs, split the CPU into ``devices`` logical CPUs.

    TensorFlow fixes its devices when it first runs anything, so this must happen
    before any other TensorFlow work in the process.
    """
    if config.strategy != "mirrored":
        return
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(config.devices)]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == len(wanted):
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as exc:
        raise ConfigError(
            "The mirrored strategy must split the CPU before TensorFlow starts, but it already has.",
            "Start training in a fresh process (the `bachgen train` command does).") from exc


def make_strategy(config: TrainConfig):
    """The ``tf.distribute`` strategy named by ``config.strategy``."""
    import tensorflow as tf

    if config.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if config.strategy == "multiworker":
        # Reads the cluster from TF_CONFIG; without it this process is the only worker.
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _is_chief() -> bool:
    """False only when ``TF_CONFIG`` names this process as a worker other than the chief."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task", {})
    kind, index = task.get("type", "chief"), int(task.get("index", 0))
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in tf_config.get("cluster", {})


# --------------------------------------------------------------------------- models


def build_baseline(vocab_size: int, units: int = 256, seed: int | None = None):
    """The original project's network: the word id divided by the vocabulary size is the
    single input feature, one LSTM, and a softmax over the words (here as logits, the
    softmax being applied by the loss and the evaluation). Layer names match
    :func:`bachgen.model.build_model` (``lstm_0``, ``logits``)."""
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = keras.layers.Rescaling(1.0 / vocab_size, name="scale")(inputs)
    x = keras.layers.Reshape((-1, 1), name="feature")(x)
    x = keras.layers.LSTM(units, return_sequences=True, name="lstm_0")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(inputs, logits, name="bachgen_baseline")


def init_output_bias(model: Any, counts: Sequence[int]) -> None:
    """Start the ``logits`` bias at the log word frequencies of the training data.

    An untrained network then already predicts as well as word frequencies alone, and
    training spends its updates on learning context instead of pushing thousands of
    rare-word logits down one small step at a time. Padding (id 0) starts very unlikely.
    """
    import numpy as np

    freq = np.asarray(counts, dtype=np.float64)
    freq[0] = 0.0
    bias = np.log((freq + 0.1) / (freq + 0.1).sum())
    bias[0] = -20.0
    model.get_layer("logits").bias.assign(bias.astype("float32"))


def compile_model(model: Any, config: TrainConfig) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


# --------------------------------------------------------------------------- one run


@dataclass
class TrainResult:
    """What a run produced: the bundle, per-epoch history and how long it took."""

    bundle: Any
    history: dict[str, list[float]]
    seconds: float
    run_dir: Path
    split: dict[str, list[str]]
    train_windows: int
    val_replaced: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best_epoch(self) -> int:
        losses = self.history.get("val_loss") or self.history.get("loss") or [0.0]
        return int(min(range(len(losses)), key=losses.__getitem__)) + 1

    @property
    def best_val_loss(self) -> float:
        return float(min(self.history.get("val_loss") or [math.nan]))


class _Progress:
    """Keras callback printing one line per epoch with elapsed time (for logs and pipes)."""

    def __new__(cls, total_epochs: int, stream: Any):
        import keras

        class Progress(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                shown = "  ".join(f"{k} {v:.4f}" for k, v in sorted(logs.items())
                                  if k in ("loss", "val_loss", "accuracy", "val_accuracy"))
                print(f"epoch {epoch + 1}/{total_epochs}  {shown}  "
                      f"{time.perf_counter() - self.start:.0f}s", file=stream, flush=True)

        return Progress()


class _TensorBoardScalars:
    """Keras callback writing each epoch's metrics as TensorBoard scalars.

    Uses TensorFlow's own summary writer, so the logs are written whether or not the
    ``tensorboard`` package (needed only to view them) is installed. Training metrics go
    to ``train/``, validation metrics to ``validation/``, as Keras' own callback does.
    """

    def __new__(cls, log_dir: Path):
        import keras
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"

        class Scalars(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.writers = {part: tf.summary.create_file_writer(str(log_dir / part))
                                for part in ("train", "validation")}

            def on_epoch_end(self, epoch, logs=None):
                for key, value in (logs or {}).items():
                    part = "validation" if key.startswith("val_") else "train"
                    tag = "epoch_" + key.removeprefix("val_")
                    with self.writers[part].as_default():
                        tf.summary.write(tag, tf.constant(float(value)), step=epoch,
                                         metadata=metadata)
                for writer in self.writers.values():
                    writer.flush()

            def on_train_end(self, logs=None):
                for writer in self.writers.values():
                    writer.close()

        return Scalars()


def plot_history(history: dict[str, list[float]], path: Path, title: str) -> None:
    """Training and validation loss per epoch as a PNG (matplotlib, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key, label in (("loss", "training"), ("val_loss", "validation")):
        if history.get(key):
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (nats per word)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def train(pieces: Sequence[Piece], tokens: TokenConfig, model_config: ModelConfig,
          config: TrainConfig, run_dir: str | Path, mode: str = "all",
          architecture: str = "embedding-lstm", verbose: int = 2,
          held_out: Sequence[str] | None = None, validation: Sequence[str] | None = None
          ) -> TrainResult:
    """Train one network on ``pieces`` and return it as a :class:`~bachgen.bundle.Bundle`.

    ``model_config.vocab_size`` is replaced by the size of the vocabulary built from
    the training pieces. ``verbose``: 0 silent, 1 Keras progress bar, 2 a line per epoch.
    ``held_out`` / ``validation`` override the fixed split (tests use tiny pieces).
    """
    from . import dataset
    from .bundle import Bundle

    if architecture not in ARCHITECTURES:
        raise ConfigError(f"architecture must be one of {', '.join(ARCHITECTURES)}.")
    configure_devices(config)
    run_dir = _start_run(config, run_dir)
    prepared = dataset.prepare(pieces, tokens, model_config.seq_len, config.stride, mode,
                               held_out if held_out is not None else dataset.HELD_OUT,
                               validation if validation is not None else dataset.VALIDATION)
    if len(prepared.train_windows) == 0:
        raise ConfigError("No training windows: the training pieces are too short.")
    model_config = replace(model_config, vocab_size=prepared.codec.vocab_size)
    strategy = make_strategy(config)
    with strategy.scope():
        model = _build_network(architecture, model_config, config, prepared.codec.counts)
    history, seconds = _fit(model, prepared, config, run_dir, verbose)
    replicas = int(strategy.num_replicas_in_sync)
    result = TrainResult(None, history, seconds, run_dir, prepared.split.names(),
                         len(prepared.train_windows), prepared.val_replaced, {"replicas": replicas})
    training = _training_facts(config, mode, result, replicas)
    result.bundle = Bundle.from_codec(model, prepared.codec, model_config,
                                      {"architecture": architecture}, training)
    return result


def _start_run(config: TrainConfig, run_dir: str | Path) -> Path:
    """Make the run folder (one per worker but the chief) and seed everything random."""
    import keras
    import tensorflow as tf

    run_dir = Path(run_dir)
    if not _is_chief():
        run_dir = run_dir / f"worker-{json.loads(os.environ['TF_CONFIG'])['task']['index']}"
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    return run_dir


def _build_network(architecture: str, model_config: ModelConfig, config: TrainConfig,
                   counts: Sequence[int]) -> Any:
    """The compiled network of ``architecture``, its output bias at the word frequencies."""
    if architecture == "scalar-lstm":
        model = build_baseline(model_config.vocab_size, model_config.units, config.seed)
    else:
        from .model import build_model

        model = build_model(model_config, config.seed)
    init_output_bias(model, counts)
    compile_model(model, config)
    return model


def _datasets(prepared: Any, config: TrainConfig) -> tuple[Any, Any]:
    """The training and validation ``tf.data`` sets (no validation set without windows)."""
    import tensorflow as tf

    from . import dataset

    train_data = dataset.to_tf_dataset(prepared.train_windows, config.batch_size, True,
                                       config.seed, repeat=config.epoch_windows is not None)
    val_data = (dataset.to_tf_dataset(prepared.val_windows, config.batch_size, False, config.seed)
                if len(prepared.val_windows) else None)
    if config.strategy == "multiworker":
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train_data = train_data.with_options(options)
        val_data = val_data.with_options(options) if val_data is not None else None
    return train_data, val_data


def _callbacks(run_dir: Path, monitor: str, config: TrainConfig, verbose: int) -> list[Any]:
    """Early stopping, checkpoints, the CSV and TensorBoard logs, and the progress lines."""
    import keras

    callbacks = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(run_dir / "checkpoints" / "best.keras", monitor=monitor,
                                        save_best_only=True),
        keras.callbacks.ModelCheckpoint(run_dir / "checkpoints" / "last.keras"),
        keras.callbacks.CSVLogger(run_dir / "history.csv"),
        _TensorBoardScalars(run_dir / "tensorboard"),
    ]
    if verbose == 2:
        callbacks.append(_Progress(config.epochs, sys.stderr))
    return callbacks


def _fit(model: Any, prepared: Any, config: TrainConfig, run_dir: Path, verbose: int
         ) -> tuple[dict[str, list[float]], float]:
    """Fit ``model`` on the prepared windows; the per-epoch history (also plotted) and the
    seconds it took."""
    train_data, val_data = _datasets(prepared, config)
    monitor = "val_loss" if val_data is not None else "loss"
    callbacks = _callbacks(run_dir, monitor, config, verbose)
    repeat = config.epoch_windows is not None
    started = time.perf_counter()
    fit = model.fit(train_data, validation_data=val_data, epochs=config.epochs,
                    steps_per_epoch=prepared.steps_per_epoch(config.batch_size, config.epoch_windows)
                    if repeat else None,
                    callbacks=callbacks, shuffle=False,  # the dataset shuffles itself
                    verbose=1 if verbose == 1 else 0)
    seconds = time.perf_counter() - started
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    plot_history(history, run_dir / "loss.png", f"{run_dir.name}: loss per epoch")
    return history, seconds


def _training_facts(config: TrainConfig, mode: str, result: TrainResult, replicas: int
                    ) -> dict[str, Any]:
    """What the bundle records about its training (the model card reads it)."""
    import tensorflow as tf

    return {
        "config": to_dict(config),
        "mode": mode,
        "seconds": round(result.seconds, 1),
        "epochs_run": len(result.history.get("loss", [])),
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "train_windows": result.train_windows,
        "replicas": replicas,
        "split": {part: list(names) for part, names in result.split.items()},  # its own copy
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}",
    }
