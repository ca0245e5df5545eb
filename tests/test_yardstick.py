"""The yardstick of ``bachgen evaluate --generated``: statistics of pieces with known answers,
the band / overlap / classifier comparison, the real corpus through the spelled codec, the report."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen.config import SamplingConfig
from bachgen.evaluation import comparison, report, statistics, yardstick
from bachgen.events import Piece

from .conftest import make_piece

Q = 48  # ticks per quarter note


def scale(start: int = 60, step: int = Q) -> Piece:
    """C major from ``start`` upwards, legato, one note every ``step`` ticks."""
    return make_piece(*[(i * step, step, start + d) for i, d in enumerate((0, 2, 4, 5, 7, 9, 11, 12))])


# --------------------------------------------------------------------------- one piece


@pytest.mark.parametrize("piece, expected", [
    pytest.param(make_piece((0, 4 * Q, 60), (0, 4 * Q, 64), (0, 4 * Q, 67)),
                 {"sounding": 3.0, "two_plus": 1.0, "three_plus": 1.0, "silence": 0.0}, id="held chord"),
    pytest.param(make_piece(*[(i * Q, Q // 2, 60 + i) for i in range(4)]),
                 {"sounding": 1.0, "two_plus": 0.0, "three_plus": 0.0, "silence": 72 / 168}, id="staccato"),
    pytest.param(make_piece((0, 2 * Q, 60), (Q, 2 * Q, 67)),
                 {"sounding": 4 / 3, "two_plus": 1 / 3, "three_plus": 0.0, "silence": 0.0}, id="overlap"),
    pytest.param(make_piece((0, Q, 60, 0), (0, Q, 60, 1)),
                 {"sounding": 1.0, "two_plus": 0.0, "three_plus": 0.0, "silence": 0.0}, id="unison counts once"),
])
def test_texture(piece, expected):
    assert statistics.texture_statistics(piece) == pytest.approx(expected)


def test_a_scale_moves_by_step_on_the_beats():
    values = statistics.piece_statistics(scale())
    assert values["steps"] == 1.0 and values["leaps"] == 0.0
    assert values["scale_consistency"] == 1.0 and values["pitch_range"] == 12
    assert values["note_length"] == 1.0 and values["long_notes"] == 1.0
    assert values["on_sixteenths"] == 1.0 and values["on_beats"] == 1.0
    assert values["pitch_class_entropy"] == pytest.approx(-(6 / 8 * np.log2(1 / 8) + 2 / 8 * np.log2(2 / 8)))


@pytest.mark.parametrize("piece, steps, leaps", [
    pytest.param(make_piece((0, Q, 60), (Q, Q, 80)), 0.0, 1.0, id="leap of a 6th over the octave"),
    pytest.param(make_piece((0, Q // 2, 60), (Q, Q, 62)), 1.0, 0.0, id="step after a rest"),
    pytest.param(make_piece((0, 2 * Q, 48), (0, Q, 72), (Q, Q, 50)), 1.0, 0.0, id="step from the held bass"),
    pytest.param(make_piece((0, Q, 60), (Q, Q, 67)), 0.0, 0.0, id="a fifth"),
])
def test_voice_leading(piece, steps, leaps):
    assert statistics.voice_leading_statistics(piece) == pytest.approx({"steps": steps, "leaps": leaps})


def test_onsets_off_the_sixteenth_grid():
    piece = make_piece((0, 10, 60), (10, 38, 62), (48, 10, 64), (58, 38, 65))
    values = statistics.rhythm_statistics(piece)
    assert values["on_sixteenths"] == 0.5 and values["on_beats"] == 0.5
    assert values["long_notes"] == 0.0


@pytest.mark.parametrize("signature, beat, on_beats", [
    ((3, 4), Q, 3 / 6), ((6, 8), 3 * Q // 2, 2 / 6), ((12, 16), 3 * Q // 4, 2 / 6),
    ((3, 8), Q // 2, 1.0), ((2, 2), 2 * Q, 2 / 6), ((4, 4), Q, 3 / 6),
])
def test_beats_of_the_meter(signature, beat, on_beats):
    """Six eighth notes: in 3/4 every other one is on a beat, in 6/8 (dotted beat) every third."""
    piece = make_piece(*[(i * Q // 2, Q // 2, 60 + i) for i in range(6)], time_signature=signature)
    assert statistics.beat_ticks(piece) == beat
    assert statistics.rhythm_statistics(piece)["on_beats"] == pytest.approx(on_beats)


def test_distinct_8grams_and_an_empty_piece():
    assert statistics.distinct_8grams(make_piece(*[(i * Q, Q, 60) for i in range(12)])) == 1 / 5
    assert statistics.distinct_8grams(scale()) == 1.0
    assert set(statistics.piece_statistics(Piece(()))) == set(statistics.STATISTICS)


def test_stretch_clips_and_keeps_bar_positions():
    piece = make_piece(*[(i * 12, 12, 60 + i % 12) for i in range(600)], time_signature=(3, 4))
    start, end = statistics.stretch_window(piece)
    assert (start, end) == (50 * 12, 450 * 12)
    cut = statistics.stretch(piece)
    assert len(cut.notes) == 400 and cut.notes[0].start == start % (3 * Q)
    assert statistics.piece_statistics(cut)["on_beats"] == pytest.approx(100 / 400)
    short = make_piece(*[(i * Q, Q, 60) for i in range(30)])
    assert statistics.stretch_window(short) == (0, 30 * Q)  # too short: all of it


# --------------------------------------------------------------------------- sets


def random_piece(rng: np.random.Generator, chord: int = 1) -> Piece:
    """A random walk of ``chord``-note chords of random length on the sixteenth grid."""
    notes, time, pitch = [], 0, 60
    for _ in range(24):
        length = int(rng.choice([12, 24, 48]))
        pitch += int(rng.integers(-3, 4))
        notes += [(time, length, pitch + 7 * k) for k in range(chord)]
        time += length
    return make_piece(*notes)


def test_overlap_area():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 200)
    assert comparison.overlap_area(a, a) == pytest.approx(1.0, abs=1e-3)
    assert comparison.overlap_area(a, a + 100) == pytest.approx(0.0, abs=1e-3)
    assert 0.4 < comparison.overlap_area(a, rng.normal(1, 1, 200)) < 0.8  # two normals 1 sd apart: 0.62
    assert comparison.overlap_area([1.0] * 5, [1.0] * 7) == 1.0


def test_compare_tells_different_sets_apart_and_not_the_same():
    rng = np.random.default_rng(7)
    real = [random_piece(rng) for _ in range(30)]
    same = [random_piece(rng) for _ in range(30)]
    chords = [random_piece(rng, chord=3) for _ in range(30)]
    alike = comparison.compare(same, real, seed=3)
    apart = comparison.compare(chords, real, seed=3)
    assert alike["classifier"]["accuracy"] < 0.7
    assert apart["classifier"]["accuracy"] > 0.95
    assert alike["statistics"]["sounding"]["overlap"] == pytest.approx(1.0)
    assert apart["statistics"]["sounding"]["overlap"] == pytest.approx(0.0, abs=1e-3)
    assert apart["statistics"]["sounding"]["inside"] == 0 and apart["all_inside"] == 0
    assert alike["statistics"]["sounding"]["band"] == [1.0, 1.0]
    assert comparison.compare(real, real, seed=3)["all_inside"] == 30


def test_statistics_table_beside_the_band():
    band = statistics.bands([statistics.piece_statistics(scale()), statistics.piece_statistics(scale(48, 24))])
    rows = statistics.statistics_table(scale(), band)
    assert [r["name"] for r in rows] == list(statistics.STATISTICS)
    assert all(r["inside"] for r in rows)
    rows = statistics.statistics_table(make_piece((0, Q, 60), (0, Q, 64)), band)
    sounding = next(r for r in rows if r["name"] == "sounding")
    assert sounding == {"name": "sounding", "label": statistics.LABELS["sounding"], "value": 2.0,
                        "low": 1.0, "high": 1.0, "inside": False}


def test_take_statistics_measure_the_new_music_beside_the_band():
    seed = [(0, 4 * Q, 48), (0, 4 * Q, 55), (0, 4 * Q, 64)]  # a held chord, one bar
    piece = make_piece(*seed, *[(n.start + 4 * Q, n.duration, n.pitch) for n in scale().notes])
    band = statistics.bands([statistics.piece_statistics(scale()), statistics.piece_statistics(scale(48, 24))])
    report = statistics.take_statistics(piece, 4 * Q, band)
    assert report["rows"] == statistics.statistics_table(scale(), band)  # the seed is cut off
    assert report["inside"] == report["measured"] == report["total"] == len(statistics.STATISTICS)
    whole = statistics.take_statistics(piece, None, band)  # no seed in the piece: all of it counts
    assert next(r for r in whole["rows"] if r["name"] == "sounding")["value"] > 1
    assert whole["inside"] < whole["total"]
    bare = statistics.take_statistics(scale())
    assert bare["inside"] is None and bare["measured"] == len(statistics.STATISTICS)
    assert all(r["low"] is None and r["high"] is None and r["inside"] is None for r in bare["rows"])


@pytest.mark.parametrize("piece, unmeasured", [
    pytest.param(Piece(()), set(statistics.STATISTICS), id="empty"),
    pytest.param(make_piece((0, Q, 60), (0, Q, 64)), {"steps", "leaps", "distinct_8grams"}, id="one chord"),
    pytest.param(scale(), set(), id="eight notes"),
])
def test_take_statistics_leave_out_what_cannot_be_measured(piece, unmeasured):
    band = {name: (0.0, 100.0) for name in statistics.STATISTICS}
    report = statistics.take_statistics(piece, None, band)
    assert {r["name"] for r in report["rows"] if r["value"] is None} == unmeasured
    assert all(r["inside"] is None for r in report["rows"] if r["value"] is None)
    assert report["measured"] == report["inside"] == len(statistics.STATISTICS) - len(unmeasured)
    assert statistics.take_statistics(piece, 3 * Q, band)["measured"] <= report["measured"]


# --------------------------------------------------------------------------- real corpus


@pytest.fixture(scope="module")
def two_fugues(corpus_pieces):
    return [p for p in corpus_pieces if p.name in ("wtc1f02", "wtc2f09")]


def test_real_bands_for_reads_the_48_fugues_itself(corpus_config, corpus_pieces):
    band = statistics.real_bands_for(corpus_config, 100)
    assert band == statistics.real_bands(corpus_pieces, 100)
    assert set(band) == set(statistics.STATISTICS) and all(low <= high for low, high in band.values())
    assert band["two_plus"][0] > 0.5 and band["leaps"][1] < 0.1  # the fugues are polyphonic and move by step
    inside = statistics.take_statistics(statistics.stretch(corpus_pieces[1], events=100), None, band)
    assert inside["inside"] == len(statistics.STATISTICS)  # a real stretch is inside the band it belongs to


# --------------------------------------------------------------------------- the spelled model


@pytest.fixture(scope="module")
def spelled_report(engine):
    return yardstick.generated_report(engine, sampling_config=SamplingConfig(events=40, seed=1),
                                      sampling_seeds=[1, 2], fugues=3)


def test_the_spelled_round_trip_keeps_every_real_value(spelled_report):
    row = spelled_report["rows"]["through_spelled"]
    assert row["equals_real"] and row["all_inside"] == row["pieces"] == 48
    assert all(s["overlap"] == pytest.approx(1.0) for s in row["statistics"].values())


def test_a_spelled_report_has_every_row_and_each_seed(spelled_report):
    rows = spelled_report["rows"]
    assert list(rows) == ["real_vs_real", "through_spelled", "generated"]
    row = rows["generated"]
    assert row["pieces"] == 3 and rows["real_vs_real"]["pieces"] == 24
    assert row["settings"]["model"] == "spelled" and row["settings"]["temperature"] == SamplingConfig.temperature
    assert row["label"].startswith("spelled T=") and row["settings"]["seed"] == 1
    assert 0 <= row["stuck"] <= 3 and row["longest_copied_run_max"] >= 1
    assert [s["seed"] for s in row["sampling_seeds"]] == [1, 2]
    assert row["sampling_seeds"][0]["all_inside"] == row["all_inside"]
    assert set(row["spread"]) == {"all_inside", "accuracy", "critic"}
    assert 0.0 <= rows["real_vs_real"]["critic"]["classifier"]["accuracy"] <= 1.0
    assert len(row["critic"]["tells"]) == 10 and row["sampling_seeds"][1]["watched"]
    pieces = spelled_report["generated"]["generated"]["pieces"]
    assert [p["fugue"] for p in pieces] == ["wtc1f01", "wtc1f02", "wtc1f03"]
    assert all(p["events"] == 40 and "real_longest_copied_run" in p for p in pieces)
    text = report.format_report(spelled_report)
    for part in ("real via spelled", "spelled T=1 p=0.9 compass 36-84", "seed      2",
                 "over 2 seeds", "exactly the real values", "longest copied run", "critic accuracy",
                 "bass octave leaps", "critic, real v real"):
        assert part in text


def test_spelled_generations_are_the_new_music_on_the_fugue_grid(engine, corpus_pieces):
    made = yardstick.spelled_generations(engine, SamplingConfig(events=30, seed=4), ["wtc2f09", "wtc1f02"])
    fugues = {p.name: p for p in corpus_pieces}
    for name, piece in zip(made.fugues, made.pieces):
        fugue = fugues[name]
        seed_end, _ = statistics.stretch_window(fugue)  # where event 50 starts: the seed's end
        assert piece.time_signature == fugue.time_signature and piece.key == fugue.key
        assert piece.notes and min(n.start for n in piece.notes) >= seed_end % fugue.bar_ticks
    again = yardstick.spelled_generations(engine, SamplingConfig(events=30, seed=4), ["wtc2f09", "wtc1f02"])
    assert [p.notes for p in again.pieces] == [p.notes for p in made.pieces]  # fixed seed, same music


def test_evaluate_generated_runs_on_a_spelled_bundle(tiny_spelled_dir, capsys):
    import json

    from bachgen.cli import main

    code = main(["evaluate", "--generated", "--model", str(tiny_spelled_dir), "--events", "20",
                     "--fugues", "2", "--sampling-seeds", "5,6", "--temperature", "1.0", "--top-p", "0.95",
                     "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    row = report["rows"]["generated"]
    assert row["pieces"] == 2 and row["label"] == "spelled T=1 p=0.95 compass 36-84"
    assert [s["seed"] for s in row["sampling_seeds"]] == [5, 6]
    assert "through_spelled" in report["rows"] and report["settings"]["sampling_seeds"] == [5, 6]


# --------------------------------------------------------------------------- the bar's pulse


def pulse(offset: int = 0, time_signature=(4, 4)) -> Piece:
    """Two bars: a three-note chord on each beat, one note on each sixteenth between (moved by ``offset``)."""
    notes = []
    beat = Q * 4 // time_signature[1]
    for t in range(0, 2 * time_signature[0] * beat, Q // 4):
        pitches = (48, 55, 64) if t % beat == 0 else (67,)
        notes += [(t + offset, Q // 4, p) for p in pitches]
    return make_piece(*notes, time_signature=time_signature)


@pytest.mark.parametrize("time_signature", [(4, 4), (3, 8), (12, 16)])
def test_the_pulse_of_the_real_piece_matches_itself_and_not_a_slot_later(time_signature):
    real = pulse(0, time_signature)
    slot = statistics.bar_slot(real)
    same = comparison.meter_match([real], [real])
    late = comparison.meter_match([pulse(slot, time_signature)], [real])
    name = "/".join(map(str, time_signature))
    assert same[name]["match"] == pytest.approx(1.0) and same[name]["better"] == 1
    assert late[name]["moved"] == pytest.approx(1.0) and late[name]["better"] == 0
    assert same["all"]["pieces"] == 1
