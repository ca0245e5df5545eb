"""Audio through the real FluidSynth library and soundfonts, and the missing-library message."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from bachgen import audio
from bachgen.errors import MissingDependencyError, RenderError
from bachgen.events import Note, Piece

PIECE = Piece(tuple(Note(i * 24, 36, 48 + (i * 7) % 30) for i in range(24)) + (Note(0, 240, 36),))
BUNDLED = audio._bundled_soundfont()


@pytest.fixture(scope="module")
def synth():
    if not audio.fluidsynth_available():
        pytest.fail("The FluidSynth library is needed for the audio tests (apt-get install libfluidsynth3).")
    with audio.Synthesizer() as synthesizer:
        yield synthesizer


def test_render_is_stereo_int16_and_not_silent(synth):
    frames = synth.render(PIECE, tempo_bpm=120)
    expected = round(PIECE.seconds(120) * 44_100) + round(audio.TAIL_SECONDS * 44_100)
    assert frames.dtype == np.int16 and frames.ndim == 2 and frames.shape[1] == 2
    assert abs(frames.shape[0] - expected) <= 1
    assert np.abs(frames).max() > 1000
    assert np.abs(frames[: 44_100 // 2]).mean() > 10  # sound from the first half second


def test_wav_is_44k1_16_bit_stereo(synth):
    data = synth.wav_bytes(PIECE, tempo_bpm=100)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 44_100)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert frames.size == 2 * wav.getnframes() and np.abs(frames).max() > 1000


def test_synthesizer_is_reusable_and_a_render_does_not_leak_into_the_next(synth):
    first = synth.render(PIECE, 120)
    silence = synth.render(Piece(()), 120, tail_seconds=0.5)
    assert first.shape == synth.render(PIECE, 120).shape
    assert silence.shape == (22_050, 2) and np.abs(silence).max() < 50


def test_tempo_changes_length(synth):
    assert synth.render(PIECE, 60).shape[0] > synth.render(PIECE, 120).shape[0]


@pytest.mark.skipif(BUNDLED is None or not BUNDLED.is_file(), reason="pretty_midi's font absent")
def test_the_bundled_small_font_works_too():
    with audio.Synthesizer(BUNDLED) as small:
        assert np.abs(small.render(PIECE, 120)).max() > 1000


def test_render_time_for_400_events(synth, capsys):
    piece = Piece(tuple(Note(i * 12, 12, 48 + (i * 5) % 36) for i in range(200)))  # 400 on/offs
    started = time.perf_counter()
    synth.wav_bytes(piece, 80)
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[audio] 400 note events, {piece.seconds(80):.0f} s of music: {seconds:.2f} s")
    assert seconds < 10


def test_find_soundfont_order(tmp_path, monkeypatch):
    system = tmp_path / "system.sf2"
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setattr(audio, "REPO_SOUNDFONT_DIR", repo)
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONTS", (system,))
    assert audio.find_soundfont() == BUNDLED  # nothing else present
    system.write_bytes(b"x")
    assert audio.find_soundfont() == system
    (repo / "b.sf2").write_bytes(b"x")
    (repo / "a.sf2").write_bytes(b"x")
    assert audio.find_soundfont() == repo / "a.sf2"
    explicit = tmp_path / "mine.sf2"
    explicit.write_bytes(b"x")
    assert audio.find_soundfont(explicit) == explicit
    assert audio.find_soundfont(str(explicit)) == explicit


def test_find_soundfont_errors(tmp_path, monkeypatch):
    with pytest.raises(RenderError, match="does not exist"):
        audio.find_soundfont(tmp_path / "nope.sf2")
    monkeypatch.setattr(audio, "REPO_SOUNDFONT_DIR", tmp_path)
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONTS", ())
    monkeypatch.setattr(audio, "_bundled_soundfont", lambda: None)
    with pytest.raises(MissingDependencyError, match="fluid-soundfont-gm"):
        audio.find_soundfont()


def test_a_broken_soundfont_is_a_render_error(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF0000sfbk" + b"\x00" * 64)
    with pytest.raises(RenderError, match="could not load the soundfont"):
        audio.Synthesizer(bad)


MISSING_LIBRARY = """
import ctypes.util
ctypes.util.find_library = lambda name: None   # as on a machine without libfluidsynth
from bachgen import audio
from bachgen.errors import MissingDependencyError
from bachgen.events import Note, Piece
assert audio.fluidsynth_available() is False
try:
    audio.Synthesizer()
except MissingDependencyError as error:
    print(error)
"""


def test_missing_fluidsynth_library_gives_the_install_command():
    result = subprocess.run([sys.executable, "-c", MISSING_LIBRARY], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Audio needs the FluidSynth library, which is not installed. Install it with: "
        "sudo apt-get install libfluidsynth3 (MIDI and the piano roll still work).")


def test_missing_pyfluidsynth_package_is_also_clear(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "fluidsynth":
            raise ModuleNotFoundError("No module named 'fluidsynth'", name="fluidsynth")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError, match="pip install pyfluidsynth"):
        audio.Synthesizer()
    assert audio.fluidsynth_available() is False
