"""How a piece ends, the form figures of the yardstick, and a take's form from seed to file:
the subject a take keeps, a close written anew when it is continued, ``bachgen entries``."""

from __future__ import annotations

import json

import pytest

from bachgen import cli
from bachgen.config import FormConfig, RenderConfig, SamplingConfig
from bachgen.evaluation.form import dissonant_beats, false_alarms, form_of, form_summary
from bachgen.form import ending
from bachgen.pipeline import ComposeSettings, SeedSpec, compose, load_engine
from bachgen.render.midi import piece_to_midi_bytes
from bachgen.subject import Subject

from .conftest import make_piece

Q = 48


@pytest.mark.parametrize("notes, expected", [
    # G in the bass, then a C major chord held a half note: every check passes
    (((0, 96, 43), (0, 96, 62), (96, 96, 48), (96, 96, 64), (96, 96, 67)), (True, True, True, True)),
    # the same over a C pedal: the bass before the pedal is the dominant
    (((0, 96, 43), (96, 192, 36), (192, 96, 48), (192, 96, 64)), (True, True, True, True)),
    # ends on the dominant
    (((0, 96, 48), (96, 96, 43), (96, 96, 62)), (False, False, True, False)),
    # a tonic chord, but an eighth long and from the subdominant
    (((0, 96, 41), (96, 24, 48), (96, 24, 64)), (True, True, False, False)),
])
def test_the_ending_check(notes, expected):
    found = ending(make_piece(*notes, key="C"))
    assert (found.tonic_bass, found.tonic_chord, found.held, found.from_dominant) == expected
    assert found.closes == all(expected[:3])


def test_a_piece_without_a_key_or_notes_has_no_ending():
    assert ending(make_piece((0, 48, 60))) is None
    assert ending(make_piece(key="C")) is None


def test_dissonant_beats_count_the_beats_with_a_second_seventh_tritone_or_fourth_over_the_bass():
    piece = make_piece((0, 48, 60), (0, 48, 64), (48, 48, 60), (48, 48, 65), (96, 48, 60), (96, 48, 62),
                       (144, 48, 60))
    assert dissonant_beats(piece) == pytest.approx(2 / 4)


def test_form_figures_of_a_piece_and_a_set():
    line = ((0, 24, 72), (24, 24, 71), (48, 48, 72), (96, 48, 67), (144, 24, 68))
    subject = Subject(tuple(make_piece(*line).notes), 0, "c", "a test")
    piece = make_piece(*line, *[(960 + s, d, p - 5) for s, d, p in line], (1920, 96, 36), (1920, 96, 48),
                       key="c")
    form = form_of(piece, subject, "c")
    assert form["entries"] == 2 and form["levels"] == [0, 7] and form["ending"]["tonic_bass"]
    summary = form_summary([form, form_of(piece, None, "c")])
    assert summary["with_subject"] == 1 and summary["holding_an_entry"] == 1
    assert summary["two_or_more_levels"] == 1 and summary["ending_tonic_bass"] == 2
    chords = make_piece(*[(t, 48, p) for t in range(0, 960, 48) for p in (48, 55, 64)], key="C")
    assert false_alarms([piece, chords], [subject, None]) == 0.0
    assert false_alarms([chords, piece], [subject, None]) > 0  # the first subject is in the second piece


def settings(seed_spec: SeedSpec, bars: int = 8, **form) -> ComposeSettings:
    return ComposeSettings(seed_spec, SamplingConfig(seed=2, bars=bars),
                           RenderConfig(audio=False, score=False, pianoroll=False), FormConfig(best_of=1, **form))


@pytest.fixture(scope="module")
def shipped(corpus_config):
    return load_engine(None, corpus_config)  # the shipped model: its takes lie on the grid a file keeps


def before(piece, tick):
    """The notes as they sound before ``tick`` (a note held on past it is cut there)."""
    return sorted((n.start, min(n.end, tick) - n.start, n.pitch) for n in piece.notes if n.start < tick)


def test_a_take_keeps_its_subject_and_its_close_is_written_anew_when_it_is_continued(shipped):
    take = compose(settings(SeedSpec(fugue="wtc1f02")), shipped)
    assert take.subject is not None and take.stats["ending"]["closes"]
    more = compose(settings(SeedSpec(fugue=None, file_bytes=take.midi, file_name="take.mid",
                                     continue_take=True), bars=6), shipped)
    assert more.subject == take.subject
    assert any("its last 2 bars are written anew" in n for n in more.notices)
    cut = (take.piece.bars - 2) * take.piece.bar_ticks
    assert more.seed_end_tick == cut and before(more.piece, cut) == before(take.piece, cut)
    assert more.stats["ending"]["closes"]


def test_a_file_that_opens_with_chords_is_continued_without_entries_and_says_so(engine):
    chords = make_piece(*[(t, 48, p) for t in range(0, 960, 48) for p in (48, 55, 64)], key="C")
    made = compose(settings(SeedSpec(fugue=None, file_bytes=piece_to_midi_bytes(chords), file_name="chords.mid")),
                   engine)
    assert made.subject is None and made.entries == []
    assert any("does not open with one voice alone" in n for n in made.notices)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_bachgen_entries_lists_a_fugue_s_entries(corpus_config, capsys):
    code, out, err = run(capsys, "entries", f"{corpus_config.corpus_dir}/wtc1f02.krn", "--json")
    assert code == 0, err
    found = json.loads(out)
    assert (11, "soprano", "E-") in {(e["bar"], e["voice"], e["key"]) for e in found["entries"]}
    assert found["entries_per_10_bars"] > 1


def test_bachgen_entries_reads_a_take_s_own_subject(engine, tmp_path, capsys):
    take = compose(settings(SeedSpec(fugue="wtc1f02")), engine)
    path = tmp_path / "take.mid"
    path.write_bytes(take.midi)
    code, out, err = run(capsys, "entries", path)
    assert code == 0, err
    assert f"{len(take.entries)} entries in" in out and "wtc1f02" in out


@pytest.mark.parametrize("argv, message", [
    (("--fugue", "wtc9f99"), "Unknown fugue"),
    ((), "No subject of five notes or more"),
])
def test_bachgen_entries_refuses_what_it_cannot_use(tmp_path, capsys, argv, message):
    chords = make_piece(*[(t, 48, p) for t in range(0, 480, 48) for p in (48, 55, 64)], key="C")
    path = tmp_path / "chords.mid"
    path.write_bytes(piece_to_midi_bytes(chords))
    code, out, err = run(capsys, "entries", path, *argv)
    assert code == 2 and message in err
