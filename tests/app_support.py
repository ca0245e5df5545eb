"""Helpers for the app tests: where the page lives and which model it uses.

The shipped model (``assets/model``, the spelled model, or ``$BACHGEN_MODEL_DIR``) is used
when it is there; otherwise a tiny untrained word bundle over the real vocabulary is
written into a temporary folder, so the page can be exercised before a model is trained.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"


def shipped_model_dir() -> Path | None:
    """The bundle the app uses by default, if it is complete (the files its kind needs)."""
    from bachgen.bundle import default_bundle_dir

    return complete_bundle(default_bundle_dir())


def words_model_dir() -> Path | None:
    """The word model kept in ``assets/words``, if it is complete."""
    from bachgen.bundle import words_bundle_dir

    return complete_bundle(words_bundle_dir())


def complete_bundle(folder: Path) -> Path | None:
    """``folder`` when it holds every file a bundle of its kind needs, else ``None``."""
    from bachgen.bundle import bundle_kind, required_files

    if all((folder / name).is_file() for name in required_files(bundle_kind(folder))):
        return folder
    return None


def build_tiny_bundle(folder: Path) -> Path:
    """An untrained 16-unit network over the corpus vocabulary, saved as a bundle."""
    from bachgen import corpus, tokens
    from bachgen.bundle import Bundle, save_bundle
    from bachgen.config import CorpusConfig, ModelConfig, TokenConfig
    from bachgen.model import build_model

    token_config = TokenConfig()
    pieces = corpus.load_corpus(CorpusConfig.from_env())
    vocab = tokens.Vocabulary.build(tokens.piece_to_words(p, token_config) for p in pieces)
    model_config = ModelConfig(vocab_size=len(vocab), embed_dim=16, units=16, layers=1,
                               dropout=0.0)
    model = build_model(model_config, seed=7)
    bundle = Bundle(model, vocab, token_config, model_config,
                    card={"title": "tiny untrained test bundle"})
    return save_bundle(bundle, folder)


def ensure_model(tmp_folder: Path, patch: pytest.MonkeyPatch) -> Path:
    """Make sure the app finds a model: the shipped one, else a tiny one in ``tmp_folder``."""
    shipped = shipped_model_dir()
    if shipped is not None:
        if os.environ.get("BACHGEN_MODEL_DIR"):
            patch.setenv("BACHGEN_MODEL_DIR", str(shipped))
        return shipped
    folder = build_tiny_bundle(tmp_folder / "bundle")
    patch.setenv("BACHGEN_MODEL_DIR", str(folder))
    return folder
