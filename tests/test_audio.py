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

from bachgen.errors import MissingDependencyError, RenderError
from bachgen.events import Note, Piece
from bachgen.render import audio

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


def test_two_render_threads_make_the_same_length_of_sound(synth):
    with audio.Synthesizer(threads=2) as threaded:
        frames = threaded.render(PIECE, tempo_bpm=120)
    alone = synth.render(PIECE, tempo_bpm=120)
    assert frames.shape == alone.shape and np.abs(frames).max() > 1000


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


def test_400_note_events_render_to_a_wav_of_the_music_length(synth):
    piece = Piece(tuple(Note(i * 12, 12, 48 + (i * 5) % 36) for i in range(200)))  # 400 on/offs
    with wave.open(io.BytesIO(synth.wav_bytes(piece, 80))) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert piece.seconds(80) <= seconds <= piece.seconds(80) + 5  # the music, then at most its release


def loudness(frames: np.ndarray, window: int = 1024) -> np.ndarray:
    """Root-mean-square level of the left channel in windows of ``window`` frames."""
    left = frames[: len(frames) // window * window, 0].astype(float)
    return np.sqrt((left.reshape(-1, window) ** 2).mean(axis=1))


@pytest.mark.parametrize("kind, mime, magic, codec", [
    ("flac", "audio/flac", b"fLaC", ("FLAC", "PCM_16")),
    ("ogg", "audio/ogg", b"OggS", ("OGG", "VORBIS")),
])
def test_player_audio_decodes_to_the_whole_piece(kind, mime, magic, codec):
    """A real FluidSynth render at the player's rate, encoded, decoded again by libsndfile."""
    import soundfile

    with audio.Synthesizer(sample_rate=audio.PLAYER_SAMPLE_RATE) as player:
        made = player.player_audio(PIECE, tempo_bpm=120, kind=kind)
        reference = player.render(PIECE, 120)
    assert made.mime == mime and made.data[:4] == magic
    decoded, rate = soundfile.read(io.BytesIO(made.data), dtype="int16")
    info = soundfile.info(io.BytesIO(made.data))
    assert (info.format, info.subtype) == codec
    assert rate == made.sample_rate == audio.PLAYER_SAMPLE_RATE
    assert decoded.shape == reference.shape == (made.frames, 2)
    assert np.abs(decoded).max() > 1000  # it is the music, not silence
    # Two renders differ in phase (the chorus runs on), so compare loudness over time.
    assert np.corrcoef(loudness(decoded), loudness(reference))[0, 1] > 0.95
    assert made.total_s >= made.encode_s > 0 and made.wait_s >= 0


@pytest.mark.parametrize("kind, smaller", [("flac", 4), ("ogg", 10)])
def test_a_long_take_is_encoded_in_blocks_and_is_far_smaller_than_wav(kind, smaller, capsys):
    """Minutes of audio in one piece: libsndfile is given small blocks (one large write
    of Ogg Vorbis crashes it), and the player's file is a small part of the WAV."""
    import soundfile

    piece = Piece(tuple(Note(i * 12, 24, 48 + (i * 5) % 36) for i in range(400)))
    with audio.Synthesizer(sample_rate=audio.PLAYER_SAMPLE_RATE) as player:
        made = player.player_audio(piece, 80, kind=kind)
    wav_size = 44 + made.frames * 2 * 2 * 2  # the same music as 44.1 kHz WAV
    with capsys.disabled():
        print(f"\n[audio] {made.frames / made.sample_rate:.0f} s: {kind} "
              f"{len(made.data) / 1e6:.2f} MB (WAV {wav_size / 1e6:.1f} MB), "
              f"render {made.render_s:.2f} s, encode {made.encode_s:.2f} s")
    assert soundfile.info(io.BytesIO(made.data)).frames == made.frames
    assert len(made.data) < wav_size / smaller


def test_to_ogg_of_an_array_round_trips_length_rate_and_channels():
    frames = (np.sin(np.arange(50_000) / 20.0) * 8000).astype(np.int16)
    stereo = np.stack([frames, frames // 2], axis=1)
    import soundfile

    decoded, rate = soundfile.read(io.BytesIO(audio.to_ogg(stereo, 32_000)), dtype="int16")
    assert rate == 32_000 and decoded.shape == stereo.shape


def test_an_unknown_player_format_is_a_render_error(synth):
    with pytest.raises(RenderError, match="flac"):
        synth.player_audio(PIECE, 120, kind="mp3")


def test_without_soundfile_the_player_gets_wav(synth, monkeypatch):
    monkeypatch.setattr(audio, "ogg_available", lambda: False)
    made = synth.player_audio(PIECE, 120)
    assert made.mime == "audio/wav"
    with wave.open(io.BytesIO(made.data)) as wav:
        assert wav.getnframes() == made.frames and wav.getframerate() == 44_100


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
from bachgen.errors import MissingDependencyError
from bachgen.events import Note, Piece
from bachgen.render import audio
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
    def not_installed(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(audio, "quiet_import", not_installed)
    with pytest.raises(MissingDependencyError, match="pip install pyfluidsynth"):
        audio.Synthesizer()
    assert audio.fluidsynth_available() is False


@pytest.mark.slow
def test_worker_processes_render_takes_side_by_side_and_count_the_wait():
    """Four listeners at once on two worker processes: every take is whole (as long as the
    same piece rendered here), the two that found both workers busy say they waited."""
    from concurrent.futures import ThreadPoolExecutor

    alone = audio.Synthesizer(sample_rate=audio.PLAYER_SAMPLE_RATE).render(PIECE, 120)
    workers = audio.SynthesizerProcesses(size=2)
    try:
        long_piece = Piece(tuple(Note(i * 12, 48, 40 + i % 40) for i in range(4000)))
        with ThreadPoolExecutor(4) as listeners:
            busy = [listeners.submit(workers.player_audio, long_piece, 120, kind="wav") for _ in range(2)]
            time.sleep(0.05)
            late = [listeners.submit(workers.player_audio, PIECE, 120, kind="wav") for _ in range(2)]
            made = [f.result() for f in busy + late]
        flac = workers.player_audio(PIECE, 120)
    finally:
        workers.close()
    assert workers.size == 2 and workers.sample_rate == audio.PLAYER_SAMPLE_RATE
    assert [m.frames for m in made[2:]] == [len(alone)] * 2 and flac.frames == len(alone)
    assert flac.mime == "audio/flac" and flac.data[:4] == b"fLaC"
    for take in made:
        assert take.total_s >= take.wait_s >= 0
    assert min(m.wait_s for m in made[2:]) >= min(m.render_s for m in made[:2]) * 0.5


def test_worker_processes_need_at_least_one():
    with pytest.raises(RenderError, match="at least one"):
        audio.SynthesizerProcesses(size=0)


def test_workers_that_died_are_started_again():
    """A crashed worker process does not take the player's audio down for good."""
    workers = audio.SynthesizerProcesses(size=1)
    try:
        workers._pool.submit(__import__("os")._exit, 1)
        time.sleep(0.5)
        made = workers.player_audio(PIECE, 120, kind="wav")
    finally:
        workers.close()
    assert made.frames > 0 and made.data[:4] == b"RIFF"
