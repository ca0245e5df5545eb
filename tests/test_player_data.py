"""What the browser's player gets with a take's MIDI file (:mod:`bachgen.render.player_data`),
and where its front end and SoundFont come from (:mod:`bachgen.ui.player`)."""

from __future__ import annotations

import io
import json

import mido
import pytest

from bachgen.errors import ConfigError
from bachgen.events import Note, Piece
from bachgen.render.midi import MIDI_RESOLUTION, piece_to_midi_bytes
from bachgen.render.pianoroll import NEW_COLOUR, voice_colour
from bachgen.render.player_data import MIDI_CHANNELS, player_take
from bachgen.subject import Entry

#: Three voices, highest first (voice 0 the highest), the bass entering late.
PIECE = Piece(tuple([Note(24 + 48 * i, 48, 72 + i % 3, 0) for i in range(8)]
                    + [Note(48 * i, 24, 64 - i % 2, 1) for i in range(8)]
                    + [Note(96 + 48 * i, 96, 48, 2) for i in range(4)]), name="three voices")


def midi_notes(data: bytes) -> list[list[int]]:
    """``[start, end, pitch, channel]`` of every note in a MIDI file, in the piece's ticks."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    scale = MIDI_RESOLUTION // PIECE.resolution
    notes, sounding = [], {}
    for track in midi.tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "note_on" and message.velocity > 0:
                sounding[(message.channel, message.note)] = now
            elif message.type in ("note_off", "note_on"):
                start = sounding.pop((message.channel, message.note))
                notes.append([start // scale, now // scale, message.note, message.channel])
    return sorted(notes)


def test_the_notes_are_the_midi_files_on_each_voices_channel():
    take = player_take(PIECE, 80, take_id=3)
    channels = [voice["channel"] for voice in take["voices"]]
    drawn = sorted([s, e, p, channels[v]] for s, e, p, v in take["notes"])
    assert drawn == midi_notes(piece_to_midi_bytes(PIECE, 80))
    assert [v["name"] for v in take["voices"]] == ["Soprano", "Alto", "Bass"]
    assert [v["colour"] for v in take["voices"]] == [voice_colour(v) for v in range(3)]
    assert channels == list(MIDI_CHANNELS[:3])


def test_times_bars_and_the_first_note():
    take = player_take(PIECE, 60, take_id=1, seed_end_tick=96, autoplay=False)
    assert take["id"] == 1 and take["tempo"] == 60 and take["resolution"] == PIECE.resolution
    assert take["bar_ticks"] == PIECE.bar_ticks and take["total_ticks"] == PIECE.end
    assert take["first_note_s"] == 0.0 and take["seed_end_tick"] == 96 and take["autoplay"] is False
    late = PIECE.with_notes([Note(n.start + 72, n.duration, n.pitch, n.voice) for n in PIECE.notes])
    assert player_take(late, 60, take_id=1)["first_note_s"] == pytest.approx(72 / 48)
    json.dumps(take)  # it goes to the browser as JSON


def test_a_single_voice_is_one_piano_and_the_entries_are_outlined():
    piece = Piece(tuple(Note(48 * i, 48, 60 + i) for i in range(6)))
    entry = Entry(0, 0, (60, 61, 62), (0, 48, 96), 0, "soprano")
    take = player_take(piece, 80, take_id=2, entries=[entry], subject_key="C")
    assert take["voices"] == [{"name": "Piano", "colour": NEW_COLOUR, "channel": 0}]
    assert {n[3] for n in take["notes"]} == {0}
    [mark] = take["entries"]
    assert mark["notes"] == [[0, 48, 60], [48, 96, 61], [96, 144, 62]] and "soprano" in mark["label"]


def test_an_empty_piece_and_a_bad_tempo():
    take = player_take(Piece(()), 80, take_id=1)
    assert take["notes"] == [] and take["total_ticks"] == Piece(()).bar_ticks
    with pytest.raises(ConfigError):
        player_take(PIECE, 0, take_id=1)


def test_the_player_is_built_and_its_soundfont_copied(tmp_path):
    pytest.importorskip("streamlit")
    from bachgen.render.audio import browser_soundfont
    from bachgen.ui.player import BUILT_FILES, SOUNDFONT_FILE, built, ensure_soundfont

    assert not built(tmp_path)
    for name in BUILT_FILES:
        (tmp_path / name).write_text("x")
    assert built(tmp_path)
    copied = ensure_soundfont(build_dir=tmp_path)
    assert copied == tmp_path / SOUNDFONT_FILE
    assert copied.read_bytes()[:4] == b"RIFF" == browser_soundfont().read_bytes()[:4]
    before = copied.stat().st_mtime_ns
    assert ensure_soundfont(build_dir=tmp_path).stat().st_mtime_ns == before  # not copied again


def test_a_soundfont_too_large_for_a_browser_gives_the_small_one(tmp_path, monkeypatch):
    from bachgen.render import audio

    small = audio.find_soundfont()
    big = tmp_path / "big.sf2"
    big.write_bytes(b"RIFF")
    assert audio.browser_soundfont(big) == big
    monkeypatch.setattr(audio, "BROWSER_SOUNDFONT_MAX_BYTES", 2)
    assert audio.browser_soundfont(big).name == "TimGM6mb.sf2" != big.name
    assert small.is_file()


def test_a_whole_fugues_plan_goes_to_the_player_as_the_still_roll_draws_it():
    from bachgen.plan import Section
    from bachgen.render.pianoroll import SECTION_COLOURS

    plan = (Section("exposition", 0, 384), Section("entry", 480, 672, "g", "alto"),
            Section("final entry", 672, 864, "C", "bass"), Section("close", 864, 960))
    take = player_take(PIECE, 80, take_id=2, sections=plan)
    assert [s["label"] for s in take["sections"]] == ["exposition", "g", "final · C", "close"]
    assert [s["colour"] for s in take["sections"]] == [SECTION_COLOURS[s.kind] for s in plan]
    assert (take["sections"][1]["start"], take["sections"][1]["end"]) == (480, 672)
    assert player_take(PIECE, 80, take_id=2)["sections"] == []
