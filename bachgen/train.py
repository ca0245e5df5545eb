"""Training: ``bachgen train``, the baseline, and the studies behind the model card.

One run: split the fugues by piece (:mod:`bachgen.dataset`), build the vocabulary on
the training pieces, cut windows, and fit the network with a ``tf.data`` pipeline
under the chosen ``tf.distribute`` strategy. The loss is sparse categorical
cross-entropy from logits with padding (id 0) ignored. Training stops when the
validation loss stops improving (the best weights are kept). A run folder
(``runs/NAME``) receives ``history.csv``, ``loss.png``, TensorBoard logs
(``tensorboard/``) and ``.keras`` checkpoints (``checkpoints/best.keras``,
``checkpoints/last.keras``); ``--bundle-dir`` also saves a bundle (:mod:`bachgen.bundle`).

A run is repeatable: the seed fixes weights, shuffling and dropout, and TensorFlow op
determinism is on unless ``--no-deterministic``.

Studies (``bachgen train --study NAME``) train short variants of one small reference
setting with the same budget each and score every variant on the held-out fugues;
results go to ``runs/studies/NAME.json`` and into the model card.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from . import catalog
from .config import TRANSPOSE_MODES, CorpusConfig, ModelConfig, TokenConfig, TrainConfig, to_dict
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
    import keras
    import tensorflow as tf

    run_dir = Path(run_dir)
    if not _is_chief():
        run_dir = run_dir / f"worker-{json.loads(os.environ['TF_CONFIG'])['task']['index']}"
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()

    prepared = dataset.prepare(pieces, tokens, model_config.seq_len, config.stride, mode,
                               held_out if held_out is not None else dataset.HELD_OUT,
                               validation if validation is not None else dataset.VALIDATION)
    if len(prepared.train_windows) == 0:
        raise ConfigError("No training windows: the training pieces are too short.")
    model_config = replace(model_config, vocab_size=len(prepared.vocab))
    strategy = make_strategy(config)
    with strategy.scope():
        if architecture == "scalar-lstm":
            model = build_baseline(model_config.vocab_size, model_config.units, config.seed)
        else:
            from .model import build_model

            model = build_model(model_config, config.seed)
        init_output_bias(model, prepared.vocab.counts)
        compile_model(model, config)

    repeat = config.epoch_windows is not None
    train_data = dataset.to_tf_dataset(prepared.train_windows, config.batch_size, True,
                                       config.seed, repeat=repeat)
    val_data = (dataset.to_tf_dataset(prepared.val_windows, config.batch_size, False, config.seed)
                if len(prepared.val_windows) else None)
    if config.strategy == "multiworker":
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train_data = train_data.with_options(options)
        val_data = val_data.with_options(options) if val_data is not None else None
    monitor = "val_loss" if val_data is not None else "loss"
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
    started = time.perf_counter()
    fit = model.fit(train_data, validation_data=val_data, epochs=config.epochs,
                    steps_per_epoch=prepared.steps_per_epoch(config.batch_size, config.epoch_windows)
                    if repeat else None,
                    callbacks=callbacks, shuffle=False,  # the dataset shuffles itself
                    verbose=1 if verbose == 1 else 0)
    seconds = time.perf_counter() - started
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    plot_history(history, run_dir / "loss.png", f"{run_dir.name}: loss per epoch")

    result = TrainResult(None, history, seconds, run_dir, prepared.split.names(),
                         len(prepared.train_windows), prepared.val_replaced,
                         {"replicas": int(strategy.num_replicas_in_sync)})
    training = {
        "config": to_dict(config),
        "mode": mode,
        "seconds": round(seconds, 1),
        "epochs_run": len(history.get("loss", [])),
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "train_windows": len(prepared.train_windows),
        "replicas": int(strategy.num_replicas_in_sync),
        "split": prepared.split.names(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}",
    }
    result.bundle = Bundle(model, prepared.vocab, tokens, model_config,
                           {"architecture": architecture}, training)
    return result


# --------------------------------------------------------------------------- studies


#: The small reference setting every study varies one thing of.
STUDY_TOKENS = TokenConfig(transpose="common", holds=False)
STUDY_MODEL = ModelConfig(vocab_size=2, embed_dim=64, units=128, layers=2, dropout=0.2, seq_len=50)
STUDY_TRAIN = TrainConfig(epochs=5, batch_size=32, learning_rate=5e-3, patience=2, stride=10,
                          epoch_windows=1600)

#: Study name -> variants: (label, token changes, model changes, train changes, modes).
STUDIES: dict[str, list[tuple[str, dict, dict, dict, tuple[str, ...]]]] = {
    "transpose": [
        ("common (C major / A minor)", {}, {}, {}, ("all",)),
        ("none (original keys)", {"transpose": "none"}, {}, {}, ("all",)),
        ("augment (12 transpositions)", {"transpose": "augment"}, {}, {}, ("all",)),
    ],
    "seq_len": [
        ("seq_len 25", {}, {"seq_len": 25}, {}, ("all",)),
        ("seq_len 50", {}, {}, {}, ("all",)),
        ("seq_len 100", {}, {"seq_len": 100}, {}, ("all",)),
    ],
    "batch": [
        ("batch 128", {}, {}, {"batch_size": 128}, ("all",)),
        ("batch 32", {}, {}, {}, ("all",)),
    ],
    "mode": [
        ("separate major / minor models", {}, {}, {}, ("major", "minor")),
        ("one model (major + minor)", {}, {}, {}, ("all",)),
    ],
}

STUDY_NOTES = {
    "transpose": "Held-out pieces are scored in the keys each variant works in (common: moved "
                 "to C major / A minor; none and augment: original keys).",
    "seq_len": "Training windows of 25, 50 or 100 words; evaluation always runs the whole piece.",
    "batch": "Same windows per epoch, so batch 128 makes a quarter of the updates of batch 32.",
    "mode": "Separate models: one trained on the major training fugues, one on the minor, each "
            "with half the window budget (same total); each held-out fugue is scored by the "
            "model of its mode.",
}


def _variant_key(tokens: TokenConfig, model: ModelConfig, config: TrainConfig,
                 modes: tuple[str, ...]) -> str:
    return (f"t-{tokens.transpose}_h-{int(tokens.holds)}_e{model.embed_dim}_u{model.units}"
            f"_l{model.layers}_s{model.seq_len}_b{config.batch_size}_w{config.epoch_windows}"
            f"_ep{config.epochs}_st{config.stride}_{'-'.join(modes)}_seed{config.seed}")


def run_variant(pieces: Sequence[Piece], tokens: TokenConfig, model: ModelConfig,
                config: TrainConfig, modes: tuple[str, ...], out: Path, force: bool = False,
                verbose: int = 2) -> dict[str, Any]:
    """Train (once per mode) and score on the held-out fugues; cached in ``out/KEY.json``."""
    from .evaluate import Scores, evaluate_bundle
    from .dataset import split_pieces

    key = _variant_key(tokens, model, config, modes)
    cache = out / f"{key}.json"
    if cache.is_file() and not force:
        return json.loads(cache.read_text())
    parts: list[Scores] = []
    seconds = 0.0
    epochs = []
    vocab = []
    val_loss = []
    for mode in modes:
        part_config = config if len(modes) == 1 else replace(
            config, epoch_windows=max(1, (config.epoch_windows or 0) // len(modes)) or None)
        result = train(pieces, tokens, model, part_config, out / key / mode, mode, verbose=verbose)
        test = split_pieces(pieces, mode=mode).test
        parts.append(evaluate_bundle(result.bundle, test, mode))
        seconds += result.seconds
        epochs.append(f"{result.best_epoch}/{len(result.history['loss'])}")
        vocab.append(str(len(result.bundle.vocab) - 1))
        val_loss.append(result.best_val_loss)
    bits = sum(p.bits for p in parts)
    events = sum(p.events for p in parts)
    notes = sum(p.notes for p in parts)
    row = {
        "key": key,
        "vocabulary": " + ".join(vocab),
        "unknown held-out words": sum(p.unknown_words for p in parts),
        "best epoch / run": ", ".join(epochs),
        "held-out bits/note": bits / notes,
        "bits/event": bits / events,
        "top-1": sum(p.top1 * p.events for p in parts) / events,
        "top-5": sum(p.top5 * p.events for p in parts) / events,
        "train s": round(seconds),
        "best val loss": " + ".join(f"{v:.3f}" for v in val_loss),
    }
    out.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row, indent=2) + "\n")
    return row


def run_study(name: str, pieces: Sequence[Piece], out: Path, seed: int = STUDY_TRAIN.seed,
              force: bool = False, verbose: int = 2) -> dict[str, Any]:
    """Run every variant of study ``name``; writes and returns ``out/NAME.json``."""
    if name not in STUDIES:
        raise ConfigError(f"Unknown study {name!r}; choose from {', '.join(STUDIES)} or all.")
    rows = []
    for label, tok, mod, trn, modes in STUDIES[name]:
        tokens = replace(STUDY_TOKENS, **tok)
        model = replace(STUDY_MODEL, **mod)
        config = replace(STUDY_TRAIN, seed=seed, **trn)
        print(f"study {name}: {label}", file=sys.stderr, flush=True)
        row = run_variant(pieces, tokens, model, config, modes, out / "variants", force, verbose)
        rows.append({"variant": label, **{k: v for k, v in row.items() if k != "key"}})
    report = {
        "study": name,
        "reference": {"tokens": to_dict(STUDY_TOKENS), "model": to_dict(STUDY_MODEL),
                      "training": to_dict(replace(STUDY_TRAIN, seed=seed))},
        "note": STUDY_NOTES[name],
        "command": f"bachgen train --study {name}",
        "rows": rows,
    }
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


# --------------------------------------------------------------------------- model card


STUDY_COLUMNS = ["variant", "vocabulary", "unknown held-out words", "best epoch / run",
                 "held-out bits/note", "bits/event", "top-1", "top-5", "train s"]


def build_card(bundle: Any, studies_dir: Path | None, evaluation: dict | None,
               baseline_note: str = "") -> dict[str, Any]:
    """The model card's facts: data, split, training, held-out figures, studies.

    Training facts (split, time, the command) come from ``bundle.training``.
    """
    from .dataset import HELD_OUT, VALIDATION

    training = bundle.training
    split = training["split"]
    command = training.get("command", "bachgen train")
    sections: list[dict[str, Any]] = []
    data_rows = [{"id": f.id, "title": f.title, "voices": f.voices,
                  "split": "test (held out)" if f.id in HELD_OUT else
                  ("validation" if f.id in VALIDATION else "train"),
                  "sha256": f.sha256} for f in catalog.FUGUES]
    sections.append({
        "title": "Data",
        "body": f"The 48 fugues of the Well-Tempered Clavier (Books I and II) in Humdrum kern, "
                f"from `{catalog.SOURCE_REPOSITORY}` at commit `{catalog.SOURCE_COMMIT}`; each "
                f"file is verified against its SHA-256 before use. The split is by whole piece "
                f"and fixed (`bachgen.dataset.HELD_OUT`, `VALIDATION`): "
                f"{len(split['train'])} fugues train, {len(split['validation'])} "
                f"decide early stopping, {len(split['test'])} are held out for every "
                f"figure below. The vocabulary is built from the training fugues only.",
        "rows": data_rows, "columns": ["id", "title", "voices", "split", "sha256"]})
    sections.append({
        "title": "Training",
        "body": f"{training['epochs_run']} epochs run, best epoch {training['best_epoch']} "
                f"(validation loss {training['best_val_loss']:.3f} nats per word), "
                f"{training['train_windows']} training windows of {bundle.model_config.seq_len}+1 "
                f"words (stride {training['config']['stride']}), "
                f"**{training['seconds'] / 60:.1f} minutes** on {training['machine']}.\n\n"
                f"Reproduce (from the repository root, corpus in `$BACHGEN_CORPUS_DIR`):\n\n"
                f"```\n{command}\n```\n\nThe same seed gives the same weights on the same "
                f"machine and TensorFlow version (op determinism on)."})
    if training.get("note"):
        sections.append({"title": "How these settings were chosen", "body": training["note"]})
    if evaluation:
        rows = [{"model": m["model"], "bits/note": m["bits_per_note"],
                 "bits/event": m["bits_per_event"], "cross-entropy (nats/event)":
                 m["cross_entropy_nats"], "top-1": m["top1"], "top-5": m["top5"],
                 "unknown words": m["unknown_words"], "events": m["events"], "notes": m["notes"]}
                for m in evaluation["models"]]
        sections.append({
            "title": "Held-out figures",
            "body": f"Held-out fugues: {', '.join(evaluation['held_out'])}. The network runs "
                    f"through each held-out fugue continuously, its state carried from the first "
                    f"word to the last, as in generation. A word the vocabulary lacks costs every "
                    f"model the same: escape probability {evaluation['escape_probability']:.4f} "
                    f"(Good–Turing, words seen once / training words) plus the bits to spell it "
                    f"(pitch count, pitches, duration); it counts as a miss for accuracy. "
                    f"Reproduce with `bachgen evaluate` (`--json` for these numbers).",
            "rows": rows,
            "note": baseline_note})
    if studies_dir is not None:
        for name in STUDIES:
            path = studies_dir / f"{name}.json"
            if not path.is_file():
                continue
            study = json.loads(path.read_text())
            ref = study["reference"]
            best = min(study["rows"], key=lambda r: r["held-out bits/note"])
            sections.append({
                "title": f"Study: {name}",
                "body": f"{study['note']} Reference setting: words {ref['tokens']['transpose']}"
                        f"/holds={ref['tokens']['holds']}, embedding {ref['model']['embed_dim']}, "
                        f"{ref['model']['layers']} x LSTM {ref['model']['units']}, seq_len "
                        f"{ref['model']['seq_len']}, batch {ref['training']['batch_size']}, lr "
                        f"{ref['training']['learning_rate']}; budget for every variant: at most "
                        f"{ref['training']['epochs']} epochs of {ref['training']['epoch_windows']} "
                        f"windows, early stopping patience {ref['training']['patience']}, seed "
                        f"{ref['training']['seed']}. Reproduce: `{study['command']}`.\n\n"
                        f"Fewest held-out bits per note: **{best['variant']}**.",
                "rows": study["rows"], "columns": STUDY_COLUMNS})
    return {
        "architecture": bundle.card.get("architecture", "embedding-lstm"),
        "title": "bachgen LSTM: event words of the Well-Tempered Clavier fugues",
        "summary": f"A {bundle.model_config.layers}-layer LSTM ({bundle.model_config.units} "
                   f"units, embedding {bundle.model_config.embed_dim}) that predicts the next "
                   f"event word (the pitches struck together and for how long) of a fugue in the "
                   f"style of J.S. Bach. Words: transpose={bundle.tokens.transpose}, "
                   f"holds={bundle.tokens.holds}; {len(bundle.vocab) - 1} words. "
                   f"Intended use: generating new music for listening and study in the bachgen "
                   f"app; it knows only these 48 fugues and nothing of other music.",
        "sections": sections,
    }


# --------------------------------------------------------------------------- command line


def _configs_from_args(args: argparse.Namespace) -> tuple[TokenConfig, ModelConfig, TrainConfig]:
    tokens = TokenConfig(transpose=args.transpose, holds=args.holds)
    model = ModelConfig(vocab_size=2, embed_dim=args.embed_dim, units=args.units,
                        layers=args.layers, dropout=args.dropout, seq_len=args.seq_len)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, patience=args.patience, seed=args.seed,
                         stride=args.stride, epoch_windows=args.epoch_windows,
                         strategy=args.strategy, devices=args.devices,
                         deterministic=args.deterministic)
    return tokens, model, config


def command_for(args: argparse.Namespace) -> str:
    """The full ``bachgen train`` command line that repeats this run (every option spelled out)."""
    tokens, model, config = _configs_from_args(args)
    parts = ["bachgen train", "--baseline" if args.baseline else "",
             f"--transpose {tokens.transpose}", "--holds" if tokens.holds else "--no-holds",
             f"--embed-dim {model.embed_dim}" if not args.baseline else "",
             f"--units {model.units}", f"--layers {model.layers}" if not args.baseline else "",
             f"--dropout {model.dropout}" if not args.baseline else "",
             f"--seq-len {model.seq_len}", f"--epochs {config.epochs}",
             f"--batch-size {config.batch_size}", f"--learning-rate {config.learning_rate}",
             f"--patience {config.patience}", f"--seed {config.seed}", f"--stride {config.stride}",
             f"--epoch-windows {config.epoch_windows}" if config.epoch_windows else "",
             f"--strategy {config.strategy}" if config.strategy != "default" else "",
             "" if config.deterministic else "--no-deterministic",
             f"--bundle-dir {args.bundle_dir}" if args.bundle_dir else ""]
    return " ".join(part for part in parts if part)


def cmd_train(args: argparse.Namespace) -> int:
    from . import corpus

    if args.strategy == "mirrored":
        # Split the CPU before anything (the corpus cache, Keras) starts TensorFlow.
        configure_devices(TrainConfig(strategy="mirrored", devices=args.devices))
    pieces = corpus.load_corpus(CorpusConfig.from_env(corpus_dir=args.corpus_dir))
    runs = Path(args.runs)
    if args.study:
        names = list(STUDIES) if "all" in args.study else list(dict.fromkeys(args.study))
        for name in names:
            report = run_study(name, pieces, runs / "studies", args.seed, args.force)
            print(json.dumps(report["rows"], indent=2))
        return 0
    if args.card_only:
        if not args.bundle_dir:
            raise ConfigError("--card-only needs --bundle-dir, the bundle whose card to rewrite.")
        write_card(args.bundle_dir, pieces, runs / "studies", args.card_note)
        print(f"model card rewritten in {args.bundle_dir}", file=sys.stderr)
        return 0
    tokens, model, config = _configs_from_args(args)
    architecture = "scalar-lstm" if args.baseline else "embedding-lstm"
    name = args.name or ("baseline" if args.baseline else "lstm")
    result = train(pieces, tokens, model, config, runs / name, architecture=architecture,
                   verbose=1 if sys.stderr.isatty() else 2)
    print(f"trained in {result.seconds / 60:.1f} min; best epoch {result.best_epoch}, "
          f"validation loss {result.best_val_loss:.4f}; run folder {result.run_dir}",
          file=sys.stderr)
    if args.bundle_dir:
        from .bundle import save_bundle

        result.bundle.training["command"] = command_for(args)
        save_bundle(result.bundle, args.bundle_dir)
        write_card(args.bundle_dir, pieces, runs / "studies", args.card_note)
        print(f"bundle saved to {args.bundle_dir}", file=sys.stderr)
    return 0


def write_card(folder: str | Path, pieces: Sequence[Piece], studies_dir: Path | None,
               note: str | None = None) -> dict:
    """Score the saved bundle in ``folder`` on the held-out fugues and (re)write its card.

    The shipped network is compared with the n-gram and the baseline in
    ``assets/baseline``; a baseline bundle gets a card with its own figures only.
    ``note`` (markdown) says how the settings were chosen. Returns the evaluation.
    """
    from .bundle import load_bundle, save_bundle
    from .dataset import split_pieces
    from .evaluate import default_baseline_dir, evaluate_all, evaluate_bundle

    bundle = load_bundle(folder)
    if note:
        bundle.training["note"] = note
    if bundle.architecture == "scalar-lstm":
        scores = evaluate_bundle(bundle, split_pieces(pieces).test, "original-architecture baseline")
        evaluation = {"held_out": bundle.training["split"]["test"],
                      "escape_probability": 0.0, "models": [scores.to_dict()]}
        card = build_card(bundle, None, evaluation)
        card["title"] = "bachgen baseline: the original project's LSTM architecture"
        card["summary"] = (f"The original architecture, kept to measure the bachgen network "
                           f"against: the word index divided by the vocabulary size as one "
                           f"scalar input, one LSTM({bundle.model_config.units}), softmax "
                           f"over the same words as the shipped model. Not for generation.")
    else:
        evaluation = evaluate_all(pieces, Path(folder), default_baseline_dir())
        card = build_card(bundle, studies_dir, evaluation)
    bundle.card = card
    save_bundle(bundle, folder)
    return evaluation


def add_train_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``bachgen train`` on the ``commands`` sub-parsers."""
    p = commands.add_parser("train", help="train the LSTM (or run a study, or the baseline)")
    d = TrainConfig()
    m = ModelConfig(vocab_size=2)
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--runs", default="runs", help="folder for run outputs (default: runs)")
    p.add_argument("--name", help="run folder name under --runs (default: lstm or baseline)")
    p.add_argument("--bundle-dir", help="also save the trained bundle (with model card) here")
    p.add_argument("--study", nargs="+", choices=[*STUDIES, "all"],
                   help="run these studies (or all) instead of one training")
    p.add_argument("--force", action="store_true", help="studies: retrain variants already run")
    p.add_argument("--card-note", help="markdown for the card: how these settings were chosen")
    p.add_argument("--card-only", action="store_true",
                   help="no training: re-score the bundle in --bundle-dir and rewrite its model card")
    p.add_argument("--baseline", action="store_true",
                   help="train the original architecture (scalar input, one LSTM) instead")
    p.add_argument("--transpose", default="common", choices=TRANSPOSE_MODES)
    p.add_argument("--holds", action=argparse.BooleanOptionalAction, default=False,
                   help="mark held pitches in the words (default: no, as the original)")
    p.add_argument("--embed-dim", type=int, default=m.embed_dim)
    p.add_argument("--units", type=int, default=m.units)
    p.add_argument("--layers", type=int, default=m.layers)
    p.add_argument("--dropout", type=float, default=m.dropout)
    p.add_argument("--seq-len", type=int, default=m.seq_len)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--patience", type=int, default=d.patience)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--stride", type=int, default=d.stride)
    p.add_argument("--epoch-windows", type=int, default=d.epoch_windows)
    p.add_argument("--strategy", default=d.strategy, choices=["default", "mirrored", "multiworker"],
                   help="tf.distribute strategy; multiworker reads the cluster from TF_CONFIG")
    p.add_argument("--devices", type=int, default=d.devices,
                   help="mirrored without GPUs: logical CPU devices to split the CPU into")
    p.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                   help="TensorFlow op determinism (default: on)")
    p.set_defaults(handler=cmd_train)
    return p
