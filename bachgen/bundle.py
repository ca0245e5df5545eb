"""The model bundle: everything generation needs, in one folder, saved and loaded.

The shipped model (``assets/model``) and the baseline (``assets/original``) are bundles::

    model.keras        the trained network (weights + architecture, no optimizer state)
    codec.json         the codec: how music becomes the ids the network reads and writes
    config.json        network settings ("net") and the training summary
    history.json       the loss of every epoch
    README.md          the model card (:mod:`bachgen.evaluation.card`)
    evaluation.json    once measured: the card's held-out and generated-music figures

A bundle is read without TensorFlow: the weights come straight from the ``model.keras``
archive (:mod:`bachgen.weights`), which is all the NumPy step needs, and the Keras network
is loaded only when something asks for it (:class:`SavedBundle`).

Loading checks each file and reports one :class:`~bachgen.errors.BundleError` per problem
(folder or file missing, model file truncated or corrupt, network not sized for the codec),
saying what is wrong and what to do, so the app can show it instead of a traceback.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .codec import SpelledCodec
from .config import NetConfig
from .leaning import Leaning, read_leaning
from .errors import BachgenError, BundleError, ConfigError
from .network import build_model
from .weights import read_layer_weights

MODEL_DIR_ENV = "BACHGEN_MODEL_DIR"
MODEL_FILE, CODEC_FILE, CONFIG_FILE, HISTORY_FILE = "model.keras", "codec.json", "config.json", "history.json"
CARD_FILE = "README.md"
REQUIRED_FILES = (MODEL_FILE, CODEC_FILE, CONFIG_FILE)

RETRAIN = ("Restore the folder from the repository (`assets/model`) or train a new bundle "
           "with `bachgen train --bundle-dir FOLDER`.")


def assets_dir() -> Path:
    """The project's ``assets`` folder (the shipped bundles)."""
    return Path(__file__).resolve().parent.parent / "assets"


def default_bundle_dir() -> Path:
    """``$BACHGEN_MODEL_DIR`` if set, else ``assets/model`` (the shipped model)."""
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV]).expanduser()
    return assets_dir() / "model"


def baseline_bundle_dir() -> Path:
    """``assets/original``: the original project's architecture on the same tokens."""
    return assets_dir() / "original"


@dataclass
class Bundle:
    """A trained network with its codec and the settings it was trained with."""

    model: Any
    codec: SpelledCodec
    net: NetConfig
    config: dict[str, Any]


def save_bundle(folder: str | Path, model: Any, codec: SpelledCodec, net: NetConfig,
                config: dict[str, Any], history: dict[str, list[float]] | None = None) -> Path:
    """Write ``model.keras`` (weights only, no optimizer state), ``codec.json``, ``config.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clean = build_model(codec, net)
    clean.set_weights(model.get_weights())
    clean.save(folder / MODEL_FILE)
    (folder / CODEC_FILE).write_text(json.dumps(codec.to_json(), indent=1) + "\n")
    (folder / CONFIG_FILE).write_text(json.dumps({"net": asdict(net), **config}, indent=1) + "\n")
    if history is not None:
        (folder / HISTORY_FILE).write_text(json.dumps(history, indent=1) + "\n")
    return folder


def load_bundle(folder: str | Path | None = None) -> "SavedBundle":
    """The bundle in ``folder`` (default :func:`default_bundle_dir`), checked (folder, files,
    whole model archive, network sized for the codec) and read without TensorFlow."""
    folder = Path(folder) if folder is not None else default_bundle_dir()
    check_files(folder)
    check_archive(folder / MODEL_FILE)
    codec, net, config = _read_settings(folder)
    try:
        layers = read_layer_weights(folder / MODEL_FILE)
    except BundleError as exc:
        raise BundleError(exc.message, RETRAIN) from exc
    _check_sizes(folder, layers, codec.vocab_size)
    return SavedBundle(folder / MODEL_FILE, layers, codec, net, config, read_leaning(folder))


def check_files(folder: Path, required: tuple[str, ...] = REQUIRED_FILES, hint: str = RETRAIN) -> None:
    """A :class:`BundleError` when ``folder`` or one of the ``required`` files is missing."""
    if not folder.is_dir():
        raise BundleError(f"No model bundle at {folder}: the folder does not exist.",
                          f"{hint} Or set {MODEL_DIR_ENV} to a bundle folder.")
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise BundleError(f"The model bundle {folder} is incomplete: {', '.join(missing)} missing.",
                          hint)


def check_archive(path: Path, hint: str = RETRAIN) -> None:
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


def _read_settings(folder: Path) -> tuple[SpelledCodec, NetConfig, dict[str, Any]]:
    """The codec, network settings and training summary of the bundle in ``folder``."""
    try:
        codec = SpelledCodec.from_json(json.loads((folder / CODEC_FILE).read_text()))
        config = json.loads((folder / CONFIG_FILE).read_text())
        net = NetConfig(**config["net"])
    except (OSError, ValueError, KeyError, TypeError, BachgenError) as exc:
        raise BundleError(f"Cannot load the model bundle in {folder}: {exc}.", RETRAIN) from exc
    return codec, net, config


def _check_sizes(folder: Path, layers: dict[str, Any], vocab_size: int) -> None:
    """A :class:`BundleError` unless the network writes one logit per token of the codec."""
    logits = layers.get("logits") or []
    units = int(logits[0].shape[-1]) if logits else None
    if units != vocab_size:
        found = "has no layer named 'logits'" if units is None else f"writes {units} logits"
        raise BundleError(f"The bundle {folder} does not fit together: the network {found} and "
                          f"the codec has {vocab_size} tokens.",
                          "Copy all files of one bundle together. " + RETRAIN)


def _load_network(path: Path) -> Any:
    """The Keras network of a bundle (starts TensorFlow), a :class:`BundleError` when
    Keras cannot load it."""
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a bad archive
        raise BundleError(f"The model file {path} cannot be loaded: {type(exc).__name__}: {exc}",
                          RETRAIN) from exc


class SavedBundle(Bundle):
    """A bundle read from its folder without TensorFlow.

    ``leaning``: the network's leaning by interval, when the folder has one (:mod:`bachgen.leaning`).
    ``layer_weights`` holds the network's arrays by layer name (all the NumPy step needs,
    see :func:`bachgen.step.load_step`); ``model``, the Keras network, is loaded
    from ``model_path`` the first time something asks for it (evaluation, the TensorFlow
    step, the original loop of ``bachgen bench``), so only those start TensorFlow.
    """

    def __init__(self, model_path: Path, layer_weights: dict[str, Any], codec: Any, net: Any,
                 config: dict[str, Any], leaning: Leaning | None = None) -> None:
        self.model_path = Path(model_path)
        self.leaning = leaning
        self.layer_weights = layer_weights
        self.codec, self.net, self.config = codec, net, config
        self._model: Any = None
        self._model_lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The Keras network (loaded once, on first use)."""
        with self._model_lock:
            if self._model is None:
                self._model = _load_network(self.model_path)
            return self._model

    def __repr__(self) -> str:
        return f"SavedBundle({str(self.model_path)!r}, net={self.net!r})"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


def can_step(bundle: Bundle) -> bool:
    """Whether the NumPy step (:mod:`bachgen.step`) can run the bundle's network:
    it reads the conditioned network's layers by name; the original network has no embeddings."""
    return bundle.net.arch == "conditioned"


def require_step(bundle: Bundle) -> None:
    """Refuse a network the NumPy step cannot run (see :func:`can_step`)."""
    if not can_step(bundle):
        raise ConfigError(f"The {bundle.net.arch!r} network cannot be sampled by the step engine; "
                          "only the conditioned network can.",
                          "Measure it by held-out bits (bachgen evaluate --model BUNDLE).")
