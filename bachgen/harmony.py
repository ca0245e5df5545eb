"""Keys and scales: estimate a piece's key, snap it to C major, or transpose it to C.

:func:`estimate_key` is the Krumhansl–Schmuckler algorithm: the duration-weighted
pitch-class histogram of the piece is correlated with the 24 rotated
Krumhansl–Kessler key profiles and the best match wins. Key names use the
spelling of :mod:`bachgen.events` (``"C"``, ``"E-"``, ``"f#"``; lower case = minor).

The three ways of putting generated music "in C" (:data:`SNAP_MODES`):

* ``"c-major"`` — :func:`snap_to_c_major`: every black key moves to a white
  neighbour (the notes change; the piece now uses only C-major tones);
* ``"to-c"`` — :func:`transpose_to_c`: the whole piece moves to C major or A minor
  (no note changes relative to the others);
* ``"off"`` — unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from .errors import ConfigError
from .events import PITCH_CLASS_NAMES, Note, Piece, key_is_minor, key_tonic_pc, shift_to_common_key
from .reduction import HIGHEST_PITCH, LOWEST_PITCH

#: Krumhansl–Kessler probe-tone profiles, tonic first (Krumhansl 1990).
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

#: Pitch classes of the C-major scale (the white keys).
C_MAJOR_PCS = frozenset({0, 2, 4, 5, 7, 9, 11})
#: Scale steps above the tonic: major, and harmonic minor (raised 7th = the leading tone).
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 11)

SNAP_MODES = ("c-major", "to-c", "off")


def key_name(tonic_pc: int, minor: bool) -> str:
    """The events-module name of a key: ``key_name(3, False) == "E-"``, ``key_name(6, True) == "f#"``."""
    name = PITCH_CLASS_NAMES[tonic_pc % 12]
    return name.lower() if minor else name


def pitch_class_weights(piece: Piece) -> list[float]:
    """Total sounding duration (in ticks) of each pitch class 0-11."""
    weights = [0.0] * 12
    for note in piece.notes:
        weights[note.pitch % 12] += note.duration
    return weights


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson's correlation of ``xs`` and ``ys`` (0 when either is flat)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x == 0 or var_y == 0:
        return 0.0
    return cov / (var_x * var_y) ** 0.5


def key_scores(piece: Piece) -> dict[str, float]:
    """Correlation of the piece's pitch-class weights with each of the 24 key profiles."""
    weights = pitch_class_weights(piece)
    scores = {}
    for minor, profile in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
        for tonic in range(12):
            rotated = tuple(profile[(pc - tonic) % 12] for pc in range(12))
            scores[key_name(tonic, minor)] = correlation(weights, rotated)
    return scores


def estimate_key(piece: Piece) -> str:
    """The most likely key of ``piece`` (Krumhansl–Schmuckler, duration-weighted).

    Ties and an empty (or perfectly uniform) piece give the first candidate in the
    order C, C#, ... B major then c, c#, ... b minor, so an empty piece is ``"C"``.
    """
    scores = key_scores(piece)
    best = max(scores.values())
    return next(name for name, score in scores.items() if score == best)


def scale_pitch_classes(key: str) -> frozenset[int]:
    """Pitch classes of ``key``'s scale: major, or *harmonic* minor for a minor key."""
    tonic = key_tonic_pc(key)
    steps = HARMONIC_MINOR_STEPS if key_is_minor(key) else MAJOR_STEPS
    return frozenset((tonic + step) % 12 for step in steps)


def snap_pitch(pitch: int, key_pcs: frozenset[int]) -> int:
    """The nearest C-major tone to ``pitch``, by the tie rule of :func:`snap_to_c_major`."""
    if pitch % 12 in C_MAJOR_PCS:
        return pitch
    down, up = pitch - 1, pitch + 1  # every black key sits between two white keys
    down_in_key, up_in_key = down % 12 in key_pcs, up % 12 in key_pcs
    if up_in_key and not down_in_key:
        return up
    return down


def merge_unisons(notes: list[Note]) -> list[Note]:
    """Of the notes struck at the same onset on the same pitch keep only the longest."""
    best: dict[tuple[int, int], Note] = {}
    for note in notes:
        slot = (note.start, note.pitch)
        kept = best.get(slot)
        if kept is None or note.duration > kept.duration:
            best[slot] = note
    return list(best.values())


def snap_to_c_major(piece: Piece, key: str | None = None) -> Piece:
    """Every pitch moved to the nearest tone of the C-major scale (white keys stay).

    Tie rule: a black key lies exactly one semitone from a white key on each side.
    It moves to the neighbour that belongs to the scale of the piece's key (``key``,
    or :func:`estimate_key` when not given; harmonic minor for minor keys) when
    exactly one of the two does; otherwise (both or neither) it moves **down**.
    So in A minor G# goes up to A (the leading tone resolves), in F major B- goes
    down to A, and in C major (both neighbours in the scale) C# goes down to C.
    The piano's end keys A0 and C8 are white, so no note leaves the keyboard.

    Notes that now coincide (same onset and pitch) are merged, keeping the longest.
    The result's ``key`` is re-estimated from the snapped notes.
    """
    key_pcs = scale_pitch_classes(key or estimate_key(piece))
    notes = []
    for note in piece.notes:
        notes.append(replace(note, pitch=snap_pitch(note.pitch, key_pcs)))
    snapped = piece.with_notes(merge_unisons(notes))
    return replace(snapped, key=estimate_key(snapped))


def transpose_to_c(piece: Piece, key: str | None = None) -> Piece:
    """The whole piece moved so its key (``key`` or estimated) becomes C major / A minor.

    The shift is the nearest one, -6 to +5 semitones
    (:func:`bachgen.events.shift_to_common_key`). Every interval is kept, so no note
    is "wrong"; a note that would leave the piano keyboard moves by an octave
    instead (the same pitch class, so still in key). The result's ``key`` is
    ``"C"`` or ``"a"``.
    """
    key = key or estimate_key(piece)
    moved = replace(piece, key=key).transpose(shift_to_common_key(key))
    return moved.with_notes(merge_unisons(fit_keyboard(moved).notes))


def fit_keyboard(piece: Piece) -> Piece:
    """Every note outside the piano (21-108) moved by octaves onto it; the rest untouched."""
    notes = []
    for note in piece.notes:
        pitch = note.pitch
        while pitch > HIGHEST_PITCH:
            pitch -= 12
        while pitch < LOWEST_PITCH:
            pitch += 12
        notes.append(note if pitch == note.pitch else replace(note, pitch=pitch))
    return piece.with_notes(notes)


def apply_snap(piece: Piece, mode: str) -> Piece:
    """Apply one of :data:`SNAP_MODES` to ``piece``; :class:`ConfigError` for any other mode."""
    if mode == "c-major":
        return snap_to_c_major(piece)
    if mode == "to-c":
        return transpose_to_c(piece)
    if mode == "off":
        return piece
    raise ConfigError(
        f"Unknown snap mode {mode!r}.",
        f"Use one of: {', '.join(SNAP_MODES)}.",
    )


#: Intervals (semitones mod 12) that clash between any two sounding pitches: seconds,
#: sevenths and the tritone. A fourth clashes only over the lowest pitch.
CLASHING = frozenset({1, 2, 6, 10, 11})


def clashes(pitches: Sequence[int]) -> int:
    """How harsh a sonority is: the pairs of ``pitches`` a second, seventh or tritone apart
    (any octave), plus the pitches a fourth over the lowest."""
    ps = sorted(set(pitches))
    pairs = sum(1 for i, a in enumerate(ps) for b in ps[i + 1:] if (b - a) % 12 in CLASHING)
    return pairs + sum(1 for p in ps[1:] if (p - ps[0]) % 12 == 5)


#: Intervals above the lowest pitch the ``"mild"`` chooser (:data:`bachgen.config.CHOOSERS`)
#: does not count as clashes: the dominant seventh's tritone and minor seventh, as common in
#: Bach as the strict chooser made them rare.
MILD_ABOVE_LOWEST = frozenset({6, 10})


def harshness(pitches: Sequence[int], chooser: str = "strict") -> int:
    """What best-of-N under a planned line keeps least of (:class:`bachgen.sampling.Chooser`):
    the :func:`clashes`, and one more for every pitch beyond two. Clashes alone pick full
    chords around the line (its events hold three or more pitches 86 % of the time against
    Bach's 74 %, and a classifier tells the takes 74 % of the time); counting thickness
    brings both back (0.80, 0.64 with sampling seed 1722; ``docs/form.md``). The ``"mild"``
    chooser leaves out the tritones and minor sevenths over the lowest pitch
    (:data:`MILD_ABOVE_LOWEST`; ``docs/critic.md``)."""
    harsh = clashes(pitches) + max(0, len(set(pitches)) - 2)
    if chooser == "mild":
        ps = sorted(set(pitches))
        harsh -= sum(1 for p in ps[1:] if (p - ps[0]) % 12 in MILD_ABOVE_LOWEST)
    return harsh


def dissonant(pitches: Sequence[int]) -> bool:
    """Whether a sonority holds a second, seventh, tritone or a fourth over its lowest pitch
    (the yardstick's "dissonant beat")."""
    return clashes(pitches) > 0
