"""The original project's representation: one word per event (see :mod:`bachgen.tokens`).

A word names an event's struck pitches, its held pitches (``~``, when the bundle keeps
holds) and its length: ``"48.60~.64:1/4"``. Every known word may follow every other,
so the grammar allows all ids but padding. Words the vocabulary has never seen (from
an uploaded file, say) are replaced by the nearest known word and counted.

Words are this codec's business alone: the rest of the package asks the codec (the
ids of a piece, the event an id writes, the pitch classes of every id, the cost of
spelling out a word the vocabulary lacks) and never reads a word itself. The raw words
of a piece (:meth:`WordCodec.words`) may be passed around, opaque, and handed back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..config import TokenConfig, from_dict, to_dict
from ..events import Event, Piece
from ..tokens import (HIGHEST_PITCH, LOWEST_PITCH, NearestWords, Vocabulary, decode_words,
                      normalise, parse_word, piece_to_words, piece_words, quantise, word_event)
from .base import PAD

#: Keys a spelled-out pitch can take, and the most pitches one spelled-out word may hold
#: (0..11): the alphabet of :meth:`WordCodec.spelling_bits`.
PIANO_KEYS = HIGHEST_PITCH - LOWEST_PITCH + 1
MAX_PITCHES = 12


@dataclass(frozen=True)
class Targets:
    """One piece as a model is scored on it, token by token.

    ``ids``: the id of each word, −1 where the vocabulary lacks it; ``context``: the ids
    a network reads (an unknown word replaced by its nearest known word); ``spelling``:
    for an unknown word, the bits to spell it out from scratch (0 for known words).
    """

    ids: np.ndarray
    context: np.ndarray
    spelling: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.ids)


class WordCodec:
    """Event words numbered by a :class:`~bachgen.tokens.Vocabulary` (id 0 = padding)."""

    name = "words"

    def __init__(self, vocab: Vocabulary, tokens: TokenConfig = TokenConfig()) -> None:
        self.vocab = vocab
        self.tokens = tokens
        self._nearest: NearestWords | None = None
        self._mask = np.ones(len(vocab), dtype=bool)
        self._mask[PAD] = False
        self._token_events: list[Event] | None = None
        self._pitch_classes: tuple[np.ndarray, np.ndarray] | None = None
        self._durations: int | None = None

    @classmethod
    def fit(cls, pieces: Sequence[Piece], tokens: TokenConfig) -> tuple["WordCodec", list[np.ndarray]]:
        """The codec whose vocabulary is the words of the training ``pieces`` (every version
        ``tokens.transpose`` gives), and those versions' ids, read once for both."""
        sequences = piece_words(pieces, tokens, training=True)
        codec = cls(Vocabulary.build(sequences), tokens)
        return codec, [np.asarray(codec.vocab.encode(w), dtype=np.int32) for w in sequences]

    @classmethod
    def for_tokens(cls, tokens: TokenConfig) -> "WordCodec":
        """A codec with an empty vocabulary: enough for what needs only the event cut
        (:meth:`reduce`, :meth:`words`, :meth:`note_count`)."""
        return cls(Vocabulary([]), tokens)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def counts(self) -> list[int]:
        """How often each id occurred in the training pieces (0 for padding)."""
        return self.vocab.counts

    # -- pieces and words
    def words(self, piece: Piece) -> list[str]:
        """The piece's words, as they are (no vocabulary look-up)."""
        return piece_to_words(piece, self.tokens)

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], int]:
        """Ids of ``words``, unknown ones replaced by the nearest known word; how many were."""
        if self._nearest is None:
            self._nearest = NearestWords(self.vocab)
        return self._nearest.encode(words)

    def words_of(self, ids: Sequence[int]) -> list[str]:
        """The raw words ``ids`` stand for (padding left out), to hand back to
        :meth:`decode_after` or :meth:`words_ticks` like the words of a piece."""
        return self.vocab.decode(ids)

    def encode(self, piece: Piece) -> list[int]:
        return self.encode_words(self.words(piece))[0]

    def encode_pieces(self, pieces: Sequence[Piece], training: bool) -> tuple[list[np.ndarray], int]:
        """Id arrays of ``pieces`` (one per version ``tokens.transpose`` gives; one per piece
        when not ``training``), unknown words mapped to their nearest; how many were."""
        arrays, replaced = [], 0
        for words in piece_words(pieces, self.tokens, training):
            ids, mapped = self.encode_words(words)
            arrays.append(np.asarray(ids, dtype=np.int32))
            replaced += mapped
        return arrays, replaced

    def exact_ids(self, pieces: Sequence[Piece], training: bool) -> list[list[int]]:
        """Ids of ``pieces`` as in :meth:`encode_pieces`, but −1 for a word the vocabulary lacks."""
        index = self.vocab.index
        return [[index.get(w, -1) for w in words] for words in piece_words(pieces, self.tokens, training)]

    def decode(self, ids: Sequence[int], start: int = 0, template: Piece | None = None) -> Piece:
        return decode_words(self.vocab.decode(ids), start=start, template=template)

    def decode_words(self, words: Sequence[str], start: int = 0, template: Piece | None = None) -> Piece:
        """Raw words (from :meth:`words`, known or not) back to a piece from tick ``start``."""
        return decode_words(words, start=start, template=template)

    def decode_after(self, words: Sequence[str], ids: Sequence[int], start: int = 0,
                     template: Piece | None = None) -> Piece:
        """Raw words (a seed, known or not) followed by ``ids``, decoded as one piece from
        tick ``start`` (a note held across the seam stays one note)."""
        return decode_words(list(words) + self.vocab.decode(ids), start=start, template=template)

    def reduce(self, piece: Piece) -> Piece:
        """What the words keep of ``piece``: written and decoded again on its own ticks
        (the key and the rest of the template left as they are)."""
        first = min((n.start for n in piece.notes), default=0)
        return decode_words(self.words(piece), first, piece)

    def note_count(self, piece: Piece) -> int:
        """Notes of the piece as the words see it (quantised piano reduction)."""
        return len(normalise(quantise(piece, self.tokens.grid)).notes)

    # -- events
    def events(self, ids: Sequence[int], start: int = 0) -> list[Event]:
        return self.word_events(self.vocab.decode(ids), start)

    def word_events(self, words: Sequence[str], start: int = 0) -> list[Event]:
        """The events raw words (known or not) write, end to end from tick ``start``."""
        events, time = [], start
        for word in words:
            events.append(word_event(word, time))
            time += events[-1].duration
        return events

    def token_event(self, token: int) -> Event:
        """The event id ``token`` writes on its own, from tick 0 (padding: an empty rest)."""
        return self.token_events()[token]

    def token_events(self) -> list[Event]:
        """The event of every id, from tick 0 (padding: an empty rest). Made once."""
        if self._token_events is None:
            self._token_events = [Event(0, 0, ())] + [word_event(w) for w in self.vocab.words[1:]]
        return self._token_events

    def ticks(self, ids: Sequence[int]) -> int:
        """Total length of the events ``ids`` write, in ticks."""
        return sum(parse_word(w)[2] for w in self.vocab.decode(ids))

    def words_ticks(self, words: Sequence[str]) -> int:
        """Total length of raw words (known or not), in ticks."""
        return sum(parse_word(w)[2] for w in words)

    def pitch_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(counts (V, 12), ticks (V,))``: the struck pitch classes and the length of every
        id (float32; padding all zero), for steering towards a key. Made once."""
        if self._pitch_classes is None:
            counts = np.zeros((self.vocab_size, 12), np.float32)
            ticks = np.zeros(self.vocab_size, np.float32)
            for vid, event in enumerate(self.token_events()[1:], start=1):
                for pitch in event.struck:
                    counts[vid, pitch % 12] += 1
                ticks[vid] = event.duration
            self._pitch_classes = (counts, ticks)
        return self._pitch_classes

    def neutral_id(self) -> int:
        """A start for music with no seed: the commonest rest, else the commonest word."""
        best = None
        for vid, event in enumerate(self.token_events()[1:], start=1):
            if event.is_rest:
                if best is None or self.vocab.counts[vid] > self.vocab.counts[best]:
                    best = vid
        return best if best is not None else 1

    # -- scoring held-out music
    def spelling_bits(self, word: str) -> float:
        """Bits to spell out ``word`` from scratch: pitch count, which pitches, which duration.

        The durations are those of the vocabulary's words (+1 for any other). Summed over
        all possible words this gives at most 1, so it is a proper floor for a word the
        vocabulary lacks.
        """
        if self._durations is None:
            self._durations = len({w.partition(":")[2] for w in self.vocab.words[1:]})
        return spelling_bits(word, self._durations)

    def targets(self, pieces: Sequence[Piece]) -> list[Targets]:
        """Each piece (one version: see :meth:`encode_pieces`) as a model is scored on it."""
        return [self.targets_of_words(w) for w in piece_words(pieces, self.tokens, training=False)]

    def targets_of_words(self, words: Sequence[str]) -> Targets:
        """Raw words as a model is scored on them (see :class:`Targets`)."""
        ids = np.asarray([self.vocab.index.get(w, -1) for w in words], dtype=np.int64)
        context, _ = self.encode_words(words)
        spelling = tuple(self.spelling_bits(w) if i < 0 else 0.0 for w, i in zip(words, ids))
        return Targets(ids, np.asarray(context, dtype=np.int32), spelling)

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


def spelling_bits(word: str, durations: int) -> float:
    """Bits to spell out ``word`` when the vocabulary knows ``durations`` different lengths
    (see :meth:`WordCodec.spelling_bits`)."""
    struck, held, _ = parse_word(word)
    pitches = len(set(struck) | set(held))
    k = min(pitches, MAX_PITCHES - 1)
    return (math.log2(MAX_PITCHES) + math.log2(math.comb(PIANO_KEYS, k))
            + math.log2(durations + 1))
