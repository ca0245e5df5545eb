"""Audio: a Piece played on a General MIDI piano by FluidSynth, as stereo 16-bit WAV,
or compressed (FLAC or Ogg Vorbis) for a web page's player.

pyfluidsynth is driven directly: the soundfont is loaded once per
:class:`Synthesizer` and reused for every render, note-ons and note-offs are
scheduled at exact sample positions, and the stereo output is pulled in chunks.
The WAV file is written in memory with the standard-library :mod:`wave` module.

The page's player gets compressed audio (:meth:`Synthesizer.player_audio`), encoded by
libsndfile (the ``soundfile`` package) block by block as FluidSynth renders. Its
synthesizer runs at 22.05 kHz (:data:`PLAYER_SAMPLE_RATE`), which halves the rendering and
the encoding; the WAV download stays 44.1 kHz. FLAC (:data:`PLAYER_FORMAT`) is the player's
default: for two minutes of music it is about 3 MB instead of 22 MB of WAV and costs a
tenth of a second of CPU; Ogg Vorbis is four times smaller again but costs about 0.6 s
(several seconds on a busy machine). A FLAC stream also states its length in its header,
where for an Ogg one the browser reads the end of the file to learn it. A server renders
its listeners' takes in worker processes (:class:`SynthesizerProcesses`), out of the way
of its own threads.

Which soundfont is used is decided by :func:`find_soundfont` (see
``soundfonts/README.md``). When the FluidSynth library is not installed the audio
functions raise :class:`~bachgen.errors.MissingDependencyError` with the command
that installs it; MIDI, the piano roll and the score do not need it.
"""

from __future__ import annotations

import io
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import MissingDependencyError, RenderError
from ..events import Note, Piece
from .midi import VELOCITY, check_program, check_tempo
from .quiet import quiet_import
from ..reduction import normalise

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 44_100
CHANNELS = 2
SAMPLE_WIDTH = 2  # bytes: 16-bit
#: Seconds rendered after the last note-off so the piano's release and the reverb die away.
TAIL_SECONDS = 1.0
#: Largest block pulled from FluidSynth at once (samples per channel).
CHUNK = 8192
#: Sample rate of the page's player: half of CD rate, half the work.
PLAYER_SAMPLE_RATE = 22_050
#: Frames handed to libsndfile's encoder at once. libsndfile 1.2.2 crashes the process
#: (segmentation fault) when one Ogg Vorbis write holds a few million frames; blocks are safe.
ENCODE_BLOCK = 4096
OGG_MIME = "audio/ogg"
#: What the player can be given: libsndfile's container and codec, and the MIME type.
#: Ogg Vorbis is the smallest; FLAC (lossless) is about four times larger but eight times
#: quicker to make; WAV is not compressed at all.
PLAYER_FORMATS = {"ogg": ("OGG", "VORBIS", OGG_MIME), "flac": ("FLAC", "PCM_16", "audio/flac"),
                  "wav": ("WAV", "PCM_16", "audio/wav")}
#: The player's format unless another is asked for (see the module's docstring).
PLAYER_FORMAT = "flac"

#: Where soundfonts are looked for, after an explicit path (see :func:`find_soundfont`).
REPO_SOUNDFONT_DIR = Path(__file__).resolve().parent.parent / "soundfonts"
SYSTEM_SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),)

_LIBRARY_MISSING = (
    "Audio needs the FluidSynth library, which is not installed.",
    "Install it with: sudo apt-get install libfluidsynth3 (MIDI and the piano roll still work).",
)


def _import_fluidsynth() -> Any:
    """The ``fluidsynth`` module, or :class:`MissingDependencyError` saying what to install.

    pyfluidsynth prints where it found the library when ``CI`` is set in the environment;
    that line is kept off the output (stdout carries a command's JSON summary).
    """
    try:
        fluidsynth = quiet_import("fluidsynth")
    except ModuleNotFoundError as exc:
        if exc.name == "fluidsynth" and "halted" not in str(exc):
            raise MissingDependencyError(
                "Audio needs the pyfluidsynth package, which is not installed.",
                "Install it with: pip install pyfluidsynth (MIDI and the piano roll still work).",
            ) from exc
        raise MissingDependencyError(*_LIBRARY_MISSING) from exc
    except (ImportError, OSError) as exc:  # "Couldn't find the FluidSynth library." / bad .so
        raise MissingDependencyError(*_LIBRARY_MISSING) from exc
    return fluidsynth


def fluidsynth_available() -> bool:
    """True when audio can be rendered (pyfluidsynth and the FluidSynth library load)."""
    try:
        _import_fluidsynth()
    except MissingDependencyError:
        return False
    return True


def _bundled_soundfont() -> Path | None:
    """pretty_midi's small TimGM6mb.sf2, found without importing pretty_midi."""
    import importlib.util

    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "TimGM6mb.sf2"


def find_soundfont(explicit: str | Path | None = None) -> Path:
    """The soundfont to play with, in this order:

    1. ``explicit`` (an error if it is given but is not a file);
    2. the first ``*.sf2`` in the repository's ``soundfonts/`` folder (by name);
    3. the system's FluidR3 GM font (``/usr/share/sounds/sf2/FluidR3_GM.sf2``);
    4. pretty_midi's bundled ``TimGM6mb.sf2`` (small, always there with pretty_midi).
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise RenderError(
                f"The soundfont {path} does not exist.",
                "Give the path of an .sf2 file, or none to use the default piano.",
            )
        return path
    candidates: list[Path | None] = []
    if REPO_SOUNDFONT_DIR.is_dir():
        candidates += sorted(REPO_SOUNDFONT_DIR.glob("*.sf2"))
    candidates += list(SYSTEM_SOUNDFONTS)
    candidates.append(_bundled_soundfont())
    for path in candidates:
        if path is not None and path.is_file():
            return path
    raise MissingDependencyError(
        "No General MIDI soundfont was found, so audio cannot be made.",
        "Put an .sf2 file into the soundfonts/ folder or run: sudo apt-get install "
        "fluid-soundfont-gm.",
    )


#: The largest soundfont a browser is asked to download for the page's player (bytes).
BROWSER_SOUNDFONT_MAX_BYTES = 40_000_000


def browser_soundfont(explicit: str | Path | None = None) -> Path:
    """The soundfont the page's player loads in the browser: the one the downloads are
    rendered with (:func:`find_soundfont`) when it is at most
    :data:`BROWSER_SOUNDFONT_MAX_BYTES`, else pretty_midi's small ``TimGM6mb.sf2`` (the
    system's FluidR3 GM is 148 MB: too much to send to every listener)."""
    path = find_soundfont(explicit)
    if path.stat().st_size <= BROWSER_SOUNDFONT_MAX_BYTES:
        return path
    small = _bundled_soundfont()
    return small if small is not None and small.is_file() else path


class Synthesizer:
    """A FluidSynth instance with one soundfont loaded, reusable for many renders.

    Loading a large font (FluidR3 is 140 MB) takes a moment, so keep one
    Synthesizer and call :meth:`render` / :meth:`wav_bytes` as often as needed.
    Calls are serialised by a lock, so one instance may be shared between threads.
    Samples are loaded on demand (``synth.dynamic-sample-loading``) to keep memory low.
    ``threads`` > 1 lets FluidSynth render its voices on that many threads (2 threads: a
    400-event WAV in 0.43 s instead of 0.53 s on two cores); one when other renders run
    side by side.
    """

    def __init__(
        self,
        soundfont: str | Path | None = None,
        *,
        sample_rate: int = SAMPLE_RATE,
        gain: float = 1.0,
        program: int = 0,
        threads: int = 1,
    ) -> None:
        fluidsynth = _import_fluidsynth()
        self.soundfont = find_soundfont(soundfont)
        self.sample_rate = int(sample_rate)
        self.program = check_program(program)
        self._lock = threading.Lock()
        self._synth = None
        try:
            self._synth = fluidsynth.Synth(
                gain=float(gain),
                samplerate=float(self.sample_rate),
                channels=16,
                **{"synth.dynamic-sample-loading": 1, "synth.cpu-cores": max(1, int(threads))},
            )
            self._sfid = self._synth.sfload(str(self.soundfont))
        except Exception as exc:  # ctypes / library failures: report, do not crash the app
            self.close()
            raise RenderError(f"FluidSynth could not start: {exc}.") from exc
        if self._sfid == -1:
            self.close()
            raise RenderError(
                f"FluidSynth could not load the soundfont {self.soundfont}.",
                "Check that it is a valid .sf2 file, or remove it to use the default piano.",
            )

    def close(self) -> None:
        """Free the synthesizer and its soundfont (also done when the object is collected)."""
        synth, self._synth = getattr(self, "_synth", None), None
        if synth is not None:
            synth.delete()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def __enter__(self) -> "Synthesizer":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _schedule(self, piece: Piece, tempo_bpm: float) -> list[tuple[int, int, int]]:
        """``(sample, kind, pitch)`` sorted by time, note-offs (kind 0) before note-ons (1)."""
        samples_per_tick = self.sample_rate * 60.0 / tempo_bpm / piece.resolution
        events = []
        for note in normalise(piece).notes:
            events.append((round(note.start * samples_per_tick), 1, note.pitch))
            events.append((round(note.end * samples_per_tick), 0, note.pitch))
        events.sort()
        return events

    def render(self, piece: Piece, tempo_bpm: float = 80, tail_seconds: float = TAIL_SECONDS
               ) -> "np.ndarray":
        """The piece as audio: an int16 array of shape ``(frames, 2)`` (left, right).

        The length is the piece plus ``tail_seconds`` of release. An empty piece gives
        just the (silent) tail.
        """
        import numpy as np

        chunks: list[np.ndarray] = []
        self.stream(piece, chunks.append, tempo_bpm, tail_seconds)
        if not chunks:
            return np.zeros((0, CHANNELS), dtype=np.int16)
        return np.concatenate(chunks)

    def stream(self, piece: Piece, emit: Callable[["np.ndarray"], None], tempo_bpm: float = 80,
               tail_seconds: float = TAIL_SECONDS) -> float:
        """Render the piece block by block, handing each int16 ``(frames, 2)`` block to
        ``emit`` as soon as FluidSynth has made it (so it can be encoded meanwhile).

        Returns the seconds spent waiting for this synthesizer (another render held it).
        """
        import numpy as np

        tempo = check_tempo(tempo_bpm)
        events = self._schedule(piece, tempo)
        tail = max(0, round(tail_seconds * self.sample_rate))
        total = (events[-1][0] if events else 0) + tail
        asked = time.perf_counter()
        with self._lock:
            waited = time.perf_counter() - asked
            synth = self._synth
            if synth is None:
                raise RenderError("This synthesizer has been closed.", "Make a new Synthesizer.")
            synth.system_reset()  # silence anything left from a previous render
            synth.program_select(0, self._sfid, 0, self.program)
            position = 0

            def advance(until: int) -> None:
                nonlocal position
                while position < until:
                    count = min(CHUNK, until - position)
                    block = np.asarray(synth.get_samples(count), dtype=np.int16)
                    emit(block.reshape(-1, CHANNELS))
                    position += count

            for sample, kind, pitch in events:
                advance(sample)
                if kind:
                    synth.noteon(0, pitch, VELOCITY)
                else:
                    synth.noteoff(0, pitch)
            advance(total)
            synth.all_sounds_off(0)
        return waited

    def wav_bytes(self, piece: Piece, tempo_bpm: float = 80, tail_seconds: float = TAIL_SECONDS
                  ) -> bytes:
        """The piece as a 16-bit stereo WAV file (at ``sample_rate``, 44.1 kHz by default)."""
        return to_wav(self.render(piece, tempo_bpm, tail_seconds), self.sample_rate)

    def player_audio(self, piece: Piece, tempo_bpm: float = 80,
                     tail_seconds: float = TAIL_SECONDS, kind: str = PLAYER_FORMAT
                     ) -> "PlayerAudio":
        """The piece as FLAC (or another of :data:`PLAYER_FORMATS`) for a page's player,
        each block encoded as soon as FluidSynth has rendered it (no whole-piece array is
        kept). Without the soundfile package the player gets WAV instead.

        (Rendering on a second thread while this one encodes was measured too: on this
        project's two-core machine, busy with other work, it was no faster.)
        """
        started = time.perf_counter()
        writer = player_writer(self.sample_rate, kind)
        try:
            waited = self.stream(piece, writer.write, tempo_bpm, tail_seconds)
        finally:
            data = writer.close()
        total = time.perf_counter() - started
        return PlayerAudio(data, writer.mime, self.sample_rate, writer.frames,
                           max(total - waited - writer.seconds, 0.0), writer.seconds, waited,
                           total)


@dataclass(frozen=True)
class PlayerAudio:
    """Compressed audio for a page's player, and what making it cost (seconds)."""

    data: bytes
    mime: str
    sample_rate: int
    frames: int
    render_s: float   # FluidSynth rendering
    encode_s: float   # inside the encoder
    wait_s: float     # waiting for the shared synthesizer (another take was rendering)
    total_s: float    # all of it

    def timings(self) -> dict[str, float]:
        """The costs under the names a take's timings use."""
        return {"audio_synth_wait": self.wait_s, "audio_synth": self.render_s,
                "audio_encode": self.encode_s, "audio": self.total_s}


class SynthesizerProcesses:
    """Synthesizers in worker processes of their own, for the player's audio of a server's
    sessions: ``size`` processes, each with one :class:`Synthesizer` (the soundfont loaded
    once, when the process starts), each rendering and encoding one take at a time.

    Why processes: FluidSynth and the encoder let go of Python's interpreter lock at every
    note and block (thousands of times a take) and must take it back each time; in a busy
    server, beside the threads drawing other sessions' pages, every take back waits its
    turn. In a process of its own a take's audio runs at full speed on its core. A worker
    ends when the process that started it does.
    """

    def __init__(self, soundfont: str | Path | None = None, size: int = 2,
                 sample_rate: int = PLAYER_SAMPLE_RATE) -> None:
        if size < 1:
            raise RenderError("Audio workers: at least one is needed.")
        _import_fluidsynth()
        self.soundfont, self.sample_rate, self.size = find_soundfont(soundfont), int(sample_rate), size
        self._pool = self._start()

    def _start(self) -> Any:
        """New worker processes, each with its soundfont loaded and warmed up."""
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=self.size, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker,
                                   initargs=(str(self.soundfont), self.sample_rate, os.getpid()))
        try:
            for future in [pool.submit(_worker_ready) for _ in range(self.size)]:
                future.result()
        except Exception as exc:  # noqa: BLE001 - a worker that cannot start is reported here
            pool.shutdown(wait=False, cancel_futures=True)
            raise RenderError(f"The audio worker could not start: {exc}.") from exc
        return pool

    def player_audio(self, piece: Piece, tempo_bpm: float = 80, tail_seconds: float = TAIL_SECONDS,
                     kind: str = PLAYER_FORMAT) -> "PlayerAudio":
        """As :meth:`Synthesizer.player_audio`, in a free worker: the wait for one (and for
        the piece to get there and the audio back) is counted in ``wait_s``. Workers that
        stopped (a crash) are started again once, and the take tried again."""
        from concurrent.futures import BrokenExecutor
        from dataclasses import replace

        asked = time.perf_counter()
        try:
            made = self._pool.submit(_worker_player_audio, piece, tempo_bpm, tail_seconds, kind).result()
        except BrokenExecutor:
            self._pool = self._start()
            try:
                made = self._pool.submit(_worker_player_audio, piece, tempo_bpm, tail_seconds, kind).result()
            except BrokenExecutor as exc:
                raise RenderError("The audio worker stopped twice on this take.",
                                  "Try other settings or a shorter take.") from exc
        total = time.perf_counter() - asked
        return replace(made, wait_s=made.wait_s + max(total - made.total_s, 0.0), total_s=total)

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown(wait=False, cancel_futures=True)


#: The synthesizer of a worker process of :class:`SynthesizerProcesses`.
_WORKER_SYNTH: Synthesizer | None = None


def _start_worker(soundfont: str, sample_rate: int, parent: int) -> None:
    """Load the worker's synthesizer; end the process when ``parent`` is gone (a pool's
    worker holds both ends of its own job queue, so it would otherwise wait for ever)."""
    import os

    global _WORKER_SYNTH

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="bachgen-audio-watch", daemon=True).start()
    _WORKER_SYNTH = Synthesizer(soundfont, sample_rate=sample_rate)


def _worker_ready() -> bool:
    """Warm up: a short render, so the first take does not load the piano's samples."""
    assert _WORKER_SYNTH is not None
    _WORKER_SYNTH.player_audio(Piece((Note(0, 48, 60),)), 80, tail_seconds=0.1)
    return True


def _worker_player_audio(piece: Piece, tempo_bpm: float, tail_seconds: float, kind: str) -> "PlayerAudio":
    assert _WORKER_SYNTH is not None
    return _WORKER_SYNTH.player_audio(piece, tempo_bpm, tail_seconds, kind)


def _import_soundfile() -> Any:
    """The ``soundfile`` module, or :class:`MissingDependencyError` saying what to install."""
    try:
        import soundfile
    except (ImportError, OSError) as exc:  # the package, or its libsndfile, is missing
        raise MissingDependencyError(
            "Compressed audio needs the soundfile package (libsndfile), which is not installed.",
            "Install it with: pip install soundfile (the WAV download still works).",
        ) from exc
    return soundfile


def player_writer(sample_rate: int, kind: str = PLAYER_FORMAT) -> "SoundWriter | WavWriter":
    """A writer of the player's audio in ``kind`` (see :data:`PLAYER_FORMATS`); WAV when
    the soundfile package is missing."""
    if kind not in PLAYER_FORMATS:
        raise RenderError(f"Unknown audio format {kind!r}.",
                          f"Choose one of {', '.join(PLAYER_FORMATS)}.")
    if kind == "wav" or not ogg_available():
        return WavWriter(sample_rate)
    return SoundWriter(sample_rate, kind)


class SoundWriter:
    """A compressed stream (Ogg Vorbis or FLAC, see :data:`PLAYER_FORMATS`) written in
    memory by libsndfile, block by block (stereo int16 frames).

    Blocks are split to :data:`ENCODE_BLOCK` frames: one large write crashes libsndfile.
    ``seconds`` is the time spent encoding, ``frames`` the frames written.
    """

    def __init__(self, sample_rate: int, kind: str = "ogg") -> None:
        soundfile = _import_soundfile()
        container, codec, self.mime = PLAYER_FORMATS[kind]
        self._buffer = io.BytesIO()
        self._file = soundfile.SoundFile(self._buffer, "w", samplerate=int(sample_rate),
                                         channels=CHANNELS, format=container, subtype=codec)
        self.frames = 0
        self.seconds = 0.0

    def write(self, frames: "np.ndarray") -> None:
        started = time.perf_counter()
        for start in range(0, len(frames), ENCODE_BLOCK):
            self._file.write(frames[start:start + ENCODE_BLOCK])
        self.frames += len(frames)
        self.seconds += time.perf_counter() - started

    def close(self) -> bytes:
        """Finish the stream; its bytes (also after an error, for what was written)."""
        started = time.perf_counter()
        if not self._file.closed:
            self._file.close()
        self.seconds += time.perf_counter() - started
        return self._buffer.getvalue()


def to_wav(frames: "np.ndarray", sample_rate: int = SAMPLE_RATE) -> bytes:
    """An int16 ``(frames, 2)`` array as WAV bytes, written in memory."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(sample_rate)
        out.writeframes(frames.astype("<i2", copy=False).tobytes())
    return buffer.getvalue()


class WavWriter:
    """A 16-bit stereo WAV file written in memory, block by block (as :class:`SoundWriter`)."""

    mime = "audio/wav"

    def __init__(self, sample_rate: int) -> None:
        self._buffer = io.BytesIO()
        self._file = wave.open(self._buffer, "wb")
        self._file.setnchannels(CHANNELS)
        self._file.setsampwidth(SAMPLE_WIDTH)
        self._file.setframerate(int(sample_rate))
        self.frames = 0
        self.seconds = 0.0

    def write(self, frames: "np.ndarray") -> None:
        started = time.perf_counter()
        self._file.writeframes(frames.astype("<i2", copy=False).tobytes())
        self.frames += len(frames)
        self.seconds += time.perf_counter() - started

    def close(self) -> bytes:
        self._file.close()
        return self._buffer.getvalue()


def to_ogg(frames: "np.ndarray", sample_rate: int = PLAYER_SAMPLE_RATE) -> bytes:
    """An int16 ``(frames, 2)`` array as Ogg Vorbis bytes, encoded in memory."""
    writer = SoundWriter(sample_rate, "ogg")
    try:
        writer.write(frames)
    finally:
        data = writer.close()
    return data


def ogg_available() -> bool:
    """True when compressed audio (Ogg Vorbis, FLAC) can be written (the soundfile package
    and its libsndfile load)."""
    try:
        _import_soundfile()
    except MissingDependencyError:
        return False
    return True


def wav_bytes(piece: Piece, tempo_bpm: float = 80, soundfont: str | Path | None = None) -> bytes:
    """One-off convenience: a new :class:`Synthesizer`, one WAV, then the synthesizer is freed.

    For repeated renders keep a Synthesizer instead (the font is loaded only once).
    """
    with Synthesizer(soundfont) as synth:
        return synth.wav_bytes(piece, tempo_bpm)
