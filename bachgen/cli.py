"""The ``bachgen`` command line: ``corpus``, ``tokens``, ``train``, ``evaluate``, ``generate``, ``bench``.

Every command reports a :class:`~bachgen.errors.BachgenError` as one line on stderr
and exits with status 2; tracebacks are for bugs only. ``--json`` prints a
machine-readable summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .config import TRANSPOSE_MODES, CorpusConfig, ModelConfig, TokenConfig, TrainConfig
from .errors import BachgenError, ConfigError

Handler = Callable[[argparse.Namespace], int]


def _corpus_config(args: argparse.Namespace) -> CorpusConfig:
    return CorpusConfig.from_env(corpus_dir=getattr(args, "corpus_dir", None),
                                 cache_dir=getattr(args, "cache_dir", None),
                                 mirror=getattr(args, "mirror", None))


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


# --------------------------------------------------------------------------- corpus


def cmd_corpus_list(args: argparse.Namespace) -> int:
    from . import corpus

    config = _corpus_config(args)
    rows = corpus.status(config)
    if args.json:
        _print_json({
            "folder": str(corpus.corpus_dir(config)),
            "verified": sum(r.verified for r in rows),
            "fugues": [{"id": r.fugue.id, "title": r.fugue.title, "book": r.fugue.book,
                        "number": r.fugue.number, "bwv": r.fugue.bwv, "key": r.fugue.key,
                        "mode": r.fugue.mode, "voices": r.fugue.voices,
                        "present": r.present, "verified": r.verified} for r in rows],
        })
        return 0
    for r in rows:
        mark = "ok" if r.verified else ("BAD CHECKSUM" if r.present else "missing")
        print(f"{r.fugue.id}  {r.fugue.title:<52} {r.fugue.voices} voices  {mark}")
    print(f"{sum(r.verified for r in rows)} of {len(rows)} verified in {corpus.corpus_dir(config)}")
    return 0


def cmd_corpus_download(args: argparse.Namespace) -> int:
    from . import corpus

    config = _corpus_config(args)

    def progress(done: int, total: int, name: str) -> None:
        print(f"\r[{done:>2}/{total}] {name}", end="" if done < total else "\n", file=sys.stderr,
              flush=True)

    written = corpus.download(config, progress=None if args.quiet else progress)
    print(f"{len(written)} file(s) downloaded; 48 verified in {config.cache_path / 'corpus'}")
    return 0


def cmd_corpus_check(args: argparse.Namespace) -> int:
    from . import corpus

    pieces = corpus.load_corpus(_corpus_config(args))
    rows = [{"id": p.name, "notes": len(p.notes), **p.meta["parse"]} for p in pieces]
    summary = {
        "parsed": len(rows),
        "failures": 0,
        "notes": sum(r["notes"] for r in rows),
        "bar_errors": sum(len(r["bar_errors"]) for r in rows),
        "rest_chords_fixed": sum(r["rest_chords_fixed"] for r in rows),
        "grace_notes_dropped": sum(r["grace_notes_dropped"] for r in rows),
        "durations_rounded": sum(r["durations_rounded"] for r in rows),
    }
    if args.json:
        _print_json({"summary": summary, "fugues": rows})
    else:
        for r in rows:
            fixes = [f"{r[k]} {k.replace('_', ' ')}" for k in
                     ("rest_chords_fixed", "grace_notes_dropped", "durations_rounded") if r[k]]
            print(f"{r['id']}  {r['notes']:>5} notes  {len(r['bar_errors'])} bar errors"
                  + (f"  ({', '.join(fixes)})" if fixes else ""))
            for error in r["bar_errors"]:
                print(f"    {error}")
        print(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items()))
    return 1 if summary["bar_errors"] else 0


# --------------------------------------------------------------------------- tokens


def cmd_tokens_stats(args: argparse.Namespace) -> int:
    from . import corpus, tokens

    pieces = corpus.load_corpus(_corpus_config(args))
    results = [tokens.stats(pieces, TokenConfig(transpose=t, holds=h))
               for t in args.transpose for h in (True, False)]
    if args.json:
        _print_json(results)
        return 0
    print(f"{'transpose':<9} {'holds':<5} {'pieces':>6} {'events':>7} {'vocab':>7} "
          f"{'once':>7} {'round-trip failures':>19}")
    for r in results:
        print(f"{r['transpose']:<9} {str(r['holds']):<5} {r['pieces']:>6} {r['events']:>7} "
              f"{r['vocabulary']:>7} {r['words_seen_once']:>7} {r['round_trip_failures']:>19}")
    return 0


# --------------------------------------------------------------------------- train


def _configs_from_args(args: argparse.Namespace) -> tuple[TokenConfig, ModelConfig, TrainConfig]:
    """The word, network and training settings the ``train`` options spell out."""
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
    """``bachgen train``: one training (optionally saved as a bundle with its card), the
    studies, or only a new card for an existing bundle."""
    from . import corpus
    from .card import write_card
    from .studies import STUDIES, run_study
    from .train import configure_devices, train

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


def add_train_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``bachgen train`` on the ``commands`` sub-parsers."""
    from .studies import STUDIES

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


# --------------------------------------------------------------------------- parser


def _add_corpus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus-dir", help="folder holding the 48 .krn files "
                        "(default: $BACHGEN_CORPUS_DIR, else the download cache)")
    parser.add_argument("--cache-dir", help="cache folder (default: ~/.cache/bachgen)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bachgen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    corpus_cmd = commands.add_parser("corpus", help="the 48 fugues: list, download")
    corpus_sub = corpus_cmd.add_subparsers(dest="action", required=True)
    p = corpus_sub.add_parser("list", help="the catalogue and whether each file is verified")
    _add_corpus_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_corpus_list)
    p = corpus_sub.add_parser("download", help="fetch and verify the kern files into the cache")
    _add_corpus_options(p)
    p.add_argument("--mirror", help="base URL serving <id>.krn (default: the pinned public source)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_corpus_download)

    p = corpus_sub.add_parser("check", help="parse all 48 and check every bar of every voice")
    _add_corpus_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_corpus_check)

    tokens_cmd = commands.add_parser("tokens", help="event words: statistics")
    tokens_sub = tokens_cmd.add_subparsers(dest="action", required=True)
    p = tokens_sub.add_parser("stats", help="events, vocabulary and round trip for each option")
    _add_corpus_options(p)
    p.add_argument("--transpose", nargs="+", default=list(TRANSPOSE_MODES), choices=TRANSPOSE_MODES)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_tokens_stats)

    from .evaluate import add_evaluate_parser

    add_train_parser(commands)
    add_evaluate_parser(commands)

    from .bench import add_bench_parser
    from .generate import add_generate_parser
    from .quality import extend_evaluate_parser

    add_generate_parser(commands)
    add_bench_parser(commands)
    extend_evaluate_parser(commands.choices["evaluate"])

    # Further commands register here (train, evaluate, generate, bench).
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # TensorFlow's start-up chatter is not for users of the command line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BachgenError as exc:
        print(f"bachgen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bachgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
