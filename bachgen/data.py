"""Training data: every fugue's versions as token ids with their conditioning, cut into windows.

Every training fugue is moved to the common key, plus shifts of −``shifts``..+``shifts``
semitones with the matching key condition (or, with ``augment="all12"``, left in its own
key and moved −5..+6); windows of ``seq_len + 1`` tokens are cut from one piece at a time
(never across pieces). The split is the fixed one of :mod:`bachgen.splits`. TensorFlow is
imported inside :func:`to_tf_dataset` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .codec import FEATURES, KeyCondition, SpelledCodec
from .config import FitConfig
from .errors import ConfigError
from .events import Piece, key_is_minor, shift_to_common_key
from .cues import piece_cues
from .network import INPUTS, TOLD_INPUTS
from .splits import HELD_OUT, VALIDATION, split_pieces

#: Semitones each piece is moved from its own key by ``augment="all12"``.
ALL12 = tuple(range(-5, 7))


@dataclass(frozen=True)
class Sequence_:
    """One version of one piece: token ids and their ``(n, 4)`` conditioning features
    (``(n, 6)`` for a ``told`` codec)."""

    name: str
    shift: int
    ids: np.ndarray
    features: np.ndarray


def common_key(piece: Piece) -> tuple[Piece, bool]:
    """The piece moved to C major / A minor (unmoved when its key is unknown), and its mode."""
    if not piece.key:
        return piece, False
    return piece.transpose(shift_to_common_key(piece.key)), key_is_minor(piece.key)


def piece_versions(piece: Piece, codec: SpelledCodec, shifts: int) -> list[Sequence_]:
    """The piece in the common key shifted by −shifts..+shifts, each with its key condition.

    Encoded once and shifted as ids (chordifying does not depend on pitch); a shift that
    would leave the piano is skipped. A ``told`` codec's cues are the piece's own end and
    entries (:func:`bachgen.cues.piece_cues`).
    """
    moved, minor = common_key(piece)
    ids = np.asarray(codec.encode(moved), dtype=np.int64)
    start = codec.first_tick(moved)
    cues = piece_cues(moved, start + int(codec.ticks[ids].sum())) if codec.told else None
    out = []
    for shift in range(-shifts, shifts + 1):
        try:
            shifted = codec.shift_ids(ids, shift)
        except ConfigError:
            continue
        feats = codec.features(shifted, moved.time_signature, start, KeyCondition(minor, shift),
                               cues.moved(shift) if cues else None)
        out.append(Sequence_(piece.name, shift, shifted.astype(np.int32), feats))
    return out


def own_key_versions(piece: Piece, codec: SpelledCodec) -> list[Sequence_]:
    """The piece in its own key moved by each of :data:`ALL12` semitones (``augment="all12"``).

    A shift that would leave the piano is skipped. The key condition carries the mode
    only (``shift`` 0): a codec used with this augmentation does not tell the shift.
    """
    minor = common_key(piece)[1]
    ids = np.asarray(codec.encode(piece), dtype=np.int64)
    start, out = codec.first_tick(piece), []
    cues = piece_cues(piece, start + int(codec.ticks[ids].sum())) if codec.told else None
    for shift in ALL12:
        try:
            shifted = codec.shift_ids(ids, shift)
        except ConfigError:
            continue
        feats = codec.features(shifted, piece.time_signature, start, KeyCondition(minor, 0),
                               cues.moved(shift) if cues else None)
        out.append(Sequence_(piece.name, shift, shifted.astype(np.int32), feats))
    return out


def check_key_treatment(codec: SpelledCodec, fit: FitConfig) -> None:
    """Refuse 12-key augmentation with a codec that tells the shift from the common key.

    Pieces left in their own key have no shift in −3..+3 to tell, so ``augment="all12"``
    needs ``key_told`` ``"none"`` or ``"mode"``.
    """
    if fit.augment == "all12" and codec.key_told == "key":
        raise ConfigError("augment 'all12' needs a codec with key_told 'none' or 'mode', not 'key'.",
                          "Pass --key-told none (or mode).")


def in_modes(piece: Piece, modes: str) -> bool:
    """Whether ``piece`` belongs to the fugues of ``modes`` (:data:`MODES`; unknown key: major)."""
    return modes == "both" or common_key(piece)[1] == (modes == "minor")


def cut_windows(sequences: Sequence[Sequence_], seq_len: int, stride: int) -> np.ndarray:
    """``(n, seq_len + 1, 5)`` int32 windows (token id, then the 4 features; 7 with the told
    ones), one piece at a time.

    Starts every ``stride`` tokens plus one window ending at the piece's end; a piece
    shorter than a window is padded with zeros (padding targets are ignored by the loss).
    """
    width, rows = seq_len + 1, []
    for seq in sequences:
        data = np.concatenate([seq.ids[:, None], seq.features], axis=1).astype(np.int32)
        if len(data) < 2:
            continue
        if len(data) <= width:
            rows.append(np.pad(data, ((0, width - len(data)), (0, 0))))
            continue
        starts = list(range(0, len(data) - width + 1, stride))
        if starts[-1] != len(data) - width:
            starts.append(len(data) - width)
        rows.extend(data[s:s + width] for s in starts)
    columns = 1 + (sequences[0].features.shape[1] if sequences else len(FEATURES))
    return np.stack(rows) if rows else np.zeros((0, width, columns), dtype=np.int32)


def window_inputs(windows: np.ndarray, names: Sequence[str] = INPUTS) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Model inputs (a dict of the columns ``names`` of :data:`INPUTS`) and targets (ids shifted by one).

    A network that reads fewer inputs (``arch="original"``) gets only its own; the told
    columns (:data:`~bachgen.network.TOLD_INPUTS`) are there only in a told codec's windows; a
    network reading every column of the windows (a codec told the lines) names them all.
    """
    columns = tuple(names) if len(names) == windows.shape[2] else TOLD_INPUTS[:windows.shape[2]]
    inputs = {name: windows[:, :-1, i] for i, name in enumerate(columns) if name in names}
    return inputs, windows[:, 1:, 0]


@dataclass(frozen=True)
class Data:
    """Training and validation windows, token counts for the output bias, the split's names."""

    train: np.ndarray
    validation: np.ndarray
    counts: np.ndarray
    names: dict[str, list[str]] = field(default_factory=dict)


def prepare_data(pieces: Sequence[Piece], codec: SpelledCodec, fit: FitConfig) -> Data:
    """Split by piece (fixed sets), augment the training pieces, cut windows.

    Validation pieces are used in the common key only (shift 0), in windows that do not
    overlap: they only measure. ``fit.modes`` keeps the fugues of one mode only (training
    and validation); ``fit.augment`` picks :func:`piece_versions` or :func:`own_key_versions`.
    """
    check_key_treatment(codec, fit)
    split = split_pieces(pieces, HELD_OUT, VALIDATION)
    train_pieces = [p for p in split.train if in_modes(p, fit.modes)]
    val_pieces = [p for p in split.validation if in_modes(p, fit.modes)]
    if fit.limit_pieces:
        train_pieces, val_pieces = train_pieces[:fit.limit_pieces], val_pieces[:max(1, fit.limit_pieces // 4)]
    if fit.augment == "all12":
        train = [v for p in train_pieces for v in own_key_versions(p, codec)]
    else:
        train = [v for p in train_pieces for v in piece_versions(p, codec, fit.shifts)]
    val = [v for p in val_pieces for v in piece_versions(p, codec, 0)]
    counts = np.bincount(np.concatenate([s.ids for s in train]), minlength=codec.vocab_size)
    names = {"train": [p.name for p in train_pieces], "validation": [p.name for p in val_pieces],
             "test": [p.name for p in split.test]}
    return Data(cut_windows(train, fit.seq_len, fit.stride),
                cut_windows(val, fit.seq_len, fit.seq_len), counts, names)


def to_tf_dataset(windows: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                  drop_remainder: bool = False, names: Sequence[str] = INPUTS):
    """A ``tf.data.Dataset`` of ``(inputs dict, targets)`` batches (a fresh order each epoch)."""
    import tensorflow as tf

    inputs, targets = window_inputs(windows, names)
    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        data = data.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def replica_datasets(data: Data, fit: FitConfig, replicas: int, names: Sequence[str] = INPUTS):
    """Training and validation datasets whose every batch splits evenly over ``replicas``.

    With one replica: all windows. With several (``mirrored``): the batch size must be a
    multiple of the replicas, the last partial training batch of each epoch is dropped and
    the validation windows are cut to a multiple of the replicas (an uneven split of a
    batch fails inside the loss).
    """
    if replicas > 1 and fit.batch_size % replicas:
        raise ConfigError(f"batch_size ({fit.batch_size}) must be a multiple of the {replicas} replicas.")
    val = data.validation[:len(data.validation) - len(data.validation) % replicas]
    return (to_tf_dataset(data.train, fit.batch_size, True, fit.seed, drop_remainder=replicas > 1,
                          names=names),
            to_tf_dataset(val, fit.batch_size, False, fit.seed, names=names))
