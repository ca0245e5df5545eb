"""Writing MIDI files: exact ticks, same bytes for the same piece, clear errors."""

from __future__ import annotations

import io

import mido
import pytest

from bachgen.errors import ConfigError
from bachgen.events import Piece
from bachgen.render.midi import MIDI_RESOLUTION, piece_to_midi_bytes
from tests.conftest import make_piece

PIECE = make_piece((0, 48, 60), (0, 96, 48, 1), (48, 16, 64), (64, 8, 67), (72, 4, 71),
                   (96, 3, 72), key="E-", name="tiny", time_signature=(3, 4))


def read_notes(data: bytes) -> tuple[mido.MidiFile, list[tuple[int, int, int]]]:
    midi = mido.MidiFile(file=io.BytesIO(data))
    notes, open_at = [], {}
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity:
                open_at[message.note] = tick
            elif message.type in ("note_on", "note_off"):
                notes.append((open_at.pop(message.note), tick, message.note))
    return midi, sorted(notes)


@pytest.mark.parametrize("tempo", [40, 80, 73.5, 200])
def test_every_note_lands_on_its_exact_tick(tempo):
    midi, notes = read_notes(piece_to_midi_bytes(PIECE, tempo_bpm=tempo))
    scale = MIDI_RESOLUTION // PIECE.resolution
    assert notes == sorted((n.start * scale, n.end * scale, n.pitch) for n in PIECE.notes)
    assert midi.ticks_per_beat == MIDI_RESOLUTION


def test_header_carries_tempo_time_signature_key_and_piano():
    midi, _ = read_notes(piece_to_midi_bytes(PIECE, tempo_bpm=90))
    messages = [m for track in midi.tracks for m in track]
    tempo = next(m for m in messages if m.type == "set_tempo")
    assert mido.tempo2bpm(tempo.tempo) == pytest.approx(90, abs=0.01)
    signature = next(m for m in messages if m.type == "time_signature")
    assert (signature.numerator, signature.denominator) == (3, 4)
    assert next(m for m in messages if m.type == "key_signature").key == "Eb"
    assert next(m for m in messages if m.type == "program_change").program == 0


def test_same_piece_same_bytes():
    assert piece_to_midi_bytes(PIECE) == piece_to_midi_bytes(PIECE)
    assert piece_to_midi_bytes(PIECE, 80) != piece_to_midi_bytes(PIECE, 81)


def test_overlapping_unisons_become_one_key():
    piece = make_piece((0, 96, 60), (48, 96, 60))
    _, notes = read_notes(piece_to_midi_bytes(piece))
    assert notes == [(0, 480, 60), (480, 1440, 60)]


def tracks(data: bytes) -> list[tuple[str, set[int], list[int]]]:
    """(name, channels, pitches) of every track that holds notes."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    result = []
    for track in midi.tracks:
        name = next((m.name for m in track if m.type == "track_name"), "")
        notes = [m for m in track if m.type == "note_on" and m.velocity]
        if notes:
            result.append((name, {m.channel for m in notes}, [m.note for m in notes]))
    return result


@pytest.mark.parametrize("count, names", [
    (2, ["Soprano", "Bass"]),
    (3, ["Soprano", "Alto", "Bass"]),
    (4, ["Soprano", "Alto", "Tenor", "Bass"]),
    (5, ["Soprano 1", "Soprano 2", "Alto", "Tenor", "Bass"]),
    (6, [f"Voice {i}" for i in range(1, 7)]),
])
def test_one_named_track_and_channel_per_voice(count, names):
    piece = make_piece(*[(i * 48, 48, 80 - 7 * v, v) for v in range(count) for i in range(3)],
                       name="voices")
    found = tracks(piece_to_midi_bytes(piece))
    assert [name for name, _, _ in found] == names
    assert [pitches for _, _, pitches in found] == [[80 - 7 * v] * 3 for v in range(count)]
    channels = [channel for _, chans, _ in found for channel in chans]
    assert len(set(channels)) == count and 9 not in channels


def test_a_single_voice_piece_stays_one_piano_track():
    found = tracks(piece_to_midi_bytes(make_piece((0, 48, 60), (0, 48, 64), name="tiny")))
    assert [(name, pitches) for name, _, pitches in found] == [("tiny", [60, 64])]


def test_two_voices_on_one_key_each_keep_their_note():
    piece = make_piece((0, 96, 60, 0), (48, 96, 60, 1))
    _, notes = read_notes(piece_to_midi_bytes(piece))
    assert notes == [(0, 960, 60), (480, 1440, 60)]


def test_voices_read_back_as_voices():
    from bachgen.seeds import load_seed_file
    from bachgen.voices import split_voices

    piece = split_voices(make_piece(*[(i * 48, 48, 72 - i) for i in range(4)],
                                    *[(i * 48, 48, 48 + i) for i in range(4)]), 2)
    back, _ = load_seed_file(piece_to_midi_bytes(piece), "voices.mid")
    assert sorted((n.start, n.pitch, n.voice) for n in back.notes) == sorted(
        (n.start, n.pitch, n.voice) for n in piece.notes)


def test_empty_piece_is_a_valid_file():
    midi, notes = read_notes(piece_to_midi_bytes(Piece(())))
    assert notes == [] and len(midi.tracks) >= 1


@pytest.mark.parametrize("tempo", [0, -5, float("nan"), 10_000, "fast"])
def test_bad_tempo_is_a_config_error(tempo):
    with pytest.raises(ConfigError):
        piece_to_midi_bytes(PIECE, tempo_bpm=tempo)


@pytest.mark.parametrize("program", [-1, 128, 1.5])
def test_bad_program_is_a_config_error(program):
    with pytest.raises(ConfigError):
        piece_to_midi_bytes(PIECE, program=program)


def test_midi_module_imports_without_tensorflow():
    import subprocess
    import sys

    code = ("import sys; import bachgen.render.midi, bachgen.harmony, bachgen.seeds, bachgen.render.audio, "
            "bachgen.render.pianoroll, bachgen.render.score, bachgen.render; "
            "bad = [m for m in ('tensorflow', 'music21', 'matplotlib', 'verovio', 'fluidsynth') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_takes_written_from_many_threads_leave_stdout_alone():
    """A library imported quietly swaps ``sys.stdout`` for the whole process; takes written at
    once from several threads (a server, ``bachgen bench``) must not leave it swapped."""
    import sys
    import threading

    from bachgen.render.midi import piece_to_midi_bytes

    piece = make_piece((0, 48, 60), (48, 48, 64), (96, 96, 67))
    before = sys.stdout
    threads = [threading.Thread(target=lambda: [piece_to_midi_bytes(piece) for _ in range(40)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sys.stdout is before
