"""``bachgen bench`` on tiny bundles made in code: the report's structure and the sanity of its
figures (positive, ratios matching the raw figures), the command's JSON and text."""

from __future__ import annotations

import json

import pytest

from bachgen.cli import main
from bachgen.evaluation import bench
from bachgen.pipeline import load_engine

from .conftest import save_tiny_spelled

#: Benchmarks time real draws of the model (about 15 s): ``make test`` runs them.
pytestmark = pytest.mark.slow

SMALL = {"original_events": 2, "events": 12, "batch": 3}


@pytest.fixture(scope="module")
def spelled_dir(corpus_pieces, tmp_path_factory):
    """A tiny spelled bundle that names its training window (24 tokens)."""
    return save_tiny_spelled(tmp_path_factory.mktemp("spelled"), corpus_pieces, {"fit": {"seq_len": 24}})


@pytest.fixture(scope="module")
def spelled_report(spelled_dir, corpus_config):
    return bench.run_bench(str(spelled_dir), corpus_config, repeats=2, **SMALL)


def _positive_rates(figures: dict) -> None:
    for key in ("seconds", "events_per_s", "tokens_per_s"):
        assert figures[key] > 0, key
    assert figures["tokens"] >= figures["events"]
    assert figures["events_per_s"] == pytest.approx(figures["events"] / figures["seconds"], rel=2e-3)
    assert figures["tokens_per_s"] == pytest.approx(figures["tokens"] / figures["seconds"], rel=2e-3)


def test_a_spelled_bundle_gets_the_spelled_report(spelled_report):
    r = spelled_report
    assert r["kind"] == "spelled" and r["events"] == 12 and r["repeats"] == 2
    assert set(r) >= {"model", "seed", "original", "ours", "numpy_vs_tf", "batch", "end_to_end",
                      "targets", "load_average"}
    assert r["original"]["window_tokens"] == 24 and r["original"]["events"] == 2
    assert r["ours"]["numpy"]["rows"] == r["ours"]["tf"]["rows"] == 1
    assert r["batch"]["rows"] == 3 and r["batch"]["events"] == 3 * 12
    assert set(r["targets"]) == {"one_candidate_events_per_s", "end_to_end_s", "fugue_s"}
    assert all(isinstance(v, bool) for v in r["targets"].values())
    assert r["seed"]["events"] >= 1 and r["seed"]["tokens"] >= r["seed"]["events"]


def test_spelled_figures_are_positive_and_ratios_match_them(spelled_report):
    r = spelled_report
    for figures in (r["original"], r["ours"]["numpy"], r["ours"]["tf"], r["batch"]):
        _positive_rates(figures)
    original = r["original"]["events_per_s"]
    for name in ("numpy", "tf"):
        ours = r["ours"][name]
        assert ours["vs_original"] == pytest.approx(ours["events_per_s"] / original, rel=2e-3)
    numpy_one, tf_one = r["ours"]["numpy"]["events_per_s"], r["ours"]["tf"]["events_per_s"]
    assert r["numpy_vs_tf"] == pytest.approx(numpy_one / tf_one, rel=2e-3)
    assert r["batch"]["vs_one"] == pytest.approx(r["batch"]["events_per_s"] / numpy_one, rel=2e-3)
    assert r["targets"]["one_candidate_events_per_s"] == (numpy_one >= 1000)


def test_takes_at_once_are_timed_both_ways_and_get_the_same_ids(spelled_report):
    s, q = spelled_report["takes_at_once"]["sampler"], spelled_report["takes_at_once"]["queue"]
    assert s["takes"] == q["takes"] == 8 and s["events"] == 12 and s["identical"] is True
    assert s["one_after_another_s"] > 0 and s["batched_s"] > 0
    assert s["speedup"] == pytest.approx(s["one_after_another_s"] / s["batched_s"], rel=2e-3)
    assert s["speedup_cpu"] == pytest.approx(s["one_after_another_cpu_s"] / s["batched_cpu_s"], rel=2e-3)
    assert s["lone_take"]["ratio"] > 0
    for figures in (q["one_after_another"], q["at_once"]):
        assert 0 < figures["p50"] <= figures["max"]
    assert all(1 <= b <= 8 for b in q["batches"])


def test_spelled_end_to_end_is_split_by_stage(spelled_report):
    e = spelled_report["end_to_end"]
    assert e["events"] == 12 and e["seconds"] > 0
    assert {"seed", "sample", "midi", "pianoroll", "audio", "total"} <= set(e["stages_s"])
    assert all(v >= 0 for v in e["stages_s"].values())
    assert e["stages_s"]["total"] <= e["seconds"] + 1e-3
    assert spelled_report["targets"]["end_to_end_s"] == (e["seconds"] <= 1.0)


def test_the_form_s_cost_is_measured_against_the_form_off_in_the_same_run(spelled_report):
    e = spelled_report["end_to_end"]
    assert e["form_off_s"] > 0 and e["default_take_s"] > 0 and e["default_take_bars"] == 24
    assert e["vs_form_off"] == pytest.approx(e["seconds"] / e["form_off_s"], rel=1e-2)
    assert "the form off (baseline, same run)" in bench.format_bench(spelled_report)


def test_a_whole_fugue_is_timed_beside_the_default_take(spelled_report):
    f, e = spelled_report["fugue"], spelled_report["end_to_end"]
    assert (f["voices"], f["bars"]) == (3, 48) and f["events"] > 48 and f["seconds"] > 0
    assert f["vs_default_take"] == pytest.approx(f["seconds"] / e["default_take_s"], rel=1e-2)
    assert spelled_report["targets"]["fugue_s"] == (f["seconds"] <= 3.0)
    assert "a whole fugue, 3 voices, 48 bars" in bench.format_bench(spelled_report)


def test_the_original_loop_writes_whole_events_under_the_grammar(spelled_dir, corpus_config):
    engine = load_engine(spelled_dir, corpus_config)
    row = bench.spelled_seed(engine)
    tokens, seconds = bench.spelled_original_loop(engine.bundle.model, engine.codec, row, 3, 24)
    assert seconds > 0 and 3 <= tokens <= 3 * (engine.codec.max_pitches + 1)


def test_the_window_falls_back_when_the_bundle_does_not_name_it():
    class Bare:
        config: dict = {}

    assert bench.spelled_window(Bare()) == bench.DEFAULT_WINDOW_TOKENS


def test_the_command_prints_json_for_a_spelled_bundle(spelled_dir, capsys):
    code = main(["bench", "--model", str(spelled_dir), "--original-events", "1", "--events", "6",
                     "--batch", "2", "--repeats", "1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["kind"] == "spelled" and report["batch"]["rows"] == 2


def test_the_command_prints_text_for_a_spelled_bundle(spelled_dir, capsys):
    code = main(["bench", "--model", str(spelled_dir), "--original-events", "1", "--events", "6",
                     "--batch", "2", "--repeats", "1"])
    out = capsys.readouterr().out
    assert code == 0
    for part in ("original loop", "NumPy step", "tf.function step", "batch of 2", "end to end",
                 "takes asking at once", "load average"):
        assert part in out


def test_the_player_line_compares_the_servers_cpu_both_ways(spelled_report):
    """The server's part of a take: the browser playing its MIDI against FLAC rendered."""
    player = spelled_report["player"]
    assert player["events"] == SMALL["events"] and player["browser_plays"]["cpu_s"] > 0
    assert player["opening"]["cpu_s"] > 0  # (a take this short has no opening: the whole)
    if player["server_plays"] is not None:  # with FluidSynth on this machine
        server = player["server_plays"]["cpu_s"]
        assert server > 0
        assert player["cpu_ratio"] == pytest.approx(player["browser_plays"]["cpu_s"] / server, abs=2e-3)
    assert "click -> what the page plays" in bench.format_bench(spelled_report)
