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
from typing import Callable, Sequence

from .config import TRANSPOSE_MODES, CorpusConfig, TokenConfig
from .errors import BachgenError

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
    from .train import add_train_parser

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
