"""The held-out split: which whole fugues train, which decide early stopping, which test.

Why by piece: fugues repeat their subject many times, so windows cut from one fugue
and scattered over training and test sets would let a model score well by
remembering the subject. Whole fugues are held out instead, always the same ones
(:data:`HELD_OUT`: three from each book, three major and three minor), so every
figure in the model card is measured on music the model never saw. A second fixed
set of whole fugues (:data:`VALIDATION`) decides early stopping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .errors import CorpusError
from .events import Piece, key_is_minor

#: Fugues never used in training or model selection: the test set of every figure.
#: Book I: D major, F minor, B-flat major; Book II: C minor, E major, G minor.
HELD_OUT: tuple[str, ...] = ("wtc1f05", "wtc1f12", "wtc1f21", "wtc2f02", "wtc2f09", "wtc2f16")

#: Fugues used only for the validation loss (early stopping, checkpoint choice).
#: Book I: E-flat major, G-sharp minor; Book II: F major, B minor.
VALIDATION: tuple[str, ...] = ("wtc1f07", "wtc1f18", "wtc2f11", "wtc2f24")

MODES = ("all", "major", "minor")


@dataclass(frozen=True)
class Split:
    """Pieces for training, validation (early stopping) and test (held out)."""

    train: tuple[Piece, ...]
    validation: tuple[Piece, ...]
    test: tuple[Piece, ...]

    def names(self) -> dict[str, list[str]]:
        return {"train": [p.name for p in self.train],
                "validation": [p.name for p in self.validation],
                "test": [p.name for p in self.test]}


def piece_mode(piece: Piece) -> str:
    """``"minor"`` or ``"major"`` from the piece's key (major when unknown)."""
    return "minor" if piece.key and key_is_minor(piece.key) else "major"


def split_pieces(pieces: Sequence[Piece], held_out: Sequence[str] = HELD_OUT,
                 validation: Sequence[str] = VALIDATION, mode: str = "all") -> Split:
    """Split ``pieces`` by name into train / validation / test.

    Every name in ``held_out`` and ``validation`` must be present, so a missing file
    cannot silently move a test piece into training. ``mode`` keeps only major or
    minor pieces in all three parts (for separate major / minor models).
    """
    if mode not in MODES:
        raise CorpusError(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    overlap = set(held_out) & set(validation)
    if overlap:
        raise CorpusError(f"Pieces both held out and used for validation: {sorted(overlap)}.")
    names = {p.name for p in pieces}
    missing = [n for n in (*held_out, *validation) if n not in names]
    if missing:
        raise CorpusError(f"The split needs pieces that are not loaded: {', '.join(missing)}.",
                          "Load the whole corpus (`bachgen corpus list` shows what is missing).")
    keep = [p for p in pieces if mode == "all" or piece_mode(p) == mode]
    test = tuple(p for p in keep if p.name in held_out)
    val = tuple(p for p in keep if p.name in validation)
    train = tuple(p for p in keep if p.name not in held_out and p.name not in validation)
    if not train:
        raise CorpusError("No training pieces are left after the split.")
    return Split(train, val, test)
