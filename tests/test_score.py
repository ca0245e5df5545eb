"""Sheet music: MusicXML through music21 and a real verovio SVG."""

from __future__ import annotations

import re

import pytest

from bachgen.errors import MissingDependencyError
from bachgen.events import Note, Piece
from bachgen.render.score import musicxml_bytes, notation_grid, score_svg
from bachgen.seeds import load_seed_file
from tests.conftest import make_piece

PIECE = make_piece((0, 96, 60), (0, 48, 48), (48, 48, 43), (96, 16, 64), (112, 16, 65),
                   (128, 16, 67), (144, 8, 72), (152, 8, 71), (160, 8, 69), (168, 30, 67),
                   (200, 100, 55), key="C", name="Little piece")


def test_musicxml_is_a_grand_staff_with_tempo_and_ties():
    xml = musicxml_bytes(PIECE, tempo_bpm=72).decode()
    assert "<score-partwise" in xml
    assert "<staves>2</staves>" in xml or xml.count("<clef") >= 2
    assert re.search(r"<sign>G</sign>", xml) and re.search(r"<sign>F</sign>", xml)
    assert 'tempo="72"' in xml or "<per-minute>72</per-minute>" in xml
    assert "<tie " in xml and "Little piece" in xml


def test_musicxml_reads_back_as_the_same_music():
    piece, _ = load_seed_file(musicxml_bytes(PIECE, 80), "back.musicxml")
    expected = notation_grid(PIECE)
    assert sorted((n.start, n.duration, n.pitch) for n in piece.notes) == sorted(
        (n.start, n.duration, n.pitch) for n in expected.notes)


def test_odd_ticks_are_put_on_a_readable_grid():
    odd = make_piece((0, 5, 60), (5, 13, 62), (18, 1, 64), (19, 77, 65))
    assert all(n.start % 6 == 0 or n.start % 8 == 0 for n in notation_grid(odd).notes)
    assert b"<score-partwise" in musicxml_bytes(odd)


@pytest.mark.parametrize("piece", [
    PIECE,
    Piece(()),
    make_piece((0, 48 * 12, 40)),                      # a note across several bars
    make_piece(*[(i * 8, 8, 60 + i % 5) for i in range(30)], time_signature=(3, 4), key="g"),
])
def test_svg_is_engraved_by_verovio(piece):
    svg = score_svg(piece, 90)
    assert svg.lstrip().startswith("<?xml") or svg.lstrip().startswith("<svg")
    assert "</svg>" in svg
    if piece.notes:
        assert 'class="note"' in svg


@pytest.mark.slow
def test_long_pieces_give_every_page_or_the_first_few():
    long = Piece(tuple(Note(i * 12, 12, 60 + (i * 5) % 20) for i in range(1200)))
    svg = score_svg(long)
    pages = svg.count("<?xml") or svg.count('class="page-margin"')
    assert pages > 1
    first = score_svg(long, max_pages=1)
    assert first.count("<?xml") <= 1 and len(first) < len(svg)


def test_missing_verovio_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "verovio":
            raise ImportError("No module named 'verovio'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError, match="pip install verovio"):
        score_svg(PIECE)


def test_partly_tied_chords_read_back_as_held_notes():
    piece = make_piece((0, 96, 72), (0, 48, 76), (48, 48, 79), (48, 144, 50), (96, 24, 48))
    back, _ = load_seed_file(musicxml_bytes(piece), "chords.musicxml")
    assert sorted((n.start, n.duration, n.pitch) for n in back.notes) == sorted(
        (n.start, n.duration, n.pitch) for n in piece.notes)


def per_voice_reduction(piece: Piece) -> list[tuple[int, int, int]]:
    """(start, duration, pitch) of each voice played as a piano reduction, all voices together."""
    from bachgen.reduction import normalise

    notes = []
    for voice in {n.voice for n in piece.notes}:
        part = piece.with_notes([n for n in piece.notes if n.voice == voice])
        notes += [(n.start, n.duration, n.pitch) for n in normalise(part).notes]
    return sorted(notes)


def test_a_real_fugue_survives_the_round_trip_through_musicxml(corpus_pieces):
    from bachgen.reduction import normalise

    fugue = normalise(corpus_pieces[0])
    back, report = load_seed_file(musicxml_bytes(fugue, 80), "fugue.musicxml")
    expected = per_voice_reduction(notation_grid(fugue))
    assert sorted((n.start, n.duration, n.pitch) for n in back.notes) == expected
    assert report.tempo_bpm == 80


def test_a_real_fugue_in_its_voices_keeps_every_note_through_musicxml(corpus_pieces):
    """Engraved in its kern voices, two voices on one key both sound. Read back, a note
    tied across a bar while another voice strikes its key may come back in two pieces
    (the reader joins ties by pitch), so onsets and sounding time per pitch are compared."""
    from collections import Counter

    fugue = corpus_pieces[0]
    back, _ = load_seed_file(musicxml_bytes(fugue, 80), "fugue.musicxml")
    expected = per_voice_reduction(notation_grid(fugue))
    assert {(s, p) for s, _, p in expected} <= {(n.start, n.pitch) for n in back.notes}
    sounding_expected: Counter = Counter()
    for _, duration, pitch in expected:
        sounding_expected[pitch] += duration
    sounding_back: Counter = Counter()
    for note in back.notes:
        sounding_back[note.pitch] += note.duration
    assert sounding_back == sounding_expected


FIRST_IMPORT_IN_ANOTHER_THREAD = """
import threading
from bachgen.events import Note, Piece
from bachgen.render.score import score_svg

def first():
    import verovio  # as in a server, where another thread imported it first

thread = threading.Thread(target=first)
thread.start()
thread.join()
print('class="note"' in score_svg(Piece((Note(0, 48, 60),))))
"""


def test_svg_works_in_a_thread_that_did_not_import_verovio():
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([sys.executable, "-c", FIRST_IMPORT_IN_ANOTHER_THREAD],
                            capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.strip() == "True", result.stderr[-2000:]


#: Three voices: soprano and alto on the treble staff, a bass below.
VOICED = make_piece((0, 96, 72, 0), (96, 48, 71, 0), (144, 96, 72, 0),
                    (0, 48, 64, 1), (48, 48, 65, 1), (96, 144, 67, 1),
                    (0, 192, 48, 2), (192, 48, 50, 2), time_signature=(3, 4), name="Three voices")


def test_voices_are_written_as_voices_on_the_grand_staff():
    from bachgen.render.score import staff_lines

    upper, lower = staff_lines(VOICED)
    assert [[n.voice for n in line][0] for line in upper] == [0, 1]
    assert [[n.voice for n in line][0] for line in lower] == [2]
    xml = musicxml_bytes(VOICED).decode()
    assert "<voice>2</voice>" in xml and "<backup>" in xml
    assert re.search(r"<sign>G</sign>", xml) and re.search(r"<sign>F</sign>", xml)


def test_voiced_musicxml_reads_back_as_the_same_music():
    back, _ = load_seed_file(musicxml_bytes(VOICED), "voices.musicxml")
    assert sorted((n.start, n.duration, n.pitch) for n in back.notes) == sorted(
        (n.start, n.duration, n.pitch) for n in VOICED.notes)


def test_a_split_real_fugue_engraves_with_its_voices(corpus_pieces):
    from bachgen.reduction import normalise
    from bachgen.voices import split_voices

    fugue = normalise(corpus_pieces[1])
    opening = split_voices(fugue.with_notes([n for n in fugue.notes if n.start < 8 * fugue.bar_ticks]))
    xml = musicxml_bytes(opening)
    back, _ = load_seed_file(xml, "opening.musicxml")
    expected = normalise(notation_grid(opening))
    assert sorted((n.start, n.duration, n.pitch) for n in back.notes) == sorted(
        (n.start, n.duration, n.pitch) for n in expected.notes)
    assert 'class="note"' in score_svg(opening, musicxml=xml)


@pytest.mark.parametrize("label, staff", [((96, 64, "soprano · C"), "1"), ((48, 43, "bass · G"), "2")])
def test_an_entry_label_is_written_above_the_staff_of_its_note(label, staff):
    xml = musicxml_bytes(PIECE, labels=[label]).decode()
    words = re.search(r'<direction placement="above">\s*<direction-type>\s*<words[^>]*>([^<]*)</words>'
                      r'\s*</direction-type>\s*<staff>(\d)</staff>', xml)
    assert words and words.groups() == (label[2], staff)


def test_labels_past_the_last_bar_are_left_out_and_the_score_engraves():
    xml = musicxml_bytes(PIECE, labels=[(0, 60, "alto · c"), (48 * 40, 60, "too late")])
    assert b"alto \xc2\xb7 c" in xml and b"too late" not in xml
    assert "alto" in score_svg(PIECE, musicxml=xml)
