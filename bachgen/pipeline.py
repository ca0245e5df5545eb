"""From settings to finished music: seed -> sample -> piece -> MIDI, audio, piano roll, score.

An engine is loaded once by :func:`load_engine` (model bundle, step function, corpus
index, synthesizer) and shared by every caller: a spelled engine for the shipped model, an
:class:`Engine` for a word bundle; :func:`compose` turns one :class:`ComposeSettings` into a
:class:`Composition` holding every output and what happened on the way (statistics,
notices, seconds per stage). Optional renderers that are missing (FluidSynth,
verovio) give a notice instead of an error; bad input raises a
:class:`~bachgen.errors.BachgenError`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import catalog
from .bundle import Bundle
from .codecs import WordCodec
from .config import CorpusConfig, RenderConfig, SamplingConfig, TokenConfig
from .errors import ConfigError, CorpusError, MissingDependencyError, RenderError, SeedFileError
from .events import Piece, shift_to_common_key
from .tokens import transpositions

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SeedSpec:
    """Where the music starts.

    ``fugue`` (a catalogue id) from ``start_bar`` (1-based) — or from event
    ``start_event`` (0-based) when given; ``random_place``: a random place in the
    corpus chosen by the random seed; ``file_bytes``: the user's own MIDI / MusicXML /
    kern file (its last events are the seed); nothing (``fugue=None``): a neutral start.

    A file can also be a take to shape (spelled model only): ``continue_take`` keeps all
    of it and adds the new events after its end; ``keep_bars`` keeps its first bars and
    writes new music from the next bar on. Either way the whole kept part is the seed
    and stays in the result, note for note.
    """

    fugue: str | None = "wtc1f02"
    start_bar: int = 1
    random_place: bool = False
    file_bytes: bytes | None = None
    file_name: str = ""
    start_event: int | None = None
    continue_take: bool = False
    keep_bars: int | None = None

    def __post_init__(self) -> None:
        if (self.continue_take or self.keep_bars is not None) and self.file_bytes is None:
            raise ConfigError("Continuing a take or keeping its first bars needs the take's file.",
                              "Pass the take (e.g. --continue take.mid).")
        if self.continue_take and self.keep_bars is not None:
            raise ConfigError("Continue a take or keep its first bars, not both.")
        if self.keep_bars is not None and self.keep_bars < 1:
            raise ConfigError("keep_bars must be at least 1.")

    @property
    def shapes_take(self) -> bool:
        """Whether the file is a take to continue or to regenerate in part."""
        return self.continue_take or self.keep_bars is not None


@dataclass(frozen=True)
class ComposeSettings:
    seed: SeedSpec = SeedSpec()
    sampling: SamplingConfig = SamplingConfig()
    render: RenderConfig = RenderConfig()


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
    words: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- corpus words


def _words_cache_path(config: CorpusConfig, fugue_id: str, tokens: TokenConfig) -> Path:
    sha = catalog.fugue(fugue_id).sha256[:16]
    tag = f"{tokens.transpose}-{int(tokens.holds)}-{tokens.grid}-{tokens.max_event_quarters:g}"
    return config.cache_path / "words" / f"{fugue_id}-{sha}-{tag}.json"


def fugue_words(fugue_id: str, config: CorpusConfig, tokens: TokenConfig) -> tuple[list[str], Piece]:
    """A fugue's raw words as the model reads them (moved to C / a under
    ``transpose="common"``; see :meth:`~bachgen.codecs.WordCodec.words`) and the Piece
    they come from (same transposition). Words are cached on disk."""
    from . import corpus

    piece = corpus.load_piece(fugue_id, config)
    version = transpositions(piece, tokens, training=False)[0]
    path = _words_cache_path(config, fugue_id, tokens)
    try:
        words = json.loads(path.read_text())
        if isinstance(words, list) and all(isinstance(w, str) for w in words):
            return words, version
    except (OSError, ValueError):
        pass
    words = WordCodec.for_tokens(tokens).words(version)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_atomically(path, json.dumps(words).encode())
    except OSError:
        pass  # a read-only cache only costs time
    return words, version


# --------------------------------------------------------------------------- timing


class TimedLock:
    """A lock that notes, for each thread, how long it waited to be acquired.

    Installed as an engine's ``lock`` by a server that shares the engine between
    sessions, it tells a take's queueing for the model apart from its own sampling
    (:func:`compose` reports both: ``lock_wait`` and ``sample``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        asked = time.perf_counter()
        acquired = self._lock.acquire(blocking, timeout)
        self._local.waited = getattr(self._local, "waited", 0.0) + time.perf_counter() - asked
        return acquired

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()

    def take_waited(self) -> float:
        """Seconds this thread waited since the last call (and start counting again)."""
        waited = getattr(self._local, "waited", 0.0)
        self._local.waited = 0.0
        return waited


def _lock_waited(engine: Any) -> float:
    """What the calling thread waited for the engine's lock, if the lock keeps count."""
    lock = getattr(engine, "lock", None)
    return lock.take_waited() if isinstance(lock, TimedLock) else 0.0


# --------------------------------------------------------------------------- engine


class Engine:
    """The loaded word model and everything shared between compositions (thread-safe).

    ``corpus_available`` says whether the 48 fugues can be read; generation from an
    uploaded file or from no seed works without them (then with no copy guard and no
    re-seeding from the corpus).
    """

    kind = "words"

    def __init__(self, bundle: Any, corpus: CorpusConfig | None = None, backend: str = "numpy",
                 copy_limit: int | None = None) -> None:
        from .step import make_step

        self.bundle = bundle
        self.codec: WordCodec = bundle.codec
        self.tokens: TokenConfig = self.codec.tokens
        self.seq_len = int(bundle.model_config.seq_len)
        self.corpus_config = corpus if corpus is not None else CorpusConfig.from_env()
        self.step = make_step(bundle.model, backend)
        self.backend = backend
        self.lock = threading.Lock()  # one inference at a time
        self._init_lock = threading.Lock()
        self._corpus: dict[str, tuple[list[str], Piece]] | None = None
        self._corpus_ok: bool | None = None
        self._copy_index: dict[int, Any] = {}
        self._forms: dict[int, Any] = {}
        self._synths: dict[str | None, Any] = {}
        self.audio_notice: str | None = None
        self._default_limit = copy_limit

    def reseed(self, generator: np.random.Generator, length: int) -> list[int]:
        """Ids of a random corpus excerpt of ``length`` events: where sampling restarts after loops."""
        return self.codec.encode_words(self.random_excerpt(generator, length))[0]

    @classmethod
    def load(cls, bundle_dir: str | Path | None = None, corpus: CorpusConfig | None = None,
             backend: str = "numpy") -> "Engine":
        """Load a word bundle (default ``assets/model`` or ``$BACHGEN_MODEL_DIR``); a spelled
        bundle is refused with a :class:`~bachgen.errors.BundleError` (use :func:`load_engine`)."""
        from .bundle import load_bundle

        return cls(load_bundle(bundle_dir), corpus, backend)

    # -- corpus
    @property
    def corpus_available(self) -> bool:
        if self._corpus_ok is None:
            from . import corpus

            self._corpus_ok = corpus.is_complete(self.corpus_config)
        return self._corpus_ok

    def corpus_words(self) -> dict[str, tuple[list[str], Piece]]:
        """Every fugue's raw words under the model's token settings, and its Piece (read once)."""
        with self._init_lock:
            if self._corpus is None:
                if not self.corpus_available:
                    raise CorpusError("The corpus of the 48 fugues is not available.",
                                      "Run `bachgen corpus download` or set BACHGEN_CORPUS_DIR.")
                self._corpus = {fid: fugue_words(fid, self.corpus_config, self.tokens)
                                for fid in catalog.fugue_ids()}
            return self._corpus

    def copy_index(self, limit: int):
        """The :class:`~bachgen.guards.CopyIndex` of the corpus for ``limit`` (built once)."""
        from .guards import CopyIndex, VocabForms

        words = self.corpus_words()
        with self._init_lock:
            if limit not in self._copy_index:
                events = [self.codec.word_events(seq) for seq, _ in words.values()]
                index = CopyIndex(events, limit, names=list(words))
                self._copy_index[limit] = index
                self._forms[limit] = VocabForms(self.codec, index)
            return self._copy_index[limit], self._forms[limit]

    def random_excerpt(self, rng: np.random.Generator, length: int) -> list[str]:
        """``length`` consecutive raw words from a random place of the corpus."""
        words = self.corpus_words()
        ids = list(words)
        fugue_id = ids[int(rng.integers(len(ids)))]
        seq = words[fugue_id][0]
        start = int(rng.integers(max(1, len(seq) - length + 1)))
        return seq[start:start + length]

    # -- audio
    def synthesizer(self, soundfont: str | None = None):
        return shared_synthesizer(self, soundfont)


def shared_synthesizer(engine: Any, soundfont: str | None = None):
    """The engine's shared :class:`~bachgen.audio.Synthesizer` for ``soundfont`` (``None``, with
    ``engine.audio_notice`` set, when FluidSynth is not installed); it renders on up to two
    threads (one take at a time is what it is for: the CLI, a page's WAV download)."""
    import os

    from . import audio

    with engine._init_lock:
        if soundfont not in engine._synths:
            try:
                engine._synths[soundfont] = audio.Synthesizer(soundfont, threads=min(2, os.cpu_count() or 1))
            except MissingDependencyError as exc:
                engine.audio_notice = f"Audio is off: {exc}"
                engine._synths[soundfont] = None
        return engine._synths[soundfont]


def load_engine(bundle_dir: str | Path | None = None, corpus: CorpusConfig | None = None,
                backend: str = "numpy") -> Any:
    """The engine for the bundle in ``bundle_dir`` (default ``assets/model`` or
    ``$BACHGEN_MODEL_DIR``): a :class:`~bachgen.spelled_pipeline.SpelledEngine` for a spelled
    bundle, an :class:`Engine` for a word bundle (see :func:`bachgen.bundle.bundle_kind`).

    A spelled bundle with the NumPy step (``backend="numpy"``) loads without importing
    TensorFlow (its weights are read from the archive, :mod:`bachgen.weights`); a word
    bundle, or ``backend="tf"``, starts TensorFlow here."""
    from .bundle import load_any_bundle

    bundle = load_any_bundle(bundle_dir)
    if isinstance(bundle, Bundle):
        return Engine(bundle, corpus, backend)
    from .spelled_pipeline import SpelledEngine

    return SpelledEngine(bundle, corpus, backend)


# --------------------------------------------------------------------------- seed


@dataclass
class _Seed:
    """The seed: its raw words (the codec's, opaque here) and the ids the model reads."""

    words: list[str]
    ids: list[int]
    mapped: int
    key: str | None          # key of the seed as given (before any move to C / a)
    shift: int               # semitones the seed was moved for the model
    time_signature: tuple[int, int]
    name: str
    source: str


def _seed_from_fugue(spec: SeedSpec, engine: Engine, rng: np.random.Generator) -> _Seed:
    """The ``seq_len`` events of a fugue from the bar or event ``spec`` names (or from a
    random place), as raw words and ids."""
    words_by_fugue = engine.corpus_words()
    n = engine.seq_len
    if spec.random_place:
        ids = list(words_by_fugue)
        fugue_id = ids[int(rng.integers(len(ids)))]
        words, version = words_by_fugue[fugue_id]
        start = int(rng.integers(max(1, len(words) - n + 1)))
        source = f"{fugue_id} from event {start}"
    else:
        fugue_id = spec.fugue or ""
        catalog.known_fugue(fugue_id)
        words, version = words_by_fugue[fugue_id]
        if spec.start_event is not None:
            if not 0 <= spec.start_event < len(words):
                raise ConfigError(f"start_event must be between 0 and {len(words) - 1} for {fugue_id}.")
            start = spec.start_event
            source = f"{fugue_id} from event {start}"
        else:
            bars = version.bars
            if not 1 <= spec.start_bar <= bars:
                raise ConfigError(f"start_bar must be between 1 and {bars} for {fugue_id}.")
            tick = (spec.start_bar - 1) * version.bar_ticks
            first = min((note.start for note in version.notes), default=0)
            events = engine.codec.word_events(words, first)
            start = next((i for i, event in enumerate(events) if event.start >= tick), len(words))
            source = f"{fugue_id} from bar {spec.start_bar}"
        start = max(0, min(start, len(words) - n))
    excerpt = words[start:start + n]
    item = catalog.fugue(fugue_id)
    shift = shift_to_common_key(item.key) if engine.tokens.transpose == "common" else 0
    ids, mapped = engine.codec.encode_words(excerpt)
    return _Seed(excerpt, ids, mapped, item.key, shift, version.time_signature, fugue_id, source)


def _seed_from_file(spec: SeedSpec, engine: Engine) -> tuple[_Seed, list[str]]:
    """The last ``seq_len`` events of the user's file (moved as the model's words are), and
    the notes reading it left."""
    from . import harmony, seeds

    piece, report = seeds.load_seed_file(spec.file_bytes or b"", spec.file_name)
    key = piece.key or harmony.estimate_key(piece)
    piece = replace(piece, key=key)
    version = transpositions(piece, engine.tokens, training=False)[0]
    shift = shift_to_common_key(key) if engine.tokens.transpose == "common" else 0
    words = engine.codec.words(version)
    if not words:
        raise SeedFileError(f"{spec.file_name or 'The file'} holds no notes to start from.",
                            "Use a file with at least a few notes.")
    excerpt = words[-engine.seq_len:]
    ids, mapped = engine.codec.encode_words(excerpt)
    # the seed as the model reads it: the known words (unknown ones replaced)
    excerpt = engine.codec.words_of(ids)
    notes = list(getattr(report, "notes", []) or [])
    name = Path(spec.file_name).stem if spec.file_name else "seed"
    return _Seed(excerpt, ids, mapped, key, shift, piece.time_signature, name, f"file {spec.file_name}"), notes


def _no_seed(engine: Engine) -> _Seed:
    """One neutral event to start from (see :meth:`~bachgen.codecs.WordCodec.neutral_id`)."""
    vid = engine.codec.neutral_id()
    key = "C" if engine.tokens.transpose == "common" else None
    return _Seed([], [vid], 0, key, 0, (4, 4), "bachgen", "no seed")


# --------------------------------------------------------------------------- compose


def compose(settings: ComposeSettings, engine: Any, progress: Progress | None = None) -> Composition:
    """Make one piece from ``settings`` with ``engine`` (see the module docstring):
    seed -> sample -> decode (back to the seed's key, snapped) -> render."""
    from . import sampling

    report = progress or (lambda stage, fraction: None)
    timings: dict[str, float] = {}
    notices: list[str] = []
    t_all = time.perf_counter()
    rng, seed_used = sampling.new_rng(settings.sampling.seed)
    if getattr(engine, "kind", "words") == "spelled":
        music, ids, stats = _compose_spelled(settings, engine, rng, seed_used, notices, timings, report)
        words: list[str] = []
    else:
        music, ids, stats, words = _compose_words(settings, engine, rng, seed_used, notices, timings,
                                                  report)
    if settings.render.voices:
        from .voices import split_take

        music.piece = split_take(music.piece, settings.seed, timings)
    out = _render(music.piece, music.seed_end_tick, settings.render, engine, notices, timings, report)
    timings["total"] = time.perf_counter() - t_all
    report("done", 1.0)
    return Composition(settings, music.piece, music.seed_piece, music.seed_end_tick, ids,
                       out.midi, out.wav, out.png, out.musicxml, out.svg, stats, notices, timings,
                       words)


def _compose_words(settings: ComposeSettings, engine: Engine, rng: np.random.Generator, seed_used: int,
                   notices: list[str], timings: dict[str, float], report: Progress):
    """Seed, draw and decode with the word model."""
    report("seed", 0.0)
    t = time.perf_counter()
    seed = _make_seed(settings.seed, engine, rng, notices)
    timings["seed"] = time.perf_counter() - t
    drawn = _draw(settings, engine, seed, rng, notices, timings, report)
    music = _decode(seed, drawn.ids, engine.codec, settings.render)
    stats = _stats(settings.sampling, settings.render, engine, seed, drawn, music.piece, seed_used)
    return music, list(drawn.ids), stats, engine.codec.words_of(drawn.ids)


def _compose_spelled(settings: ComposeSettings, engine: Any, rng: np.random.Generator, seed_used: int,
                     notices: list[str], timings: dict[str, float], report: Progress):
    """Seed, draw and decode with the spelled model (see :mod:`bachgen.spelled_pipeline`)."""
    from . import spelled_pipeline as spelled

    spec, cfg = settings.seed, settings.sampling
    report("seed", 0.0)
    t = time.perf_counter()
    seed = spelled.make_seed(spec, engine, rng, notices)
    timings["seed"] = time.perf_counter() - t
    report("sample", 0.05)
    t = time.perf_counter()
    index = engine.copy_index(cfg.copy_limit or 12) if engine.corpus_available else None
    if index is not None and engine.broken_files:
        from .corpus import broken_notice

        notices.append(broken_notice(engine.broken_files, len(engine.usable_fugues)))
    if index is None and (spec.file_bytes is not None or not spec.fugue):
        notices.append("The corpus is not available, so the music is not checked for copies "
                       "of the fugues.")
    timings["index"] = time.perf_counter() - t
    _lock_waited(engine)  # count this take's wait only
    t = time.perf_counter()
    drawn = spelled.draw(cfg, engine, seed, rng, index)
    timings["lock_wait"] = _lock_waited(engine) + drawn.queued  # the draw queue, then the lock
    timings["sample"] = time.perf_counter() - t - timings["lock_wait"]
    t = time.perf_counter()
    piece, seed_piece, seed_end = spelled.decode(seed, drawn, engine, settings.render)
    stats = spelled.stats(cfg, settings.render, engine, seed, drawn, piece, seed_used)
    timings["decode"] = time.perf_counter() - t
    return _Music(piece, seed_piece, seed_end), drawn.ids, stats


def _make_seed(spec: SeedSpec, engine: Engine, rng: np.random.Generator, notices: list[str]) -> _Seed:
    """The seed ``spec`` asks for: the user's file, a place in a fugue, or none."""
    if spec.shapes_take:
        raise ConfigError("Continuing a take or regenerating part of it needs the spelled model.",
                          "Use the default model (assets/model).")
    if spec.file_bytes is not None:
        seed, file_notes = _seed_from_file(spec, engine)
        notices += file_notes
    elif spec.random_place or spec.fugue:
        seed = _seed_from_fugue(spec, engine, rng)
    else:
        seed = _no_seed(engine)
    if seed.mapped:
        notices.append(f"{seed.mapped} of {len(seed.ids)} seed events were not in the model's "
                       "vocabulary and were replaced by the nearest known ones.")
    return seed


@dataclass
class _Drawn:
    """The candidate kept from sampling: its ids, and what happened while drawing."""

    result: Any              # the whole :class:`~bachgen.sampling.SampleResult`
    row: int                 # the candidate kept
    ids: list[int]
    copy_index: Any | None   # the copy guard's index (None: no guard)


def _draw(settings: ComposeSettings, engine: Engine, seed: _Seed, rng: np.random.Generator,
          notices: list[str], timings: dict[str, float], report: Progress) -> _Drawn:
    """Draw the candidates after ``seed`` (copy guard and re-seeding from the corpus when it
    is there) and keep the best one."""
    from . import sampling

    spec, cfg = settings.seed, settings.sampling
    report("sample", 0.05)
    t = time.perf_counter()
    copy_index = forms = None
    reseed = engine.reseed if engine.corpus_available else None
    if engine.corpus_available:
        if cfg.copy_limit:
            copy_index, forms = engine.copy_index(cfg.copy_limit)
    elif spec.file_bytes is not None or not spec.fugue:
        notices.append("The corpus is not available, so the music is not checked for copies "
                       "of the fugues.")
    timings["index"] = time.perf_counter() - t
    _lock_waited(engine)  # count this take's wait only
    t = time.perf_counter()
    with engine.lock:
        result = sampling.sample(
            engine.step, [seed.ids] * cfg.candidates, cfg, rng, codec=engine.codec,
            copy_index=copy_index, forms=forms, reseed=reseed, context_len=engine.seq_len,
            progress=lambda f: report("sample", 0.05 + 0.6 * f))
    row = sampling.best_row(result)
    timings["lock_wait"] = _lock_waited(engine)
    timings["sample"] = time.perf_counter() - t - timings["lock_wait"]
    return _Drawn(result, row, result.ids[row], copy_index)


@dataclass
class _Music:
    """The new music as a piece, and the seed as one (``None``: no seed excerpt)."""

    piece: Piece
    seed_piece: Piece | None
    seed_end_tick: int | None  # where the new music starts when the seed comes first


def _decode(seed: _Seed, ids: list[int], codec: WordCodec, render: RenderConfig) -> _Music:
    """Decode the new ids (after the seed's words when it comes first), move them back to
    the key of the seed, name the key and snap as ``render`` asks."""
    from . import harmony

    template = Piece((), name=f"bachgen from {seed.name}", key=None, time_signature=seed.time_signature)
    with_seed = render.include_seed and bool(seed.words)
    piece = codec.decode_after(seed.words if with_seed else [], ids, 0, template)
    seed_end_tick = codec.words_ticks(seed.words) if with_seed else None
    seed_piece = codec.decode_words(seed.words, 0, template) if seed.words else None
    if seed.shift:  # back to the key of the seed
        piece = harmony.fit_keyboard(piece.transpose(-seed.shift))
        seed_piece = seed_piece.transpose(-seed.shift) if seed_piece is not None else None
    key = seed.key or harmony.estimate_key(piece)
    piece = replace(piece, key=key)
    if seed_piece is not None:
        seed_piece = replace(seed_piece, key=key)
    piece = harmony.apply_snap(piece, render.snap)
    return _Music(piece, seed_piece, seed_end_tick)


def _stats(cfg: SamplingConfig, render: RenderConfig, engine: Engine, seed: _Seed, drawn: _Drawn,
           piece: Piece, seed_used: int) -> dict[str, Any]:
    """What one composition reports: sizes, guards, seed, key and the candidate kept."""
    result, row = drawn.result, drawn.row
    index = drawn.copy_index
    longest = index.longest_run(engine.codec.events(drawn.ids)) if index is not None else None
    return {
        "events": len(drawn.ids),
        "notes": len(piece.notes),
        "seconds": round(piece.seconds(render.tempo_bpm), 2),
        "loop_recoveries": result.loop_recoveries[row],
        "reseeds": result.reseeds[row],
        "stuck_in_loop": result.stuck[row],
        "copy_masks": result.copy_masks[row],
        "longest_copied_run": longest,
        "mapped_seed_events": seed.mapped,
        "seed_events": len(seed.words),
        "seed_source": seed.source,
        "key": piece.key,
        "random_seed": seed_used,
        "candidates": cfg.candidates,
        "chosen_candidate": row,
        "mean_log_prob": round(result.mean_log_prob[row], 4),
        "step": engine.backend,
    }


# --------------------------------------------------------------------------- render


@dataclass
class _Rendered:
    """The rendered outputs (``None``: not asked for, or its library is missing)."""

    midi: bytes
    wav: bytes | None
    png: bytes | None
    musicxml: bytes | None
    svg: str | None


def _render(piece: Piece, seed_end_tick: int | None, render: RenderConfig, engine: Engine,
            notices: list[str], timings: dict[str, float], report: Progress) -> _Rendered:
    """MIDI, piano roll and score here while the audio is rendered on a second thread
    (FluidSynth runs outside the interpreter lock)."""
    from . import midi, pianoroll

    audio = _AudioJob(piece, render, engine, report) if render.audio else None

    report("midi", 0.75)
    t = time.perf_counter()
    midi_bytes = midi.piece_to_midi_bytes(piece, render.tempo_bpm)
    timings["midi"] = time.perf_counter() - t

    png = None
    if render.pianoroll:
        report("pianoroll", 0.85)
        t = time.perf_counter()
        png = pianoroll.pianoroll_png(piece, seed_end_tick, render.tempo_bpm, title=piece.name)
        timings["pianoroll"] = time.perf_counter() - t

    t = time.perf_counter()
    musicxml, svg = _render_score(piece, render, notices, report) if render.score else (None, None)
    timings["score"] = time.perf_counter() - t
    wav = audio.wait(notices) if audio is not None else None
    timings["audio"] = audio.seconds if audio is not None else 0.0
    return _Rendered(midi_bytes, wav, png, musicxml, svg)


class _AudioJob:
    """The WAV of a piece, rendered on its own thread from construction on."""

    def __init__(self, piece: Piece, render: RenderConfig, engine: Engine, report: Progress) -> None:
        report("audio", 0.7)
        self.out: dict[str, Any] = {}
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, args=(piece, render, engine),
                                        name="bachgen-audio", daemon=True)
        self._thread.start()

    def _run(self, piece: Piece, render: RenderConfig, engine: Engine) -> None:
        """Render; a missing or failing synthesizer leaves a notice, anything else an error."""
        out = self.out
        started = time.perf_counter()
        try:
            synth = engine.synthesizer(render.soundfont)
            if synth is None:
                out["notice"] = engine.audio_notice or "Audio is off: FluidSynth is not installed."
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


def _render_score(piece: Piece, render: RenderConfig, notices: list[str], report: Progress
                  ) -> tuple[bytes | None, str | None]:
    """MusicXML and the engraved SVG; a missing or failing engraver leaves a notice."""
    from . import score

    report("score", 0.9)
    musicxml = svg = None
    try:
        musicxml = score.musicxml_bytes(piece, render.tempo_bpm)
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


__all__ = ["SeedSpec", "ComposeSettings", "RenderConfig", "SamplingConfig", "Engine", "Composition",
           "TimedLock", "compose", "fugue_words", "load_engine"]
