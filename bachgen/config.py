"""Configuration as frozen dataclasses, passed explicitly from stage to stage.

Each stage has its own settings object; none of them is global. Every config
converts to and from plain JSON dicts so it can be saved next to a model and
read back unchanged. Values are checked when a config is made, so a bad
option fails at the boundary with a :class:`~bachgen.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")

CORPUS_DIR_ENV = "BACHGEN_CORPUS_DIR"
CORPUS_MIRROR_ENV = "BACHGEN_CORPUS_MIRROR"
CACHE_DIR_ENV = "BACHGEN_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$BACHGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/bachgen``, else ``~/.cache/bachgen``."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "bachgen"


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


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


TRANSPOSE_MODES = ("none", "common", "augment")


@dataclass(frozen=True)
class TokenConfig:
    """How pieces become event words.

    ``transpose``: ``"none"`` keeps original keys; ``"common"`` moves every piece
    to C major / A minor; ``"augment"`` adds the 11 other transpositions of each
    training piece (original keys kept too). ``holds``: mark pitches that keep
    sounding from the previous event (``True``) so note lengths survive the
    round trip; ``False`` reproduces the original project's words (struck
    pitches only). ``grid`` is the finest time step kept, in ticks (48 a quarter;
    2 holds every value the 48 fugues use, 32nds and triplets included).
    """

    transpose: str = "none"
    holds: bool = True
    grid: int = 2
    max_event_quarters: float = 8.0

    def __post_init__(self) -> None:
        _check(self.transpose in TRANSPOSE_MODES,
               f"transpose must be one of {', '.join(TRANSPOSE_MODES)}, not {self.transpose!r}.")
        _check(self.grid >= 1, "grid must be at least 1 tick.")
        _check(self.max_event_quarters > 0, "max_event_quarters must be positive.")


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict."""
    return dataclasses.asdict(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from ``data``, rejecting unknown keys with a clear message."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"Unknown {cls.__name__} option(s): {', '.join(unknown)}.")
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            value = data[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def save_json(config: Any, path: str | Path) -> None:
    Path(path).write_text(json.dumps(to_dict(config), indent=2, sort_keys=True) + "\n")


def load_json(cls: type[T], path: str | Path) -> T:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {cls.__name__} from {path}: {exc}.") from exc
    return from_dict(cls, data)


@dataclass(frozen=True)
class ModelConfig:
    """The network: embedding of event words -> ``layers`` LSTMs of ``units`` -> logits.

    ``seq_len`` is how many events the network reads in training (the original used 50).
    """

    vocab_size: int
    embed_dim: int = 128
    units: int = 256
    layers: int = 2
    dropout: float = 0.3
    seq_len: int = 50

    def __post_init__(self) -> None:
        _check(self.vocab_size >= 2, "vocab_size must be at least 2.")
        _check(self.embed_dim >= 1 and self.units >= 1, "embed_dim and units must be positive.")
        _check(self.layers >= 1, "layers must be at least 1.")
        _check(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1).")
        _check(self.seq_len >= 2, "seq_len must be at least 2.")


@dataclass(frozen=True)
class SamplingConfig:
    """How new events are drawn from the network (see :mod:`bachgen.sampling`).

    ``temperature`` divides the logits; ``top_k`` keeps only the k likeliest words and
    ``top_p`` the smallest set whose probability reaches p (``None``: off). ``seed``
    seeds the random generator (``None``: a fresh one, reported in the result), so the
    same seed and settings give the same music. ``candidates`` pieces are drawn at once
    and the best is kept.

    Loops: the last ``loop_min_events`` events (at least ``loop_min_repeats`` periods)
    repeating with a period of 1 to ``loop_max_period`` events count as a loop; the
    sampler then takes the repeats back and recovers (hotter sampling, then a fresh
    start from another place in the corpus), at most ``max_recoveries`` times.
    Copies: a run of more than ``copy_limit`` events found verbatim (in any
    transposition) in the corpus is not allowed to grow (0: no check).
    Key: ``key_guide`` lowers the logit of a word by this much times the share of its
    struck pitches outside the scale of the seed's key (0: off), so the music keeps a
    key rather than drifting through all twelve pitch classes (the word model only; the
    spelled model is told its key).
    Compass: ``compass`` is the lowest and highest MIDI pitch the spelled model may strike,
    in the key of the music it writes (``None``: the whole piano). The fugues keep to
    C2–C6 (36–84) almost throughout; held-out checks of the default are in the README.
    """

    events: int = 400
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = 0.98
    seed: int | None = None
    candidates: int = 1
    loop_max_period: int = 8
    loop_min_repeats: int = 3
    loop_min_events: int = 16
    max_recoveries: int = 40
    recovery_boost: float = 0.5
    copy_limit: int = 12
    key_guide: float = 4.0
    compass: tuple[int, int] | None = (36, 84)

    def __post_init__(self) -> None:
        _check(1 <= self.events <= 20_000, "events must be between 1 and 20000.")
        _check(0.05 <= self.temperature <= 5.0, "temperature must be between 0.05 and 5.")
        _check(self.top_k is None or self.top_k >= 1, "top_k must be at least 1 (or unset).")
        _check(self.top_p is None or 0.0 < self.top_p <= 1.0, "top_p must be in (0, 1] (or unset).")
        _check(self.seed is None or 0 <= self.seed < 2**63, "seed must be a non-negative integer.")
        _check(1 <= self.candidates <= 256, "candidates must be between 1 and 256.")
        _check(self.loop_max_period >= 1, "loop_max_period must be at least 1.")
        _check(self.loop_min_repeats >= 2, "loop_min_repeats must be at least 2.")
        _check(self.loop_min_events >= 2, "loop_min_events must be at least 2.")
        _check(self.max_recoveries >= 0, "max_recoveries must be 0 or more.")
        _check(self.recovery_boost >= 0, "recovery_boost must be 0 or more.")
        _check(self.copy_limit == 0 or self.copy_limit >= 2, "copy_limit must be 0 (off) or at least 2.")
        _check(0.0 <= self.key_guide <= 20.0, "key_guide must be between 0 and 20.")
        _check(self.compass is None or (len(self.compass) == 2
                                        and 21 <= self.compass[0] < self.compass[1] <= 108),
               "compass must be (lowest, highest) MIDI pitches on the piano, lowest < highest.")


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
        _check(10.0 <= self.tempo_bpm <= 600.0, "tempo_bpm must be between 10 and 600.")
        _check(self.snap in SNAP_MODES,
               f"snap must be one of {', '.join(SNAP_MODES)}, not {self.snap!r}.")


STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass(frozen=True)
class TrainConfig:
    """How the network is trained (``bachgen train``).

    ``epochs`` is a ceiling: training stops earlier when the validation loss has not
    improved for ``patience`` epochs, and the best weights are kept. ``stride`` is the
    step between the starts of two training windows of one piece (1 = every position,
    as the original project did; larger is faster, each window still predicts every
    position in it). ``epoch_windows`` fixes how many windows one epoch shows (``None``:
    every window once); studies use it to give each variant the same budget.
    ``strategy`` picks the ``tf.distribute`` strategy: ``default`` (one device),
    ``mirrored`` (synchronous data parallelism over ``devices`` logical CPUs or the
    GPUs present) or ``multiworker`` (several machines described by ``TF_CONFIG``).
    ``deterministic`` turns on TensorFlow op determinism so a seed repeats a run.
    """

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 3
    seed: int = 1685
    stride: int = 10
    epoch_windows: int | None = None
    clipnorm: float = 1.0
    strategy: str = "default"
    devices: int = 2
    deterministic: bool = True

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, "epochs must be at least 1.")
        _check(self.batch_size >= 1, "batch_size must be at least 1.")
        _check(self.learning_rate > 0, "learning_rate must be positive.")
        _check(self.patience >= 0, "patience must be 0 or more.")
        _check(self.stride >= 1, "stride must be at least 1.")
        _check(self.epoch_windows is None or self.epoch_windows >= 1,
               "epoch_windows must be at least 1 (or unset for every window once).")
        _check(self.clipnorm > 0, "clipnorm must be positive.")
        _check(self.strategy in STRATEGIES,
               f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}.")
        _check(self.devices >= 1, "devices must be at least 1.")
