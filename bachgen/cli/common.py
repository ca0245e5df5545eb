"""What every command shares: the corpus options, the corpus settings they give, JSON output."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import CHOOSERS, CorpusConfig, FormConfig
from ..fugue import FUGUE_BEST_OF


def corpus_config(args: argparse.Namespace) -> CorpusConfig:
    """The corpus settings the options ask for (``--corpus-dir``, ``--cache-dir``, ``--mirror``),
    then the environment."""
    return CorpusConfig.from_env(corpus_dir=getattr(args, "corpus_dir", None),
                                 cache_dir=getattr(args, "cache_dir", None),
                                 mirror=getattr(args, "mirror", None))


def print_json(data: object) -> None:
    """``data`` as indented JSON on stdout."""
    print(json.dumps(data, indent=2, sort_keys=False))


def add_corpus_options(parser: argparse.ArgumentParser) -> None:
    """``--corpus-dir`` and ``--cache-dir``."""
    parser.add_argument("--corpus-dir", help="folder holding the 48 .krn files "
                        "(default: $BACHGEN_CORPUS_DIR, else the download cache)")
    parser.add_argument("--cache-dir", help="cache folder (default: ~/.cache/bachgen)")


def _levels(text: str) -> tuple[int, ...]:
    """``--levels 0,7,5`` as semitones (an option that is not a list of whole numbers is refused)."""
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of semitones like 0,7,5") from None


def add_form_options(parser: Any) -> None:
    """The options of a take's form (:class:`~bachgen.config.FormConfig`)."""
    parser.add_argument("--no-entries", dest="entries", action="store_false",
                        help="do not plan entries of the seed's subject")
    parser.add_argument("--no-close", dest="close", action="store_false",
                        help="leave the take open instead of ending it with a close")
    parser.add_argument("--levels", type=_levels, default=FormConfig.levels, metavar="0,7,5",
                        help="pitch levels of the planned entries, in semitones above the subject "
                             "(0 tonic, 7 dominant, 5 subdominant, 9 or 3 the relative key)")
    parser.add_argument("--best-of", type=int, default=None,
                        help=f"under a planned note, keep the least clashing of this many drawn events "
                             f"(default {FormConfig.best_of}; a whole fugue's {FUGUE_BEST_OF})")
    add_chooser_option(parser)


def add_chooser_option(parser: Any) -> None:
    """``--chooser``: how best-of-N counts an event's harshness (:data:`~bachgen.config.CHOOSERS`)."""
    parser.add_argument("--chooser", choices=CHOOSERS, default=FormConfig.chooser,
                        help="how harsh best-of-N counts an event: strict (every clash, the default) or mild "
                             "(not the tritone or minor seventh over the lowest pitch)")


def form_config(args: argparse.Namespace) -> FormConfig:
    """The form the options ask for (checked: :class:`~bachgen.errors.ConfigError`)."""
    return FormConfig(entries=args.entries, close=args.close, levels=tuple(args.levels),
                      best_of=args.best_of if args.best_of is not None else FormConfig.best_of,
                      chooser=args.chooser)
