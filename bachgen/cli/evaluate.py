"""The measuring commands: ``bachgen evaluate``, ``bench``, ``card`` and ``studies``.

``bachgen evaluate`` scores a bundle on the held-out fugues (the default),
measures its generated music against the real fugues (``--generated``, optionally beside a
second bundle with ``--compare-model``) or the voice splitting (``--voices``). The work is
done in :mod:`bachgen.evaluation`; this module reads the options and prints.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
import sys
from pathlib import Path
from typing import Any, Callable

from .. import corpus
from ..bundle import REQUIRED_FILES, baseline_bundle_dir, check_files, default_bundle_dir, load_bundle
from ..config import CorpusConfig, SamplingConfig
from ..errors import ConfigError
from ..evaluation import (bench, calibration, card, free_leaning, fugues, heldout, report, studies, told, voices,
                          yardstick)
from ..evaluation.comparison import QUALITY_SEED
from ..fugue import FUGUE_BEST_OF
from ..evaluation.statistics import STRETCH_EVENTS
from ..leaning import LEANING_FILE, Leaning, write_leaning
from ..pipeline import load_engine
from .common import add_form_options, form_config


def add_parsers(commands: Any) -> None:
    """Register ``evaluate``, ``bench``, ``card`` and ``studies`` on the ``commands`` sub-parsers."""
    add_evaluate_parser(commands)
    add_bench_parser(commands)
    add_card_parser(commands)
    add_studies_parser(commands)


def _corpus(args: argparse.Namespace) -> CorpusConfig:
    """The corpus the options name (``--corpus-dir``), then the environment."""
    return CorpusConfig.from_env(corpus_dir=getattr(args, "corpus_dir", None))


def _progress(args: argparse.Namespace) -> Callable[[str], None]:
    """Progress lines on stderr (``... message``), none with ``--json``."""
    def say(message: str) -> None:
        if not args.json:
            print(f"... {message}", file=sys.stderr, flush=True)

    return say


def _print(args: argparse.Namespace, data: dict[str, Any], text: Callable[[dict[str, Any]], str]) -> None:
    """``data`` as JSON with ``--json``, else as the text ``text`` makes of it."""
    print(json.dumps(data, indent=2) if args.json else text(data))


# --------------------------------------------------------------------------- evaluate


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``bachgen evaluate``: held-out figures, or ``--generated`` / ``--voices``."""
    if sum((args.generated, args.voices, args.whole_fugues, args.calibration)) > 1:
        raise ConfigError("Choose one of --generated, --voices, --whole-fugues and --calibration.")
    if args.whole_fugues:
        return cmd_whole_fugues(args)
    if args.calibration:
        return cmd_calibration(args)
    if args.generated:
        return cmd_generated(args)
    if args.voices:
        return cmd_voices(args)
    return cmd_held_out(args)


def cmd_held_out(args: argparse.Namespace) -> int:
    """``bachgen evaluate [--model DIR] [--baseline DIR | --no-baseline] [--ngram-order N] [--json]``."""
    if args.ngram_order < 1:
        raise ConfigError("--ngram-order must be at least 1.")
    model_dir = Path(args.bundle) if args.bundle else default_bundle_dir()
    pieces = corpus.load_corpus(_corpus(args))
    baseline = None if args.no_baseline else (Path(args.baseline) if args.baseline else baseline_bundle_dir())
    _print(args, heldout.evaluate_held_out(pieces, model_dir, baseline, args.ngram_order),
           heldout.format_held_out)
    return 0


def cmd_calibration(args: argparse.Namespace) -> int:
    """``bachgen evaluate --calibration [--fit] [--model DIR] [--json]``: the network's bass and
    harmony teacher-forced on the fugues, beside Bach's (:mod:`bachgen.evaluation.calibration`);
    with ``--fit``, the leaning that corrects it fitted and saved in the bundle folder."""
    folder = Path(args.bundle) if args.bundle else default_bundle_dir()
    if args.free_rounds:
        if not args.fit or args.free_rounds < 0:
            raise ConfigError("--free-rounds needs --fit and a positive number of rounds.",
                              "Use `bachgen evaluate --calibration --fit --free-rounds 6`.")
        return _fit_free(args, folder, _progress(args))
    bundle = load_bundle(folder)
    pieces = corpus.load_corpus(_corpus(args))
    if not args.fit:
        _print(args, calibration.calibration(bundle, pieces), calibration.format_calibration)
        return 0
    _progress(args)("teacher-forced positions of the fugues")
    leaning, figures = calibration.fit_leaning(calibration.collect(bundle, pieces))
    path = write_leaning(folder, leaning)
    _print(args, {**figures, "leaning": leaning.to_json(), "saved": str(path)},
           lambda d: json.dumps(d, indent=1))
    return 0


def _fit_free(args: argparse.Namespace, folder: Path, say: Callable[[str], None]) -> int:
    """``--fit --free-rounds N``: the bundle's leaning (none: zeros) set from its takes
    (:mod:`bachgen.evaluation.free_leaning`), saved after every round."""
    engine = load_engine(folder, _corpus(args))
    start = engine.bundle.leaning or Leaning()

    def keep(leaning: Leaning, figures: dict[str, Any]) -> None:
        write_leaning(folder, leaning)

    leaning, history = free_leaning.fit_free(engine, start, form_config(args), args.free_rounds, say=say, keep=keep,
                                             sampling=sampling_config_of(args))
    _print(args, {"rounds": history, "leaning": leaning.to_json(), "saved": str(folder / LEANING_FILE)},
           lambda d: json.dumps(d, indent=1))
    return 0


def sampling_config_of(args: argparse.Namespace) -> SamplingConfig:
    """The default :class:`~bachgen.config.SamplingConfig` with the command line's overrides."""
    overrides = {name: getattr(args, name) for name in ("temperature", "top_k", "top_p")
                 if getattr(args, name, None) is not None}
    bars = args.bars if isinstance(args.bars, int) and args.bars > 0 else None
    return SamplingConfig(events=args.events, seed=args.quality_seed, bars=bars, **overrides)


def cmd_generated(args: argparse.Namespace) -> int:
    """``bachgen evaluate --generated [--compare-model DIR] [--sampling-seeds S1,S2] [--json]``."""
    corpus_config = _corpus(args)
    engine = load_engine(args.bundle, corpus_config)
    compare = load_engine(args.compare_model, corpus_config) if args.compare_model else None
    made = yardstick.generated_report(engine, events=args.events, seed=args.quality_seed,
                                      sampling_config=sampling_config_of(args), progress=_progress(args),
                                      sampling_seeds=args.sampling_seeds, fugues=args.fugues,
                                      compare_engine=compare, form=form_config(args),
                                      stretch_length=args.bars == "stretch")
    _print(args, made, report.format_report)
    return 0


def cmd_whole_fugues(args: argparse.Namespace) -> int:
    """``bachgen evaluate --whole-fugues [--sampling-seeds S1,S2] [--best-of N] [--fugues N] [--json]``."""
    engine = load_engine(args.bundle, _corpus(args))
    ids = sorted(engine.corpus_pieces())[:args.fugues] if args.fugues else None
    form = replace(form_config(args), best_of=args.best_of if args.best_of is not None else FUGUE_BEST_OF)
    made = fugues.whole_fugues_report(engine, args.sampling_seeds or [args.quality_seed], form, ids, _progress(args))
    _print(args, made, fugues.format_whole_fugues)
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    """``bachgen evaluate --voices [--json]``: the voice-splitting table over the corpus."""
    pieces = corpus.load_corpus(_corpus(args))

    def say(done: int, total: int, name: str) -> None:
        if not args.json:
            print(f"... {done}/{total} {name}", file=sys.stderr, flush=True)

    _print(args, voices.voice_accuracy_report(pieces, progress=say), voices.format_voice_report)
    return 0


def seed_list(text: str) -> list[int]:
    """``"1722,7,11"`` as a list of seeds (an argparse type)."""
    try:
        seeds = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sampling seeds must be integers separated by commas, not {text!r}")
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError("give at least one non-negative sampling seed")
    return seeds


def add_evaluate_parser(commands: Any) -> argparse.ArgumentParser:
    """``bachgen evaluate`` and its options (held-out by default, ``--generated``, ``--voices``)."""
    p = commands.add_parser("evaluate", help="score the model on the held-out fugues, its generated "
                                             "music (--generated) or the voice splitting (--voices)")
    p.add_argument("--model", "--bundle", dest="bundle",
                   help="bundle folder (default: assets/model or $BACHGEN_MODEL_DIR)")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--generated", action="store_true",
                   help="measure generated music against the real fugues instead")
    p.add_argument("--voices", action="store_true",
                   help="measure the voice splitting on the fugues' own voices instead")
    p.add_argument("--whole-fugues", action="store_true",
                   help="write a whole fugue on each of the 48 subjects and measure them against the "
                        "real fugues as whole pieces (with --sampling-seeds, --best-of, --no-entries: "
                        "no middle entries, --fugues N)")
    p.add_argument("--calibration", action="store_true",
                   help="the network's next bass and harmony, teacher-forced on the fugues, beside Bach's")
    p.add_argument("--fit", action="store_true",
                   help="with --calibration: fit the network's leaning by interval and save it in the bundle "
                        "(leaning.json; takes drawn from the bundle use it)")
    p.add_argument("--free-rounds", type=int, default=0, metavar="N",
                   help="with --calibration --fit: set the bundle's leaning from its own takes for N rounds "
                        "instead (drawn as --generated draws them: --best-of, --chooser, --no-entries apply)")
    h = p.add_argument_group("held-out figures (the default)")
    h.add_argument("--baseline", help="the original architecture's bundle (default: assets/original)")
    h.add_argument("--no-baseline", action="store_true", help="skip the original-architecture baseline")
    h.add_argument("--ngram-order", type=int, default=6,
                   help="order of the Kneser-Ney n-gram beside the model (default 6)")
    _add_generated_options(p.add_argument_group("generated music (--generated)"))
    p.set_defaults(handler=cmd_evaluate)
    return p


def _bars(text: str) -> str | int:
    """``--bars``: ``stretch`` or a whole number of bars (0: a length in events)."""
    if text == "stretch":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'stretch' or a number of bars") from None


def _add_generated_options(g: Any) -> None:
    """The options of ``bachgen evaluate --generated``."""
    g.add_argument("--events", type=int, default=STRETCH_EVENTS,
                   help="events of each real stretch (and of each take with --bars 0)")
    g.add_argument("--bars", type=_bars, default="stretch",
                   help="bars of each take, ending with a close: 'stretch' (default) as many as the real "
                        "stretch it is measured against, a number, or 0 (--events events, left open)")
    add_form_options(g)
    g.add_argument("--quality-seed", type=int, default=QUALITY_SEED,
                   help="random seed of the classifier (and of the generations unless --sampling-seeds)")
    g.add_argument("--sampling-seeds", type=seed_list, default=None, metavar="S1,S2,...",
                   help="random seeds of the generations, each measured; the first is the headline")
    g.add_argument("--compare-model", default=None, metavar="FOLDER",
                   help="a second bundle measured beside the first, same seeds and settings")
    g.add_argument("--temperature", type=float, default=None, help="sampling temperature")
    g.add_argument("--top-p", type=float, default=None, help="nucleus sampling p")
    g.add_argument("--top-k", type=int, default=None, help="keep the k likeliest")
    g.add_argument("--fugues", type=int, default=None,
                   help="generate from the first N fugues only (quick checks)")


# --------------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    """``bachgen bench [--model DIR] [--json]``: generation speed, see :mod:`bachgen.evaluation.bench`."""
    made = bench.run_bench(args.model, _corpus(args), args.original_events, args.events, args.batch,
                           _progress(args), args.repeats, args.takes)
    _print(args, made, bench.format_bench)
    return 0


def add_bench_parser(commands: Any) -> argparse.ArgumentParser:
    """``bachgen bench`` and its options."""
    p = commands.add_parser("bench", help="generation speed: original loop vs ours, batch, end to end")
    p.add_argument("--model", help="model bundle folder (default: assets/model or $BACHGEN_MODEL_DIR)")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--original-events", type=int, default=None,
                   help=f"events for the (slow) original loop (default: {bench.ORIGINAL_EVENTS})")
    p.add_argument("--events", type=int, default=400)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3, help="draws per figure; the best counts")
    p.add_argument("--takes", type=int, default=8,
                   help="takes asking at once, one after another against batched")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_bench)
    return p


# --------------------------------------------------------------------------- card


def read_evaluation(path: str) -> dict[str, Any]:
    """The figures of ``--evaluation FILE`` (a JSON object)."""
    try:
        evaluation = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the evaluation {path}: {exc}.") from exc
    if not isinstance(evaluation, dict):
        raise ConfigError(f"The evaluation {path} is not a JSON object.")
    return evaluation


def cmd_card(args: argparse.Namespace) -> int:
    """``bachgen card FOLDER [--evaluation FILE] [--print-command]``: re-render the model card
    of a bundle from its files (and the figures given), or print the command that trains it."""
    folder = Path(args.folder)
    check_files(folder, REQUIRED_FILES, "Pass the folder of a bundle (e.g. assets/model).")
    if args.print_command:
        print(card.bundle_command(args.folder))
        return 0
    evaluation = read_evaluation(args.evaluation) if args.evaluation else None
    path = card.write_card(folder, evaluation)
    print(f"model card written to {path}", file=sys.stderr)
    return 0


def add_card_parser(commands: Any) -> argparse.ArgumentParser:
    """``bachgen card`` and its options."""
    p = commands.add_parser("card", help="re-render the model card (README.md) of a bundle")
    p.add_argument("folder", help="the bundle folder (e.g. assets/model)")
    p.add_argument("--evaluation", help="JSON of held-out and generated-music figures "
                                        "({\"held_out\": ..., \"generated\": ...}), kept in the "
                                        "bundle as evaluation.json")
    p.add_argument("--print-command", action="store_true",
                   help="only print the bachgen train command that reproduces the bundle")
    p.set_defaults(handler=cmd_card)
    return p


# --------------------------------------------------------------------------- studies


def cmd_studies_list(args: argparse.Namespace) -> int:
    """``bachgen studies list``: each variant, what it changes and its training settings."""
    for v in studies.variants_by_name():
        print(f"{v.name}: {v.changed} — {v.command(Path(args.out) / v.name)}")
    return 0


def cmd_studies_run(args: argparse.Namespace) -> int:
    """``bachgen studies run [--only NAME ...] [--out DIR] [--again]``: train and measure, then the table."""
    studies.run(args.only, Path(args.out), args.again, log=sys.stdout, corpus_config=_corpus(args))
    print((Path(args.out) / studies.RESULTS_MD).read_text())
    return 0


def cmd_studies_measure(args: argparse.Namespace) -> int:
    """``bachgen studies measure BUNDLE [--heldout] [--settings T:P:K[:LOW:HIGH] ...] [--seeds ...]``."""
    bundle = load_bundle(args.bundle)
    pieces = corpus.load_corpus(_corpus(args))
    settings = [told.parse_sampling(text) for text in args.settings]
    result = told.measure_bundle(bundle, pieces, settings, args.seeds, args.ngram_order or None,
                                 args.heldout, say=lambda line: print(line, flush=True))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, default=float) + "\n")
    return 0


def add_studies_parser(commands: Any) -> argparse.ArgumentParser:
    """``bachgen studies list|run|measure``."""
    p = commands.add_parser("studies", help="the studies of the model: train and measure variants")
    sub = p.add_subparsers(dest="action", required=True)
    s = sub.add_parser("list", help="the variants and their training settings")
    s.add_argument("--out", default="runs/studies", help="where the variants' bundles go")
    s.set_defaults(handler=cmd_studies_list)
    s = sub.add_parser("run", help="train (unless trained) and measure the variants, then the table")
    s.add_argument("--only", nargs="*", default=None, help="variants to run (default: all)")
    s.add_argument("--out", default="runs/studies", help="where bundles and results go")
    s.add_argument("--again", action="store_true", help="measure again even when measured")
    s.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    s.set_defaults(handler=cmd_studies_run)
    s = sub.add_parser("measure", help="one bundle's held-out bits and told generations")
    s.add_argument("bundle", help="the bundle folder")
    s.add_argument("--heldout", action="store_true", help="also the held-out bits per note")
    s.add_argument("--ngram-order", type=int, default=0, help="a Kneser-Ney n-gram beside it (0: none)")
    s.add_argument("--settings", nargs="*", default=[studies.SAMPLING],
                   help="TEMPERATURE:TOP_P:TOP_K[:LOW:HIGH compass] for each variant")
    s.add_argument("--seeds", nargs="*", type=int, default=[1, 2])
    s.add_argument("--out", default=None, help="write everything measured to this JSON file")
    s.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    s.set_defaults(handler=cmd_studies_measure)
    return p
