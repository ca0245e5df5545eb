"""Keys of short lines: the key a fugue subject is in (:func:`infer_key`), and a key name a user
typed, checked and spelled as the project spells keys (:func:`key_from_name`).

Key names follow :mod:`bachgen.events`: ``"C"`` C major, ``"E-"`` E-flat major, ``"f#"`` F-sharp
minor (lower case = minor). Nothing here imports music21.
"""

from __future__ import annotations

import re
from typing import Sequence

from .errors import SubjectError
from .events import Note
from .harmony import MAJOR_PROFILE, MINOR_PROFILE, correlation, key_name

#: The mode words of a key name: ``m``, major and minor, and the church modes ABC writes
#: (``Ador``, ``Gmix``), each read as major or minor on its own tonic (:data:`MAJOR_MODES`).
MODE_WORDS = r"(m|maj\w*|min\w*|ion\w*|lyd\w*|mix\w*|aeo\w*|dor\w*|phr\w*|loc\w*)"
MODE = re.compile(MODE_WORDS, re.IGNORECASE)
KEY_NAME = re.compile(r"([A-Ga-g])\s*(##?|bb?|--?|♯|♭|-?sharp|-?flat)?\s*" + MODE_WORDS + "?",
                      re.IGNORECASE)
#: Modes with a major third: ionian, lydian and mixolydian count as major, the rest as minor.
MAJOR_MODES = ("maj", "ion", "lyd", "mix")


def key_from_name(name: str) -> str:
    """A key name checked and spelled as the project spells keys (``"E-"`` E-flat major,
    ``"f#"`` F-sharp minor). Accepts ``"Eb"``, ``"E-flat major"``, ``"f# minor"``, ``"Am"``
    and ABC's modes (``"Ador"`` is A minor); case gives the mode when no word does."""
    found = KEY_NAME.fullmatch(str(name or "").strip())
    accidental = (found.group(2) or "").lower() if found else ""
    accidental = {"": "", "#": "#", "♯": "#", "sharp": "#", "-sharp": "#", "b": "-", "♭": "-",
                  "-": "-", "flat": "-", "-flat": "-"}.get(accidental)
    if not found or accidental is None:
        raise SubjectError(f"{str(name)[:40]!r} is not a key.",
                           "Name a key like C, E- or Eb (major) or c, f# or f# minor (minor).")
    letter, mode = found.group(1), (found.group(3) or "").lower()
    minor = letter.islower() if not mode else not mode.startswith(MAJOR_MODES)
    return (letter.lower() if minor else letter.upper()) + accidental


#: What :func:`infer_key` adds when the first note is the key's tonic or dominant: 45 of the 48
#: WTC subjects begin on one of them, so a subject's first note says much of its key.
FIRST_NOTE_WEIGHT = 0.25
#: What it takes off for each share of the line (weighted as the profile is) outside the scale.
OUTSIDE_WEIGHT = 2.0
#: Pitch classes above the tonic outside the major scale, and outside every minor scale
#: (natural, harmonic and melodic together).
MAJOR_OUTSIDE = (1, 3, 6, 8, 10)
MINOR_OUTSIDE = (1, 4, 6)


def key_fit(notes: Sequence[Note]) -> dict[str, float]:
    """How well each of the 24 keys fits a short line (see :func:`infer_key`), by key name."""
    weights = [0.0] * 12
    for note in notes:
        weights[note.pitch % 12] += max(note.duration, 0) ** 0.5
    total = sum(weights) or 1.0
    first = notes[0].pitch % 12 if notes else None
    fit = {}
    modes = ((False, MAJOR_PROFILE, MAJOR_OUTSIDE), (True, MINOR_PROFILE, MINOR_OUTSIDE))
    for minor, profile, outside in modes:
        for tonic in range(12):
            rotated = [profile[(pc - tonic) % 12] for pc in range(12)]
            score = correlation(weights, rotated)
            if first is not None and (first - tonic) % 12 in (0, 7):
                score += FIRST_NOTE_WEIGHT
            score -= OUTSIDE_WEIGHT * sum(weights[(tonic + step) % 12] for step in outside) / total
            fit[key_name(tonic, minor)] = score
    return fit


def infer_key(notes: Sequence[Note]) -> str:
    """The key of a short line, such as a fugue's subject.

    A subject is too short for the Krumhansl–Schmuckler profiles alone (they name 29 of the 48
    WTC subjects' keys): it correlates the profiles with the line's pitch classes weighted by
    the square root of their lengths (a long note counts, without drowning the rest), adds
    :data:`FIRST_NOTE_WEIGHT` when the first note is the tonic or the dominant, and takes off
    :data:`OUTSIDE_WEIGHT` times the share of the line outside the key's scale (a minor key's
    raised sixth and seventh are inside it, so a leading tone speaks for the minor key). This
    names 45 of the 48 (``tests/test_notation.py``). Ties go to the first key in the order C,
    C#, ... B, then c, c#, ... b; no notes gives ``"C"``.
    """
    fit = key_fit(notes)
    best = max(fit.values())
    return next(name for name, value in fit.items() if value == best)
