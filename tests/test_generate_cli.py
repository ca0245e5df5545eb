"""``bachgen generate`` end to end on a tiny bundle: files, JSON summary, errors."""

from __future__ import annotations

import io
import json
import wave

import pytest

from bachgen import cli
from bachgen.bundle import save_bundle

from .test_pipeline import tiny_bundle


@pytest.fixture(scope="module")
def bundle_dir(corpus_config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    save_bundle(tiny_bundle(corpus_config), folder)
    return folder


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_writes_midi_wav_png_svg_and_prints_a_summary(bundle_dir, tmp_path, capsys):
    import pretty_midi

    from bachgen import audio

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


def test_same_seed_same_file(bundle_dir, tmp_path, capsys):
    paths = [tmp_path / f"{i}.mid" for i in range(3)]
    for path, seed in zip(paths, (3, 3, 4)):
        code, _, err = run(capsys, "generate", "--model", bundle_dir, "--events", 30, "--seed", seed,
                           "--copy-limit", 0, "--midi", path)
        assert code == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()


def test_a_seed_file_and_no_seed(bundle_dir, tmp_path, capsys):
    from bachgen.midi import piece_to_midi_bytes

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
    (["--compare", "x.png"], "spelled model"),
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
