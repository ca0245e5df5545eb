"""Splitting a piano reduction into voices: small pieces by hand, the real fugues as ground truth."""

from __future__ import annotations

import json

import pytest

from bachgen.errors import ConfigError
from bachgen.events import Piece
from bachgen.evaluation.voices import (
    format_voice_report,
    matched_accuracy,
    pitch_range_labels,
    reduction_with_truth,
    voice_accuracy_report,
)
from bachgen.voices import VoiceConfig, estimate_voice_count, split_voices, voice_names
from tests.conftest import make_piece

Q = 48  # ticks per quarter note

#: Two lines in contrary motion, one note each per quarter: they meet and part, never cross.
CONTRARY = make_piece(*[(i * Q, Q, 72 - i) for i in range(6)], *[(i * Q, Q, 60 + i) for i in range(6)])
#: A bass held for a whole bar under two lines moving in quarters.
HELD_BASS = make_piece((0, 4 * Q, 43),
                       *[(i * Q, Q, p) for i, p in enumerate((72, 74, 76, 77))],
                       *[(i * Q, Q, p) for i, p in enumerate((64, 65, 67, 65))])
#: Four voices struck together as chords, then each moving by step.
CHORDS = make_piece(*[(0, Q, p) for p in (72, 67, 64, 48)],
                    *[(Q, Q, p) for p in (74, 65, 62, 47)],
                    *[(2 * Q, Q, p) for p in (76, 64, 60, 48)])
#: A line that rests for a beat in the middle and comes back near where it left off.
RESTING = make_piece(*[(i * Q, Q, 76 - i) for i in range(4)], *[(i * Q, Q, 55 + i) for i in range(4)],
                     *[(i * Q, Q, 70 + i) for i in range(5, 8)], *[(i * Q, Q, 58 - i) for i in range(5, 8)])


def lines(piece: Piece) -> dict[int, list[int]]:
    """Voice -> its pitches in time order."""
    result: dict[int, list[int]] = {}
    for note in sorted(piece.notes):
        result.setdefault(note.voice, []).append(note.pitch)
    return result


@pytest.mark.parametrize("piece, voices, expected", [
    (CONTRARY, 2, {0: [72, 71, 70, 69, 68, 67], 1: [60, 61, 62, 63, 64, 65]}),
    (HELD_BASS, 3, {0: [72, 74, 76, 77], 1: [64, 65, 67, 65], 2: [43]}),
    (CHORDS, 4, {0: [72, 74, 76], 1: [67, 65, 64], 2: [64, 62, 60], 3: [48, 47, 48]}),
    (RESTING, 2, {0: [76, 75, 74, 73, 75, 76, 77], 1: [55, 56, 57, 58, 53, 52, 51]}),
])
@pytest.mark.parametrize("given", [True, False])
def test_hand_made_pieces_split_into_their_lines(piece, voices, expected, given):
    result = split_voices(piece, voices if given else None)
    assert lines(result) == expected


def test_lines_that_cross_keep_their_voices_when_one_holds():
    # The upper line holds G4 while the lower one climbs through it to B4 and back.
    piece = make_piece((0, 4 * Q, 67), *[(i * Q, Q, p) for i, p in enumerate((62, 65, 71, 65))])
    assert lines(split_voices(piece, 2)) == {0: [67], 1: [62, 65, 71, 65]}


def test_notes_are_kept_and_only_voices_change():
    piece = make_piece(*[(n.start, n.duration, n.pitch, 3) for n in CHORDS.notes], name="c", key="C")
    result = split_voices(piece)
    assert [(n.start, n.duration, n.pitch) for n in result.notes] == [
        (n.start, n.duration, n.pitch) for n in piece.notes]
    assert (result.name, result.key) == ("c", "C")


@pytest.mark.parametrize("piece, count", [
    (Piece(()), 1), (make_piece((0, Q, 60), (Q, Q, 62)), 1), (CONTRARY, 2), (HELD_BASS, 3),
    (CHORDS, 4),
])
def test_the_number_of_voices_is_the_usual_texture(piece, count):
    assert estimate_voice_count(piece) == count


def test_one_voice_and_an_empty_piece():
    assert {n.voice for n in split_voices(CONTRARY, 1).notes} == {0}
    assert split_voices(Piece(())).notes == ()


def test_a_chord_thicker_than_the_voices_shares_a_voice():
    piece = make_piece(*[(0, Q, p) for p in (72, 67, 64, 60, 48)], (Q, Q, 71), (Q, Q, 50))
    result = split_voices(piece, 2)
    assert {n.voice for n in result.notes} == {0, 1}
    assert lines(result)[1][-1] == 50 and lines(result)[0][-1] == 71


@pytest.mark.parametrize("voices", [0, 7, 2.5, True, "3"])
def test_a_bad_number_of_voices_is_a_config_error(voices):
    with pytest.raises(ConfigError):
        split_voices(CONTRARY, voices)


@pytest.mark.parametrize("kwargs", [{"beam": 0}, {"rest": -1}, {"cross": float("inf")}])
def test_bad_costs_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        VoiceConfig(**kwargs)


@pytest.mark.parametrize("count, names", [
    (1, ("Voice",)), (2, ("Soprano", "Bass")), (4, ("Soprano", "Alto", "Tenor", "Bass")),
    (6, tuple(f"Voice {i}" for i in range(1, 7))),
])
def test_voice_names(count, names):
    assert voice_names(count) == names


# --------------------------------------------------------------------------- measuring


def test_labels_are_matched_to_voices_before_counting():
    truth = [frozenset({1}), frozenset({1}), frozenset({0}), frozenset({0, 1})]
    assert matched_accuracy([0, 0, 1, 1], truth) == 1.0      # labels swapped: still all right
    assert matched_accuracy([0, 0, 0, 0], truth) == 0.75     # one voice found for two
    assert matched_accuracy([0, 1, 2, 2], truth) == 0.75     # a third label has no voice


def test_a_unison_is_one_note_right_in_either_voice():
    scored = make_piece((0, Q, 60, 0), (0, Q, 60, 1), (Q, Q, 64, 0), (Q, Q, 55, 1))
    reduced, truth = reduction_with_truth(scored)
    assert len(reduced.notes) == 3 and {n.voice for n in reduced.notes} == {0}
    assert frozenset({0, 1}) in truth


def test_the_baseline_splits_by_pitch_quantiles():
    notes = make_piece(*[(i * Q, Q, p) for i, p in enumerate((40, 45, 50, 70, 75, 80))]).notes
    assert pitch_range_labels(notes, 2) == [1, 1, 1, 0, 0, 0]


@pytest.fixture(scope="module")
def fugue_report(corpus_pieces):
    """The voice report on three real fugues (3, 4 and 3 voices)."""
    chosen = [p for p in corpus_pieces if p.name in ("wtc1f01", "wtc1f02", "wtc2f12")]
    return voice_accuracy_report(chosen)


def test_real_fugues_are_split_well_above_the_baseline(fugue_report):
    rows = {row["fugue"]: row for row in fugue_report["fugues"]}
    assert set(rows) == {"wtc1f01", "wtc1f02", "wtc2f12"}
    # Measured with the default VoiceConfig: wtc1f01 0.906, wtc1f02 0.945, wtc2f12 0.937
    # (pitch-range baseline 0.70, 0.78, 0.75); the floors leave a little room for tuning.
    for name, floor in (("wtc1f01", 0.88), ("wtc1f02", 0.92), ("wtc2f12", 0.91)):
        assert rows[name]["accuracy"] >= floor, rows[name]
        assert rows[name]["accuracy"] > rows[name]["baseline"], rows[name]
        assert rows[name]["estimated_voices"] == rows[name]["voices"]
    assert fugue_report["overall"]["accuracy"] >= 0.9


def test_every_fugue_voice_count_is_found(corpus_pieces):
    for piece in corpus_pieces:
        reduced, _ = reduction_with_truth(piece)
        assert estimate_voice_count(reduced) == len({n.voice for n in piece.notes}), piece.name


def test_the_report_prints_as_a_table_and_as_json(fugue_report):
    table = format_voice_report(fugue_report)
    assert table.splitlines()[0].split()[:4] == ["fugue", "notes", "voices", "found"]
    assert "wtc1f02" in table and "overall" in table
    assert json.loads(json.dumps(fugue_report))["overall"]["pieces"] == 3


def test_evaluate_voices_runs_the_voice_report_and_keeps_the_other_modes(monkeypatch):
    import bachgen.cli.evaluate as evaluate
    from bachgen.cli import build_parser

    monkeypatch.setattr(evaluate, "cmd_voices", lambda args: 3)
    monkeypatch.setattr(evaluate, "cmd_held_out", lambda args: 7)
    monkeypatch.setattr(evaluate, "cmd_generated", lambda args: 9)
    monkeypatch.setattr(evaluate, "cmd_whole_fugues", lambda args: 11)
    parser = build_parser()
    for argv, code in ((["evaluate"], 7), (["evaluate", "--voices", "--json"], 3), (["evaluate", "--generated"], 9),
                       (["evaluate", "--whole-fugues"], 11)):
        args = parser.parse_args(argv)
        assert args.handler(args) == code, argv
    with pytest.raises(ConfigError, match="Choose one of"):
        args = parser.parse_args(["evaluate", "--voices", "--generated"])
        args.handler(args)


@pytest.mark.parametrize("seed, count", [
    ("wtc1f01", 4), ("wtc1f04", 5), ("wtc1f10", 2), ("nonsense", None), (None, None),
])
def test_a_seed_fugue_gives_its_number_of_voices(seed, count):
    from bachgen.voices import seed_voice_count

    assert seed_voice_count(seed) == count


def test_a_take_from_a_file_or_a_random_place_estimates_its_voices():
    from bachgen.pipeline import SeedSpec
    from bachgen.voices import seed_voice_count, split_take

    assert seed_voice_count(SeedSpec(fugue="wtc1f02")) == 3
    assert seed_voice_count(SeedSpec(fugue="wtc1f02", random_place=True)) is None
    assert seed_voice_count(SeedSpec(file_bytes=b"MThd", file_name="take.mid")) is None
    timings: dict[str, float] = {}
    take = split_take(HELD_BASS, SeedSpec(fugue="wtc1f10"), timings)
    assert {n.voice for n in take.notes} == {0, 1} and timings["voices"] >= 0
    assert lines(split_take(HELD_BASS)) == {0: [72, 74, 76, 77], 1: [64, 65, 67, 65], 2: [43]}


def test_a_very_thick_chord_is_shared_out_without_trying_every_sharing(monkeypatch):
    import bachgen.voices as voices

    calls = []
    choices = voices._choices
    monkeypatch.setattr(voices, "_choices", lambda struck, count: calls.append(struck) or choices(struck, count))
    cluster = make_piece(*[(0, Q, 40 + 2 * i) for i in range(24)], *[(Q, Q, 60 + i) for i in range(3)])
    result = split_voices(cluster, 4)
    assert 24 in calls and all(len(choices(struck, 4)) <= voices.MAX_SHARINGS for struck in calls)
    assert {n.voice for n in result.notes if n.start == 0} == {0, 1, 2, 3}


def test_a_piece_s_voice_count_names_and_registers():
    from bachgen.voices import labelled_registers, names_low_to_high, voice_count

    labelled = make_piece((0, 48, 72, 0), (48, 48, 76, 0), (0, 96, 48, 1), (0, 96, 60, 2))
    assert voice_count(labelled) == 3 and labelled_registers(labelled) == (48, 60, 74)
    three = make_piece(*[(t, 48, p) for t in range(0, 960, 48) for p in (48, 60, 67)])
    assert voice_count(three) == 3 and labelled_registers(three) == ()
    assert voice_count(make_piece((0, 48, 60), (48, 48, 62))) == 2  # a line alone: the least a fugue has
    assert names_low_to_high(3) == ("bass", "alto", "soprano")
    assert names_low_to_high(2) == ("bass", "soprano")
