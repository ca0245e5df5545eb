"""Shared fixtures: the real corpus from the environment, small pieces made in code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bachgen.config import CorpusConfig
from bachgen.events import Note, Piece

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = REPO.parent / "shared" / "corpus" / "wtc-fugues"


def pytest_configure(config):
    """Point the product at the corpus beside the checkout unless the caller chose one."""
    if not os.environ.get("BACHGEN_CORPUS_DIR") and SHARED_CORPUS.is_dir():
        os.environ["BACHGEN_CORPUS_DIR"] = str(SHARED_CORPUS)


@pytest.fixture(scope="session")
def corpus_config() -> CorpusConfig:
    """The real kern corpus named by ``BACHGEN_CORPUS_DIR`` (``make test`` sets it)."""
    folder = os.environ.get("BACHGEN_CORPUS_DIR")
    if not folder or not Path(folder).is_dir():
        pytest.fail("Set BACHGEN_CORPUS_DIR to the folder of the 48 .krn files (make test does).")
    return CorpusConfig.from_env()


@pytest.fixture(scope="session")
def corpus_pieces(corpus_config):
    from bachgen import corpus

    return corpus.load_corpus(corpus_config)


def make_piece(*notes: tuple[int, int, int] | tuple[int, int, int, int], **kwargs) -> Piece:
    """A Piece from ``(start, duration, pitch[, voice])`` tuples in ticks (48 a quarter)."""
    return Piece(tuple(Note(*n) for n in notes), **kwargs)
