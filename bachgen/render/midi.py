"""A Piece as a standard MIDI file: one piano track, or one track per voice.

A piece whose notes carry several voices (:func:`bachgen.voices.split_voices`) is
written with one track and one channel per voice, named Soprano, Alto, Tenor, Bass
(or Voice 1…n, :func:`bachgen.voices.voice_names`), so a sequencer shows the lines of
the fugue; a piece in a single voice (today's generations) stays one track.

The file is written with pretty_midi at :data:`MIDI_RESOLUTION` ticks per quarter,
an exact multiple of the piece's ticks, so every onset lands on its own MIDI tick
and the same piece always gives the same bytes. Reading user MIDI files is the job
of :mod:`bachgen.seeds`. This module imports neither TensorFlow nor music21.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

from ..errors import ConfigError
from ..events import Piece, key_is_minor, key_tonic_pc
from ..reduction import normalise
from ..subject import FORM_TEXT
from ..voices import voice_names, voices_of
from .quiet import quiet_import

#: Ticks per quarter in written files (480 is what most sequencers use; 48 divides it).
MIDI_RESOLUTION = 480
#: Every note is struck with this velocity: the model does not know dynamics.
VELOCITY = 80
#: Tempo range accepted by the renderers (quarter notes per minute).
MIN_TEMPO_BPM, MAX_TEMPO_BPM = 10.0, 600.0


def check_tempo(tempo_bpm: float) -> float:
    """``tempo_bpm`` as a float, or :class:`ConfigError` when it is not a sensible tempo."""
    try:
        tempo = float(tempo_bpm)
    except (TypeError, ValueError):
        raise ConfigError(f"The tempo must be a number, not {tempo_bpm!r}.") from None
    if not math.isfinite(tempo) or not MIN_TEMPO_BPM <= tempo <= MAX_TEMPO_BPM:
        raise ConfigError(
            f"The tempo {tempo_bpm!r} is out of range.",
            f"Choose between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} quarter notes per minute.",
        )
    return tempo


def check_program(program: int) -> int:
    if not isinstance(program, int) or not 0 <= program <= 127:
        raise ConfigError(f"The General MIDI program must be 0-127, not {program!r}.")
    return program


def _key_number(key: str | None) -> int | None:
    """pretty_midi's key number (0-11 major, 12-23 minor) for a key name, or None."""
    if not key:
        return None
    try:
        return key_tonic_pc(key) + (12 if key_is_minor(key) else 0)
    except (KeyError, IndexError):
        return None


def _import_pretty_midi() -> Any:
    """pretty_midi, imported when a file is written, quietly: it imports pyfluidsynth, which
    prints where it found its library when ``CI`` is set (stdout carries a command's JSON)."""
    return quiet_import("pretty_midi")


def piece_to_midi_bytes(piece: Piece, tempo_bpm: float = 80, program: int = 0) -> bytes:
    """The piece as a format-1 MIDI file in memory (program 0 = acoustic grand piano).

    Each voice is played as a piano reduction (:func:`bachgen.reduction.normalise`): a
    key struck again in the same voice ends its earlier note, so overlapping unisons
    cannot leave hanging or cut-short notes in the file (two voices on one key sound
    on their own channels). Tempo, time signature and (when the piece knows it) key
    signature are written at the start, and the take's form (``piece.meta["form"]``: its
    subject and close) as a text event (:data:`~bachgen.subject.FORM_TEXT`).
    """
    pretty_midi = _import_pretty_midi()

    tempo = check_tempo(tempo_bpm)
    program = check_program(program)
    midi = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION, initial_tempo=tempo)
    seconds_per_tick = 60.0 / tempo / piece.resolution
    numerator, denominator = piece.time_signature
    midi.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, 0.0))
    key_number = _key_number(piece.key)
    if key_number is not None:
        midi.key_signature_changes.append(pretty_midi.KeySignature(key_number, 0.0))
    if piece.meta.get("form"):
        midi.text_events.append(pretty_midi.Text(FORM_TEXT + json.dumps(piece.meta["form"]), 0.0))
    for name, part in voice_parts(piece):
        instrument = pretty_midi.Instrument(program=program, name=name)
        for note in normalise(part).notes:
            instrument.notes.append(pretty_midi.Note(
                velocity=VELOCITY,
                pitch=note.pitch,
                start=note.start * seconds_per_tick,
                end=note.end * seconds_per_tick,
            ))
        midi.instruments.append(instrument)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def voice_parts(piece: Piece) -> list[tuple[str, Piece]]:
    """``(track name, notes of one voice)`` for each voice, highest first; a piece in a
    single voice is one part named after the piece (or "Piano"). pretty_midi gives each
    track its own channel (never the drum channel)."""
    voices = voices_of(piece)
    if len(voices) <= 1:
        return [(piece.name or "Piano", piece)]
    names = voice_names(voices[-1] + 1)
    return [(names[voice], piece.with_notes([n for n in piece.notes if n.voice == voice]))
            for voice in voices]
