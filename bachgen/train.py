"""Fitting: TensorFlow set up for a run, the network trained from scratch, the bundle saved.

``bachgen train`` calls :func:`setup_tensorflow` (threads, devices, seeds, determinism)
before anything else starts TensorFlow, then :func:`train_bundle`: the codec is built,
the data prepared (:mod:`bachgen.data`), the network (:mod:`bachgen.network`) fitted with
early stopping and a wall-clock budget, and the bundle written (:mod:`bachgen.bundle`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .bundle import save_bundle
from .codec import ReleasedCodec, SpelledCodec
from .config import FitConfig, NetConfig
from .data import Data, prepare_data, replica_datasets
from .errors import ConfigError
from .events import Piece
from .network import build_model, init_output_bias

#: Codec per spelling: pitches held from the previous event named again, or releases named.
SPELLINGS = {"held": SpelledCodec, "released": ReleasedCodec}


def configure_devices(fit: FitConfig) -> None:
    """For ``mirrored`` on a machine without GPUs, split the CPU into ``devices`` logical CPUs.

    TensorFlow fixes its devices when it first runs anything, so this must happen
    before any other TensorFlow work in the process.
    """
    if fit.strategy != "mirrored":
        return
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(fit.devices)]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == len(wanted):
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as exc:
        raise ConfigError(
            "The mirrored strategy must split the CPU before TensorFlow starts, but it already has.",
            "Start training in a fresh process (the `bachgen train` command does).") from exc


def make_strategy(fit: FitConfig):
    """The ``tf.distribute`` strategy named by ``fit.strategy``."""
    import tensorflow as tf

    if fit.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if fit.strategy == "multiworker":
        # Reads the cluster from TF_CONFIG; without it this process is the only worker.
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def setup_tensorflow(fit: FitConfig) -> None:
    """Threads, devices, seeds and determinism — before TensorFlow runs anything."""
    import keras
    import tensorflow as tf

    configure_devices(fit)
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

    started = time.monotonic()
    strategy = make_strategy(fit)
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


def train_bundle(pieces: Sequence[Piece], out: str | Path, net: NetConfig, fit: FitConfig,
                 log: Any = None, spelling: str = "held", key_told: str = "key") -> dict[str, Any]:
    """Build the codec, train from scratch, save the bundle in ``out``; returns the summary.

    The codec's vocabulary (event lengths, widest chord, time signatures) comes from all
    pieces given: it holds no note data, and so every held-out event has its tokens.
    ``spelling`` picks the codec (:data:`SPELLINGS`) and ``key_told`` what its key column
    tells (:data:`~bachgen.codec.KEY_TOLD`); both are saved in ``codec.json``.
    """
    if spelling not in SPELLINGS:
        raise ConfigError(f"spelling must be one of {', '.join(SPELLINGS)}, not {spelling!r}.")
    codec = SPELLINGS[spelling].build(pieces, key_told=key_told, told=net.told, lines=net.lines)
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


def _flag(field_name: str) -> str:
    """The command-line option of a setting (``embed`` is ``--embed``)."""
    return "--" + field_name.replace("_", "-")


def train_command(net: dict[str, Any], fit: dict[str, Any], bundle_dir: str | None) -> str:
    """The full ``bachgen train`` command that repeats a run with these settings, every
    setting spelled out (so a later change of defaults cannot alter it)."""
    parts = ["bachgen train"]
    for defaults, given in ((asdict(NetConfig()), net), (asdict(FitConfig()), fit)):
        for name, default in defaults.items():
            value = given.get(name, default)
            if isinstance(value, bool):
                parts.append(_flag(name) if value else "--no-" + _flag(name)[2:])
            elif value is not None:
                parts.append(f"{_flag(name)} {value}")
    if bundle_dir:
        parts.append(f"--bundle-dir {bundle_dir}")
    return " ".join(parts)
