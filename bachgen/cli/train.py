"""``bachgen train``: the model trained from scratch into a bundle, with its card.

Every option is a field of :class:`~bachgen.config.NetConfig` or
:class:`~bachgen.config.FitConfig`; an option left out keeps the field's default. The
card written beside the bundle prints the one command that repeats the run
(:func:`bachgen.train.train_command`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from .. import corpus
from ..config import AUGMENTS, MODES, STRATEGIES, CorpusConfig, FitConfig, NetConfig
from ..errors import ConfigError
from ..evaluation.card import EVALUATION_FILE, write_card
from ..train import setup_tensorflow, train_bundle, train_command

#: Option destinations whose name differs from the settings' field.
DEST = {"embed": "embed_dim"}


def configs_from(args: argparse.Namespace) -> tuple[NetConfig, FitConfig]:
    """The network and fitting settings the options ask for."""
    def pick(kind: type) -> Any:
        given = {f.name: getattr(args, DEST.get(f.name, f.name), None) for f in fields(kind)}
        return kind(**{k: v for k, v in given.items() if v is not None})

    return pick(NetConfig), pick(FitConfig)


def cmd_train(args: argparse.Namespace) -> int:
    """Train the model from scratch into ``--bundle-dir`` and write its card there."""
    if not args.bundle_dir:
        raise ConfigError("bachgen train needs --bundle-dir, the folder to save the bundle in.")
    net, fit = configs_from(args)
    setup_tensorflow(fit)  # threads, devices and seeds before anything starts TensorFlow
    pieces = corpus.load_corpus(CorpusConfig.from_env(corpus_dir=args.corpus_dir))
    folder = Path(args.bundle_dir)
    summary = train_bundle(pieces, folder, net, fit, log=sys.stderr)
    (folder / EVALUATION_FILE).unlink(missing_ok=True)  # figures of an earlier model, not this one
    command = train_command(asdict(net), asdict(fit), args.bundle_dir)
    write_card(folder, command=command)
    best = summary.get("best_val_bits_per_token")
    print(f"trained in {summary['train_seconds'] / 60:.1f} min; best epoch {summary['best_epoch']} "
          f"of {summary['epochs_run']}, validation "
          f"{'not measured' if best is None else f'{best:.4f} bits/token'}; bundle and card in "
          f"{folder}", file=sys.stderr)
    print(f"reproduce: {command}", file=sys.stderr)
    return 0


def add_parsers(commands: Any) -> list[argparse.ArgumentParser]:
    """Register ``bachgen train``."""
    p = commands.add_parser("train", help="train the model from scratch into a bundle")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--bundle-dir", help="save the trained bundle (with its model card) here")
    _add_network_options(p.add_argument_group("network"))
    _add_fit_options(p.add_argument_group("training"))
    p.set_defaults(handler=cmd_train)
    return [p]


def _add_network_options(g: Any) -> None:
    """One option per :class:`NetConfig` field."""
    net = NetConfig()
    g.add_argument("--embed-dim", "--embed", dest="embed_dim", type=int,
                   help=f"token embedding (default: {net.embed})")
    g.add_argument("--units", type=int, help=f"LSTM units (default: {net.units})")
    g.add_argument("--layers", type=int, help=f"LSTM layers (default: {net.layers})")
    g.add_argument("--dropout", type=float, help=f"(default: {net.dropout})")
    for name, value in NetConfig(told=True, lines=True).embed_sizes().items():
        g.add_argument(f"--{name.replace('_', '-')}-embed", dest=f"{name}_embed", type=int,
                       help=f"{name} condition embedding (default: {value})")
    g.add_argument("--told", action=argparse.BooleanOptionalAction, default=None,
                   help="tell the network the plan: bars to the end and the planned line (default: off)")
    g.add_argument("--lines", action=argparse.BooleanOptionalAction, default=None,
                   help="tell the network the bass and top of the last event and the bass of this one "
                        "(default: off)")
    g.add_argument("--arch", choices=["conditioned", "original"],
                   help="network: conditioned, or the original project's (default: conditioned)")


def _add_fit_options(g: Any) -> None:
    """One option per :class:`FitConfig` field."""
    fit = FitConfig()
    g.add_argument("--seq-len", type=int, help=f"training window in tokens (default: {fit.seq_len})")
    g.add_argument("--stride", type=int, help=f"window start step (default: {fit.stride})")
    g.add_argument("--epochs", type=int, help=f"ceiling on epochs (default: {fit.epochs})")
    g.add_argument("--batch-size", type=int, help=f"(default: {fit.batch_size})")
    g.add_argument("--learning-rate", type=float, help=f"(default: {fit.learning_rate})")
    g.add_argument("--clipnorm", type=float, help=f"gradient clipping (default: {fit.clipnorm})")
    g.add_argument("--patience", type=int, help=f"early stopping (default: {fit.patience})")
    g.add_argument("--budget-minutes", type=float,
                   help=f"stop before the next epoch would pass this wall-clock time (default: "
                        f"{fit.budget_minutes})")
    g.add_argument("--shifts", type=int,
                   help=f"augmentation: semitones each way around the common key, 0..3 (default: {fit.shifts})")
    g.add_argument("--seed", type=int, help=f"(default: {fit.seed})")
    g.add_argument("--strategy", choices=STRATEGIES,
                   help="tf.distribute strategy; multiworker reads the cluster from TF_CONFIG "
                        "(default: default)")
    g.add_argument("--devices", type=int,
                   help=f"mirrored without GPUs: logical CPU devices to split the CPU into (default: {fit.devices})")
    g.add_argument("--threads", type=int, help=f"TensorFlow CPU threads (default: {fit.threads})")
    g.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                   help="TensorFlow op determinism (default: on)")
    g.add_argument("--limit-pieces", type=int, help="train on the first N training fugues only (trial runs)")
    g.add_argument("--augment", choices=AUGMENTS,
                   help="common key ± shifts, or every piece in 12 keys (default: shifts)")
    g.add_argument("--modes", choices=MODES, help="train on the fugues of both modes or of one (default: both)")
