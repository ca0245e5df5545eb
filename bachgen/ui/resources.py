"""What the server starts once and every session of the page shares (``st.cache_resource``):
the engine (model, codec, synthesizer), the player's synthesizer worker processes, the
audio-first rule, the score's engraver process and the real fugues' bands; and the player's
audio made with them.

Each is made on first use and kept for the server's life; a failure is not cached, so
the next run of the page tries again.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import streamlit as st

from bachgen.config import CorpusConfig, RenderConfig, SamplingConfig
from bachgen.errors import BachgenError

if TYPE_CHECKING:
    from bachgen.serving import AudioFirst
    from bachgen.events import Piece

log = logging.getLogger("bachgen.app")

#: The player's audio: "flac" (the default), "ogg" (Ogg Vorbis: four times smaller, eight
#: times slower to make) or "wav" (see bachgen.render.audio.PLAYER_FORMATS); the WAV download is
#: the same whichever is chosen.
PLAYER_AUDIO = os.environ.get("BACHGEN_PLAYER_AUDIO", "flac")
#: Takes rendered for the player side by side (one per CPU core, at most 2: more only share them).
PLAYER_SYNTHS = max(1, min(2, os.cpu_count() or 1))
#: Longest wait of a page's after-audio work for other listeners' audio (see bachgen.serving.AudioFirst).
AFTER_AUDIO_WAIT_S = 20.0
#: A take that has not got its audio after this long no longer holds the others back.
HOLD_EXPIRES_S = 60.0


@st.cache_resource(show_spinner="Loading the model…")
def load_engine(model_dir: str, corpus_dir: str) -> Any:
    """The shared engine (model, codec, synthesizers, lock) for one model folder.

    The arguments are the environment's choices, so a different folder loads anew.
    A failure is not cached: the next run tries again.
    """
    from bachgen.serving import TimedLock
    from bachgen.pipeline import load_engine as load

    engine = load(bundle_dir=model_dir or None, corpus=CorpusConfig.from_env())
    engine.lock = TimedLock()  # shared by the sessions: each take notes its wait for the model
    warm_up(engine)
    settle_heap()
    return engine


def settle_heap() -> None:
    """Collect once, then leave everything alive now out of Python's later full collections.

    The engine holds millions of long-lived objects (the corpus's notes, the copy index);
    each full collection walked all of them — 0.13–0.4 s with the interpreter lock held,
    about a hundred times in one browser test, on the way to listeners' music too. Frozen,
    they are never scanned again (they live as long as the server)."""
    gc.collect()
    gc.freeze()


def warm_up(engine: Any) -> None:
    """Compose a few events once, so the first press of Generate is as quick as the rest:
    it reads the corpus, builds the copy index, loads the soundfont and imports the
    renderers (for either kind of engine). A failure here is left for the real take to report."""
    from bachgen.pipeline import ComposeSettings, SeedSpec, compose

    fugue = "wtc1f02" if engine.corpus_available else None
    settings = ComposeSettings(seed=SeedSpec(fugue=fugue),
                               sampling=SamplingConfig(events=16, seed=0),
                               render=RenderConfig(score=False))
    try:
        compose(settings, engine)
    except Exception:  # noqa: BLE001 (only a warm-up)
        log.warning("warm-up composition failed", exc_info=True)


@st.cache_resource(show_spinner=False)
def player_synth(soundfont: str) -> tuple[Any, str | None]:
    """The synthesizers of the page's player (22.05 kHz, :data:`PLAYER_SYNTHS` worker
    processes side by side, see :class:`bachgen.render.audio.SynthesizerProcesses`), shared by all
    sessions, or ``None`` and the notice saying why there is no audio."""
    from bachgen.render import audio

    try:
        return audio.SynthesizerProcesses(soundfont or None, size=PLAYER_SYNTHS), None
    except BachgenError as exc:
        return None, f"Audio is off: {exc}"


@st.cache_resource(show_spinner=False)
def audio_first() -> AudioFirst:
    """The server's :class:`~bachgen.serving.AudioFirst`, shared by all sessions."""
    from bachgen.serving import AudioFirst

    return AudioFirst(AFTER_AUDIO_WAIT_S, HOLD_EXPIRES_S)


def player_audio(piece: Piece, render: RenderConfig,
                 engine: Any) -> tuple[bytes | None, str, str | None, dict]:
    """The take's audio for the player: bytes, their MIME type, a notice when there are none,
    and the seconds spent (waiting for the synthesizer, rendering, encoding). There is audio
    when the engine has a synthesizer (the WAV download uses that one)."""
    if engine.synthesizers.get(render.soundfont) is None:
        return None, "", engine.synthesizers.notice or "Audio is off: FluidSynth is not installed.", {}
    synth, notice = player_synth(render.soundfont or "")
    if synth is None:
        return None, "", notice, {}
    try:
        made = synth.player_audio(piece, render.tempo_bpm, kind=PLAYER_AUDIO)
    except BachgenError as exc:
        return None, "", f"No audio: {exc}", {}
    return made.data, made.mime, None, made.timings()


#: Run first in the score worker: music first (lower priority), and end with the server.
#: (A pool worker holds both ends of its own job queue, so it would wait for work for
#: ever once the server is gone; the watcher thread ends it instead.) Passed as source
#: text rather than as a function of this module: unpickling that function would make
#: the worker import the page's modules, and streamlit with them.
ENGRAVER_INIT = """
import os, threading, time
os.nice(10)
def watch(server_pid={server_pid}):
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os._exit(0)
threading.Thread(target=watch, name="bachgen-engraver-watch", daemon=True).start()
"""


@st.cache_resource(show_spinner=False)
def engraver() -> ProcessPoolExecutor:
    """One worker process, shared by all sessions, that engraves scores.

    Engraving (music21, then verovio) takes seconds of pure CPU and holds Python's
    global lock for long stretches; in its own process it cannot stall the other
    sessions' music or the server. One worker: scores are made one after another.
    The worker is started at once and warmed up with a tiny score.
    """
    from bachgen.render import score
    from bachgen.events import Note, Piece

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=exec,
                               initargs=(ENGRAVER_INIT.format(server_pid=os.getpid()), {}))
    tiny = Piece(tuple(Note(i * 48, 48, 60 + 2 * i) for i in range(4)))
    pool.submit(score.score_svg, tiny, 80.0)  # imports music21 and verovio in the worker
    return pool


@st.cache_resource(show_spinner="Measuring the real fugues…", max_entries=32)
def real_bands(corpus_dir: str, cache_dir: str, events: int) -> dict[str, tuple[float, float]]:
    """The band of every statistic over the real fugues' stretches of ``events`` events,
    measured once per server for each corpus folder and length. A failure is not cached."""
    from bachgen.evaluation import statistics

    config = CorpusConfig(corpus_dir=corpus_dir or None, cache_dir=cache_dir or None)
    bands = statistics.real_bands_for(config, events)
    settle_heap()  # what measuring the fugues left alive is kept out of later collections too
    return bands
