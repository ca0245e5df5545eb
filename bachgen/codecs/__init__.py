"""Codecs: how music becomes token ids and back (see :mod:`bachgen.codecs.base`).

``WordCodec`` is the original project's one word per event; ``SpelledCodec`` spells
each event as a short run of sub-tokens (pitches marked struck or held, then a
duration). :func:`codec_from_json` rebuilds whichever one a model bundle saved.
"""

from __future__ import annotations

from typing import Any

from ..errors import BundleError
from .base import PAD, Codec
from .words import Targets, WordCodec


def codec_from_json(data: dict[str, Any]) -> Codec:
    """The codec saved as ``data`` (its ``name`` says which kind)."""
    name = data.get("name") if isinstance(data, dict) else None
    if name == "words":
        return WordCodec.from_json(data)
    if name == "spelled":
        from .spelled import SpelledCodec

        return SpelledCodec.from_json(data)
    raise BundleError(f"Unknown codec {name!r} in the model bundle.",
                      "Train the bundle again with `bachgen train`.")


__all__ = ["PAD", "Codec", "Targets", "WordCodec", "codec_from_json"]
