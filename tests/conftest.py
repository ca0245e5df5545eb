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


def save_tiny_spelled(folder, pieces, config: dict | None = None, history: dict | None = None):
    """An untrained small spelled network over the real codec, saved as a bundle in ``folder``:
    the plumbing, not the music. ``config`` and ``history`` are the training summary, if any."""
    from bachgen.bundle import save_bundle
    from bachgen.codec import SpelledCodec
    from bachgen.config import NetConfig
    from bachgen.network import build_model

    codec = SpelledCodec.build(pieces)
    net = NetConfig(embed=8, units=16, quarter_embed=2, phase_embed=3, meter_embed=2, key_embed=2)
    save_bundle(folder, build_model(codec, net, seed=3), codec, net, config or {}, history)
    return folder


@pytest.fixture(scope="module")
def engine(tiny_spelled_dir, corpus_config):
    """An engine over the tiny bundle, one per test module (a module may change its queue or
    lock to watch them): the plumbing, not the music."""
    from bachgen.pipeline import load_engine

    return load_engine(tiny_spelled_dir, corpus_config)


@pytest.fixture(scope="session")
def tiny_spelled_dir(corpus_pieces, tmp_path_factory):
    """:func:`save_tiny_spelled` once for every test that only needs a spelled bundle."""
    return save_tiny_spelled(tmp_path_factory.mktemp("spelled"), corpus_pieces)
