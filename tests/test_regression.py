"""Pinned output of the word model (``assets/words``): the same seed and settings give the
same MIDI bytes.

The hashes were taken before the sampler, the training code and ``compose`` were split
into smaller modules and functions; a move that changes any random draw, any guard
decision or any rendering step changes a hash. If a change is *meant* to alter the
music, recompute the hashes and say why in the change.

Every sampling and render setting is spelled out here (:data:`WORD_SAMPLING`,
:data:`WORD_RENDER`), so a change of the library's defaults cannot move the hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

import numpy as np
import pytest

from bachgen.config import RenderConfig, SamplingConfig
from bachgen.pipeline import ComposeSettings, Engine, SeedSpec, compose
from bachgen.sampling import sample

from .app_support import words_model_dir

#: The word model's sampling settings when the hashes were taken (all but events and seed).
WORD_SAMPLING = {"temperature": 0.9, "top_k": None, "top_p": None, "candidates": 1,
                 "loop_max_period": 8, "loop_min_repeats": 3, "loop_min_events": 16,
                 "max_recoveries": 40, "recovery_boost": 0.5, "copy_limit": 12, "key_guide": 4.0,
                 "compass": None}

#: The render settings when the hashes were taken; audio and score are not hashed.
WORD_RENDER = {"tempo_bpm": 80.0, "snap": "c-major", "include_seed": False, "audio": False,
               "score": False, "soundfont": None, "voices": False, "pianoroll": True}


def sampling(**changes) -> SamplingConfig:
    """The pinned sampling settings with ``changes``."""
    return SamplingConfig(**{**WORD_SAMPLING, **changes})


def render(**changes) -> RenderConfig:
    """The pinned render settings with ``changes``."""
    return RenderConfig(**{**WORD_RENDER, **changes})


#: name -> (settings, SHA-256 of the MIDI bytes)
CASES: dict[str, tuple[ComposeSettings, str]] = {
    "wtc1f02, seed 7, word settings, 400 events": (
        ComposeSettings(SeedSpec("wtc1f02"), sampling(events=400, seed=7), render()),
        "2f463ff4b5d4211ab4de399e754fabc0ae886bf15da9f77092f4b5e6d13d9497"),
    "wtc2f09, top-k 40, top-p 0.9, temperature 1.1, 100 events": (
        ComposeSettings(SeedSpec("wtc2f09"),
                        sampling(events=100, seed=11, temperature=1.1, top_k=40, top_p=0.9),
                        render()),
        "72d0e0e156b5e194b7852e67f858633650bd3f624ebcac2a33fa53d197daf84b"),
    "no seed excerpt, 100 events": (
        ComposeSettings(SeedSpec(fugue=None), sampling(events=100, seed=3), render()),
        "97150dc9f46dbf6453eeef0caf93991a89d2fbad1b491f6e3d3121b8ec2fa97c"),
    "random place, snap to-c, 100 events": (
        ComposeSettings(SeedSpec(random_place=True), sampling(events=100, seed=5),
                        render(snap="to-c")),
        "f12069ce324dafd844ba7f0433ab42b007699de314d133cccd01afdd1701a68d"),
    "wtc1f06 from bar 5, 3 candidates, cold, seed included, snap off, 400 events": (
        ComposeSettings(SeedSpec("wtc1f06", start_bar=5),
                        sampling(events=400, seed=2, candidates=3, temperature=0.5),
                        render(snap="off", include_seed=True)),
        "90b6da631a3e0532a8bfc6ad1cafa7a02dc9e522880bfad59264f290103d53ba"),
    "wtc1f01, 4 candidates, very cold, no boost: loops, recoveries and re-seeds": (
        ComposeSettings(SeedSpec("wtc1f01"),
                        sampling(events=400, seed=1, candidates=4, temperature=0.05,
                                 recovery_boost=0.0, key_guide=0.0),
                        render()),
        "3ac9258a80709a68ce91e6cc1c0b678a78f25f97ec546c40b8f650b24e09e69f"),
}

#: every row of a very cold draw with no corpus to re-seed from (the state is perturbed)
SAMPLE_ROWS_SHA256 = "575a9c4afa8ca2dafe4a40e9807dfa9a6af444d445fafe8bf04b0be6b2bdc438"

#: a seed file (the MIDI of the first case) read back and continued
FILE_SEED_SHA256 = "5569e525f4cd35f4a6cc955820ad590c50a2d142120d7c8c1390a824cba911d4"


@pytest.fixture(scope="module")
def engine(corpus_config) -> Engine:
    folder = words_model_dir()
    if folder is None:
        pytest.skip("the word model (assets/words) is not there")
    return Engine.load(folder, corpus_config)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_setting_the_hashes_rely_on_is_spelled_out():
    """A new sampling or render setting must be added to the pinned ones (at its old value)."""
    assert set(WORD_SAMPLING) | {"events", "seed"} == {f.name for f in fields(SamplingConfig)}
    assert set(WORD_RENDER) == {f.name for f in fields(RenderConfig)}


@pytest.mark.parametrize("name", list(CASES))
def test_the_word_model_writes_the_pinned_midi(engine, name):
    settings, expected = CASES[name]
    assert sha256(compose(settings, engine).midi) == expected


def test_a_seed_file_gives_the_pinned_midi(engine):
    first = compose(CASES["wtc1f02, seed 7, word settings, 400 events"][0], engine).midi
    settings = ComposeSettings(SeedSpec(file_bytes=first, file_name="take.mid"),
                               sampling(events=100, seed=9), render())
    assert sha256(compose(settings, engine).midi) == FILE_SEED_SHA256


def test_every_row_of_a_looping_draw_is_pinned(engine):
    """Loop recovery, perturbed re-priming and the recovery limit, on all rows at once."""
    seed = engine.codec.encode_words(engine.corpus_words()["wtc1f01"][0][:50])[0]
    config = sampling(events=400, seed=1, candidates=4, temperature=0.05, recovery_boost=0.0,
                      key_guide=0.0)
    result = sample(engine.step, [seed] * 4, config, np.random.default_rng(1), codec=engine.codec,
                    reseed=None, context_len=engine.seq_len)
    assert sum(result.reseeds) > 0
    summary = {"ids": result.ids, "recoveries": result.loop_recoveries, "reseeds": result.reseeds,
               "copy_masks": result.copy_masks, "stuck": result.stuck,
               "mean_log_prob": [round(p, 6) for p in result.mean_log_prob], "steps": result.steps}
    assert sha256(json.dumps(summary).encode()) == SAMPLE_ROWS_SHA256
