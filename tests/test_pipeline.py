"""compose() with the spelled engine: seeds, determinism, renderers, notices, errors (every kind of
seed in the seed's key and meter: test_pipeline_seeds.py; the quality measures: test_yardstick.py)."""

from __future__ import annotations

import io
import wave

import pytest

from bachgen.bundle import load_bundle
from bachgen.config import CorpusConfig, RenderConfig, SamplingConfig
from bachgen.errors import BachgenError, ConfigError, MissingDependencyError, SeedFileError
from bachgen.pipeline import ComposeSettings, Engine, SeedSpec, compose

from .conftest import make_piece

QUIET = RenderConfig(audio=False, score=False)


def settings(seed=SeedSpec(), events=48, render=QUIET, **sampling):
    return ComposeSettings(seed, SamplingConfig(events=events, **{"seed": 7, **sampling}), render)


def test_compose_makes_new_music_from_a_fugue(engine):
    stages = []
    result = compose(settings(), engine, progress=lambda stage, f: stages.append((stage, f)))
    assert result.stats["events"] == 48 and len(engine.codec.events(result.ids)) == 48
    assert result.stats["notes"] == len(result.piece.notes) > 0
    assert result.stats["seed_events"] == 50
    assert result.stats["loops_taken_back"] >= 0 and result.stats["tokens"] == len(result.ids)
    assert isinstance(result.stats["longest_copied_run"], int)
    assert result.midi.startswith(b"MThd") and result.png.startswith(b"\x89PNG")
    assert result.wav is None and result.svg is None and result.musicxml is None
    assert result.seed_piece is not None and result.seed_end_tick is None
    assert {"seed", "sample", "midi", "audio", "pianoroll", "score", "total"} <= set(result.timings)
    assert stages[0][0] == "seed" and stages[-1] == ("done", 1.0)
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions)


def test_same_seed_same_midi_different_seed_different_midi(engine):
    first = compose(settings(), engine).midi
    assert compose(settings(), engine).midi == first
    assert compose(ComposeSettings(SeedSpec(), SamplingConfig(events=48, seed=8), QUIET), engine).midi != first


def test_the_seed_can_come_first_and_the_new_music_follows(engine):
    result = compose(settings(render=RenderConfig(audio=False, score=False, include_seed=True,
                                                  snap="off")), engine)
    assert result.seed_end_tick and result.seed_end_tick > 0
    starts = sorted(n.start for n in result.piece.notes)
    assert starts[0] < result.seed_end_tick < starts[-1]
    # snap off: back in the seed's key (C minor), seed notes as in the fugue
    assert result.piece.key == "c"
    assert {n.pitch for n in result.seed_piece.notes} <= {n.pitch for n in result.piece.notes}


@pytest.mark.parametrize("snap", ["c-major", "to-c", "off"])
def test_every_snap_mode_works(engine, snap):
    result = compose(settings(render=RenderConfig(audio=False, score=False, snap=snap)), engine)
    if snap == "c-major":
        assert all(n.pitch % 12 in {0, 2, 4, 5, 7, 9, 11} for n in result.piece.notes)
    assert result.stats["key"]


def test_start_bar_and_random_place(engine):
    a = compose(settings(seed=SeedSpec(fugue="wtc1f02", start_bar=10)), engine)
    assert a.stats["seed_source"] == "wtc1f02 from bar 10"
    b = compose(settings(seed=SeedSpec(random_place=True)), engine)
    c = compose(settings(seed=SeedSpec(random_place=True)), engine)
    assert b.stats["seed_source"] == c.stats["seed_source"] and b.midi == c.midi


def test_several_candidates_keep_the_best(engine):
    result = compose(settings(candidates=3), engine)
    assert result.stats["candidates"] == 3 and 0 <= result.stats["chosen_candidate"] < 3


@pytest.mark.parametrize("spec, error", [
    (SeedSpec(fugue="wtc9f99"), ConfigError),
    (SeedSpec(fugue="wtc1f02", start_bar=0), ConfigError),
    (SeedSpec(fugue="wtc1f02", start_bar=10_000), ConfigError),
    (SeedSpec(fugue=None, file_bytes=b"this is not music", file_name="x.mid"), SeedFileError),
    (SeedSpec(fugue=None, file_bytes=b"", file_name="empty.mid"), SeedFileError),
])
def test_bad_input_is_a_bachgen_error(engine, spec, error):
    with pytest.raises(error) as info:
        compose(settings(seed=spec), engine)
    assert isinstance(info.value, BachgenError)


def _midi_seed() -> bytes:
    from bachgen.render.midi import piece_to_midi_bytes

    notes = [(i * 24, 24, 60 + (i * 5) % 13) for i in range(40)] + [(0, 480, 41)]
    return piece_to_midi_bytes(make_piece(*notes), 90)


def test_without_the_corpus_an_upload_or_no_seed_still_works(tiny_spelled_dir, tmp_path):
    offline = Engine(load_bundle(tiny_spelled_dir), CorpusConfig(corpus_dir=str(tmp_path), cache_dir=str(tmp_path)))
    assert not offline.corpus_available
    upload = compose(settings(seed=SeedSpec(fugue=None, file_bytes=_midi_seed(), file_name="mine.mid")), offline)
    assert upload.stats["events"] == 48 and upload.stats["longest_copied_run"] is None
    assert any("not available" in n for n in upload.notices)
    nothing = compose(settings(seed=SeedSpec(fugue=None)), offline)
    assert nothing.stats["events"] == 48 and nothing.stats["seed_source"] == "no seed"
    with pytest.raises(BachgenError):
        compose(settings(seed=SeedSpec(fugue="wtc1f02")), offline)


def test_missing_renderers_become_notices(engine, monkeypatch):
    from bachgen.render import score

    def no_verovio(*args, **kwargs):
        raise MissingDependencyError("The score view needs verovio, which is not installed.")

    monkeypatch.setattr(score, "score_svg", no_verovio)
    monkeypatch.setattr(score, "musicxml_bytes", lambda piece, tempo_bpm=80, labels=(): b"<score-partwise/>")
    monkeypatch.setattr(engine.synthesizers, "get", lambda soundfont=None: None)
    monkeypatch.setattr(engine.synthesizers, "notice", "Audio is off: FluidSynth is not installed.")
    result = compose(settings(render=RenderConfig()), engine)
    assert result.wav is None and result.svg is None and result.musicxml == b"<score-partwise/>"
    assert any("FluidSynth" in n for n in result.notices)
    assert any("verovio" in n for n in result.notices)
    assert result.midi.startswith(b"MThd") and result.png.startswith(b"\x89PNG")


def test_audio_and_score_when_available(engine):
    from bachgen.render import audio

    result = compose(settings(events=24, render=RenderConfig()), engine)
    if audio.fluidsynth_available():
        with wave.open(io.BytesIO(result.wav)) as w:
            assert w.getnchannels() == 2 and w.getframerate() == 44_100 and w.getnframes() > 0
    assert result.musicxml and b"score-partwise" in result.musicxml
    assert result.svg is None or "<svg" in result.svg


def test_sampling_settings_are_checked():
    with pytest.raises(ConfigError):
        SamplingConfig(temperature=0)
    with pytest.raises(ConfigError):
        SamplingConfig(top_p=1.5)
    with pytest.raises(ConfigError):
        SamplingConfig(top_k=0)
    with pytest.raises(ConfigError, match="compass"):
        SamplingConfig(compass=(60, 50))
