"""The original project's representation: one word per event (see :mod:`bachgen.tokens`).

A word names an event's struck pitches, its held pitches (``~``, when the bundle keeps
holds) and its length: ``"48.60~.64:1/4"``. Every known word may follow every other,
so the grammar allows all ids but padding. Words the vocabulary has never seen (from
an uploaded file, say) are replaced by the nearest known word and counted.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..config import TokenConfig, from_dict, to_dict
from ..events import Event, Piece
from ..tokens import NearestWords, Vocabulary, decode_words, parse_word, piece_to_words
from .base import PAD


class WordCodec:
    """Event words numbered by a :class:`~bachgen.tokens.Vocabulary` (id 0 = padding)."""

    name = "words"

    def __init__(self, vocab: Vocabulary, tokens: TokenConfig = TokenConfig()) -> None:
        self.vocab = vocab
        self.tokens = tokens
        self._nearest: NearestWords | None = None
        self._mask = np.ones(len(vocab), dtype=bool)
        self._mask[PAD] = False

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # -- pieces and words
    def words(self, piece: Piece) -> list[str]:
        """The piece's words, as they are (no vocabulary look-up)."""
        return piece_to_words(piece, self.tokens)

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], int]:
        """Ids of ``words``, unknown ones replaced by the nearest known word; how many were."""
        if self._nearest is None:
            self._nearest = NearestWords(self.vocab)
        return self._nearest.encode(words)

    def encode(self, piece: Piece) -> list[int]:
        return self.encode_words(self.words(piece))[0]

    def decode(self, ids: Sequence[int], start: int = 0, template: Piece | None = None) -> Piece:
        return decode_words(self.vocab.decode(ids), start=start, template=template)

    def events(self, ids: Sequence[int], start: int = 0) -> list[Event]:
        events, time = [], start
        for word in self.vocab.decode(ids):
            struck, held, ticks = parse_word(word)
            events.append(Event(time, ticks, struck, held))
            time += ticks
        return events

    def ticks(self, ids: Sequence[int]) -> int:
        """Total length of the events ``ids`` write, in ticks."""
        return sum(parse_word(w)[2] for w in self.vocab.decode(ids))

    # -- grammar: any word may follow any word
    def start_state(self, ids: Sequence[int]) -> None:
        return None

    def advance(self, state: Any, token: int) -> None:
        return None

    def allowed(self, state: Any) -> np.ndarray:
        return self._mask

    # -- saving
    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "tokens": to_dict(self.tokens),
                "words": self.vocab.words[1:], "counts": self.vocab.counts[1:]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "WordCodec":
        return cls(Vocabulary(data["words"], data.get("counts")), from_dict(TokenConfig, data["tokens"]))
