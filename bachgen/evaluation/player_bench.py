"""What the server does between a click and the sound, the ways a take can be heard
(``bachgen bench``, "player"): the browser playing the take's opening while the rest is
drawn (the page's way: the server hands over the opening's MIDI file and notes as soon as
they are final, :class:`bachgen.pipeline.Opening`), the browser playing the whole take's
MIDI (the server composes and hands over the MIDI file and the notes of the piano roll),
and the server rendering the player's audio (FluidSynth at 22.05 kHz, then FLAC, as the
page did before its player).

Both are one take of the same events after a warm-up, timed in wall seconds and in this
process's CPU-seconds (FluidSynth's threads included: it renders in-process here, as the
page's worker processes did). The figures are the machine's as much as the code's: compare
them within one run, and take them on a quiet machine.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..config import FormConfig, RenderConfig, SamplingConfig
from ..errors import BachgenError
from ..pipeline import ComposeSettings, Engine, SeedSpec, compose
from ..render.audio import PLAYER_SAMPLE_RATE, Synthesizer
from ..render.player_data import player_take

#: The page's tempo (quarter notes a minute).
TEMPO_BPM = 80.0


def _timed(work: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and CPU-seconds of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def player_costs(engine: Engine, events: int) -> dict[str, Any]:
    """The server's seconds and CPU-seconds from the click to what the page needs to play,
    the browser playing the MIDI file against the server rendering FLAC (``None`` for the
    latter when FluidSynth is not there)."""
    spec = SeedSpec() if engine.corpus_available else SeedSpec(fugue=None)
    render = RenderConfig(audio=False, score=False, pianoroll=False, tempo_bpm=TEMPO_BPM)
    settings = ComposeSettings(spec, SamplingConfig(events=events, seed=1), render, FormConfig())

    def music() -> Any:
        made = compose(settings, engine)
        return made, player_take(made.piece, TEMPO_BPM, take_id=1, entries=made.entries,
                                 subject_key=made.subject.key if made.subject else None)

    def opening() -> tuple[float, float]:
        """Wall seconds and CPU-seconds (every thread's) to the opening's player data (to the
        whole take's, for a take too short to have an opening)."""
        marks: dict[str, float] = {}

        def early(made: Any) -> None:
            player_take(made.piece, TEMPO_BPM, take_id=1, partial=True)
            marks.update(wall=time.perf_counter(), cpu=time.process_time())

        wall, cpu = time.perf_counter(), time.process_time()
        made = compose(settings, engine, early=early)
        if not marks:
            player_take(made.piece, TEMPO_BPM, take_id=1)
            marks.update(wall=time.perf_counter(), cpu=time.process_time())
        return marks["wall"] - wall, marks["cpu"] - cpu

    music()  # warm: the corpus, the index, the renderers' imports
    browser = _timed(music)
    first = opening()
    report: dict[str, Any] = {"events": events,
                              "opening": {"s": round(first[0], 3), "cpu_s": round(first[1], 3)},
                              "browser_plays": {"s": round(browser[0], 3), "cpu_s": round(browser[1], 3)},
                              "server_plays": None}
    try:
        synth = Synthesizer(sample_rate=PLAYER_SAMPLE_RATE)
    except BachgenError as exc:
        report["notice"] = str(exc)
        return report
    piece = music()[0].piece
    synth.player_audio(piece, TEMPO_BPM)  # warm: the piano's samples
    server = _timed(lambda: synth.player_audio(music()[0].piece, TEMPO_BPM))
    synth.close()
    report["server_plays"] = {"s": round(server[0], 3), "cpu_s": round(server[1], 3)}
    shown = report["browser_plays"]["cpu_s"], report["server_plays"]["cpu_s"]
    report["cpu_ratio"] = round(shown[0] / shown[1], 3) if shown[1] > 0 else None
    report["opening_cpu_ratio"] = round(report["opening"]["cpu_s"] / shown[1], 3) if shown[1] > 0 else None
    return report


def player_lines(r: dict[str, Any]) -> list[str]:
    """The report of :func:`player_costs` as lines of text."""
    o, b, s = r["opening"], r["browser_plays"], r["server_plays"]
    line = (f"click -> what the page plays, {r['events']} events: the opening (the page's way) "
            f"{o['s']:.3f} s ({o['cpu_s']:.3f} CPU-s on the server); the whole take's MIDI "
            f"{b['s']:.3f} s ({b['cpu_s']:.3f} CPU-s)")
    if s is None:
        return [line + f"; the server's audio not measured ({r.get('notice', 'no FluidSynth')})"]
    return [line + f"; the server renders FLAC {s['s']:.3f} s ({s['cpu_s']:.3f} CPU-s) -> "
                   f"the opening {r['opening_cpu_ratio']:.2f}x, the whole MIDI {r['cpu_ratio']:.2f}x "
                   "the server's CPU (target <= 0.5)"]
