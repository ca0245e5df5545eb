"""Helpers for the app tests: where the page lives and which model it uses.

The shipped model (``assets/model``, or ``$BACHGEN_MODEL_DIR``) is used when it is there;
otherwise a tiny untrained spelled bundle over the real corpus is written into a temporary
folder, so the page can be exercised before a model is trained.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"


def shipped_model_dir() -> Path | None:
    """The bundle the app uses by default, if it is complete."""
    from bachgen.bundle import default_bundle_dir

    return complete_bundle(default_bundle_dir())


def complete_bundle(folder: Path) -> Path | None:
    """``folder`` when it holds every file a bundle needs, else ``None``."""
    from bachgen.bundle import REQUIRED_FILES

    if all((folder / name).is_file() for name in REQUIRED_FILES):
        return folder
    return None


def build_tiny_bundle(folder: Path) -> Path:
    """An untrained small spelled network over the corpus's codec, saved as a bundle
    (:func:`tests.conftest.save_tiny_spelled`)."""
    from bachgen import corpus
    from bachgen.config import CorpusConfig
    from tests.conftest import save_tiny_spelled

    pieces = corpus.load_corpus(CorpusConfig.from_env())
    return save_tiny_spelled(folder, pieces, {"title": "tiny untrained test bundle"})


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
