"""How well a model predicts Bach it never saw: ``bachgen evaluate``.

Every model is scored on the held-out fugues (:data:`bachgen.dataset.HELD_OUT`), word
by word, as the probability it gives to the word that actually comes next. The bundle's
codec (:class:`~bachgen.codecs.WordCodec`) cuts the pieces into words and says which it
lacks; this module only counts bits.

- **cross-entropy** per event (nats and bits) and **top-1 / top-5 accuracy**;
- **bits per note**: all bits spent on a piece over the number of notes in it. Different
  tokenizations cut the same music into different numbers of words, but the notes stay
  the same, so bits per note compares them fairly.

Three models, over the same words:

1. the bundle's network (a word bundle such as ``assets/words``), run through each
   held-out piece
   **continuously**, the LSTM state carried from the first word to the last, exactly as
   generation runs it (not in windows of ``seq_len``);
2. an interpolated Kneser–Ney trigram (discount 0.75) counted on the fly from the
   training pieces of the same split;
3. the original project's architecture (word index / vocabulary size as one scalar
   input, one LSTM, softmax), given with ``--baseline`` (it no longer ships for the words;
   its figures are in ``assets/words/README.md``).

**Unknown words.** A held-out piece may use a chord the training pieces never had. No
model can name it, and mapping it to a known word would hide the miss, so every model
is charged honestly and identically: each model keeps probability ``escape`` for "a
word not in the vocabulary" (the Good–Turing estimate: words seen once over all
training words), its known-word probabilities are scaled by ``1 - escape``, and an
unknown word costs ``-log2(escape)`` plus the bits to spell it out (how many pitches,
which pitches among the 88 keys, which of the durations seen in training). Unknown
words count as misses for accuracy. As *input* (context) an unknown word is replaced by
its nearest known word for the networks (:class:`~bachgen.codecs.Targets`),
and breaks the context of the n-gram (it backs off). The first word of each piece has
no context; all models score it with the training unigram distribution.

A **spelled** bundle (the shipped ``assets/model``) is scored by
:func:`evaluate_spelled` over the full piano reduction — onsets, pitches *and
durations* — against a Kneser–Ney n-gram over the same tokens and the original
architecture trained on the same tokens (``assets/original``). Its spelling has no
unknown events, so no escape is needed. Word bundles do not model durations: their bits
per note are not comparable with a spelled bundle's, and the command says so.

The ``--generated`` option (scoring generated music) is added by
:mod:`bachgen.quality`, which extends this command's parser through
:func:`add_evaluate_parser`.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .codecs import Targets, WordCodec
from .config import CorpusConfig
from .errors import BundleError, ConfigError
from .events import Piece

#: Given one piece as context ids (unknown words replaced by their nearest known word)
#: and as exact ids (−1 for unknown words), the next-word probabilities: an array
#: ``(n - 1, vocab_size)`` whose row ``t`` is the distribution of word ``t + 1``.
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Scores:
    """One model's figures on a set of pieces."""

    model: str
    events: int
    notes: int
    unknown_words: int
    bits: float
    bits_per_event: float
    bits_per_note: float
    cross_entropy_nats: float
    top1: float
    top5: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- unknown words


def escape_probability(codec: WordCodec) -> float:
    """Good–Turing probability that the next word is one never seen: ``n1 / N``."""
    counts = codec.counts
    total = sum(counts[1:])
    once = sum(1 for c in counts[1:] if c == 1)
    return min(0.5, max(once, 1) / max(total, 1))


# --------------------------------------------------------------------------- scoring


def score_pieces(name: str, predictor: Predictor, codec: WordCodec,
                 pieces: Sequence[Targets], notes: int) -> Scores:
    """Score ``predictor`` on ``pieces`` (from :meth:`~bachgen.codecs.WordCodec.targets`);
    ``notes`` in them all."""
    escape = escape_probability(codec)
    unigram = np.asarray(codec.counts, dtype=np.float64)
    unigram[0] = 0.0
    unigram /= unigram.sum()
    bits = 0.0
    events = unknown = top1 = top5 = 0
    for piece in pieces:
        if not len(piece):
            continue
        probs = predictor(piece.context, piece.ids) if len(piece) > 1 else None
        for t, target in enumerate(piece.ids):
            dist = unigram if t == 0 else probs[t - 1]
            events += 1
            if target < 0:
                unknown += 1
                bits += -math.log2(escape) + piece.spelling[t]
                continue
            p = float(dist[target])
            bits += -math.log2(max(p, 1e-300) * (1.0 - escape))
            best = np.argpartition(-dist, 5)[:5] if len(dist) > 5 else np.argsort(-dist)
            top5 += int(target in best)
            top1 += int(target == int(np.argmax(dist)))
    events = max(events, 1)
    return Scores(name, events, notes, unknown, bits, bits / events, bits / max(notes, 1),
                  bits * math.log(2) / events, top1 / events, top5 / events)


def network_predictor(model: Any) -> Predictor:
    """Run a bachgen bundle's network through a whole piece at once (state carried).

    The padding id is never a real next word, so its probability is removed and the
    rest renormalised.
    """

    import tensorflow as tf

    run = tf.function(lambda x: model(x, training=False), reduce_retracing=True,
                      input_signature=[tf.TensorSpec([1, None], tf.int32)])

    def predict(ids: np.ndarray, _exact: np.ndarray) -> np.ndarray:
        logits = run(tf.constant(ids[None, :-1], dtype=tf.int32)).numpy()[0].astype(np.float64)
        logits[:, 0] = -np.inf
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    return predict


# --------------------------------------------------------------------------- n-gram


class KneserNey:
    """Interpolated Kneser–Ney trigram over word ids (absolute discount ``discount``).

    Built from id sequences of the training pieces; each piece starts with two
    begin-of-piece marks. The lowest order is interpolated with a uniform distribution
    over the vocabulary, so every known word has a probability above zero.
    """

    BOS = -2

    def __init__(self, sequences: Sequence[Sequence[int]], vocab_size: int,
                 discount: float = 0.75) -> None:
        self.size = vocab_size
        self.d = discount
        tri: Counter[tuple[int, int, int]] = Counter()
        for seq in sequences:
            padded = [self.BOS, self.BOS, *seq]
            tri.update(zip(padded, padded[1:], padded[2:]))
        # trigram level: c(u v w), and per context (u, v) the total and the number of types
        self.tri: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
        for (u, v, w), c in tri.items():
            self.tri[(u, v)][w] = c
        # bigram level with continuation counts N1+(. v w)
        cont2: dict[int, Counter[int]] = defaultdict(Counter)
        for (u, v, w) in tri:
            cont2[v][w] += 1
        self.bi = {v: dict(c) for v, c in cont2.items()}
        # unigram level with continuation counts N1+(. w)
        cont1: Counter[int] = Counter()
        for (v, w) in {(v, w) for (_, v, w) in tri}:
            cont1[w] += 1
        total = sum(cont1.values())
        uni = np.full(vocab_size, 0.0)
        for w, c in cont1.items():
            if 0 < w < vocab_size:
                uni[w] = max(c - self.d, 0.0) / total
        uniform = np.zeros(vocab_size)
        uniform[1:] = 1.0 / (vocab_size - 1)
        uni += self.d * len(cont1) / total * uniform
        self.uni = uni / uni.sum()

    def _level(self, counts: dict[int, int] | None, lower: np.ndarray) -> np.ndarray:
        if not counts:
            return lower
        total = sum(counts.values())
        dist = lower * (self.d * len(counts) / total)
        for w, c in counts.items():
            dist[w] += (c - self.d) / total
        return dist

    def distribution(self, u: int, v: int) -> np.ndarray:
        """P(w | u v) for every id ``w`` (index 0, padding, gets 0)."""
        p2 = self._level(self.bi.get(v), self.uni.copy())
        return self._level(self.tri.get((u, v)), p2)

    def predictor(self) -> Predictor:
        """Next-word distributions for a piece (unknown words, id −1, break the context)."""

        def predict(_ids: np.ndarray, exact: np.ndarray) -> np.ndarray:
            ids = [int(i) for i in exact]
            padded = [self.BOS, self.BOS, *ids]
            return np.stack([self.distribution(padded[t + 1], padded[t + 2])
                             for t in range(len(ids) - 1)])

        return predict


# --------------------------------------------------------------------------- the three models


def held_out_targets(pieces: Sequence[Piece], codec: WordCodec) -> tuple[list[Targets], int]:
    """Held-out pieces as ``codec`` scores them (one each) and their note count."""
    return codec.targets(pieces), sum(codec.note_count(p) for p in pieces)


def evaluate_bundle(bundle: Any, pieces: Sequence[Piece], name: str = "lstm") -> Scores:
    """Score a bundle's network on ``pieces`` (use the held-out ones)."""
    targets, notes = held_out_targets(pieces, bundle.codec)
    return score_pieces(name, network_predictor(bundle.model), bundle.codec, targets, notes)


def evaluate_ngram(train: Sequence[Piece], test: Sequence[Piece], codec: WordCodec,
                   name: str = "kneser-ney-trigram") -> Scores:
    """Count a Kneser–Ney trigram on ``train`` and score it on ``test`` over ``codec``'s ids."""
    model = KneserNey(codec.exact_ids(train, training=True), codec.vocab_size)
    targets, notes = held_out_targets(test, codec)
    return score_pieces(name, model.predictor(), codec, targets, notes)


def evaluate_all(pieces: Sequence[Piece], model_dir: Path, baseline_dir: Path | None) -> dict:
    """The comparison the model card and ``bachgen evaluate`` report."""
    from .bundle import load_bundle
    from .dataset import HELD_OUT, split_pieces

    bundle = load_bundle(model_dir)
    split = split_pieces(pieces)
    results = [evaluate_bundle(bundle, split.test, "lstm (shipped)"),
               evaluate_ngram(split.train, split.test, bundle.codec)]
    baseline_error = None
    if baseline_dir is not None:
        try:
            baseline = load_bundle(baseline_dir)
            results.append(evaluate_bundle(baseline, split.test, "original-architecture baseline"))
        except BundleError as exc:
            baseline_error = str(exc)
    return {
        "held_out": list(HELD_OUT),
        "method": "network run continuously through each held-out piece (state carried); "
                  "unknown words charged escape + spelling bits, identically for all models",
        "escape_probability": escape_probability(bundle.codec),
        "models": [r.to_dict() for r in results],
        **({"baseline_error": baseline_error} if baseline_error else {}),
    }


# --------------------------------------------------------------------------- spelled bundles

SPELLED_COLUMNS = ("bits_per_note", "struck", "held", "duration")


def _spelled_row(name: str, scores: dict[str, Any]) -> dict[str, Any]:
    """One row of the spelled comparison: pooled bits per note and their split by token kind."""
    pooled = scores["pooled"]
    return {"model": name, **{k: round(float(pooled[k]), 4) for k in SPELLED_COLUMNS},
            "pieces": sorted(k for k in scores if k != "pooled")}


def evaluate_spelled(pieces: Sequence[Piece], model_dir: Path, baseline_dir: Path | None,
                     ngram_order: int = 6) -> dict:
    """Held-out bits per note of a spelled bundle, a Kneser–Ney ``ngram_order``-gram over its
    tokens, and the original architecture trained on the same tokens (``baseline_dir``)."""
    from .conditioned import load_bundle as load_spelled
    from .dataset import HELD_OUT
    from .spelled_eval import held_out_report

    bundle = load_spelled(model_dir)
    report = held_out_report(bundle, pieces, ngram_order)
    rows = [_spelled_row("lstm (shipped)", report["lstm"]),
            _spelled_row(f"kneser-ney {ngram_order}-gram", report[f"kneser_ney_{ngram_order}"])]
    baseline_error = None
    if baseline_dir is not None:
        try:
            baseline = load_spelled(baseline_dir)
            if baseline.codec.to_json() != bundle.codec.to_json():
                raise BundleError(f"{baseline_dir} spells events differently from {model_dir}.")
            rows.append(_spelled_row("original architecture, same tokens",
                                     held_out_report(baseline, pieces, None)["lstm"]))
        except BundleError as exc:
            baseline_error = str(exc)
    return {
        "held_out": list(HELD_OUT), "kind": "spelled",
        "method": "network run continuously through each held-out fugue in the common key "
                  "(state carried); bits over every token of the full piano reduction "
                  "(onsets, pitches, durations) divided by the notes",
        "models": rows, "not_comparable": "word bundles (assets/words) do not model durations: "
                                          "their bits per note do not compare with these",
        **({"baseline_error": baseline_error} if baseline_error else {}),
    }


def print_spelled(report: dict) -> None:
    """The spelled comparison as a table."""
    print(f"Held-out fugues: {', '.join(report['held_out'])} (full piano reduction, durations included)")
    print(f"{'model':<36} {'bits/note':>9} {'struck':>7} {'held':>7} {'duration':>8}")
    for row in report["models"]:
        print(f"{row['model']:<36} {row['bits_per_note']:>9.3f} {row['struck']:>7.3f} "
              f"{row['held']:>7.3f} {row['duration']:>8.3f}")
    if report.get("baseline_error"):
        print(f"original architecture not scored: {report['baseline_error']}")
    print(f"Not comparable: {report['not_comparable']}.")


# --------------------------------------------------------------------------- command line


def default_baseline_dir(kind: str = "spelled") -> Path | None:
    """The original architecture beside the package: ``assets/original`` over the spelled
    tokens. The one over the previous model's words no longer ships (its figures are in
    ``assets/words/README.md``); pass ``--baseline`` to score one."""
    return Path(__file__).resolve().parent.parent / "assets" / "original" if kind == "spelled" else None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import corpus
    from .bundle import bundle_kind, default_bundle_dir

    model_dir = Path(args.bundle) if args.bundle else default_bundle_dir()
    kind = bundle_kind(model_dir)
    if args.ngram_order < 1:
        raise ConfigError("--ngram-order must be at least 1.")
    pieces = corpus.load_corpus(CorpusConfig.from_env(corpus_dir=args.corpus_dir))
    baseline_dir = None if args.no_baseline else (Path(args.baseline) if args.baseline
                                                  else default_baseline_dir(kind))
    if kind == "spelled":
        report = evaluate_spelled(pieces, model_dir, baseline_dir, args.ngram_order)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print_spelled(report)
        return 0
    report = evaluate_all(pieces, model_dir, baseline_dir)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"Held-out fugues: {', '.join(report['held_out'])}")
    print(f"{'model':<32} {'bits/note':>9} {'bits/event':>10} {'top-1':>6} {'top-5':>6} {'unknown':>7}")
    for row in report["models"]:
        print(f"{row['model']:<32} {row['bits_per_note']:>9.3f} {row['bits_per_event']:>10.3f} "
              f"{row['top1']:>6.3f} {row['top5']:>6.3f} {row['unknown_words']:>7}")
    if report.get("baseline_error"):
        print(f"baseline not scored: {report['baseline_error']}")
    return 0


def add_evaluate_mode(parser: argparse.ArgumentParser, flag: str, run: Callable[[argparse.Namespace], int],
                      help: str) -> None:
    """Let another module add a mode to ``bachgen evaluate``: with ``--<flag>`` the command
    runs ``run``; without it, whatever ran before."""
    previous = parser.get_default("handler")
    parser.add_argument(f"--{flag}", action="store_true", help=help)

    def handler(args: argparse.Namespace) -> int:
        return run(args) if getattr(args, flag) else previous(args)

    parser.set_defaults(handler=handler)


def add_evaluate_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``bachgen evaluate`` on the ``commands`` sub-parsers; returns its parser.

    Other modules may add options to the returned parser (``--generated``).
    """
    p = commands.add_parser("evaluate", help="score the model on the held-out fugues")
    p.add_argument("--model", "--bundle", dest="bundle",
                   help="model bundle folder, spelled or words (default: assets/model or $BACHGEN_MODEL_DIR)")
    p.add_argument("--baseline", help="the original architecture's bundle (default: assets/original "
                                      "for a spelled model; none ships for a word model)")
    p.add_argument("--ngram-order", type=int, default=6,
                   help="order of the Kneser-Ney n-gram beside a spelled model (default 6)")
    p.add_argument("--no-baseline", action="store_true", help="skip the original-architecture baseline")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(handler=cmd_evaluate)
    return p
