"""The model bundles: everything generation needs, in one folder, and which kind a folder holds.

Two kinds of bundle exist. The shipped model (``assets/model``) is a *spelled* bundle:
events spelled as sub-tokens (:mod:`bachgen.codecs.spelled`), saved by
:func:`bachgen.conditioned.save_bundle`. The earlier *word* model (``assets/words``) is
a bundle of this module. :func:`bundle_kind` tells them apart by the codec
``codec.json`` names, and :func:`load_any_bundle` loads either, with the same checks.

Files of a word bundle::

    model.keras        the trained network (weights + architecture, no optimizer state)
    codec.json         the codec: how music becomes the ids the network reads and writes
    vocabulary.json    the words the network reads and writes (id 0 = padding)
    config.json        {"tokens": TokenConfig, "model": ModelConfig, "training": ..., "card": ...}
    README.md          the model card, for people

``codec.json`` is read first when present; a bundle saved before it existed loads its
codec from ``vocabulary.json`` and the token settings in ``config.json``.

A spelled bundle holds ``model.keras``, ``codec.json`` (``"name": "spelled"``),
``config.json`` (network settings and training summary), ``history.json``, its model card
``README.md`` (:func:`bachgen.card.write_spelled_card`, written by ``bachgen train``
and re-rendered by ``bachgen card FOLDER``) and, once measured, ``evaluation.json``
(the card's held-out and generated-music figures). It is read without TensorFlow: the
weights come straight from the ``model.keras`` archive (:mod:`bachgen.weights`), which
is all the NumPy step needs, and the Keras network is loaded only when something asks
for it (:class:`SavedSpelledBundle`).

Loading checks each file and reports one :class:`~bachgen.errors.BundleError` per
problem (folder or file missing, model file truncated or corrupt, vocabulary not the
size the network was built for), saying what is wrong and what to do, so the app
can show it instead of a traceback.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .codecs import WordCodec, codec_from_json
from .conditioned import SpelledBundle
from .config import ModelConfig, TokenConfig, from_dict, to_dict
from .errors import BachgenError, BundleError
from .tokens import Vocabulary

MODEL_DIR_ENV = "BACHGEN_MODEL_DIR"
MODEL_FILE = "model.keras"
VOCAB_FILE = "vocabulary.json"
CODEC_FILE = "codec.json"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
REQUIRED_FILES = (MODEL_FILE, VOCAB_FILE, CONFIG_FILE)
SPELLED_REQUIRED_FILES = (MODEL_FILE, CODEC_FILE, CONFIG_FILE)

WORDS = "words"
SPELLED = "spelled"

_RETRAIN = ("Restore the folder from the repository (`assets/words`) or train a new bundle with "
            "`bachgen train --codec words --bundle-dir FOLDER`.")
_RETRAIN_SPELLED = ("Restore the folder from the repository (`assets/model`) or train a new bundle "
                    "with `bachgen train --bundle-dir FOLDER` (or `python -m bachgen.conditioned "
                    "FOLDER`).")
_RESTORE_EITHER = ("Restore the spelled model (`assets/model`) or the word model (`assets/words`) "
                   "from the repository, or train one with `bachgen train --bundle-dir FOLDER` "
                   "(spelled) or `bachgen train --codec words --bundle-dir FOLDER` (words).")


def _assets() -> Path:
    return Path(__file__).resolve().parent.parent / "assets"


def default_bundle_dir() -> Path:
    """``$BACHGEN_MODEL_DIR`` if set, else ``assets/model`` (the shipped, spelled model)."""
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV]).expanduser()
    return _assets() / "model"


def words_bundle_dir() -> Path:
    """``assets/words``: the earlier word model, kept loadable."""
    return _assets() / "words"


def codec_name(folder: str | Path) -> str:
    """The codec a bundle folder names in ``codec.json`` (``"words"`` when it has none or it
    cannot be read: the word loader then reports what is wrong)."""
    try:
        data = json.loads((Path(folder) / CODEC_FILE).read_text())
        return str(data.get("name", WORDS))
    except (OSError, ValueError, AttributeError):
        return WORDS


def bundle_kind(folder: str | Path) -> str:
    """``"spelled"`` or ``"words"``: which loader and engine the bundle in ``folder`` needs."""
    return SPELLED if codec_name(folder) == SPELLED else WORDS


def required_files(kind: str) -> tuple[str, ...]:
    """The files a bundle of ``kind`` cannot load without."""
    return SPELLED_REQUIRED_FILES if kind == SPELLED else REQUIRED_FILES


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it (``assets/words``)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_any_bundle(folder: str | Path | None = None) -> Any:
    """The bundle in ``folder`` (default :func:`default_bundle_dir`) whatever its kind: a
    :class:`~bachgen.conditioned.SpelledBundle` or a word :class:`Bundle`."""
    folder = Path(folder) if folder is not None else default_bundle_dir()
    if not folder.is_dir():  # no kind to tell: name both
        _check_files(folder, hint=_RESTORE_EITHER)
    if bundle_kind(folder) == SPELLED:
        return load_spelled_bundle(folder)
    return load_bundle(folder)


def load_spelled_bundle(folder: str | Path | None = None) -> Any:
    """A spelled bundle, checked as word bundles are (folder, files, whole model archive,
    network sized for the codec), read without TensorFlow: a :class:`SavedSpelledBundle`."""
    folder = Path(folder) if folder is not None else default_bundle_dir()
    _check_files(folder, SPELLED_REQUIRED_FILES, _RETRAIN_SPELLED)
    if codec_name(folder) != SPELLED:
        raise BundleError(f"The bundle {folder} is not a spelled bundle: its {CODEC_FILE} names the "
                          f"{codec_name(folder)!r} codec.", _RETRAIN_SPELLED)
    _check_archive(folder / MODEL_FILE, _RETRAIN_SPELLED)
    codec, net, config = _read_spelled_settings(folder)
    from .weights import read_layer_weights

    try:
        layers = read_layer_weights(folder / MODEL_FILE)
    except BundleError as exc:
        raise BundleError(exc.message, _RETRAIN_SPELLED) from exc
    _check_spelled_sizes(folder, layers, codec.vocab_size)
    return SavedSpelledBundle(folder / MODEL_FILE, layers, codec, net, config)


def _read_spelled_settings(folder: Path) -> tuple[Any, Any, dict[str, Any]]:
    """The codec, network settings and training summary of the spelled bundle in ``folder``."""
    from .codecs.spelled import SpelledCodec
    from .conditioned import NetConfig

    try:
        codec = SpelledCodec.from_json(json.loads((folder / CODEC_FILE).read_text()))
        config = json.loads((folder / CONFIG_FILE).read_text())
        net = NetConfig(**config["net"])
    except (OSError, ValueError, KeyError, TypeError, BachgenError) as exc:
        raise BundleError(f"Cannot load the spelled model bundle in {folder}: {exc}.",
                          _RETRAIN_SPELLED) from exc
    return codec, net, config


def _check_spelled_sizes(folder: Path, layers: dict[str, Any], vocab_size: int) -> None:
    """A :class:`BundleError` unless the network writes one logit per token of the codec."""
    logits = layers.get("logits") or []
    units = int(logits[0].shape[-1]) if logits else None
    if units != vocab_size:
        found = "has no layer named 'logits'" if units is None else f"writes {units} logits"
        raise BundleError(f"The bundle {folder} does not fit together: the network {found} and "
                          f"the codec has {vocab_size} tokens.",
                          "Copy all files of one bundle together. " + _RETRAIN_SPELLED)


def _load_spelled_network(path: Path) -> Any:
    """The Keras network of a spelled bundle (starts TensorFlow), a :class:`BundleError` when
    Keras cannot load it."""
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a bad archive
        raise BundleError(f"The model file {path} cannot be loaded: {type(exc).__name__}: {exc}",
                          _RETRAIN_SPELLED) from exc


class SavedSpelledBundle(SpelledBundle):
    """A spelled bundle read from its folder without TensorFlow.

    ``layer_weights`` holds the network's arrays by layer name (all the NumPy step needs,
    see :func:`bachgen.spelled_sampling.load_step`); ``model``, the Keras network, is loaded
    from ``model_path`` the first time something asks for it (evaluation, the TensorFlow
    step, the original loop of ``bachgen bench``), so only those start TensorFlow.
    """

    def __init__(self, model_path: Path, layer_weights: dict[str, Any], codec: Any, net: Any,
                 config: dict[str, Any]) -> None:
        self.model_path = Path(model_path)
        self.layer_weights = layer_weights
        self.codec, self.net, self.config = codec, net, config
        self._model: Any = None
        self._model_lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The Keras network (loaded once, on first use)."""
        with self._model_lock:
            if self._model is None:
                self._model = _load_spelled_network(self.model_path)
            return self._model

    def __repr__(self) -> str:
        return f"SavedSpelledBundle({str(self.model_path)!r}, net={self.net!r})"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


@dataclass
class Bundle:
    """A trained network with the vocabulary and settings it was trained with.

    ``card`` holds the model card's facts (split, figures, studies) as plain JSON;
    ``training`` the training settings and measurements (TrainConfig, time, epochs).
    """

    model: Any
    vocab: Vocabulary
    tokens: TokenConfig
    model_config: ModelConfig
    card: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_codec(cls, model: Any, codec: WordCodec, model_config: ModelConfig,
                   card: dict[str, Any] | None = None, training: dict[str, Any] | None = None
                   ) -> "Bundle":
        """A bundle whose network reads and writes ``codec``'s ids (the codec object is kept)."""
        bundle = cls(model, codec.vocab, codec.tokens, model_config, dict(card or {}), dict(training or {}))
        bundle.__dict__["codec"] = codec  # what the cached property would build, with its caches
        return bundle

    @cached_property
    def codec(self) -> WordCodec:
        """The representation the network reads and writes (one word per event)."""
        return WordCodec(self.vocab, self.tokens)

    @property
    def architecture(self) -> str:
        """``"embedding-lstm"`` (the bachgen network) or ``"scalar-lstm"`` (original baseline)."""
        return str(self.card.get("architecture", "embedding-lstm"))


# --------------------------------------------------------------------------- saving


def _model_without_optimizer(model: Any) -> Any:
    """A copy of ``model`` with the same weights and no compiled optimizer (a third the size)."""
    if getattr(model, "optimizer", None) is None:
        return model
    copy = type(model).from_config(model.get_config())  # built, never compiled
    copy.set_weights(model.get_weights())
    return copy


def save_bundle(bundle: Bundle, folder: str | Path) -> Path:
    """Write ``bundle`` into ``folder`` (created if needed); returns the folder.

    Each file is written beside its final name and then renamed, so an interrupted
    save never leaves a half-written model where a good one was.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = _model_without_optimizer(bundle.model)
    tmp_model = folder / f".{MODEL_FILE}.tmp.keras"
    model.save(tmp_model)
    tmp_model.replace(folder / MODEL_FILE)
    config = {"tokens": to_dict(bundle.tokens), "model": to_dict(bundle.model_config),
              "training": bundle.training, "card": bundle.card}
    for name, text in ((CODEC_FILE, json.dumps(bundle.codec.to_json()) + "\n"),
                       (VOCAB_FILE, bundle.vocab.to_json() + "\n"),
                       (CONFIG_FILE, json.dumps(config, indent=2) + "\n"),
                       (CARD_FILE, render_card(bundle))):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(folder / name)
    return folder


# --------------------------------------------------------------------------- loading


def _check_files(folder: Path, required: tuple[str, ...] = REQUIRED_FILES, hint: str = _RETRAIN) -> None:
    """A :class:`BundleError` when ``folder`` or one of the ``required`` files is missing."""
    if not folder.is_dir():
        raise BundleError(f"No model bundle at {folder}: the folder does not exist.",
                          f"{hint} Or set {MODEL_DIR_ENV} to a bundle folder.")
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise BundleError(f"The model bundle {folder} is incomplete: {', '.join(missing)} missing.",
                          hint)


def _read_config(folder: Path) -> tuple[TokenConfig, ModelConfig, dict, dict]:
    path = folder / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
        tokens = from_dict(TokenConfig, data["tokens"])
        model_config = from_dict(ModelConfig, data["model"])
    except (OSError, ValueError, KeyError, TypeError, BachgenError) as exc:
        raise BundleError(f"The bundle settings {path} cannot be read: {exc}.", _RETRAIN) from exc
    return tokens, model_config, dict(data.get("training") or {}), dict(data.get("card") or {})


def _check_archive(path: Path, hint: str = _RETRAIN) -> None:
    """A :class:`BundleError` unless ``path`` is a whole zip archive (CRC of every member)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise zipfile.BadZipFile(f"member {bad} fails its checksum")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        size = path.stat().st_size if path.exists() else 0
        raise BundleError(f"The model file {path} is truncated or corrupt ({size} bytes; {exc}).",
                          hint) from exc


def _read_model(path: Path) -> Any:
    """Load ``model.keras`` after checking the archive is whole."""
    _check_archive(path)
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types for a bad archive
        raise BundleError(f"The model file {path} cannot be loaded: {type(exc).__name__}: {exc}",
                          _RETRAIN) from exc


def _output_sizes(model: Any) -> dict[str, int]:
    """Vocabulary sizes the network was built for: embedding rows and logits units."""
    sizes = {}
    for layer in model.layers:
        if layer.name == "embedding":
            sizes["embedding"] = int(layer.input_dim)
        if layer.name == "logits":
            sizes["logits"] = int(layer.units)
    return sizes


def load_bundle(folder: str | Path | None = None) -> Bundle:
    """Read a bundle written by :func:`save_bundle` (default: :func:`default_bundle_dir`)."""
    folder = Path(folder) if folder is not None else default_bundle_dir()
    if folder.is_dir() and bundle_kind(folder) == SPELLED:
        raise _not_words(folder, SPELLED)
    _check_files(folder)
    tokens, model_config, training, card = _read_config(folder)
    codec = _read_codec(folder, tokens)
    model = _read_model(folder / MODEL_FILE)
    sizes = _output_sizes(model)
    if "logits" not in sizes:
        raise BundleError(f"The model in {folder} has no layer named 'logits'.", _RETRAIN)
    expected = {**_codec_sizes(folder, codec), "config.json": model_config.vocab_size, **sizes}
    if len(set(expected.values())) != 1:
        detail = ", ".join(f"{k} {v}" for k, v in expected.items())
        raise BundleError(
            f"The bundle {folder} does not fit together: vocabulary sizes differ ({detail}).",
            "The vocabulary and the model come from different trainings; copy all files of one "
            "bundle together, or train again with `bachgen train --codec words --bundle-dir FOLDER`.")
    return Bundle.from_codec(model, codec, model_config, card, training)


def _codec_sizes(folder: Path, codec: WordCodec) -> dict[str, int]:
    """Vocabulary sizes the bundle's files give: the codec's, and ``vocabulary.json``'s when
    the codec came from ``codec.json`` (the two are saved together and must agree)."""
    if _codec_source(folder) == VOCAB_FILE:
        return {VOCAB_FILE: codec.vocab_size}
    return {CODEC_FILE: codec.vocab_size, VOCAB_FILE: len(Vocabulary.load(folder / VOCAB_FILE))}


def _codec_source(folder: Path) -> str:
    """The file the bundle's codec is read from: ``codec.json``, else ``vocabulary.json``."""
    return CODEC_FILE if (folder / CODEC_FILE).is_file() else VOCAB_FILE


def _read_codec(folder: Path, tokens: TokenConfig) -> WordCodec:
    """The bundle's codec: ``codec.json`` when present, else the vocabulary and ``tokens``."""
    if _codec_source(folder) == VOCAB_FILE:
        return WordCodec(Vocabulary.load(folder / VOCAB_FILE), tokens)
    path = folder / CODEC_FILE
    try:
        codec = codec_from_json(json.loads(path.read_text()))
    except BundleError:
        raise
    except (OSError, ValueError, KeyError, TypeError, BachgenError) as exc:
        raise BundleError(f"The codec {path} cannot be read: {exc}.", _RETRAIN) from exc
    if not isinstance(codec, WordCodec):
        raise _not_words(folder, codec.name)
    return codec


def _not_words(folder: Path, name: str) -> BundleError:
    """The error for a bundle of another codec given to the word loader."""
    return BundleError(f"The bundle {folder} uses the {name!r} codec, which the word loader does "
                       "not run.", "Load it with `bachgen.bundle.load_any_bundle` (or "
                       "`bachgen.pipeline.load_engine`), which picks the loader by kind.")


# --------------------------------------------------------------------------- model card


def _table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return "_(none)_\n"
    columns = columns or list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        out.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|")


def render_card(bundle: Bundle) -> str:
    """The model card (``README.md``) from the bundle's settings and ``card`` facts.

    ``card`` keys used: ``title``, ``summary`` (markdown), ``sections`` (a list of
    ``{"title", "body"}`` markdown blocks, or ``{"title", "rows", "columns", "note"}``
    tables), in that order.
    """
    card = bundle.card
    lines = [f"# {card.get('title', 'bachgen model')}", ""]
    if card.get("summary"):
        lines += [str(card["summary"]).strip(), ""]
    lines += ["## Files", "",
              f"- `{MODEL_FILE}`: the network ({bundle.architecture}), weights without optimizer state",
              f"- `{CODEC_FILE}`: the codec ({bundle.codec.name}): how music becomes the network's ids",
              f"- `{VOCAB_FILE}`: {bundle.codec.vocab_size - 1} words (+ id 0 = padding)",
              f"- `{CONFIG_FILE}`: token, model and training settings, and these facts as JSON",
              "", "## Settings", ""]
    settings = [{"group": "tokens", "setting": k, "value": v} for k, v in to_dict(bundle.tokens).items()]
    settings += [{"group": "model", "setting": k, "value": v}
                 for k, v in to_dict(bundle.model_config).items()]
    settings += [{"group": "training", "setting": k, "value": v}
                 for k, v in (bundle.training.get("config") or {}).items()]
    lines += [_table(settings, ["group", "setting", "value"])]
    for section in card.get("sections", []):
        lines += [f"## {section['title']}", ""]
        if section.get("body"):
            lines += [str(section["body"]).strip(), ""]
        if "rows" in section:
            lines += [_table(section["rows"], section.get("columns"))]
        if section.get("note"):
            lines += [str(section["note"]).strip(), ""]
    return "\n".join(lines).rstrip() + "\n"
