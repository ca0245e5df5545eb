"""The ``bachgen`` command line: ``corpus``, ``tokens``, ``train``, ``card``, ``evaluate``, ``generate``, ``bench``.

Every command reports a :class:`~bachgen.errors.BachgenError` as one line on stderr
and exits with status 2; tracebacks are for bugs only. ``--json`` prints a
machine-readable summary on stdout.

stderr carries bachgen's own lines only: ``bachgen: error: ...``, ``bachgen: interrupted``
and the progress and result lines some commands print (``corpus download``, ``train``,
``card``, the ``... stage`` lines of ``bench``); ``generate`` writes nothing there but an
error. What libraries would print there (TensorFlow's and absl's start-up logging, Python
warnings, FluidSynth's complaints) is dropped by :func:`quiet_libraries`, unless
``--verbose``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

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

#: ``bachgen train`` options that only the word codec reads, and only the spelled one.
WORD_ONLY = {"transpose": "--transpose", "holds": "--holds", "epoch_windows": "--epoch-windows",
             "baseline": "--baseline", "study": "--study", "card_only": "--card-only",
             "card_note": "--card-note", "name": "--name", "force": "--force"}
SPELLED_ONLY = {"budget_minutes": "--budget-minutes", "shifts": "--shifts", "threads": "--threads",
                "limit_pieces": "--limit-pieces", "clipnorm": "--clipnorm",
                "quarter_embed": "--quarter-embed", "phase_embed": "--phase-embed",
                "meter_embed": "--meter-embed", "key_embed": "--key-embed", "arch": "--arch",
                "augment": "--augment", "modes": "--modes"}
#: Option destinations whose name differs from the spelled settings' field.
SPELLED_DEST = {"embed": "embed_dim"}


def train_codec(args: argparse.Namespace) -> str:
    """The codec a ``bachgen train`` run is for: ``--codec`` when given; otherwise the
    words for the word-only actions (studies, baseline, card only), else the spelled model."""
    if args.codec:
        return args.codec
    word_actions = args.study or args.baseline or args.card_only
    return "words" if word_actions else "spelled"


def _given(args: argparse.Namespace, options: dict[str, str]) -> list[str]:
    """The options of ``options`` set on the command line (their defaults are ``None``/False)."""
    return [flag for dest, flag in options.items() if getattr(args, dest, None) not in (None, False)]


def _check_codec_options(args: argparse.Namespace, codec: str) -> None:
    """A :class:`ConfigError` for options the chosen codec would silently ignore."""
    wrong = _given(args, WORD_ONLY if codec == "spelled" else SPELLED_ONLY)
    if wrong:
        other = "words" if codec == "spelled" else "spelled"
        verb = "belongs" if len(wrong) == 1 else "belong"
        raise ConfigError(f"{', '.join(wrong)} {verb} to --codec {other}, and this run trains "
                          f"the {codec} model.")


def _word_defaults(args: argparse.Namespace) -> None:
    """Fill the word training's defaults into options left unset (they are shared with the
    spelled model, whose defaults differ)."""
    m, d = ModelConfig(vocab_size=2), TrainConfig()
    defaults = {"transpose": "common", "holds": False, "embed_dim": m.embed_dim, "units": m.units,
                "layers": m.layers, "dropout": m.dropout, "seq_len": m.seq_len,
                "epochs": d.epochs, "batch_size": d.batch_size, "learning_rate": d.learning_rate,
                "patience": d.patience, "seed": d.seed, "stride": d.stride,
                "epoch_windows": d.epoch_windows, "strategy": d.strategy, "devices": d.devices,
                "deterministic": d.deterministic}
    for dest, value in defaults.items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)


def spelled_configs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The spelled model's ``NetConfig`` and ``FitConfig`` from the ``train`` options
    (an option left unset keeps the field's default)."""
    from dataclasses import fields

    from .conditioned import FitConfig, NetConfig

    def pick(kind: type) -> Any:
        given = {f.name: getattr(args, SPELLED_DEST.get(f.name, f.name), None) for f in fields(kind)}
        return kind(**{k: v for k, v in given.items() if v is not None})

    return pick(NetConfig), pick(FitConfig)


def _flag(field_name: str) -> str:
    """The command-line option of a spelled setting (``embed`` is ``--embed``)."""
    return "--" + field_name.replace("_", "-")


def spelled_command(net: dict[str, Any], fit: dict[str, Any], bundle_dir: str | None) -> str:
    """The full ``bachgen train --codec spelled`` command that repeats a run with these
    settings, every setting spelled out (so a later change of defaults cannot alter it)."""
    from dataclasses import asdict

    from .conditioned import FitConfig, NetConfig

    parts = ["bachgen train --codec spelled"]
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


def _configs_from_args(args: argparse.Namespace) -> tuple[TokenConfig, ModelConfig, TrainConfig]:
    """The word, network and training settings the ``train`` options spell out."""
    _word_defaults(args)
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
    """The full ``bachgen train --codec words`` command line that repeats this word run
    (every option spelled out)."""
    tokens, model, config = _configs_from_args(args)
    parts = ["bachgen train --codec words", "--baseline" if args.baseline else "",
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
    """``bachgen train``: the spelled model (default) or the word model, its studies, or
    only a new card for an existing word bundle."""
    codec = train_codec(args)
    _check_codec_options(args, codec)
    if codec == "spelled":
        return cmd_train_spelled(args)
    return cmd_train_words(args)


def cmd_train_spelled(args: argparse.Namespace) -> int:
    """Train the spelled model from scratch into ``--bundle-dir`` and write its card there."""
    from dataclasses import asdict

    from . import corpus
    from .card import EVALUATION_FILE, write_spelled_card
    from .conditioned import setup_tensorflow, train_bundle

    if not args.bundle_dir:
        raise ConfigError("bachgen train --codec spelled needs --bundle-dir, the folder to save "
                          "the bundle in.")
    net, fit = spelled_configs(args)
    setup_tensorflow(fit)  # threads, devices and seeds before anything starts TensorFlow
    pieces = corpus.load_corpus(CorpusConfig.from_env(corpus_dir=args.corpus_dir))
    folder = Path(args.bundle_dir)
    summary = train_bundle(pieces, folder, net, fit, log=sys.stderr)
    (folder / EVALUATION_FILE).unlink(missing_ok=True)  # figures of an earlier model, not this one
    command = spelled_command(asdict(net), asdict(fit), args.bundle_dir)
    write_spelled_card(folder, command=command)
    best = summary.get("best_val_bits_per_token")
    print(f"trained in {summary['train_seconds'] / 60:.1f} min; best epoch {summary['best_epoch']} "
          f"of {summary['epochs_run']}, validation "
          f"{'not measured' if best is None else f'{best:.4f} bits/token'}; bundle and card in "
          f"{folder}", file=sys.stderr)
    print(f"reproduce: {command}", file=sys.stderr)
    return 0


def cmd_train_words(args: argparse.Namespace) -> int:
    """The word model as before: one training (optionally saved as a bundle with its card),
    the studies, or only a new card for an existing word bundle."""
    from . import corpus
    from .card import write_card
    from .studies import STUDIES, run_study
    from .train import configure_devices, train

    tokens, model, config = _configs_from_args(args)  # options checked before TensorFlow starts
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
    """Register ``bachgen train`` on the ``commands`` sub-parsers.

    Options shared by both codecs default to ``None`` and take each codec's own default
    (the spelled model's ``NetConfig``/``FitConfig``, the word model's settings).
    """
    p = commands.add_parser("train", help="train the spelled model (default) or the word model; "
                                          "word studies and baseline")
    p.add_argument("--codec", choices=["spelled", "words"],
                   help="spelled: events as sub-tokens, the shipped model (default); words: one "
                        "word per event, the previous model (default for --study, --baseline, "
                        "--card-only)")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--bundle-dir", help="save the trained bundle (with its model card) here; "
                                        "required for the spelled model")
    _add_shared_train_options(p.add_argument_group("both codecs"))
    _add_spelled_train_options(p.add_argument_group("spelled model only"))
    _add_word_train_options(p.add_argument_group("word model only"))
    p.set_defaults(handler=cmd_train)
    return p


def _add_shared_train_options(g: Any) -> None:
    """Network and fitting options both codecs read (each with its own default)."""
    from .conditioned import FitConfig, NetConfig

    net, fit = NetConfig(), FitConfig()
    m, d = ModelConfig(vocab_size=2), TrainConfig()

    def both(spelled: Any, words: Any) -> str:
        return f"(default: {spelled} spelled, {words} words)"

    g.add_argument("--embed-dim", "--embed", dest="embed_dim", type=int,
                   help="token embedding " + both(net.embed, m.embed_dim))
    g.add_argument("--units", type=int, help="LSTM units " + both(net.units, m.units))
    g.add_argument("--layers", type=int, help="LSTM layers " + both(net.layers, m.layers))
    g.add_argument("--dropout", type=float, help=both(net.dropout, m.dropout))
    g.add_argument("--seq-len", type=int,
                   help="training window: tokens (spelled) or events (words) " + both(fit.seq_len, m.seq_len))
    g.add_argument("--stride", type=int, help="window start step " + both(fit.stride, d.stride))
    g.add_argument("--epochs", type=int, help="ceiling on epochs " + both(fit.epochs, d.epochs))
    g.add_argument("--batch-size", type=int, help=both(fit.batch_size, d.batch_size))
    g.add_argument("--learning-rate", type=float, help=both(fit.learning_rate, d.learning_rate))
    g.add_argument("--patience", type=int, help="early stopping " + both(fit.patience, d.patience))
    g.add_argument("--seed", type=int, help=f"(default: {fit.seed})")
    g.add_argument("--strategy", choices=["default", "mirrored", "multiworker"],
                   help="tf.distribute strategy; multiworker reads the cluster from TF_CONFIG "
                        "(default: default)")
    g.add_argument("--devices", type=int,
                   help=f"mirrored without GPUs: logical CPU devices to split the CPU into "
                        f"(default: {fit.devices})")
    g.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=None,
                   help="TensorFlow op determinism (default: on)")


def _add_spelled_train_options(s: Any) -> None:
    """Options only the spelled model reads: budget, augmentation, conditioning, study switches."""
    from .conditioned import FitConfig, NetConfig

    net, fit = NetConfig(), FitConfig()
    s.add_argument("--budget-minutes", type=float,
                   help=f"stop before the next epoch would pass this wall-clock time (default: "
                        f"{fit.budget_minutes})")
    s.add_argument("--shifts", type=int,
                   help=f"augmentation: semitones each way around the common key, 0..3 "
                        f"(default: {fit.shifts})")
    s.add_argument("--threads", type=int, help=f"TensorFlow CPU threads (default: {fit.threads})")
    s.add_argument("--limit-pieces", type=int,
                   help="train on the first N training fugues only (trial runs)")
    s.add_argument("--clipnorm", type=float, help=f"gradient clipping (default: {fit.clipnorm})")
    for name, value in net.embed_sizes().items():
        s.add_argument(f"--{name}-embed", type=int, help=f"{name} condition embedding (default: {value})")
    s.add_argument("--arch", choices=["conditioned", "original"],
                   help="network: conditioned, or the original project's (default: conditioned)")
    s.add_argument("--augment", choices=["shifts", "all12"],
                   help="common key ± shifts, or every piece in 12 keys (default: shifts)")
    s.add_argument("--modes", choices=["both", "major", "minor"],
                   help="train on the fugues of both modes or of one (default: both)")


def _add_word_train_options(w: Any) -> None:
    """Options only the word model reads: its run folders, studies, card and words."""
    from .studies import STUDIES

    w.add_argument("--runs", default="runs", help="folder for run outputs (default: runs)")
    w.add_argument("--name", help="run folder name under --runs (default: lstm or baseline)")
    w.add_argument("--study", nargs="+", choices=[*STUDIES, "all"],
                   help="run these studies (or all) instead of one training")
    w.add_argument("--force", action="store_true", help="studies: retrain variants already run")
    w.add_argument("--card-note", help="markdown for the card: how these settings were chosen")
    w.add_argument("--card-only", action="store_true",
                   help="no training: re-score the bundle in --bundle-dir and rewrite its model card")
    w.add_argument("--baseline", action="store_true",
                   help="train the original architecture (scalar input, one LSTM) instead")
    w.add_argument("--transpose", choices=TRANSPOSE_MODES, help="(default: common)")
    w.add_argument("--holds", action=argparse.BooleanOptionalAction, default=None,
                   help="mark held pitches in the words (default: no, as the original)")
    w.add_argument("--epoch-windows", type=int, help="windows one epoch shows (default: all)")


# --------------------------------------------------------------------------- card


def cmd_card(args: argparse.Namespace) -> int:
    """``bachgen card FOLDER``: re-render the model card of an existing bundle (spelled: from
    its files and the figures in ``--evaluation``; words: re-scored as ``--card-only``)."""
    from .bundle import SPELLED, bundle_kind, _check_files, required_files

    folder = Path(args.folder)
    kind = bundle_kind(folder)
    _check_files(folder, required_files(kind), "Pass the folder of a bundle (e.g. assets/model).")
    if kind == SPELLED:
        from .card import write_spelled_card

        if args.print_command:
            config = json.loads((folder / "config.json").read_text())
            print(spelled_command(config.get("net", {}), config.get("fit", {}), args.folder))
            return 0
        evaluation = None
        if args.evaluation:
            try:
                evaluation = json.loads(Path(args.evaluation).read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"Cannot read the evaluation {args.evaluation}: {exc}.") from exc
            if not isinstance(evaluation, dict):
                raise ConfigError(f"The evaluation {args.evaluation} is not a JSON object.")
        path = write_spelled_card(folder, evaluation)
        print(f"model card written to {path}", file=sys.stderr)
        return 0
    if args.evaluation:
        raise ConfigError("--evaluation is for spelled bundles; a word bundle is re-scored on "
                          "the held-out fugues instead.")
    from . import corpus
    from .card import word_command, write_card

    if args.print_command:
        config = json.loads((folder / "config.json").read_text())
        print(word_command(config.get("training", {})))
        return 0
    pieces = corpus.load_corpus(CorpusConfig.from_env(corpus_dir=args.corpus_dir))
    write_card(folder, pieces, Path(args.runs) / "studies", args.card_note)
    print(f"model card rewritten in {folder}", file=sys.stderr)
    return 0


def add_card_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``bachgen card`` on the ``commands`` sub-parsers."""
    p = commands.add_parser("card", help="re-render the model card (README.md) of a bundle")
    p.add_argument("folder", help="the bundle folder (e.g. assets/model)")
    p.add_argument("--evaluation", help="spelled bundles: JSON of held-out and generated-music "
                                        "figures ({\"held_out\": ..., \"generated\": ...}), kept "
                                        "in the bundle as evaluation.json")
    p.add_argument("--print-command", action="store_true",
                   help="only print the bachgen train command that reproduces the bundle")
    p.add_argument("--corpus-dir", help="word bundles: the corpus to re-score on")
    p.add_argument("--runs", default="runs", help="word bundles: where the studies are")
    p.add_argument("--card-note", help="word bundles: how the settings were chosen (markdown)")
    p.set_defaults(handler=cmd_card)
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
    add_card_parser(commands)
    add_evaluate_parser(commands)

    from .bench import add_bench_parser
    from .generate import add_generate_parser
    from .quality import extend_evaluate_parser
    from .voices import extend_evaluate_parser as extend_evaluate_voices

    add_generate_parser(commands)
    add_bench_parser(commands)
    extend_evaluate_parser(commands.choices["evaluate"])
    extend_evaluate_voices(commands.choices["evaluate"])

    # Further commands register here (train, evaluate, generate, bench).
    for command in [parser, *commands.choices.values(), *corpus_sub.choices.values(),
                    *tokens_sub.choices.values()]:
        _add_verbose(command, top=command is parser)
    return parser


def _add_verbose(parser: argparse.ArgumentParser, top: bool) -> None:
    """``--verbose`` before or after the command name (``bachgen generate --verbose``)."""
    parser.add_argument("--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="let libraries (TensorFlow, absl, Python warnings) write their own "
                             "log lines to stderr")


# --------------------------------------------------------------------------- quiet libraries

#: Set before TensorFlow is first imported; a value the user set is kept.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}
#: Python loggers of libraries, held to errors while a command runs.
LIBRARY_LOGGERS = ("tensorflow", "absl", "keras", "h5py", "matplotlib", "music21", "fluidsynth")


@contextlib.contextmanager
def quiet_libraries(verbose: bool = False) -> Iterator[None]:
    """Keep libraries' own output off stderr while a command runs (the one place this is done).

    TensorFlow writes its start-up lines from C++ before its log level is read, so no
    setting hides them: file descriptor 2 goes to the null device for the command, while
    Python's ``sys.stderr``, where bachgen writes, keeps the terminal. The environment
    (:data:`QUIET_ENVIRONMENT`), Python warnings and library loggers are quietened too.
    With ``verbose`` nothing is changed.
    """
    if verbose:
        yield
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    loggers = {name: logging.getLogger(name) for name in LIBRARY_LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    try:
        for logger in loggers.values():
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), _native_stderr_to_null():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


@contextlib.contextmanager
def _native_stderr_to_null() -> Iterator[None]:
    """Point file descriptor 2 at the null device; when ``sys.stderr`` writes to it, give
    ``sys.stderr`` a copy of the original descriptor first, so Python-level lines still
    show. Restored on the way out (the copy stays open: a logging handler may hold it)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        yield
        return
    try:
        python_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced (tests, IDEs): writes elsewhere
        python_fd = None
    original = sys.stderr
    if python_fd == 2:
        original.flush()
        sys.stderr = open(os.dup(saved), "w", buffering=1,
                          encoding=getattr(original, "encoding", None) or "utf-8",
                          errors="backslashreplace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``bachgen`` command; its exit status (2: bad input, 130: interrupted)."""
    args = build_parser().parse_args(argv)
    with quiet_libraries(args.verbose):
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
