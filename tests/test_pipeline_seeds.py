"""compose() from every kind of seed: the seed's key and meter kept, reproducible, the real continuation."""

from __future__ import annotations

import hashlib

import pytest

from bachgen.config import RenderConfig, SamplingConfig
from bachgen.errors import ConfigError, SeedFileError
from bachgen.pipeline import ComposeSettings, SeedSpec, compose

QUIET = RenderConfig(audio=False, score=False)


def settings(seed: SeedSpec, events: int = 40, **sampling) -> ComposeSettings:
    return ComposeSettings(seed=seed, sampling=SamplingConfig(events=events, seed=11, **sampling),
                           render=QUIET)


def test_a_bundle_loads_as_the_engine(engine):
    from bachgen.pipeline import Engine
    from bachgen.step import NumpyStep

    assert isinstance(engine, Engine) and engine.codec.name == "spelled"
    assert isinstance(engine.step, NumpyStep)


@pytest.mark.parametrize("seed", [
    SeedSpec(fugue="wtc1f02", start_bar=3),
    SeedSpec(fugue="wtc2f09", start_event=100),   # 4/2
    SeedSpec(fugue=None, random_place=True),
    SeedSpec(fugue=None),
], ids=["fugue-bar", "fugue-event-4/2", "random-place", "no-seed"])
def test_every_seed_gives_the_events_asked_for(engine, seed):
    made = compose(settings(seed), engine)
    assert made.stats["events"] == 40
    assert made.piece.notes and made.midi[:4] == b"MThd" and made.png[:4] == b"\x89PNG"
    assert made.stats["model"] == "spelled"


def test_the_music_keeps_the_seed_key_and_meter_on_its_bar_grid(engine, corpus_pieces):
    fugue = {p.name: p for p in corpus_pieces}["wtc2f09"]
    made = compose(ComposeSettings(SeedSpec(fugue="wtc2f09", start_bar=5),
                                   SamplingConfig(events=30, seed=2),
                                   RenderConfig(audio=False, score=False, include_seed=True,
                                                snap="off")), engine)
    assert made.piece.time_signature == fugue.time_signature == (4, 2)
    assert made.piece.key == fugue.key
    # the seed starts on the first beat of bar 5 and lands in the first bar after the shift
    assert min(n.start for n in made.piece.notes) < made.piece.bar_ticks
    assert 0 < made.seed_end_tick < made.piece.end


def test_same_seed_same_midi_and_another_seed_other_music(engine):
    spec = SeedSpec(fugue="wtc1f02")
    one = compose(settings(spec), engine).midi
    assert compose(settings(spec), engine).midi == one
    other = compose(ComposeSettings(spec, SamplingConfig(events=40, seed=12), QUIET), engine).midi
    assert hashlib.sha256(other).digest() != hashlib.sha256(one).digest()


def test_candidates_are_drawn_together_and_one_is_kept(engine):
    made = compose(settings(SeedSpec(fugue="wtc1f02"), candidates=3), engine)
    assert made.stats["candidates"] == 3 and 0 <= made.stats["chosen_candidate"] < 3
    assert made.stats["longest_copied_run"] is not None


def test_a_seed_file_continues_from_its_last_events(engine):
    first = compose(settings(SeedSpec(fugue="wtc1f01")), engine)
    made = compose(settings(SeedSpec(fugue=None, file_bytes=first.midi, file_name="take.mid")), engine)
    assert made.stats["seed_source"] == "file take.mid" and made.stats["events"] == 40


@pytest.mark.parametrize("spec, problem", [
    (SeedSpec(fugue="wtc9f99"), "Unknown fugue"),
    (SeedSpec(fugue="wtc1f02", start_bar=999), "start_bar"),
])
def test_bad_seeds_are_refused_with_a_clear_message(engine, spec, problem):
    with pytest.raises(ConfigError, match=problem):
        compose(settings(spec), engine)


def test_a_file_without_notes_is_refused(engine):
    with pytest.raises(SeedFileError):
        compose(settings(SeedSpec(fugue=None, file_bytes=b"", file_name="empty.mid")), engine)


def test_the_real_continuation_is_the_fugue_after_the_seed_on_the_same_grid(engine, corpus_pieces):
    from bachgen.seeding import real_continuation

    fugue = {p.name: p for p in corpus_pieces}["wtc1f02"]
    real = real_continuation(SeedSpec(fugue="wtc1f02"), engine, 100)
    assert real.key == fugue.key and real.time_signature == fugue.time_signature
    assert 0 <= min(n.start for n in real.notes) < real.bar_ticks
    # 100 events of the fugue: as many onsets-or-changes as that, all its own pitches
    assert {n.pitch for n in real.notes} <= {n.pitch for n in fugue.notes}
    with pytest.raises(ConfigError, match="fugue"):
        real_continuation(SeedSpec(fugue=None), engine, 100)


def test_generate_compare_draws_bach_above_the_new_music(tiny_spelled_dir, tmp_path, capsys):
    import json
    import struct

    from bachgen import cli

    out = tmp_path / "compare.png"
    code = cli.main(["generate", "--model", str(tiny_spelled_dir), "--fugue", "wtc1f02", "--events", "30",
                     "--seed", "3", "--compare", str(out)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and str(out) in summary["files"]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 600)  # two rows of 3 inches at 100 dpi


@pytest.mark.parametrize("fugue", ["wtc1f02", "wtc1f13"])  # C minor, F-sharp major (moved 6)
def test_struck_notes_keep_to_the_compass_in_the_seed_key(engine, fugue):
    made = compose(ComposeSettings(SeedSpec(fugue=fugue), SamplingConfig(events=60, seed=5, compass=(48, 72)),
                                   QUIET), engine)
    assert all(48 <= n.pitch <= 72 for n in made.piece.notes)
