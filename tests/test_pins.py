"""Pinned output of the shipped model (``assets/model``): the same seed and settings give the
same MIDI bytes, and the yardstick the same numbers.

The hashes were taken before the package was rearranged into one module per stage, and taken
again when takes gained a form (planned entries and a close: every take with a subject
changed; the case with the form off writes the same notes as the tree before it). A move
that changes any random draw, any guard decision or any rendering step changes a hash. If a
change is *meant* to alter the music, recompute the hashes (``PIN_UPDATE=1``) and say why in
the change. Each case runs the command line in this process, the way a user writes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bachgen.cli import main
from bachgen.config import RenderConfig, SamplingConfig
from bachgen.pipeline import ComposeSettings, SeedSpec, load_engine

from .app_support import shipped_model_dir

PINS = Path(__file__).parent / "pins"
UPDATE = os.environ.get("PIN_UPDATE") == "1"

#: The shipped model writes whole takes and the yardstick runs over all 48: ``make test`` runs them.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shipped_model_dir() is None, reason="the shipped model is not in assets/model")]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seed_midi() -> bytes:
    """A small two-voice seed file made here: a D minor line over a held bass, 3/4."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=90)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0))
    piano = pretty_midi.Instrument(program=0)
    beat = 60 / 90
    line = [62, 64, 65, 67, 69, 70, 69, 67, 65, 64, 62, 61, 62, 65, 69, 74, 72, 70]
    for i, pitch in enumerate(line):
        piano.notes.append(pretty_midi.Note(90, pitch, i * beat / 2, (i + 1) * beat / 2))
    for bar in range(3):
        piano.notes.append(pretty_midi.Note(80, 50 if bar != 1 else 45, bar * 3 * beat, (bar + 1) * 3 * beat))
    pm.instruments.append(piano)
    out = io.BytesIO()
    pm.write(out)
    return out.getvalue()


#: name -> command-line options after ``generate`` (``{seed_file}`` and ``{take}`` filled in)
CASES: dict[str, list[str]] = {
    "wtc1f02 seed 7, defaults, 400 events": ["--fugue", "wtc1f02", "--seed", "7", "--events", "400"],
    "wtc2f09, temperature 1.1, top-k 40, top-p 0.9": [
        "--fugue", "wtc2f09", "--seed", "11", "--events", "200", "--temperature", "1.1",
        "--top-k", "40", "--top-p", "0.9"],
    "wtc1f06 from bar 5, cold, with seed, snap c-major": [
        "--fugue", "wtc1f06", "--start-bar", "5", "--seed", "2", "--events", "300",
        "--temperature", "0.7", "--with-seed", "--snap", "c-major"],
    "wtc1f11, 3 candidates, top-p off": [
        "--fugue", "wtc1f11", "--seed", "8", "--events", "200", "--candidates", "3", "--top-p", "1.0"],
    "no seed excerpt": ["--fugue", "none", "--seed", "3", "--events", "150"],
    "random place, snap to-c, tempo 100": [
        "--fugue", "random", "--seed", "5", "--events", "150", "--snap", "to-c", "--tempo", "100"],
    "a seed file": ["--seed-file", "{seed_file}", "--seed", "4", "--events", "200"],
    "continue a take": ["--continue", "{take}", "--seed", "9", "--events", "100"],
    "keep 8 bars of a take": ["--continue", "{take}", "--keep-bars", "8", "--seed", "9"],
    "24 bars, entries and a close (the defaults)": ["--fugue", "wtc1f02", "--seed", "7"],
    "the form off": ["--fugue", "wtc1f02", "--seed", "7", "--events", "400", "--no-entries", "--no-close"],
    "levels 0 and 7, best of 1": ["--fugue", "wtc2f02", "--seed", "3", "--bars", "16", "--levels", "0,7",
                                  "--best-of", "1"],
}


def load_pins(name: str) -> dict:
    path = PINS / name
    return json.loads(path.read_text()) if path.is_file() else {}


def save_pins(name: str, pins: dict) -> None:
    PINS.mkdir(exist_ok=True)
    (PINS / name).write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """The seed file and a take (case one's MIDI) the file and continue cases start from."""
    folder = tmp_path_factory.mktemp("pins")
    seed_file = folder / "seed.mid"
    seed_file.write_bytes(seed_midi())
    take = folder / "take.mid"
    assert main(["generate", *CASES["wtc1f02 seed 7, defaults, 400 events"], "--midi", str(take)]) == 0
    return {"seed_file": str(seed_file), "take": str(take)}


@pytest.fixture(scope="module")
def midi_pins():
    pins = load_pins("midi.json")
    yield pins
    if UPDATE:
        save_pins("midi.json", pins)


@pytest.mark.parametrize("case", list(CASES))
def test_the_shipped_model_writes_the_pinned_midi(case, inputs, midi_pins, tmp_path):
    out = tmp_path / "out.mid"
    options = [o.format(**inputs) for o in CASES[case]]
    assert main(["generate", *options, "--midi", str(out)]) == 0
    digest = sha256(out.read_bytes())
    if UPDATE:
        midi_pins[case] = digest
    assert digest == midi_pins[case]


def batch_settings() -> list[ComposeSettings]:
    quiet = RenderConfig(audio=False, score=False)
    return [ComposeSettings(SeedSpec(fugue="wtc1f02"), SamplingConfig(events=120, seed=7), quiet),
            ComposeSettings(SeedSpec(fugue="wtc2f09", start_bar=5),
                            SamplingConfig(events=80, seed=4, temperature=0.6, top_p=0.9), quiet),
            ComposeSettings(SeedSpec(fugue=None), SamplingConfig(events=60, seed=9, candidates=3,
                                                                  top_k=40, top_p=None), quiet),
            ComposeSettings(SeedSpec(fugue="wtc1f10"), SamplingConfig(events=200, seed=1), quiet)]


def test_takes_drawn_together_write_the_pinned_midi(midi_pins, corpus_config):
    """Four takes asking while the model is busy are drawn in one batch; each writes the
    MIDI it writes alone, and that MIDI is pinned."""
    from .test_serving import compose_together

    engine = load_engine(shipped_model_dir(), corpus_config)
    together, runs = compose_together(engine, batch_settings())
    assert len(runs) == 1 and sum(runs[0]) == len(together)
    digests = [sha256(c.midi) for c in together]
    if UPDATE:
        midi_pins["batch"] = digests
    assert digests == midi_pins["batch"]


def test_the_yardstick_gives_the_pinned_numbers_for_two_sampling_seeds(tmp_path, capsys):
    """``bachgen evaluate --generated`` over all 48 fugues, two sampling seeds: the same
    figures to the last digit (timings left out)."""
    assert main(["evaluate", "--generated", "--sampling-seeds", "1722,7", "--json"]) == 0
    report = strip_timings(json.loads(capsys.readouterr().out))
    report["rows"].pop("through_words", None)  # the retired word model's row, not pinned
    if UPDATE:
        save_pins("yardstick.json", report)
    assert report == load_pins("yardstick.json")


def strip_timings(value):
    """``value`` without the keys that hold seconds (they change from run to run)."""
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items()
                if not any(word in k for word in ("second", "time", "elapsed"))}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    if isinstance(value, float):
        return float(np.float64(value))
    return value
