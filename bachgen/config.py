"""Configuration as frozen dataclasses, passed explicitly from stage to stage.

Each stage has its own settings object; none of them is global. Every config
converts to and from plain JSON dicts so it can be saved next to a model and
read back unchanged. Values are checked when a config is made, so a bad
option fails at the boundary with a :class:`~bachgen.errors.ConfigError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

CORPUS_DIR_ENV = "BACHGEN_CORPUS_DIR"
CORPUS_MIRROR_ENV = "BACHGEN_CORPUS_MIRROR"
CACHE_DIR_ENV = "BACHGEN_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$BACHGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/bachgen``, else ``~/.cache/bachgen``."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "bachgen"


def check(condition: bool, message: str, hint: str | None = None) -> None:
    """Refuse a setting: a :class:`ConfigError` with ``message`` (and what to do) unless ``condition``."""
    if not condition:
        raise ConfigError(message, hint)


@dataclass(frozen=True)
class CorpusConfig:
    """Where the kern files live and where they come from.

    ``corpus_dir`` (or ``$BACHGEN_CORPUS_DIR``) names a folder that already
    holds the files; otherwise they are kept in ``cache_dir/corpus`` and
    downloaded from ``mirror`` (or ``$BACHGEN_CORPUS_MIRROR``).
    """

    corpus_dir: str | None = None
    cache_dir: str | None = None
    mirror: str | None = None
    timeout_s: float = 20.0

    @classmethod
    def from_env(cls, **overrides: Any) -> "CorpusConfig":
        values: dict[str, Any] = {
            "corpus_dir": os.environ.get(CORPUS_DIR_ENV) or None,
            "mirror": os.environ.get(CORPUS_MIRROR_ENV) or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_dir()


@dataclass(frozen=True)
class ReductionConfig:
    """How a piece is chordified into events (:func:`bachgen.reduction.chordify`).

    ``grid`` is the finest time step kept, in ticks (48 a quarter; 2 holds every value
    the 48 fugues use, 32nds and triplets included); an event longer than
    ``max_event_quarters`` is split into a first event and held continuations.
    """

    grid: int = 2
    max_event_quarters: float = 8.0

    def __post_init__(self) -> None:
        check(self.grid >= 1, "grid must be at least 1 tick.")
        check(self.max_event_quarters > 0, "max_event_quarters must be positive.")


@dataclass(frozen=True)
class SamplingConfig:
    """How new events are drawn from the network (see :mod:`bachgen.sampling`).

    ``temperature`` divides the logits; ``top_k`` keeps only the k likeliest tokens and
    ``top_p`` the smallest set whose probability reaches p (``None``: off). ``seed``
    seeds the random generator (``None``: a fresh one, reported in the result), so the
    same seed and settings give the same music. ``candidates`` pieces are drawn at once
    and the best is kept.

    Loops: the last ``loop_min_events`` events (at least ``loop_min_repeats`` periods)
    repeating with a period of 1 to ``loop_max_period`` events count as a loop; the
    sampler takes the repeats back and draws again from where they began, at most
    ``max_recoveries`` times a row (:class:`~bachgen.guards.EventWatch`).
    Copies: a run of more than ``copy_limit`` events found verbatim (in any
    transposition) in the corpus is not allowed to grow (0: no check).
    Length: ``bars`` bars of new music after the seed (the take ends on a bar line, and can
    end with a close, :class:`FormConfig`); ``None``: ``events`` events.
    Compass: ``compass`` is the lowest and highest MIDI pitch the model may strike,
    in the key of the music it writes (``None``: the whole piano). The fugues keep to
    C2–C6 (36–84) almost throughout; held-out checks of the default are in docs/measurements.md.
    The default nucleus (``top_p`` 0.9) cuts the rare moves the network spreads over every
    take, so a take's rare moves are its own, as in a fugue (docs/critic.md).
    """

    events: int = 400
    bars: int | None = None
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = 0.9
    seed: int | None = None
    candidates: int = 1
    loop_max_period: int = 8
    loop_min_repeats: int = 3
    loop_min_events: int = 16
    max_recoveries: int = 40
    copy_limit: int = 12
    compass: tuple[int, int] | None = (36, 84)

    def __post_init__(self) -> None:
        check(1 <= self.events <= 20_000, "events must be between 1 and 20000.")
        check(self.bars is None or 1 <= self.bars <= 400, "bars must be between 1 and 400 (or unset).")
        check(0.05 <= self.temperature <= 5.0, "temperature must be between 0.05 and 5.")
        check(self.top_k is None or self.top_k >= 1, "top_k must be at least 1 (or unset).")
        check(self.top_p is None or 0.0 < self.top_p <= 1.0, "top_p must be in (0, 1] (or unset).")
        check(self.seed is None or 0 <= self.seed < 2**63, "seed must be a non-negative integer.")
        check(1 <= self.candidates <= 256, "candidates must be between 1 and 256.")
        check(self.loop_max_period >= 1, "loop_max_period must be at least 1.")
        check(self.loop_min_repeats >= 2, "loop_min_repeats must be at least 2.")
        check(self.loop_min_events >= 2, "loop_min_events must be at least 2.")
        check(self.max_recoveries >= 0, "max_recoveries must be 0 or more.")
        check(self.copy_limit == 0 or self.copy_limit >= 2, "copy_limit must be 0 (off) or at least 2.")
        check(self.compass is None or (len(self.compass) == 2
                                        and 21 <= self.compass[0] < self.compass[1] <= 108),
               "compass must be (lowest, highest) MIDI pitches on the piano, lowest < highest.")


#: Bars of new music a take has when no length is asked for (the page, the CLI, the yardstick).
DEFAULT_BARS = 24
#: Pitch levels (semitones above the subject as first stated) entries are planned at by
#: default: the tonic, the dominant, the subdominant and the relative key (9 in major, 3 in
#: minor: :data:`bachgen.plan.LEVEL_WEIGHTS` makes the other one rare; see :class:`FormConfig`).
DEFAULT_LEVELS = (0, 7, 5, 9, 3)


#: How the chooser counts an event's harshness (:func:`bachgen.harmony.harshness`).
CHOOSERS = ("strict", "mild")


@dataclass(frozen=True)
class FormConfig:
    """The fugue's form a take is held to (:mod:`bachgen.plan`).

    ``entries``: the seed's subject comes back at planned onsets, in turn in each voice, at
    the pitch ``levels`` (semitones above the subject: 0 tonic, 7 dominant — a tonal answer
    where the head touches the dominant —, 5 subdominant, 9 / 3 the relative key); ``close``:
    a take of a length in bars ends like a fugue (the bass from the dominant to the tonic, a
    tonic chord struck on the last downbeat and held to the bar line). An event holds at most
    as many pitches as the fugue has voices (``cap_voices``); while a planned note sounds, it
    is the least clashing of ``best_of`` events drawn from the same place (1: the first).
    ``chooser``: how harsh the chooser counts an event (:data:`bachgen.harmony.CHOOSERS`:
    ``"strict"`` every clash, ``"mild"`` not the tritone or minor seventh over the lowest pitch).
    A whole fugue's entries can be kept in their voices' places (``keep_voices``: the bass's
    entry the lowest sounding, the top voice's the highest; :mod:`bachgen.fugue`); ``entries``
    there means its middle entries.
    """

    entries: bool = True
    close: bool = True
    levels: tuple[int, ...] = DEFAULT_LEVELS
    best_of: int = 6
    cap_voices: bool = True
    keep_voices: bool = False
    chooser: str = "strict"

    def __post_init__(self) -> None:
        check(1 <= self.best_of <= 32, "best_of must be between 1 and 32.")
        check(self.chooser in CHOOSERS, f"chooser must be one of: {', '.join(CHOOSERS)}.")
        check(bool(self.levels) and all(-11 <= lv <= 11 for lv in self.levels),
              "levels must be one or more semitone steps between -11 and 11.")


SNAP_MODES = ("c-major", "to-c", "off")


@dataclass(frozen=True)
class RenderConfig:
    """What is made from the new events: tempo, key snapping and which outputs.

    ``snap``: ``"c-major"`` moves every note onto a white key, ``"to-c"`` transposes
    to C major / A minor, ``"off"`` keeps the notes. ``include_seed`` puts the seed
    excerpt before the new music. ``soundfont`` is an .sf2 path (``None``: default).
    ``voices``: split the take into voices (:mod:`bachgen.voices`) for every output — one
    MIDI track per voice, a piano roll coloured by voice, the voices on the score's staves;
    off, the take is one part as the network wrote it. ``pianoroll``: draw the piano roll
    (a page that shows the audio first draws it itself, afterwards).
    """

    tempo_bpm: float = 80.0
    snap: str = "off"
    include_seed: bool = False
    audio: bool = True
    score: bool = True
    soundfont: str | None = None
    voices: bool = True
    pianoroll: bool = True

    def __post_init__(self) -> None:
        check(10.0 <= self.tempo_bpm <= 600.0, "tempo_bpm must be between 10 and 600.")
        check(self.snap in SNAP_MODES,
               f"snap must be one of {', '.join(SNAP_MODES)}, not {self.snap!r}.")


#: Networks :func:`bachgen.network.build_model` knows: the conditioned one, and the original
#: project's (token id / vocabulary as the single input, one LSTM, no conditioning).
ARCHS = ("conditioned", "original")
#: The conditioning inputs beside the token id, in order (the codec's feature columns).
INPUT_FEATURES = ("quarter", "phase", "meter", "key")
#: The inputs a network *told the plan* reads after those (:attr:`NetConfig.told`): bars to the
#: end of the piece, and the planned line at the event being written (:mod:`bachgen.cues`).
TOLD_FEATURES = ("end", "line")
#: The inputs a network *told the lines* reads after those (:attr:`NetConfig.lines`): the lowest
#: and highest pitch of the last whole event and the lowest pitch written so far in the event
#: being written (:mod:`bachgen.lines`).
LINE_FEATURES = ("last_bass", "last_top", "bass")
#: Augmentations (:attr:`FitConfig.augment`) and mode filters (:attr:`FitConfig.modes`);
#: the key treatments are the codec's (:data:`~bachgen.codec.KEY_TOLD`).
AUGMENTS = ("shifts", "all12")
MODES = ("both", "major", "minor")
STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass(frozen=True)
class NetConfig:
    """Sizes of the network: token embedding, conditioning embeddings, LSTM layers.

    ``arch``: ``"conditioned"`` (token and feature embeddings, ``layers`` LSTMs) or
    ``"original"`` — the original project's network on the same tokens: the token id
    divided by the vocabulary size as the single input, one LSTM of ``units``, dense
    logits, no dropout ; only ``units`` applies.

    ``told``: the conditioned network also reads :data:`TOLD_FEATURES` (bars to the end,
    the planned line), each through its own embedding (``end_embed``, ``line_embed``);
    off (the default, and the shipped model), it reads exactly what it always did.
    ``lines``: it also reads :data:`LINE_FEATURES` (the bass and the top of the last event,
    the bass of this one), each through its own embedding; off, it reads what it always did.
    """

    embed: int = 96
    units: int = 256
    layers: int = 2
    quarter_embed: int = 4
    phase_embed: int = 8
    meter_embed: int = 4
    key_embed: int = 8
    dropout: float = 0.1
    arch: str = "conditioned"
    told: bool = False
    end_embed: int = 4
    line_embed: int = 8
    lines: bool = False
    last_bass_embed: int = 16
    last_top_embed: int = 16
    bass_embed: int = 16

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"arch must be one of {', '.join(ARCHS)}, not {self.arch!r}.")
        if (self.told or self.lines) and self.arch != "conditioned":
            raise ConfigError("Only the conditioned network can be told the plan (told) or the lines (lines).")
        if min(self.embed, self.units, self.layers, self.quarter_embed, self.phase_embed, self.meter_embed,
               self.key_embed, self.end_embed, self.line_embed, self.last_bass_embed, self.last_top_embed,
               self.bass_embed) < 1 or not 0.0 <= self.dropout < 1.0:
            raise ConfigError("Network sizes must be positive and dropout in [0, 1).")

    @property
    def input_names(self) -> tuple[str, ...]:
        """The inputs the network reads (a subset of :data:`bachgen.network.INPUTS`)."""
        if self.arch != "conditioned":
            return ("tokens",)
        return ("tokens",) + INPUT_FEATURES + (TOLD_FEATURES if self.told else ()) + (
            LINE_FEATURES if self.lines else ())

    def embed_sizes(self) -> dict[str, int]:
        """Embedding width of each conditioning input the network reads."""
        sizes = {"quarter": self.quarter_embed, "phase": self.phase_embed,
                 "meter": self.meter_embed, "key": self.key_embed}
        if self.told:
            sizes.update(end=self.end_embed, line=self.line_embed)
        if self.lines:
            sizes.update(last_bass=self.last_bass_embed, last_top=self.last_top_embed, bass=self.bass_embed)
        return sizes


@dataclass(frozen=True)
class FitConfig:
    """How the network is trained.

    ``seq_len`` tokens per window (~3.8 tokens an event: 192 ≈ 50 events), windows start
    every ``stride`` tokens. ``epochs`` is a ceiling: training stops when the validation
    loss has not improved for ``patience`` epochs (best weights kept) or when the next
    epoch would pass ``budget_minutes`` of wall-clock time. ``shifts``: semitones of
    augmentation each way around the common key. ``strategy``: ``default``, ``mirrored`` or ``multiworker``;
    ``mirrored`` splits the CPU into ``devices``
    logical devices (see :func:`bachgen.train.configure_devices`); ``threads`` caps TensorFlow's CPU threads.

    ``augment``: ``"shifts"`` (the common key ± ``shifts``) or ``"all12"`` (the original
    project's augmentation: each piece left in its own key and moved by −5..+6 semitones;
    only with a codec that does not tell the shift, see :func:`check_key_treatment`).
    ``modes``: train and validate on ``"both"`` modes or on the ``"major"`` / ``"minor"``
    fugues only. Validation is always in the common key.
    """

    seq_len: int = 192
    stride: int = 96
    batch_size: int = 64
    learning_rate: float = 2e-3
    clipnorm: float = 1.0
    epochs: int = 30
    patience: int = 3
    budget_minutes: float = 28.0
    shifts: int = 3
    seed: int = 1685
    strategy: str = "default"
    devices: int = 2
    threads: int = 2
    deterministic: bool = True
    limit_pieces: int | None = None
    augment: str = "shifts"
    modes: str = "both"

    def __post_init__(self) -> None:
        if self.augment not in AUGMENTS:
            raise ConfigError(f"augment must be one of {', '.join(AUGMENTS)}, not {self.augment!r}.")
        if self.modes not in MODES:
            raise ConfigError(f"modes must be one of {', '.join(MODES)}, not {self.modes!r}.")
        if self.seq_len < 2 or self.stride < 1 or self.batch_size < 1 or self.epochs < 1:
            raise ConfigError("seq_len, stride, batch_size and epochs must be positive.")
        if not 0 <= self.shifts <= 3:
            raise ConfigError("shifts must be 0..3 (the key condition knows −3..+3).")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}.")
        if self.budget_minutes <= 0 or self.learning_rate <= 0:
            raise ConfigError("budget_minutes and learning_rate must be positive.")
