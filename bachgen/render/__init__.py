"""Rendering: a piece becomes bytes — MIDI, audio, piano roll, score — and notices.

Each renderer is a module of its own (:mod:`.midi`, :mod:`.audio`, :mod:`.pianoroll`,
:mod:`.score`); :func:`render_piece` is the one contract the pipeline calls: a piece and
the :class:`~bachgen.config.RenderConfig` in, a :class:`Rendered` out. A renderer whose
library is missing (FluidSynth, verovio) or fails leaves a notice instead of an error.
The audio is rendered on a second thread while the rest is drawn (FluidSynth runs
outside the interpreter lock); :class:`Synthesizers` keeps one synthesizer per soundfont.
The entries of the subject, when given, are marked on the piano roll and in the score.
:mod:`.player_data` gives the page's player in the browser what it draws and plays along
with a take's MIDI file (its notes by voice, the voices' channels, the entries).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..config import RenderConfig
from ..errors import MissingDependencyError, RenderError
from ..events import Piece
from ..plan import Section
from ..subject import Entry
from . import audio, midi, pianoroll, score

#: ``progress(stage, fraction)``: told as each stage starts.
Progress = Callable[[str, float], None]


class Synthesizers:
    """One shared :class:`~bachgen.render.audio.Synthesizer` per soundfont, made on first use
    (``None``, with :attr:`notice` set, when FluidSynth is not installed); each renders on up
    to two threads (one take at a time is what it is for: the CLI, a page's WAV download)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._synths: dict[str | None, Any] = {}
        self.notice: str | None = None

    def get(self, soundfont: str | None = None) -> Any:
        """The synthesizer for ``soundfont`` (``None``: the default piano)."""
        with self._lock:
            if soundfont not in self._synths:
                try:
                    self._synths[soundfont] = audio.Synthesizer(soundfont, threads=min(2, os.cpu_count() or 1))
                except MissingDependencyError as exc:
                    self.notice = f"Audio is off: {exc}"
                    self._synths[soundfont] = None
            return self._synths[soundfont]


@dataclass
class Rendered:
    """The rendered outputs (``None``: not asked for, or its library is missing)."""

    midi: bytes
    wav: bytes | None
    png: bytes | None
    musicxml: bytes | None
    svg: str | None


def render_piece(piece: Piece, seed_end_tick: int | None, render: RenderConfig, synthesizers: Synthesizers,
            notices: list[str], timings: dict[str, float], report: Progress,
            entries: Sequence[Entry] = (), subject_key: str | None = None,
            sections: Sequence[Section] = ()) -> Rendered:
    """MIDI, piano roll and score here while the audio is rendered on a second thread
    (FluidSynth runs outside the interpreter lock). ``entries`` of the subject (in the
    piece's ticks; their keys from ``subject_key``) are marked on the roll and the score."""
    audio = AudioJob(piece, render, synthesizers, report) if render.audio else None

    report("midi", 0.75)
    t = time.perf_counter()
    midi_bytes = midi.piece_to_midi_bytes(piece, render.tempo_bpm)
    timings["midi"] = time.perf_counter() - t

    png = None
    if render.pianoroll:
        report("pianoroll", 0.85)
        t = time.perf_counter()
        png = pianoroll.pianoroll_png(piece, seed_end_tick, render.tempo_bpm, title=piece.name,
                                      entries=entries, subject_key=subject_key, sections=sections,
                                      axis="bars" if sections else "seconds")
        timings["pianoroll"] = time.perf_counter() - t

    t = time.perf_counter()
    labels = entry_labels(entries, subject_key)
    musicxml, svg = render_score(piece, render, notices, report, labels) if render.score else (None, None)
    timings["score"] = time.perf_counter() - t
    wav = audio.wait(notices) if audio is not None else None
    timings["audio"] = audio.seconds if audio is not None else 0.0
    return Rendered(midi_bytes, wav, png, musicxml, svg)


class AudioJob:
    """The WAV of a piece, rendered on its own thread from construction on."""

    def __init__(self, piece: Piece, render: RenderConfig, synthesizers: Synthesizers,
                 report: Progress) -> None:
        report("audio", 0.7)
        self.out: dict[str, Any] = {}
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, args=(piece, render, synthesizers),
                                        name="bachgen-audio", daemon=True)
        self._thread.start()

    def _run(self, piece: Piece, render: RenderConfig, synthesizers: Synthesizers) -> None:
        """Render; a missing or failing synthesizer leaves a notice, anything else an error."""
        out = self.out
        started = time.perf_counter()
        try:
            synth = synthesizers.get(render.soundfont)
            if synth is None:
                out["notice"] = synthesizers.notice or "Audio is off: FluidSynth is not installed."
            else:
                out["wav"] = synth.wav_bytes(piece, render.tempo_bpm)
        except MissingDependencyError as exc:
            out["notice"] = f"Audio is off: {exc}"
        except RenderError as exc:
            out["notice"] = f"No audio: {exc}"
        except BaseException as exc:  # re-raised on the calling thread
            out["error"] = exc
        out["seconds"] = time.perf_counter() - started

    def wait(self, notices: list[str]) -> bytes | None:
        """The WAV bytes once the thread is done (its notice added; its error raised here)."""
        self._thread.join()
        if "error" in self.out:
            raise self.out["error"]
        if self.out.get("notice"):
            notices.append(self.out["notice"])
        self.seconds = float(self.out.get("seconds", 0.0))
        return self.out.get("wav")


def entry_labels(entries: Sequence[Entry], subject_key: str | None = None) -> list[tuple[int, int, str]]:
    """The score's labels of ``entries``: ``(tick, pitch, text)`` of each entry's first note,
    named as on the piano roll (:func:`~bachgen.render.pianoroll.entry_label`)."""
    return [(e.onsets[0], e.pitches[0], pianoroll.entry_label(e, subject_key))
            for e in entries if e.onsets and e.pitches]


def render_score(piece: Piece, render: RenderConfig, notices: list[str], report: Progress,
                 labels: Sequence[tuple[int, int, str]] = ()) -> tuple[bytes | None, str | None]:
    """MusicXML and the engraved SVG (``labels`` above their notes, see
    :func:`entry_labels`); a missing or failing engraver leaves a notice."""
    report("score", 0.9)
    musicxml = svg = None
    try:
        musicxml = score.musicxml_bytes(piece, render.tempo_bpm, labels)
    except (MissingDependencyError, RenderError) as exc:
        notices.append(f"No score: {exc}")
    if musicxml is not None:
        try:
            svg = score.score_svg(piece, render.tempo_bpm, musicxml=musicxml)
        except MissingDependencyError as exc:
            notices.append(f"The engraved score is off: {exc}")
        except RenderError as exc:
            notices.append(f"No engraved score: {exc}")
    return musicxml, svg
