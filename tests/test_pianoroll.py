"""Piano-roll pictures: real PNGs of the requested size, for every option."""

from __future__ import annotations

import struct

import pytest

from bachgen.errors import ConfigError
from bachgen.events import Note, Piece
from bachgen.render.pianoroll import _pitch_ticks, pianoroll_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PIECE = Piece(tuple(Note(i * 12, 24, 48 + (i * 5) % 30) for i in range(120)), name="roll")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_a_voice_echoing_its_own_entry_is_outlined_without_a_second_label():
    from bachgen.render.pianoroll import entry_marks
    from bachgen.subject import Entry

    piece = Piece((Note(0, 96, 60), Note(48, 96, 62), Note(96, 96, 64), Note(144, 96, 66)))
    first, echo, other = (Entry(0, 0, (60, 62), (0, 48), 0, "alto"), Entry(48, 0, (62, 64), (48, 96), 0, "alto"),
                          Entry(96, 4, (64, 66), (96, 144), 0, "bass"))
    assert [m.label for m in entry_marks(piece, [first, echo, other], "C")] == ["alto · C", "", "bass · E"]


@pytest.mark.parametrize("axis", ["seconds", "bars"])
@pytest.mark.parametrize("seed_end", [None, 0, 240, 10_000])
def test_png_for_every_axis_and_seed_split(axis, seed_end):
    data = pianoroll_png(PIECE, seed_end_tick=seed_end, axis=axis, title="A roll")
    assert png_size(data) == (1000, 400)
    assert len(data) > 5_000


def test_size_and_dpi_are_honoured():
    assert png_size(pianoroll_png(PIECE, size_inches=(6, 3), dpi=50)) == (300, 150)


def test_empty_piece_still_draws():
    assert png_size(pianoroll_png(Piece(()), seed_end_tick=48)) == (1000, 400)


def test_seed_and_new_music_use_different_colours():
    from io import BytesIO

    from matplotlib.image import imread

    seed_only = imread(BytesIO(pianoroll_png(PIECE, seed_end_tick=10_000)))
    new_only = imread(BytesIO(pianoroll_png(PIECE, seed_end_tick=None)))
    assert (seed_only != new_only).any()


def test_pitch_labels():
    assert _pitch_ticks(60, 64) == [60, 61, 62, 63, 64]
    assert _pitch_ticks(40, 90) == [48, 60, 72, 84]


@pytest.mark.parametrize("kwargs", [{"axis": "beats"}, {"tempo_bpm": 0}])
def test_bad_options_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        pianoroll_png(PIECE, **kwargs)


def test_no_pyplot_state_is_used():
    import sys

    pianoroll_png(PIECE)
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or not pyplot.get_fignums()


def test_a_comparison_stacks_one_roll_per_piece_on_one_time_axis():
    from bachgen.render.pianoroll import comparison_png

    real = Piece((Note(0, 96, 60), Note(0, 96, 67), Note(96, 48, 62)))
    generated = Piece((Note(0, 48, 60), Note(48, 48, 64)))
    one = png_size(comparison_png([("real", real)], row_inches=2.0, dpi=50))
    two = png_size(comparison_png([("real", real), ("generated", generated)], row_inches=2.0, dpi=50))
    assert one == (500, 100) and two == (500, 200)


def test_a_comparison_of_nothing_is_refused():
    from bachgen.errors import ConfigError
    from bachgen.render.pianoroll import comparison_png

    with pytest.raises(ConfigError, match="at least one piece"):
        comparison_png([])


def colours_drawn(data: bytes) -> set[str]:
    """The distinct opaque colours of a PNG, as hex strings."""
    from io import BytesIO

    from matplotlib.image import imread

    pixels = imread(BytesIO(data))
    opaque = pixels[pixels[..., 3] > 0.99][:, :3]
    return {"#%02x%02x%02x" % tuple(int(round(c * 255)) for c in rgb) for rgb in opaque}


@pytest.mark.parametrize("count", [2, pytest.param(3, marks=pytest.mark.slow),
                                   pytest.param(4, marks=pytest.mark.slow), 5])
def test_each_voice_is_drawn_in_its_own_colour(count):
    from bachgen.render.pianoroll import NEW_COLOUR, VOICE_COLOURS

    piece = Piece(tuple(Note(i * 48, 48, 80 - 7 * v, v) for v in range(count) for i in range(8)))
    drawn = colours_drawn(pianoroll_png(piece))
    assert set(VOICE_COLOURS[:count]) <= drawn
    assert not set(VOICE_COLOURS[count:]) & drawn and NEW_COLOUR not in drawn


def test_a_single_voice_keeps_the_seed_and_new_music_colours():
    from bachgen.render.pianoroll import NEW_COLOUR, SEED_COLOUR, VOICE_COLOURS

    drawn = colours_drawn(pianoroll_png(PIECE, seed_end_tick=240))
    assert {NEW_COLOUR, SEED_COLOUR} <= drawn and not set(VOICE_COLOURS) & drawn


@pytest.mark.slow
def test_voices_keep_the_seed_lighter():
    from bachgen.render.pianoroll import VOICE_COLOURS

    piece = Piece(tuple(Note(i * 48, 48, 80 - 12 * v, v) for v in range(2) for i in range(8)))
    seeded = colours_drawn(pianoroll_png(piece, seed_end_tick=4 * 48))
    assert set(VOICE_COLOURS[:2]) <= seeded        # the new music in full colour
    plain = colours_drawn(pianoroll_png(piece))
    assert seeded - plain                          # and the seed in lighter shades


# --------------------------------------------------------------------------- entries of the subject

#: A subject of seven notes (eighths, then a quarter), in C minor.
SUBJECT_LINE = ((0, 24, 72), (24, 24, 71), (48, 24, 72), (72, 24, 67), (96, 24, 68), (120, 24, 72),
                (144, 48, 71))


def fugato() -> Piece:
    """The subject alone in the upper voice, then answered a fifth lower in the lower voice
    while the upper voice holds long notes (two voices, 4/4, C minor)."""
    upper = [(s, d, p, 0) for s, d, p in SUBJECT_LINE] + [(192, 192, 75, 0), (384, 192, 74, 0)]
    lower = [(192 + s, d, p - 17, 1) for s, d, p in SUBJECT_LINE] + [(384, 192, 48, 1)]
    return Piece(tuple(Note(*n) for n in upper + lower), key="c", name="fugato")


def test_the_answer_is_found_and_marked_with_its_notes_voice_and_key():
    from bachgen.render.pianoroll import entry_marks
    from bachgen.subject import find_entries, subject_of

    piece = fugato()
    subject = subject_of(piece)
    [entry] = find_entries(piece, subject, start=1)
    [mark] = entry_marks(piece, [entry], subject.key)
    assert mark.notes == tuple((192 + s, 192 + s + d, p - 17) for s, d, p in SUBJECT_LINE)
    assert mark.label == "bass · g"  # two voices: bass and soprano, as the legend names them; a fifth below c


@pytest.mark.parametrize("voice, subject_key, level, label", [
    ("alto", "f", 0, "alto · f"),
    ("soprano", "c", 3, "soprano · E♭"),
    ("tenor", None, 7, "tenor"),
    ("", "C", 6, "F♯"),
    ("", None, 0, "subject"),
])
def test_an_entry_is_labelled_by_its_voice_and_key(voice, subject_key, level, label):
    from bachgen.render.pianoroll import entry_label
    from bachgen.subject import Entry

    assert entry_label(Entry(0, level, (60,), (0,), 0, voice), subject_key) == label


def test_a_note_the_piece_does_not_hold_lasts_to_the_next_onset():
    from bachgen.render.pianoroll import entry_marks
    from bachgen.subject import Entry

    piece = Piece((Note(0, 96, 60), Note(48, 12, 62)))
    [mark] = entry_marks(piece, [Entry(0, 0, (60, 62, 64), (0, 48, 72), 0, "alto")])
    assert mark.notes == ((0, 96, 60), (48, 60, 62), (72, 96, 64))  # the last: half a quarter


@pytest.mark.parametrize("axis", ["seconds", "bars"])
def test_entries_are_outlined_on_a_light_band(axis):
    from bachgen.render.pianoroll import ENTRY_COLOUR, ENTRY_SHADE
    from bachgen.subject import find_entries, subject_of

    piece = fugato()
    subject = subject_of(piece)
    entries = find_entries(piece, subject)
    assert len(entries) == 2
    plain = colours_drawn(pianoroll_png(piece, axis=axis))
    marked = colours_drawn(pianoroll_png(piece, axis=axis, entries=entries, subject_key="c"))
    assert {ENTRY_SHADE, ENTRY_COLOUR} <= marked
    assert ENTRY_SHADE not in plain


def test_a_comparison_marks_each_rows_own_entries():
    from bachgen.render.pianoroll import ENTRY_SHADE, comparison_png
    from bachgen.subject import find_entries, subject_of

    piece = fugato()
    entries = find_entries(piece, subject_of(piece))
    rows = [("real", piece), ("generated", piece)]
    assert ENTRY_SHADE in colours_drawn(comparison_png(rows, entries=[entries], subject_key="c"))
    assert ENTRY_SHADE not in colours_drawn(comparison_png(rows, entries=[[], []]))
