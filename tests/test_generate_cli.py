"""``bachgen generate`` end to end on a tiny bundle: files, JSON summary, errors."""

from __future__ import annotations

import io
import json
import wave
from types import SimpleNamespace

import pytest

from bachgen import cli
from bachgen.cli.generate import summary


@pytest.fixture(scope="module")
def bundle_dir(tiny_spelled_dir):
    return tiny_spelled_dir


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_writes_midi_wav_png_svg_and_prints_a_summary(bundle_dir, tmp_path, capsys):
    import pretty_midi

    from bachgen.render import audio

    files = {k: tmp_path / f"out.{k}" for k in ("mid", "wav", "png", "musicxml", "svg")}
    code, out, err = run(capsys, "generate", "--model", bundle_dir, "--fugue", "wtc1f02", "--events", 40,
                         "--temperature", 0.9, "--seed", 7, "--start-bar", 2, "--snap", "to-c",
                         "--top-k", 50, "--top-p", 0.95, "--tempo", 96, "--with-seed",
                         "--midi", files["mid"], "--wav", files["wav"], "--pianoroll", files["png"],
                         "--musicxml", files["musicxml"], "--svg", files["svg"])
    assert code == 0, err
    summary = json.loads(out)
    assert summary["events"] == 40 and summary["notes"] > 0 and summary["seconds_of_music"] > 0
    assert {"loop_recoveries", "longest_copied_run", "timings_s"} <= set(summary)
    assert {"seed", "sample", "midi", "pianoroll", "total"} <= set(summary["timings_s"])
    midi = pretty_midi.PrettyMIDI(str(files["mid"]))
    assert midi.instruments and midi.instruments[0].notes
    assert files["png"].read_bytes().startswith(b"\x89PNG")
    assert b"score-partwise" in files["musicxml"].read_bytes()
    assert "<svg" in files["svg"].read_text()
    if audio.fluidsynth_available():
        with wave.open(io.BytesIO(files["wav"].read_bytes())) as w:
            assert w.getnchannels() == 2 and w.getnframes() > 0


@pytest.mark.slow
def test_same_seed_same_file(bundle_dir, tmp_path, capsys):
    paths = [tmp_path / f"{i}.mid" for i in range(3)]
    for path, seed in zip(paths, (3, 3, 4)):
        code, _, err = run(capsys, "generate", "--model", bundle_dir, "--events", 30, "--seed", seed,
                           "--copy-limit", 0, "--midi", path)
        assert code == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()


def test_a_seed_file_and_no_seed(bundle_dir, tmp_path, capsys):
    from bachgen.render.midi import piece_to_midi_bytes

    from .conftest import make_piece

    seed = tmp_path / "mine.mid"
    seed.write_bytes(piece_to_midi_bytes(make_piece(*[(i * 24, 24, 62 + i % 5) for i in range(20)])))
    code, out, err = run(capsys, "generate", "--model", bundle_dir, "--seed-file", seed, "--events", 20,
                         "--seed", 1)
    assert code == 0, err
    assert json.loads(out)["seed"] == "file mine.mid"
    code, out, err = run(capsys, "generate", "--model", bundle_dir, "--fugue", "none", "--events", 20,
                         "--copy-limit", 0)
    assert code == 0, err
    assert json.loads(out)["events"] == 20


@pytest.mark.parametrize("argv, message", [
    (["--seed-file", "BAD"], "bad.mid"),
    (["--seed-file", "MISSING"], "Cannot read the seed file"),
    (["--fugue", "wtc9f99"], "Unknown fugue"),
    (["--fugue", "all"], "--out-dir"),
    (["--start-bar", "9999"], "--start-bar must be between 1 and"),
    (["--start-bar", "0"], "--start-bar must be 1 or more"),
    (["--temperature", "0"], "temperature"),
    (["--events", "0"], "events must be between 1 and"),
    (["--soundfont", "MISSING"], "soundfont"),
    (["--midi", "FOLDER"], "is a folder"),
    (["--fugue", "none", "--compare", "x.png"], "real continuation"),
])
def test_bad_input_is_one_line_and_status_2(bundle_dir, tmp_path, capsys, argv, message):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd this is not a midi file at all")
    places = {"BAD": str(bad), "MISSING": str(tmp_path / "nope.mid"), "FOLDER": str(tmp_path)}
    argv = [places.get(a, a) for a in argv]
    code, out, err = run(capsys, "generate", "--model", bundle_dir, "--events", 10, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bachgen: error:") and message in lines[0]
    assert "Traceback" not in err


def test_a_missing_bundle_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "generate", "--model", tmp_path / "none", "--events", 10)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_all_fugues_into_a_folder(bundle_dir, tmp_path, capsys, monkeypatch):
    from bachgen import catalog

    monkeypatch.setattr(catalog, "fugue_ids", lambda: ["wtc1f01", "wtc2f24"])
    code, out, err = run(capsys, "generate", "--model", bundle_dir, "--fugue", "all", "--events", 12,
                         "--seed", 2, "--out-dir", tmp_path / "all")
    assert code == 0, err
    assert [p["fugue"] for p in json.loads(out)["pieces"]] == ["wtc1f01", "wtc2f24"]
    assert (tmp_path / "all" / "wtc2f24.mid").read_bytes().startswith(b"MThd")
    assert (tmp_path / "all" / "wtc1f01.png").is_file()


def _notes_before(path, seconds):
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(path))
    return sorted((round(n.start, 4), round(min(n.end, seconds) - n.start, 4), n.pitch)
                  for inst in midi.instruments for n in inst.notes if n.start < seconds - 1e-6)


@pytest.mark.slow
def test_a_take_is_continued_or_written_again_after_its_first_bars(tmp_path, capsys):
    """With the shipped model: a take of music, written by the network and read back from MIDI."""
    import pretty_midi

    take, more, again = tmp_path / "take.mid", tmp_path / "more.mid", tmp_path / "again.mid"
    common = ("--tempo", 60)
    assert run(capsys, "generate", *common, "--events", 60, "--seed", 1, "--midi", take)[0] == 0
    end = pretty_midi.PrettyMIDI(str(take)).get_end_time()
    code, out, err = run(capsys, "generate", *common, "--continue", take, "--events", 20, "--seed", 2,
                         "--midi", more)
    assert code == 0, err
    assert "continued" in json.loads(out)["seed"] and pretty_midi.PrettyMIDI(str(more)).get_end_time() > end
    assert _notes_before(more, end) == _notes_before(take, end)
    code, out, err = run(capsys, "generate", *common, "--continue", take, "--keep-bars", 2, "--events", 20,
                         "--seed", 2, "--midi", again)
    assert code == 0, err
    assert "bars 1–2" in json.loads(out)["seed"]
    assert _notes_before(again, 8.0) == _notes_before(take, 8.0)  # two 4/4 bars at 60 a minute


@pytest.mark.parametrize("argv, message", [
    (("--keep-bars", 2), "--keep-bars needs --continue"),
    (("--continue", "{take}", "--keep-bars", 0), "keep_bars must be at least 1"),
    (("--continue", "{take}", "--keep-bars", 400), "must keep some and leave some"),
    (("--continue", "{missing}",), "Cannot read"),
])
def test_shaping_a_take_refuses_what_cannot_work(tiny_spelled_dir, tmp_path, capsys, argv, message):
    take = tmp_path / "take.mid"
    assert run(capsys, "generate", "--model", tiny_spelled_dir, "--events", 30, "--seed", 1, "--midi", take)[0] == 0
    argv = [str(a).format(take=take, missing=tmp_path / "missing.mid") for a in argv]
    code, _, err = run(capsys, "generate", "--model", tiny_spelled_dir, *argv, "--midi", tmp_path / "x.mid")
    assert code == 2 and message in err, err


def test_the_summary_counts_the_loops_the_guard_took_back():
    stats = {"events": 400, "notes": 900, "seconds": 80.0, "loops_taken_back": 3, "longest_copied_run": 5,
             "seed_source": "wtc1f02 from bar 1", "random_seed": 7, "key": "c"}
    made = SimpleNamespace(stats=stats, timings={"total": 0.5}, notices=[])
    assert summary(made, ["out.mid"])["loop_recoveries"] == 3


def test_compare_marks_the_entries_in_bachs_continuation(bundle_dir, tmp_path, capsys):
    """Bach's 200 events after the opening of Book I Fugue 2 bring the subject back; the
    comparison outlines those entries (drawn here, never stored)."""
    from matplotlib.image import imread

    from bachgen.render.pianoroll import ENTRY_SHADE

    png = tmp_path / "compare.png"
    code, _, err = run(capsys, "generate", "--model", bundle_dir, "--fugue", "wtc1f02", "--events", 200,
                       "--seed", 7, "--compare", png)
    assert code == 0, err
    pixels = imread(str(png))[..., :3]
    shade = [int(ENTRY_SHADE[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    assert (abs(pixels - shade).max(axis=-1) < 1e-3).any()
