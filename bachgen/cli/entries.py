"""``bachgen entries FILE``: where a fugue's subject comes back, in any MIDI, MusicXML or kern file.

The same matcher the yardstick uses (:func:`bachgen.subject.find_entries`): the head of the
subject at any transposition, same onsets and contour, each pitch within a semitone. The
subject is the file's own — a take's MIDI file carries it; a score with voices gives its first
voice alone; else its opening single line — or another file's (``--subject``) or a fugue's of
the 48 (``--fugue``). Prints one line per entry, or JSON (``--json``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import catalog, corpus, seeds
from ..errors import ConfigError, SeedFileError
from ..events import Piece
from ..subject import Subject, find_entries, own_subject, per_ten_bars, subject_of
from .common import add_corpus_options, corpus_config, print_json


def add_parsers(commands: Any) -> list[argparse.ArgumentParser]:
    """Register ``bachgen entries``."""
    p = commands.add_parser("entries", help="list where a fugue's subject comes back in a file")
    p.add_argument("file", help="a MIDI, MusicXML or kern file")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--subject", metavar="FILE",
                        help="look for the subject of this file (its first voice alone or opening line)")
    source.add_argument("--fugue", metavar="ID", help="look for the subject of one of the 48 (e.g. wtc1f02)")
    p.add_argument("--json", action="store_true", help="print JSON instead of lines")
    add_corpus_options(p)
    p.set_defaults(handler=cmd_entries)
    return [p]


def read_music(path: Path) -> Piece:
    """A file as a piece (its voices kept when the format has them), or one clear error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SeedFileError(f"Cannot read {path}: {exc.strerror or exc}.", "Check the path.") from exc
    piece, _ = seeds.load_seed_file(data, path.name)
    return piece


def chosen_subject(args: argparse.Namespace, piece: Piece) -> Subject:
    """The subject the options name (see the module docstring); refused when it has too few notes."""
    if args.fugue:
        try:
            catalog.fugue(args.fugue)
        except KeyError:
            raise ConfigError(f"Unknown fugue {args.fugue!r}.", "Use an id from `bachgen corpus list`.") from None
        subject = subject_of(corpus.load_piece(args.fugue, corpus_config(args)), args.fugue)
    elif args.subject:
        other = read_music(Path(args.subject))
        subject = own_subject(other, Path(args.subject).name)
    else:
        subject = own_subject(piece, Path(args.file).name)
    if subject is None or not subject.matchable:
        raise ConfigError("No subject of five notes or more was found to look for.",
                          "Give one with --subject FILE (a line alone at its start) or --fugue ID.")
    return subject


def cmd_entries(args: argparse.Namespace) -> int:
    """``bachgen entries``: the entries of the subject in the file, one per line or as JSON."""
    piece = read_music(Path(args.file))
    subject = chosen_subject(args, piece)
    entries = find_entries(piece, subject)
    rate = per_ten_bars(entries, piece.end, piece.bar_ticks)
    if args.json:
        print_json({"file": args.file, "subject": subject.describe(), "bars": piece.bars,
                    "entries_per_10_bars": round(rate, 2),
                    "entries": [e.to_dict(subject.key, piece.bar_ticks) for e in entries]})
        return 0
    print(f"{args.file}: subject {subject.describe()}")
    for e in entries:
        beat = (e.start % piece.bar_ticks) / piece.resolution + 1
        key = e.key_name(subject.key) or "?"
        print(f"  bar {e.start // piece.bar_ticks + 1:>3}, beat {beat:g}: {e.voice_name or 'voice'}, "
              f"in {key} ({(e.level + 6) % 12 - 6:+d} semitones)")
    print(f"{len(entries)} entries in {piece.bars} bars ({rate:.2f} per 10 bars)")
    return 0
