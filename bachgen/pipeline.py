"""From settings to finished music: seed -> draw -> piece -> MIDI, audio, piano roll, score.

An :class:`Engine` is loaded once by :func:`load_engine` (the model bundle, its step, the
corpus and its copy index, the synthesizers) and shared by every caller; :func:`compose`
turns one :class:`ComposeSettings` into a :class:`Composition` holding every output and
what happened on the way (statistics, notices, seconds per stage).

The network reads and writes events spelled as sub-tokens (:mod:`bachgen.codec`) and is
told its key and where each event falls in the bar. So a seed here is a run of whole
*events* of a piece (a fugue from a bar, your file's last events, a take's kept part, or
one quarter of silence), moved into a key the network knows; the music comes back in the
seed's own key and meter, laid out on the seed's bar grid (shifted by whole bars so it
starts in its first bar). Loops and copies of the corpus are taken back as they are drawn
(:mod:`bachgen.guards`). Optional renderers that are missing (FluidSynth, verovio) give
a notice instead of an error; bad input raises a :class:`~bachgen.errors.BachgenError`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import corpus, harmony
from .bundle import load_bundle
from .codec import SpelledCodec
from .config import CorpusConfig, FormConfig, RenderConfig, SamplingConfig
from .errors import CorpusError
from .events import Event, Piece
from .form import ending, hold
from .fugue import planned_entries
from .guards import CopyIndex, EventWatch, LoopRule, find_loops
from .leaning import Leaning
from .plan import CLOSE_BARS, Plan, Section
from .reduction import chordify
from .render import Progress, Synthesizers, render_piece
from .render.midi import piece_to_midi_bytes
from .rows import SampleSettings, TakeRows, assemble, check_take
from .seeding import SEED_EVENTS, Seed, SeedSpec, make_seed
from .sampling import sample_takes
from .serving import DrawQueue, lock_waited
from .step import RowStableStep, blas_single_thread, load_step
from .subject import Entry, Subject, find_entries
from .voices import split_take

@dataclass(frozen=True)
class ComposeSettings:
    seed: SeedSpec = SeedSpec()
    sampling: SamplingConfig = SamplingConfig()
    render: RenderConfig = RenderConfig()
    form: FormConfig = FormConfig()


@dataclass
class Composition:
    """Everything one :func:`compose` call made."""

    settings: ComposeSettings
    piece: Piece
    seed_piece: Piece | None
    seed_end_tick: int | None
    ids: list[int]
    midi: bytes
    wav: bytes | None
    png: bytes | None
    musicxml: bytes | None
    svg: str | None
    stats: dict
    notices: list[str]
    timings: dict[str, float]
    subject: Subject | None = None   # the subject its entries bring back (in the seed's key)
    entries: list[Entry] = field(default_factory=list)  # found in ``piece`` after the seed
    sections: tuple[Section, ...] = ()  # a whole fugue's plan: exposition, episodes, entries, close



@dataclass
class Drawn:
    """The candidate kept: its new ids and events, and what the guards measured."""

    ids: list[int]
    events: list[Event]
    stuck: int
    longest_copied_run: int | None
    candidate: int
    loops_taken_back: int = 0
    copies_refused: int = 0
    queued: float = 0.0              # seconds from asking to its first step (about one step when it joins a draw)
    batch: int = 1                   # takes it shared at least one step with (itself included)
    plan: Plan = Plan()              # what it was held to (the sampler's ticks and key)


class Engine:
    """The loaded bundle and what compositions share (thread-safe). Takes that ask
    to draw at the same time are drawn together in one batch (``draws``, see :func:`draw`)."""

    def __init__(self, bundle: Any, corpus: CorpusConfig | None = None, backend: str = "numpy") -> None:
        self.bundle = bundle
        self.codec: SpelledCodec = bundle.codec
        self.step = load_step(bundle, backend)
        self.backend = backend
        self.seq_len = SEED_EVENTS
        self.corpus_config = corpus if corpus is not None else CorpusConfig.from_env()
        self.lock = threading.Lock()
        self.draws: DrawQueue[TakeRows] = DrawQueue(partial(_draw_batch, self))
        self._init_lock = threading.Lock()
        self._pieces: dict[str, Piece] | None = None
        self._events: dict[str, list[Event]] = {}
        self._copy_index: dict[int, Any] = {}
        self._usable: list[str] | None = None  # looked for on first use
        self.broken_files: list[Any] = []
        self.synthesizers = Synthesizers()

    def lean(self, leaning: Leaning | None) -> None:
        """Draw with ``leaning`` from now on (:mod:`bachgen.leaning`; ``None``: none)."""
        self.bundle.leaning = leaning
        self.step = load_step(self.bundle, self.backend)

    @property
    def corpus_available(self) -> bool:
        """Whether fugues can be read: all 48, or all but damaged or missing files."""
        return bool(self.usable_fugues)

    @property
    def usable_fugues(self) -> list[str]:
        """The fugues whose kern files are present and verified (looked for once)."""
        if self._usable is None:
            self._usable, self.broken_files = corpus.usable(self.corpus_config)
        return self._usable

    def corpus_pieces(self) -> dict[str, Piece]:
        """The usable fugues in their own keys (read once)."""
        with self._init_lock:
            if self._pieces is None:
                if not self.corpus_available:
                    raise CorpusError("The corpus of the 48 fugues is not available.",
                                      "Run `bachgen corpus download` or set BACHGEN_CORPUS_DIR.")
                self._pieces = {p.name: p for p in corpus.load_corpus(self.corpus_config, self.usable_fugues)}
            return self._pieces

    def fugue_events(self, fugue_id: str) -> list[Event]:
        """A fugue's events (its piano reduction, chordified once); a damaged or missing
        file is named (:class:`CorpusError`)."""
        pieces = self.corpus_pieces()
        if fugue_id not in pieces:
            corpus.verified_path(fugue_id, self.corpus_config)  # raises, naming the file
        with self._init_lock:
            if fugue_id not in self._events:
                self._events[fugue_id] = chordify(pieces[fugue_id], self.codec.reduction_config)
            return self._events[fugue_id]

    def copy_index(self, limit: int):
        """The corpus's events in transposition-free form (:class:`~bachgen.guards.CopyIndex`)."""
        events = {f: self.fugue_events(f) for f in self.corpus_pieces()}
        with self._init_lock:
            if limit not in self._copy_index:
                self._copy_index[limit] = CopyIndex(list(events.values()), limit, names=list(events))
            return self._copy_index[limit]


def load_engine(bundle_dir: str | Path | None = None, corpus: CorpusConfig | None = None,
                backend: str = "numpy") -> Engine:
    """The engine for the bundle in ``bundle_dir`` (default ``assets/model`` or
    ``$BACHGEN_MODEL_DIR``). With the NumPy step (``backend="numpy"``) it loads without
    importing TensorFlow (the weights are read from the archive, :mod:`bachgen.weights`);
    ``backend="tf"`` starts TensorFlow here."""
    return Engine(load_bundle(bundle_dir), corpus, backend)



# --------------------------------------------------------------------------- draw


def sample_settings(cfg: SamplingConfig) -> SampleSettings:
    """The draw's settings from the shared :class:`~bachgen.config.SamplingConfig`."""
    compass = tuple(cfg.compass) if cfg.compass is not None else None
    return SampleSettings(cfg.temperature, cfg.top_k or 0, cfg.top_p if cfg.top_p is not None else 1.0,
                          compass)


def draw(cfg: SamplingConfig, engine: Engine, seed: Seed, rng: np.random.Generator,
         copy_index: Any | None, form: FormConfig = FormConfig(entries=False, close=False),
         tell: Callable[[list[int]], None] | None = None) -> Drawn:
    """Draw ``cfg.candidates`` continuations of the seed together, loops and copies of the
    corpus taken back as they are drawn (:func:`watch`), held to the take's plan (``form``:
    entries of the seed's subject, the close; :mod:`bachgen.plan`); keep the best: not stuck
    in a loop, then the shortest run copied from the corpus outside planned entries, then
    the first.

    The rows join the engine's draw queue: takes of other threads asking at the same time
    share the network's steps, and each gets exactly the ids it gets alone. With no plan (no
    subject, no end) the ids are those of a draw without a form."""
    codec = engine.codec
    held = hold(codec, seed, cfg, form, rng)
    plan = held.plan
    guard = watch(cfg, engine, [seed] * cfg.candidates, copy_index)
    take = TakeRows([held.row] * cfg.candidates, held.events, sample_settings(cfg), rng,
                    [seed.moved_by] * cfg.candidates, guard, held.rules,
                    EARLY_EVENTS if tell is not None else 0)
    check_take(engine.step, take)
    served = engine.draws.draw(take, tell)
    found = []
    for b, ids in enumerate(served.result):
        events = codec.events(ids, held.span.start)
        stuck = find_loops(event_ids(events), cfg.loop_max_period, cfg.loop_min_repeats,
                           cfg.loop_min_events)
        run = copied_run(copy_index, events, plan) if copy_index is not None else None
        found.append(Drawn(list(ids), events, stuck, run, b, guard.loops_taken_back[b],
                           guard.copies_refused[b], served.queued, served.batch, plan))
    return min(found, key=lambda d: (d.stuck > 0, d.longest_copied_run or 0, d.candidate))


def copied_run(copy_index: Any, events: list[Event], plan: Plan) -> int:
    """The longest run of ``events`` copied from the corpus outside the planned entries (a
    planned entry copies its fugue's subject by design)."""
    spans = [(e.start, e.end) for e in plan.entries]
    best, stretch = 0, []
    for e in events + [None]:
        if e is None or any(a <= e.start < b for a, b in spans):
            best = max(best, copy_index.longest_run(stretch)) if stretch else best
            stretch = []
        else:
            stretch.append(e)
    return best


def _draw_batch(engine: Engine, takes: Sequence[TakeRows], done: Any, joiners: Any, early: Any) -> None:
    """Draw the takes of one batch (:class:`~bachgen.serving.DrawQueue`), and the takes that
    join it between steps, with the model to itself: row-stable steps, BLAS on this thread
    (tiny products: threads only wait on each other)."""
    with engine.lock, blas_single_thread():
        sample_takes(RowStableStep(engine.step), engine.codec, takes, on_done=done, joiners=joiners,
                     on_early=early)


def watch(cfg: SamplingConfig, engine: Engine, seeds: Sequence[Seed], copy_index: Any | None
          ) -> Any:
    """The guard of a draw, one row per seed: loops by ``cfg``'s rule, copies longer than
    ``cfg.copy_limit`` events (when the corpus's copy index is there and the limit is not
    0), at most ``cfg.max_recoveries`` take-backs a row."""
    index = copy_index if cfg.copy_limit and copy_index is not None else None
    return EventWatch([engine.codec.events(s.row.ids, s.row.start) for s in seeds],
                      LoopRule(cfg.loop_max_period, cfg.loop_min_repeats, cfg.loop_min_events),
                      index, cfg.max_recoveries)


def event_ids(events: list[Event]) -> list[int]:
    """One integer per distinct event (pitches, holds and length; not its time), for loop search."""
    seen: dict[tuple, int] = {}
    return [seen.setdefault((e.struck, e.held, e.duration), len(seen)) for e in events]


# --------------------------------------------------------------------------- decode


def decode(seed: Seed, drawn: Drawn, engine: Engine, render: RenderConfig
           ) -> tuple[Piece, Piece | None, int | None]:
    """The new music (after the seed when ``render.include_seed``) in the seed's key, on its bar
    grid; the seed alone; and the tick where the new music starts (``None``: no seed shown, or
    a whole fugue, whose subject stated alone is its opening)."""
    template = Piece((), name=f"bachgen {seed.name}" if seed.fugue else f"bachgen from {seed.name}", key=seed.key,
                     time_signature=seed.time_signature)
    with_seed = (render.include_seed or seed.kept) and seed.source != "no seed"
    piece = assemble(engine.codec, seed.row, drawn.ids, seed.moved_by, template, with_seed)
    seed_piece = assemble(engine.codec, seed.row, [], seed.moved_by, template, True)
    boundary = int(piece.meta["seed_end"])
    first = min((n.start for n in piece.notes), default=0)
    shift = (first // piece.bar_ticks) * piece.bar_ticks
    piece = harmony.fit_keyboard(piece.with_notes([replace(n, start=n.start - shift) for n in piece.notes]))
    seed_piece = seed_piece.with_notes([replace(n, start=n.start - seed.row.start // piece.bar_ticks
                                                * piece.bar_ticks) for n in seed_piece.notes])
    key = seed.key or harmony.estimate_key(piece)
    piece = harmony.apply_snap(replace(piece, key=key, meta={}), render.snap)
    apart = with_seed and seed.fugue is None  # a fugue's subject stated alone is its opening, not a seed
    return piece, replace(seed_piece, key=key, meta={}), (boundary - shift) if apart else None


def take_stats(cfg: SamplingConfig, render: RenderConfig, engine: Engine, seed: Seed,
          drawn: Drawn, piece: Piece, seed_used: int) -> dict[str, Any]:
    """What one composition reports: sizes, guards, seed, key and the candidate kept."""
    return {
        "events": len(drawn.events),
        "tokens": len(drawn.ids),
        "notes": len(piece.notes),
        "seconds": round(piece.seconds(render.tempo_bpm), 2),
        "stuck_in_loop": drawn.stuck,
        "longest_copied_run": drawn.longest_copied_run,
        "loops_taken_back": drawn.loops_taken_back,
        "copies_refused": drawn.copies_refused,
        "seed_events": sum(1 for t in seed.row.ids if engine.codec.kind[t] == engine.codec.KIND_DURATION),
        "seed_source": seed.source,
        "key": piece.key,
        "time_signature": "/".join(map(str, seed.time_signature)),
        "random_seed": seed_used,
        "candidates": cfg.candidates,
        "chosen_candidate": drawn.candidate,
        "model": "spelled",
        "step": engine.backend,
    }


# --------------------------------------------------------------------------- compose


@dataclass
class Music:
    """The new music as a piece, and the seed as one (``None``: no seed excerpt)."""

    piece: Piece
    seed_piece: Piece | None
    seed_end_tick: int | None  # where the new music starts when the seed comes first
    subject: Subject | None = None
    closed: bool = False       # it was held to a close
    plan: Plan = Plan()        # what it was held to (the sampler's ticks and key)
    moved_by: int = 0          # semitones from the piece's key to the sampler's
    planned: list[Entry] = field(default_factory=list)  # a whole fugue's entries, as planned (its key)


def take_form(music: Music, stats: dict[str, Any]) -> list[Entry]:
    """The entries of the subject found in the new music, and the take's subject, entries and
    ending in ``stats``; the subject goes into the piece's meta (the MIDI file carries it, so a
    take continued keeps its own subject)."""
    piece, subject = music.piece, music.subject
    if music.planned:  # a whole fugue: its entries are where they were planned
        entries = music.planned
    elif subject and subject.matchable:
        entries = find_entries(piece, subject, music.seed_end_tick or 0)
    else:
        entries = []
    stats["subject"] = subject.describe() if subject else None
    stats["entries"] = [e.to_dict(subject.key if subject else None, piece.bar_ticks) for e in entries]
    found = ending(piece)
    stats["ending"] = found.to_dict() if found else None
    if music.plan.sections:
        stats["sections"] = [s.to_dict(piece.bar_ticks) for s in music.plan.sections]
        stats["planned_entries"] = plan_record(music.plan, music.moved_by, piece.bar_ticks)
    closed = bool(found and found.closes and music.closed)
    music.piece = replace(piece, meta={**piece.meta, "form": {
        "subject": subject.to_dict() if subject else None, "close_bars": CLOSE_BARS if closed else 0}})
    return entries


def planned_voices(music: Music) -> dict[tuple[int, int], int]:
    """A whole fugue's planned notes and the voice each was planned in (numbered from the top,
    as a piece's voices are), so its entries keep their voices in every output."""
    return {(t, p): e.voice for e in music.planned for t, p in zip(e.onsets, e.pitches)}


def plan_record(plan: Plan, moved_by: int, bar: int) -> list[dict[str, Any]]:
    """A whole fugue's planned entries for people and the yardstick: where (bar, 1-based),
    which voice, how far from the subject, subject or answer, and the pitches (the piece's key)."""
    return [{"bar": round(e.start / bar + 1, 2), "start": e.start, "voice": e.voice_name,
             "level": e.level, "answer": e.answer, "pitches": [n.pitch - moved_by for n in e.notes]}
            for e in plan.entries]


#: New events of a take that must be final before its opening is handed over
#: (:func:`compose`'s ``early``): about two bars of a three-voice texture.
EARLY_EVENTS = 24


@dataclass(frozen=True)
class Opening:
    """A take's opening, known while the rest is drawn: the piece and its MIDI file as the
    finished take will have them up to its last note's start (its notes' pitches and
    starts; a note still sounding may be held longer, and the voices are told apart on
    this much only). For a listener to hear it at once."""

    piece: Piece
    midi: bytes
    seed_end_tick: int | None


Early = Callable[[Opening], None]


def opening_teller(settings: ComposeSettings, engine: Engine, seed: Seed, early: Early | None
                   ) -> Callable[[list[int]], None] | None:
    """What :func:`draw` calls with a take's first final ids: decode them as the whole take
    will be and hand the :class:`Opening` to ``early``. ``None`` when the opening cannot be
    told before the end: no ``early``, several candidates (the one kept is known only at the
    end), or a snap (both read the whole take: C major's ties by its key, "to C" its range)."""
    render = settings.render
    if early is None or settings.sampling.candidates != 1 or render.snap != "off":
        return None

    def tell(ids: list[int]) -> None:
        piece, _, seed_end = decode(seed, Drawn(ids, [], 0, None, 0), engine, render)
        if render.voices:
            piece = split_take(piece, settings.seed)
        early(Opening(piece, piece_to_midi_bytes(piece, render.tempo_bpm), seed_end))

    return tell


def new_rng(seed: int | None) -> tuple[np.random.Generator, int]:
    """A generator and the seed it was made from (a fresh one when ``seed`` is None)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    return np.random.default_rng(seed), seed


def compose(settings: ComposeSettings, engine: Engine, progress: Progress | None = None,
            early: Early | None = None) -> Composition:
    """Make one piece from ``settings`` with ``engine`` (see the module docstring):
    seed -> sample -> decode (back to the seed's key, snapped) -> render.

    ``early`` (optional) is called once, on this thread, with the take's :class:`Opening` as
    soon as its first :data:`EARLY_EVENTS` new events are final, while the rest is drawn
    (not for a take of several candidates or with a key snap, :func:`opening_teller`)."""
    report = progress or (lambda stage, fraction: None)
    timings: dict[str, float] = {}
    notices: list[str] = []
    t_all = time.perf_counter()
    rng, seed_used = new_rng(settings.sampling.seed)
    music, ids, stats = _seed_and_draw(settings, engine, rng, seed_used, notices, timings, report, early)
    if settings.render.voices:
        music.piece = split_take(music.piece, settings.seed, timings, planned_voices(music))
    entries = take_form(music, stats)
    out = render_piece(music.piece, music.seed_end_tick, settings.render, engine.synthesizers, notices,
                       timings, report, entries, music.subject.key if music.subject else None,
                       music.plan.sections)
    timings["total"] = time.perf_counter() - t_all
    report("done", 1.0)
    return Composition(settings, music.piece, music.seed_piece, music.seed_end_tick, ids,
                       out.midi, out.wav, out.png, out.musicxml, out.svg, stats, notices, timings,
                       music.subject, entries, music.plan.sections)


def _seed_and_draw(settings: ComposeSettings, engine: Engine, rng: np.random.Generator, seed_used: int,
                     notices: list[str], timings: dict[str, float], report: Progress, early: Early | None = None):
    """Seed, draw and decode: the music, its ids and what it reports."""
    spec, cfg = settings.seed, settings.sampling
    report("seed", 0.0)
    t = time.perf_counter()
    seed = make_seed(spec, engine, rng, notices)
    timings["seed"] = time.perf_counter() - t
    report("sample", 0.05)
    t = time.perf_counter()
    index = engine.copy_index(cfg.copy_limit or 12) if engine.corpus_available else None
    if index is not None and engine.broken_files:
        notices.append(corpus.broken_notice(engine.broken_files, len(engine.usable_fugues)))
    if index is None and (spec.file_bytes is not None or not spec.fugue):
        notices.append("The corpus is not available, so the music is not checked for copies "
                       "of the fugues.")
    timings["index"] = time.perf_counter() - t
    lock_waited(engine)  # count this take's wait only
    t = time.perf_counter()
    drawn = draw(cfg, engine, seed, rng, index, settings.form, opening_teller(settings, engine, seed, early))
    timings["lock_wait"] = lock_waited(engine) + drawn.queued  # the draw queue, then the lock
    timings["sample"] = time.perf_counter() - t - timings["lock_wait"]
    t = time.perf_counter()
    piece, seed_piece, seed_end = decode(seed, drawn, engine, settings.render)
    report_ = take_stats(cfg, settings.render, engine, seed, drawn, piece, seed_used)
    timings["decode"] = time.perf_counter() - t
    music = Music(piece, seed_piece, seed_end, seed.subject, drawn.plan.close is not None, drawn.plan,
                  seed.moved_by)
    if seed.fugue is not None:
        music.planned = planned_entries(drawn.plan, seed.moved_by, piece.key)  # decode gives it a key
    return music, drawn.ids, report_
