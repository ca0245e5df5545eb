"""Training data: a fixed split of the 48 fugues by piece, and windows of word ids.

Why by piece: fugues repeat their subject many times, so windows cut from one fugue
and scattered over training and test sets would let a model score well by
remembering the subject. Whole fugues are held out instead, always the same ones
(:data:`HELD_OUT`: three from each book, three major and three minor), so every
figure in the model card is measured on music the model never saw. A second fixed
set of whole fugues (:data:`VALIDATION`) decides early stopping.

Windows are cut from one piece at a time and never cross from one piece into the
next: a window is ``seq_len + 1`` consecutive word ids; the first ``seq_len`` are
the input and the last ``seq_len`` the targets (the input shifted by one). A piece
shorter than a window gives one window padded with id 0, which the loss ignores.
This module imports TensorFlow only inside :func:`to_tf_dataset`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .config import TokenConfig
from .errors import CorpusError
from .events import Piece, key_is_minor
from .codecs import WordCodec

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


def note_count(piece: Piece, tokens: TokenConfig) -> int:
    """Notes of the piece as the words see it (quantised piano reduction).

    The same for every tokenization of one piece, so bits per note compare across them.
    """
    return WordCodec.for_tokens(tokens).note_count(piece)


def make_windows(sequences: Sequence[np.ndarray], seq_len: int, stride: int) -> np.ndarray:
    """Windows of ``seq_len + 1`` ids, cut from each sequence on its own.

    Starts are ``0, stride, 2*stride, ...``; if the last window stops short of the end
    of a piece, one more window ending exactly at the end is added, so every position
    is a target at least once. Returns an ``int32`` array of shape ``(n, seq_len + 1)``.
    """
    if seq_len < 1 or stride < 1:
        raise ValueError("seq_len and stride must be positive")
    width = seq_len + 1
    rows: list[np.ndarray] = []
    for seq in sequences:
        seq = np.asarray(seq, dtype=np.int32)
        if len(seq) < 2:
            continue
        if len(seq) <= width:
            rows.append(np.pad(seq, (0, width - len(seq))))
            continue
        starts = list(range(0, len(seq) - width + 1, stride))
        if starts[-1] != len(seq) - width:
            starts.append(len(seq) - width)
        rows.extend(seq[s:s + width] for s in starts)
    if not rows:
        return np.zeros((0, width), dtype=np.int32)
    return np.stack(rows).astype(np.int32)


def to_tf_dataset(windows: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                  repeat: bool = False):
    """A ``tf.data.Dataset`` of ``(inputs, targets)`` batches from ``windows``.

    Targets are the inputs shifted by one. Shuffling uses ``seed`` (a fresh order each
    epoch, the same sequence of orders every run); ``repeat`` makes it endless (for a
    fixed number of steps per epoch).
    """
    import tensorflow as tf

    inputs, targets = windows[:, :-1], windows[:, 1:]
    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        data = data.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


@dataclass(frozen=True)
class Prepared:
    """Everything training needs: the split, the codec and the two window arrays."""

    split: Split
    codec: WordCodec
    train_windows: np.ndarray
    val_windows: np.ndarray
    val_replaced: int

    def steps_per_epoch(self, batch_size: int, epoch_windows: int | None) -> int:
        windows = epoch_windows or len(self.train_windows)
        return max(1, math.ceil(windows / batch_size))


def prepare(pieces: Sequence[Piece], tokens: TokenConfig, seq_len: int, stride: int,
            mode: str = "all", held_out: Sequence[str] = HELD_OUT,
            validation: Sequence[str] = VALIDATION) -> Prepared:
    """Split, build the codec's vocabulary on the training pieces only, and cut the windows.

    Validation windows do not overlap (stride ``seq_len``): they only measure. A
    validation word the vocabulary lacks takes the id of its nearest known word; that
    only steers early stopping.
    """
    split = split_pieces(pieces, held_out, validation, mode)
    codec, train_ids = WordCodec.fit(split.train, tokens)
    val_ids, replaced = codec.encode_pieces(split.validation, training=False)
    return Prepared(split, codec, make_windows(train_ids, seq_len, stride),
                    make_windows(val_ids, seq_len, seq_len), replaced)
