"""``bachgen corpus list|download|check`` and ``bachgen tokens stats``: the 48 fugues and their tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import corpus
from ..codec import SpelledCodec, codec_stats
from .common import add_corpus_options, corpus_config, print_json


def cmd_corpus_list(args: argparse.Namespace) -> int:
    config = corpus_config(args)
    rows = corpus.status(config)
    if args.json:
        print_json({
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
    config = corpus_config(args)

    def progress(done: int, total: int, name: str) -> None:
        print(f"\r[{done:>2}/{total}] {name}", end="" if done < total else "\n", file=sys.stderr,
              flush=True)

    written = corpus.download(config, progress=None if args.quiet else progress)
    print(f"{len(written)} file(s) downloaded; 48 verified in {config.cache_path / 'corpus'}")
    return 0


def cmd_corpus_check(args: argparse.Namespace) -> int:
    pieces = corpus.load_corpus(corpus_config(args))
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
        print_json({"summary": summary, "fugues": rows})
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


def cmd_tokens_stats(args: argparse.Namespace) -> int:
    """The codec over the 48 fugues: events, tokens, vocabulary, round-trip failures."""
    pieces = corpus.load_corpus(corpus_config(args))
    report = codec_stats(SpelledCodec.build(pieces), pieces)
    if args.json:
        print_json(report)
        return 0
    print(f"{report['pieces']} pieces, {report['events']} events, {report['tokens']} tokens "
          f"({report['tokens'] / max(1, report['events']):.2f} an event), vocabulary "
          f"{report['vocabulary']} ids, {report['round_trip_failures']} round-trip failures"
          + (f": {', '.join(report['failed_pieces'])}" if report["failed_pieces"] else ""))
    return 0


def add_parsers(commands: Any) -> list[argparse.ArgumentParser]:
    """Register ``corpus`` and ``tokens``; their sub-commands' parsers (for ``--verbose``)."""
    corpus_sub = commands.add_parser("corpus", help="the 48 fugues: list, download").add_subparsers(
        dest="action", required=True)
    _action(corpus_sub, "list", "the catalogue and whether each file is verified", cmd_corpus_list)
    p = _action(corpus_sub, "download", "fetch and verify the kern files into the cache",
                cmd_corpus_download, json=False)
    p.add_argument("--mirror", help="base URL serving <id>.krn (default: the pinned public source)")
    p.add_argument("--quiet", action="store_true")
    _action(corpus_sub, "check", "parse all 48 and check every bar of every voice", cmd_corpus_check)
    tokens_sub = commands.add_parser("tokens", help="the codec over the 48 fugues: statistics").add_subparsers(
        dest="action", required=True)
    _action(tokens_sub, "stats", "events, tokens, vocabulary and round-trip failures of the codec",
            cmd_tokens_stats)
    return [*corpus_sub.choices.values(), *tokens_sub.choices.values()]


def _action(actions: Any, name: str, help: str, handler: Any, json: bool = True) -> argparse.ArgumentParser:
    """One sub-command reading the corpus (``--corpus-dir``, ``--cache-dir``; ``--json``)."""
    p = actions.add_parser(name, help=help)
    add_corpus_options(p)
    if json:
        p.add_argument("--json", action="store_true")
    p.set_defaults(handler=handler)
    return p
