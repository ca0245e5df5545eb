"""A saved network's weights read straight from its ``.keras`` archive, without Keras.

Loading a model with Keras starts TensorFlow, which takes seconds; the NumPy step
(:class:`bachgen.step.NumpyStep`) needs only the arrays. A ``.keras`` file
is a zip archive holding ``config.json`` (the architecture) and ``model.weights.h5``,
where Keras stores each layer's variables under ``layers/<class>[_<n>]/vars/<i>``:
the layer's class name in snake case, numbered in the order of the model's layers
(``embedding``, ``embedding_1``, ...; an LSTM keeps its variables in its ``cell``).
:func:`read_layer_weights` follows that scheme, checks it against the layer name
Keras writes beside each layer's variables, and gives every layer's arrays under its
own name, in the order ``layer.get_weights()`` returns them (bit for bit the same).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BundleError

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"

LayerWeights = dict[str, list[np.ndarray]]


def snake_case(class_name: str) -> str:
    """The group name Keras gives a layer class in the weights file (``InputLayer`` ->
    ``input_layer``, ``LSTM`` -> ``lstm``), as ``keras.src.utils.naming.to_snake_case``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def layer_groups(config: dict[str, Any]) -> dict[str, str]:
    """Each layer's name mapped to the group of the weights file holding its variables,
    for a functional or sequential model's ``config.json``."""
    try:
        layers = config["config"]["layers"]
        used: dict[str, int] = {}
        groups = {}
        for layer in layers:
            base = snake_case(layer["class_name"])
            used[base] = used.get(base, -1) + 1
            groups[layer["config"]["name"]] = f"layers/{base}" + (f"_{used[base]}" if used[base] else "")
    except (KeyError, TypeError) as exc:
        raise BundleError(f"The network description names no layers ({type(exc).__name__}: {exc}).") from exc
    return groups


def _group_arrays(group: Any) -> list[np.ndarray]:
    """The arrays of one layer's group: its own ``vars/0..n`` in order, then those of the
    objects it owns (an LSTM's ``cell``), as ``get_weights()`` lists them."""
    arrays = []
    own = group.get("vars")
    if own is not None:
        arrays += [np.asarray(own[str(i)][()]) for i in range(len(own))]
    for key in sorted(k for k in group.keys() if k != "vars"):
        arrays += _group_arrays(group[key])
    return arrays


def _stored_name(group: Any) -> str | None:
    """The layer name Keras wrote beside the variables (``None`` when the file has none)."""
    own = group.get("vars")
    name = own.attrs.get("name") if own is not None else None
    return name.decode() if isinstance(name, bytes) else name


def read_layer_weights(path: str | Path) -> LayerWeights:
    """Every layer's arrays by layer name, from the ``.keras`` archive at ``path``.

    Operations that are not layers (``keras.ops`` calls) have no group and are left out.
    A :class:`BundleError` when the archive lacks a member or a stored layer name
    disagrees with the one the architecture gives (the file was written by a Keras that
    stores weights another way: load it with Keras instead).
    """
    import h5py  # a Keras dependency; reading HDF5 needs neither Keras nor TensorFlow

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read(CONFIG_MEMBER))
            data = archive.read(WEIGHTS_MEMBER)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise BundleError(f"The model file {path} cannot be read: {exc}.") from exc
    try:
        with h5py.File(io.BytesIO(data), "r") as store:
            return _read_store(store, layer_groups(config), path)
    except (OSError, KeyError, ValueError) as exc:
        raise BundleError(f"The weights in {path} cannot be read: {exc}.") from exc


def _read_store(store: Any, groups: dict[str, str], path: str | Path) -> LayerWeights:
    """The arrays of every layer in ``groups`` that has a group in the open weights file."""
    out: LayerWeights = {}
    for name, where in groups.items():
        if where not in store:
            continue
        stored = _stored_name(store[where])
        if stored is not None and stored != name:
            raise BundleError(f"The model file {path} stores layer {name!r} as {stored!r}: "
                              "its weights are laid out in a way this reader does not know.")
        out[name] = _group_arrays(store[where])
    return out
