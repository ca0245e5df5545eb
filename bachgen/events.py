"""The plain musical types every stage speaks: :class:`Note` and :class:`Piece`.

Times are integer ticks at ``Piece.resolution`` ticks per quarter note, so
onsets and durations are exact (no float drift) and pieces serialise to JSON
without loss. This module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

#: Ticks per quarter note used throughout bachgen. 48 holds 64th notes (3),
#: triplet 16ths (8) and triplet 32nds (4) exactly.
RESOLUTION = 48


@dataclass(frozen=True, order=True)
class Note:
    """One struck note: ``start`` and ``duration`` in ticks, MIDI ``pitch``, ``voice`` index."""

    start: int
    duration: int
    pitch: int
    voice: int = 0

    @property
    def end(self) -> int:
        return self.start + self.duration


@dataclass(frozen=True)
class Piece:
    """A piece of music as a sorted tuple of notes plus the facts we need about it.

    ``key`` is a music21-style key name (``"C"`` major, ``"c#"`` minor) or
    ``None`` when unknown; ``time_signature`` is ``(numerator, denominator)``.
    """

    notes: tuple[Note, ...]
    resolution: int = RESOLUTION
    name: str = ""
    key: str | None = None
    time_signature: tuple[int, int] = (4, 4)
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(sorted(self.notes)))

    @property
    def end(self) -> int:
        """The tick at which the last note ends (0 for an empty piece)."""
        return max((n.end for n in self.notes), default=0)

    @property
    def quarters(self) -> float:
        return self.end / self.resolution

    def seconds(self, tempo_bpm: float) -> float:
        """Length in seconds at ``tempo_bpm`` quarter notes per minute."""
        return self.quarters * 60.0 / tempo_bpm

    @property
    def bar_ticks(self) -> int:
        num, den = self.time_signature
        return self.resolution * 4 * num // den

    @property
    def bars(self) -> int:
        """Bars the piece reaches into, counted from tick 0 (at least 1, also when empty)."""
        return max(1, -(-self.end // self.bar_ticks))

    def transpose(self, semitones: int) -> "Piece":
        """The same piece moved by ``semitones`` (key name updated when known)."""
        key = transpose_key_name(self.key, semitones) if self.key else None
        notes = tuple(replace(n, pitch=n.pitch + semitones) for n in self.notes)
        return replace(self, notes=notes, key=key)

    def with_notes(self, notes: tuple[Note, ...] | list[Note]) -> "Piece":
        return replace(self, notes=tuple(notes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "resolution": self.resolution,
            "time_signature": list(self.time_signature),
            "meta": self.meta,
            "notes": [[n.start, n.duration, n.pitch, n.voice] for n in self.notes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Piece":
        return cls(
            notes=tuple(Note(*row) for row in data["notes"]),
            resolution=int(data.get("resolution", RESOLUTION)),
            name=data.get("name", ""),
            key=data.get("key"),
            time_signature=tuple(data.get("time_signature", (4, 4))),  # type: ignore[arg-type]
            meta=dict(data.get("meta", {})),
        )


@dataclass(frozen=True)
class Event:
    """One onset event of a piano reduction: ``struck`` and ``held`` pitches (sorted) for ``duration`` ticks."""

    start: int
    duration: int
    struck: tuple[int, ...]
    held: tuple[int, ...] = ()


PITCH_CLASS_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")
_PC_OF = {
    "c": 0, "c#": 1, "d-": 1, "d": 2, "d#": 3, "e-": 3, "e": 4, "f-": 4, "e#": 5, "f": 5,
    "f#": 6, "g-": 6, "g": 7, "g#": 8, "a-": 8, "a": 9, "a#": 10, "b-": 10, "b": 11, "c-": 11,
    "b#": 0,
}


def key_tonic_pc(key: str) -> int:
    """Pitch class (0 = C) of a key name like ``"E-"`` or ``"g#"``."""
    return _PC_OF[key.lower()]


def key_is_minor(key: str) -> bool:
    """music21 / Humdrum convention: lower-case tonic means minor."""
    return key[0].islower()


def transpose_key_name(key: str, semitones: int) -> str:
    pc = (key_tonic_pc(key) + semitones) % 12
    name = PITCH_CLASS_NAMES[pc]
    return name.lower() if key_is_minor(key) else name


def shift_to_common_key(key: str) -> int:
    """Semitones in [-6, 5] that move ``key`` to C major (major) or A minor (minor)."""
    target = 9 if key_is_minor(key) else 0
    shift = (target - key_tonic_pc(key)) % 12
    return shift - 12 if shift > 5 else shift


def pitch_name(pitch: int) -> str:
    """Scientific pitch name, e.g. 60 -> ``"C4"``."""
    return f"{PITCH_CLASS_NAMES[pitch % 12].replace('-', 'b')}{pitch // 12 - 1}"
