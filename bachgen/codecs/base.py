"""What every codec offers: the one place that knows how music becomes token ids.

A codec turns a :class:`~bachgen.events.Piece` into token ids and back, and says which
tokens may come next (its *grammar*), so the sampler can only write sequences that
decode. Everything else — dataset, model size, sampling, evaluation, seed files, the
app — speaks to a codec and never parses a token itself. A codec saves itself as JSON
inside the model bundle, so a bundle always loads with the codec it was trained on.

Id 0 is padding in every codec.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

from ..events import Event, Piece

PAD = 0


class GrammarState(Protocol):
    """Where a row of the sampler stands inside the codec's grammar (codec-specific)."""


class Codec(Protocol):
    """How pieces become token ids (see the module docstring)."""

    name: str

    @property
    def vocab_size(self) -> int:
        """Number of ids, padding included."""

    def encode(self, piece: Piece) -> list[int]:
        """The piece's ids, whole events only."""

    def decode(self, ids: Sequence[int], start: int = 0, template: Piece | None = None) -> Piece:
        """Ids back to a piece laid out from tick ``start`` (an unfinished last event is dropped)."""

    def events(self, ids: Sequence[int], start: int = 0) -> list[Event]:
        """The whole events written by ``ids`` (for loop and copy guards, statistics)."""

    def start_state(self, ids: Sequence[int]) -> Any:
        """The grammar state after reading ``ids``."""

    def advance(self, state: Any, token: int) -> Any:
        """The grammar state after ``token``."""

    def allowed(self, state: Any) -> np.ndarray:
        """Boolean mask over ids: which may come next."""

    def to_json(self) -> dict[str, Any]:
        """Everything needed to rebuild the codec (``name`` included)."""
