"""What every command shares: the corpus options, the corpus settings they give, JSON output."""

from __future__ import annotations

import argparse
import json

from ..config import CorpusConfig


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
