"""Seed files from users: good files in every format, and every kind of bad file.

Hostile files are built here byte by byte; the rule under test is that each one
either loads sensibly or raises SeedFileError with one readable line, and that no
other exception ever escapes :func:`load_seed_file`.
"""

from __future__ import annotations

import io
import struct
import zipfile

import mido
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bachgen.errors import ConfigError, SeedFileError
from bachgen.events import Note, Piece
from bachgen.render.midi import piece_to_midi_bytes
from bachgen.seeds import SeedLimits, detect_format, load_seed_file, snap_tick

# --------------------------------------------------------------------------- builders


def midi_file(tracks: list[list[mido.Message | mido.MetaMessage]], *, kind: int = 1,
              ticks_per_beat: int = 480) -> bytes:
    """A MIDI file from message lists (``time`` = delta ticks)."""
    midi = mido.MidiFile(type=kind, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        track = mido.MidiTrack()
        track.extend(messages)
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def notes_track(notes: list[tuple[int, int, int]], channel: int = 0
                ) -> list[mido.Message]:
    """``(start, end, pitch)`` in ticks as note_on / note_off messages with delta times."""
    events = []
    for start, end, pitch in notes:
        events.append((start, 1, pitch))
        events.append((end, 0, pitch))
    events.sort()
    messages, now = [], 0
    for tick, on, pitch in events:
        kind = "note_on" if on else "note_off"
        messages.append(mido.Message(kind, note=pitch, velocity=64 if on else 0, channel=channel,
                                     time=tick - now))
        now = tick
    return messages


SCALE = [(i * 480, (i + 1) * 480, 60 + step) for i, step in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]


def assert_one_line(error: SeedFileError) -> None:
    text = str(error)
    assert "\n" not in text and 10 < len(text) < 300
    assert error.hint or "." in text


# --------------------------------------------------------------------------- grid


@pytest.mark.parametrize("tick, expected", [
    (0, 0), (6, 6), (8, 8), (16, 16), (24, 24), (7.2, 8), (6.9, 6), (2.9, 0), (3.5, 6),
    (46.9, 48), (40.5, 40), (42.2, 42),
])
def test_snap_tick_picks_the_nearer_of_the_32nd_and_triplet_grids(tick, expected):
    assert snap_tick(tick) == expected


# --------------------------------------------------------------------------- good files


def test_a_plain_midi_file_loads_exactly():
    piece, report = load_seed_file(midi_file([notes_track(SCALE)]), "scale.mid")
    assert [(n.start, n.duration, n.pitch) for n in piece.notes] == [
        (i * 48, 48, p) for i, (_, _, p) in enumerate(SCALE)]
    assert report.format == "midi" and report.notes_read == 8 and report.notes_kept == 8
    assert report.quantised_moves == 0 and piece.key == "C"
    assert piece.name == "scale" and report.tempo_bpm == 120.0


def test_our_own_midi_output_reads_back_the_same_notes():
    original = Piece((Note(0, 48, 60), Note(0, 96, 48), Note(48, 16, 64), Note(64, 16, 65),
                      Note(80, 16, 67), Note(96, 6, 72), Note(102, 6, 71)), key="C")
    piece, report = load_seed_file(piece_to_midi_bytes(original, tempo_bpm=72), "mine.midi")
    assert [(n.start, n.duration, n.pitch) for n in piece.notes] == [
        (n.start, n.duration, n.pitch) for n in original.notes]
    assert report.tempo_bpm == pytest.approx(72, abs=0.01)


def test_a_human_performance_is_quantised_and_velocities_and_pedal_ignored():
    jitter = [13, -9, 21, -17, 5, 0, -20, 11]
    notes = [(max(0, s + j), e + j // 2 - 30, p) for (s, e, p), j in zip(SCALE, jitter)]
    track = [mido.Message("control_change", control=64, value=127)] + notes_track(notes)
    piece, report = load_seed_file(midi_file([track]), "played.mid")
    assert [n.start for n in piece.notes] == [i * 48 for i in range(8)]
    assert all(n.start % 6 == 0 or n.start % 8 == 0 for n in piece.notes)
    assert report.quantised_moves >= 7


def test_format_0_and_format_2_are_read():
    zero, _ = load_seed_file(midi_file([notes_track(SCALE)], kind=0), "zero.mid")
    two_bytes = midi_file([[mido.MetaMessage("set_tempo", tempo=400_000)], notes_track(SCALE),
                           notes_track([(0, 480, 40)])], kind=2)
    two, report = load_seed_file(two_bytes, "two.mid")
    assert len(zero.notes) == 8
    assert [n.pitch for n in two.notes] == [p for _, _, p in SCALE]
    assert any("format 2" in line for line in report.notes)


@pytest.mark.parametrize("ticks_per_beat", [1, 3, 96, 960, 32767])
def test_extreme_resolutions(ticks_per_beat):
    notes = [(i * ticks_per_beat, (i + 1) * ticks_per_beat, 60 + i) for i in range(4)]
    piece, _ = load_seed_file(midi_file([notes_track(notes)], ticks_per_beat=ticks_per_beat),
                              "res.mid")
    assert [(n.start, n.duration) for n in piece.notes] == [(i * 48, 48) for i in range(4)]


@pytest.mark.parametrize("tempo_us, reported", [(0xFFFFFF, 20.0), (50_000, 300.0), (0, 120.0),
                                                (1, 300.0), (600_000, 100.0)])
def test_extreme_tempos_are_clamped_in_the_report_not_in_the_notes(tempo_us, reported):
    track = [mido.MetaMessage("set_tempo", tempo=tempo_us)] + notes_track(SCALE[:4])
    piece, report = load_seed_file(midi_file([track]), "tempo.mid")
    assert report.tempo_bpm == pytest.approx(reported)
    assert [n.start for n in piece.notes] == [0, 48, 96, 144]


def test_smpte_time_division_is_read_at_a_nominal_tempo():
    data = bytearray(midi_file([notes_track([(0, 40, 60), (40, 80, 62)])], ticks_per_beat=480))
    data[12:14] = struct.pack(">bB", -25, 40)  # 25 fps x 40 ticks: 1000 ticks a second
    piece, report = load_seed_file(bytes(data), "smpte.mid")
    assert len(piece.notes) == 2 and any("SMPTE" in line for line in report.notes)


def test_drums_are_dropped_and_counted():
    data = midi_file([notes_track(SCALE), notes_track([(0, 100, 36), (240, 300, 38)], channel=9)])
    piece, report = load_seed_file(data, "band.mid")
    assert len(piece.notes) == 8 and report.dropped["drums"] == 2


def test_pitches_outside_the_piano_move_by_octaves():
    piece, report = load_seed_file(midi_file([notes_track([(0, 480, 5), (0, 480, 120),
                                                           (480, 960, 127)])]), "wide.mid")
    assert sorted(n.pitch for n in piece.notes) == [29, 103, 108]
    assert report.moved_into_range == 3


def test_zero_length_notes_are_ignored():
    piece, report = load_seed_file(midi_file([notes_track(SCALE[:2] + [(960, 960, 70)])]),
                                   "zero.mid")
    assert len(piece.notes) == 2 and report.dropped["zero_length"] == 1


def test_a_very_short_note_keeps_one_grid_step():
    piece, report = load_seed_file(midi_file([notes_track([(0, 2, 60), (480, 960, 62)])]),
                                   "short.mid")
    assert piece.notes[0].duration == 6 and report.lengthened == 1


def test_a_note_lasting_an_hour_is_kept_but_capped():
    hour = 480 * 2 * 3600  # ticks at 120 bpm
    piece, report = load_seed_file(midi_file([notes_track([(0, hour, 60), (0, 480, 64)])]),
                                   "hour.mid")
    assert max(n.duration for n in piece.notes) == 32 * 48 and report.capped == 1


def test_unterminated_notes_end_with_their_track_and_repeats_end_the_earlier_note():
    track = [mido.Message("note_on", note=60, velocity=90, time=0),
             mido.Message("note_on", note=60, velocity=90, time=480),
             mido.Message("note_on", note=64, velocity=90, time=0),
             mido.MetaMessage("marker", text="end", time=480)]
    piece, _ = load_seed_file(midi_file([track]), "open.mid")
    assert [(n.start, n.duration, n.pitch) for n in piece.notes] == [
        (0, 48, 60), (48, 48, 60), (48, 48, 64)]


def test_too_many_notes_are_truncated_with_a_report():
    notes = [(i * 120, i * 120 + 120, 60 + i % 12) for i in range(21_000)]
    piece, report = load_seed_file(midi_file([notes_track(notes)]), "long.mid",
                                   SeedLimits(max_minutes=1000))
    assert len(piece.notes) == 20_000 and report.truncated == 1_000


def test_music_past_the_length_limit_is_cut_off():
    notes = [(0, 480, 60), (480 * 2 * 60 * 30, 480 * 2 * 60 * 30 + 480, 62)]  # second at 30 min
    piece, report = load_seed_file(midi_file([notes_track(notes)]), "late.mid")
    assert len(piece.notes) == 1 and report.truncated == 1


def test_leading_silence_is_removed_in_whole_bars():
    piece, report = load_seed_file(midi_file([notes_track([(480 * 9, 480 * 10, 60)])]), "late.mid")
    assert piece.notes[0].start == 48 and report.leading_bars_removed == 2


def test_riff_wrapped_midi_is_unwrapped():
    inner = midi_file([notes_track(SCALE)])
    riff = b"RIFF" + struct.pack("<I", len(inner) + 12) + b"RMIDdata" + struct.pack("<I", len(inner))
    piece, _ = load_seed_file(riff + inner, "song.rmi")
    assert len(piece.notes) == 8


MUSICXML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>Piano</part-name>
</score-part></part-list><part id="P1"><measure number="1"><attributes><divisions>2</divisions>
<key><fifths>0</fifths></key><time><beats>3</beats><beat-type>4</beat-type></time></attributes>
<note><pitch><step>C</step><octave>4</octave></pitch><duration>2</duration></note>
<note><pitch><step>E</step><octave>4</octave></pitch><duration>1</duration></note>
<note><pitch><step>G</step><octave>4</octave></pitch><duration>1</duration></note>
<note><pitch><step>C</step><octave>5</octave></pitch><duration>2</duration></note>
</measure></part></score-partwise>
"""


def test_musicxml_and_mxl_load():
    piece, report = load_seed_file(MUSICXML.encode(), "tune.musicxml")
    assert [(n.start, n.duration, n.pitch) for n in piece.notes] == [
        (0, 48, 60), (48, 24, 64), (72, 24, 67), (96, 48, 72)]
    assert piece.time_signature == (3, 4) and report.format == "musicxml"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/container.xml",
                         '<container><rootfiles><rootfile full-path="score.xml"/></rootfiles>'
                         "</container>")
        archive.writestr("score.xml", MUSICXML)
    zipped, report = load_seed_file(buffer.getvalue(), "tune.mxl")
    assert zipped.notes == piece.notes and report.format == "mxl"


def test_musicxml_named_mid_is_recognised_and_noted():
    piece, report = load_seed_file(MUSICXML.encode(), "actually-xml.mid")
    assert len(piece.notes) == 4
    assert any("named .mid" in line for line in report.notes)


KERN = "**kern\n*M4/4\n=1\n4c\n4d\n4e\n4f\n=2\n1g\n==\n*-\n"


def test_kern_loads():
    piece, report = load_seed_file(KERN.encode(), "tune.krn")
    assert [(n.start, n.pitch) for n in piece.notes] == [
        (0, 60), (48, 62), (96, 64), (144, 65), (192, 67)]
    assert report.format == "kern"


# --------------------------------------------------------------------------- bad files

HEADER_ONLY = b"MThd" + struct.pack(">IHHH", 6, 1, 0, 480)


@pytest.mark.parametrize("data, filename, words", [
    (b"", "empty.mid", "empty"),
    (b"   \n", "blank.mid", "empty"),
    (bytes(range(256)) * 4, "noise.mid", "not a MIDI"),
    (bytes(range(256)) * 4, "noise.bin", "not a MIDI"),
    (b"hello, this is a letter\n", "letter.mid", "text file, not MIDI"),
    (b"<html><body>404</body></html>", "page.mid", "not MusicXML"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "take.wav", "audio"),
    (HEADER_ONLY, "header.mid", "no notes"),
    (b"MThd\x00\x00\x00\x06", "cut-header.mid", "truncated"),
    (b"MThd" + struct.pack(">IHHH", 6, 1, 0, 0), "zero-division.mid", "0 ticks per beat"),
    (b"PK\x03\x04" + b"\x00" * 40, "broken.mxl", "zip"),
    (b"**kern\n*-\n", "empty.krn", "no notes"),
])
def test_bad_files_raise_one_clear_line(data, filename, words):
    with pytest.raises(SeedFileError) as caught:
        load_seed_file(data, filename)
    assert words in str(caught.value)
    assert_one_line(caught.value)


def test_truncated_midi_is_rejected_clearly():
    data = midi_file([notes_track(SCALE)])
    with pytest.raises(SeedFileError, match="truncated|damaged"):
        load_seed_file(data[: len(data) - 20], "cut.mid")


def test_drums_only_is_rejected_clearly():
    with pytest.raises(SeedFileError, match="only drums"):
        load_seed_file(midi_file([notes_track([(0, 100, 36)], channel=9)]), "beat.mid")


def test_files_over_the_size_limit_are_rejected_before_parsing():
    with pytest.raises(SeedFileError, match="limit"):
        load_seed_file(midi_file([notes_track(SCALE)]), "big.mid", SeedLimits(max_bytes=50))


def test_a_zip_bomb_is_refused(monkeypatch):
    monkeypatch.setattr("bachgen.formats.MAX_XML_BYTES", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("score.xml", MUSICXML + " " * 5000)
    with pytest.raises(SeedFileError, match="unpacks to more"):
        load_seed_file(buffer.getvalue(), "bomb.mxl")


def test_not_bytes_is_a_seed_file_error():
    with pytest.raises(SeedFileError):
        load_seed_file("MThd", "string.mid")  # type: ignore[arg-type]


def test_detect_format_does_not_trust_the_name():
    assert detect_format(midi_file([notes_track(SCALE)]), "x.xml")[0] == "midi"
    assert detect_format(KERN.encode(), "x.mid")[0] == "kern"


@pytest.mark.parametrize("field, value", [("max_bytes", 0), ("max_notes", 0), ("max_minutes", 0),
                                          ("min_tempo_bpm", 0)])
def test_bad_limits_are_config_errors(field, value):
    with pytest.raises(ConfigError):
        SeedLimits(**{field: value})


# --------------------------------------------------------------------------- properties

VALID_MIDI = midi_file([[mido.MetaMessage("set_tempo", tempo=500_000)],
                        notes_track(SCALE), notes_track([(0, 960, 36)], channel=9)])


def _only_seed_file_errors(data: bytes, filename: str) -> None:
    try:
        piece, report = load_seed_file(data, filename, SeedLimits(max_notes=500, max_minutes=5))
    except SeedFileError as error:
        assert "\n" not in str(error)
        return
    assert piece.notes and len(piece.notes) <= 500
    assert all(21 <= n.pitch <= 108 and n.duration > 0 and n.start >= 0 for n in piece.notes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from(["a.mid", "a.midi", "a.xml", "a.krn", "a"]))
def test_random_bytes_only_raise_seed_file_errors(data, filename):
    _only_seed_file_errors(data, filename)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID_MIDI) - 1), st.integers(0, 255)),
                min_size=1, max_size=8),
       st.integers(0, len(VALID_MIDI)))
def test_mutated_midi_only_raises_seed_file_errors(edits, cut):
    data = bytearray(VALID_MIDI)
    for at, value in edits:
        data[at] = value
    _only_seed_file_errors(bytes(data[: max(cut, 4)]), "mutated.mid")


@pytest.mark.parametrize("grid, gap", [
    (None, 6),   # a file of someone's: onto the 32nd / 16th-triplet grids (620 -> 618)
    (2, 8),      # a take of ours read back on the codec's grid: as it was
])
def test_a_take_read_back_on_the_codecs_grid_keeps_its_notes_where_they_were(grid, gap):
    """A take can hold a note 8 ticks (a 16th triplet) after one on the 32nd grid (620 at 48
    a quarter): on neither grid. Read back to be continued or written again, it must not move
    (the reader starts the music in its first bar: times are compared from the first note)."""
    take = Piece((Note(612, 8, 63), Note(620, 4, 65), Note(624, 24, 60)))
    piece, _ = load_seed_file(piece_to_midi_bytes(take), "take.mid", SeedLimits(grid=grid))
    first = min(n.start for n in piece.notes)
    got = sorted((n.start - first, n.duration, n.pitch) for n in piece.notes)
    assert got[1][0] - got[0][0] == gap
    if grid is not None:
        assert got == [(0, 8, 63), (8, 4, 65), (12, 24, 60)]


def test_a_grid_below_one_tick_is_refused():
    with pytest.raises(ConfigError):
        SeedLimits(grid=0)
