"""How well a spelled model predicts Bach it never saw: ``bachgen evaluate``.

* **Bits per note** over the full piano reduction of each held-out fugue
  (:data:`bachgen.splits.HELD_OUT`; onsets, pitches and durations): the sum of −log2 p over
  every token of the piece in the common key, divided by its number of notes
  (:func:`bachgen.reduction.note_count`), so figures compare across spellings. The network
  runs through each piece **continuously**, its state carried from the first token to the
  last, as generation runs it. The first token has no context and is charged log2 of the
  vocabulary (padding excluded). Also split by token kind (struck, held, duration).
* **Kneser–Ney n-gram** over the same tokens, trained on the same augmented pieces.
* **The original architecture** trained on the same tokens (``assets/original``, or any
  bundle given as the baseline): it must spell events as the model does.

The spelling has no unknown events, so no escape probability is needed.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..bundle import load_bundle
from ..codec import KeyCondition, SpelledCodec
from ..data import common_key, in_modes, piece_versions
from ..errors import BundleError
from ..events import Piece
from ..cues import piece_cues
from ..reduction import note_count
from ..splits import HELD_OUT, VALIDATION

KIND_NAMES = {1: "struck", 2: "held", 3: "duration"}
#: The columns of a model's row in :func:`evaluate_held_out`.
COLUMNS = ("bits_per_note", "struck", "held", "duration")


def summarise(bits: np.ndarray, ids: np.ndarray, codec: SpelledCodec, notes: int) -> dict[str, float]:
    """Total bits per note of one piece and its split by token kind (``bits``: one figure per token)."""
    kinds = codec.kinds(ids)
    out = {"bits_per_note": float(bits.sum() / notes), "tokens": int(len(ids)), "notes": int(notes)}
    for kind, name in KIND_NAMES.items():
        out[name] = float(bits[kinds == kind].sum() / notes)
    return out


def model_input_names(model: Any) -> list[str]:
    """The names of the inputs ``model`` reads (the conditioned network all of :data:`bachgen.network.INPUTS`,
    the original one only ``tokens``): a network is fed exactly its own inputs."""
    return [str(t.name) for t in model.inputs]


def model_bits(bundle: Any, piece: Piece) -> dict[str, float]:
    """Bits per note of the network on ``piece`` in the common key (one pass, state carried);
    a network told the plan is told the piece's own end and entries, as in training."""
    codec = bundle.codec
    ids, logits = model_logits(bundle, piece)
    logp = logits - logits.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    bits = np.empty(len(ids))
    bits[0] = math.log2(codec.vocab_size - 1)
    bits[1:] = -logp[np.arange(len(ids) - 1), ids[1:]] / math.log(2)
    return summarise(bits, ids, codec, note_count(piece, codec.grid))


def model_logits(bundle: Any, piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """The ids of ``piece`` in the common key and the network's logits after each ``(n, vocab)``
    (one pass, state carried, told what it was told in training)."""
    codec = bundle.codec
    moved, minor = common_key(piece)
    ids = np.asarray(codec.encode(moved), dtype=np.int64)
    start = codec.first_tick(moved)
    cues = piece_cues(moved, start + int(codec.ticks[ids].sum())) if codec.told else None
    feats = codec.features(ids, moved.time_signature, start, KeyCondition(minor, 0), cues)
    columns = {"tokens": ids, **{name: feats[:, i] for i, name in enumerate(codec.feature_names)}}
    inputs = {name: columns[name][None, :] for name in model_input_names(bundle.model)}
    # predict runs the compiled graph: calling the model eagerly steps the LSTM in Python
    # (minutes for one fugue instead of seconds), with the same logits
    return ids, np.asarray(bundle.model.predict(inputs, verbose=0))[0].astype(np.float64)


class KneserNeyN:
    """Interpolated Kneser–Ney over token ids, any order (absolute discount ``discount``).

    The highest order counts n-grams; lower orders count continuations (how many distinct
    tokens precede each (n−1)-gram); the lowest is interpolated with a uniform distribution
    over the ``vocab_size − 1`` non-padding ids. Sequences start with ``order − 1`` marks.
    """

    BOS = -1

    def __init__(self, sequences: Sequence[Sequence[int]], vocab_size: int, order: int = 6,
                 discount: float = 0.75) -> None:
        self.order, self.size, self.d = order, vocab_size, discount
        grams: Counter[tuple[int, ...]] = Counter()
        for seq in sequences:
            padded = [self.BOS] * (order - 1) + [int(t) for t in seq]
            grams.update(tuple(padded[i:i + order]) for i in range(len(padded) - order + 1))
        self.levels: list[dict[tuple[int, ...], dict[int, int]]] = [defaultdict(dict) for _ in range(order)]
        for gram, count in grams.items():
            self.levels[order - 1][gram[:-1]][gram[-1]] = count
        for k in range(order - 1, 0, -1):  # level k-1 counts the distinct grams of level k it ends
            for ctx, tokens in list(self.levels[k].items()):
                table = self.levels[k - 1][ctx[1:]]
                for w in tokens:
                    table[w] = table.get(w, 0) + 1

    def distribution(self, history: Sequence[int]) -> np.ndarray:
        """P(next id | history) over all ids (padding 0)."""
        padded = [self.BOS] * (self.order - 1) + [int(t) for t in history]
        p = np.full(self.size, 1.0 / (self.size - 1))
        p[0] = 0.0
        for k in range(self.order):
            ctx = tuple(padded[len(padded) - k:]) if k else ()
            table = self.levels[k].get(ctx)
            if not table:
                continue
            total = sum(table.values())
            counts = np.zeros(self.size)
            counts[list(table)] = list(table.values())
            p = np.maximum(counts - self.d, 0.0) / total + self.d * len(table) / total * p
        return p

    def bits(self, ids: Sequence[int]) -> np.ndarray:
        """−log2 P of each token given the ones before it."""
        keep = self.order - 1
        return np.array([-math.log2(self.distribution(ids[max(0, i - keep):i])[ids[i]])
                         for i in range(len(ids))])


def ngram_scores(codec: SpelledCodec, train: Sequence[Piece], test: Sequence[Piece], order: int = 6,
                 shifts: int = 3) -> dict[str, dict[str, float]]:
    """Bits per note of a Kneser–Ney ``order``-gram trained on the augmented ``train`` pieces."""
    sequences = [v.ids for p in train for v in piece_versions(p, codec, shifts)]
    model = KneserNeyN(sequences, codec.vocab_size, order)
    out = {}
    for piece in test:
        ids = np.asarray(codec.encode(common_key(piece)[0]), dtype=np.int64)
        out[piece.name] = summarise(model.bits(ids), ids, codec, note_count(piece, codec.grid))
    return out


def bundle_modes(bundle: Any) -> str:
    """The modes a bundle was trained on (``FitConfig.modes``; ``"both"`` for older bundles)."""
    return str(bundle.config.get("fit", {}).get("modes", "both"))


def held_out_report(bundle: Any, pieces: Sequence[Piece], ngram_order: int | None = 6) -> dict[str, Any]:
    """The network (and optionally the n-gram) on the :data:`HELD_OUT` fugues: per piece and pooled.

    Every held-out fugue is scored in the common key, whatever the training augmentation
    (a 12-key model has seen every key, so the common key is fair to it too). A bundle
    trained on one mode scores only the held-out fugues of that mode.
    """
    modes = bundle_modes(bundle)
    test = [p for p in pieces if p.name in HELD_OUT and in_modes(p, modes)]
    train = [p for p in pieces if p.name not in HELD_OUT and p.name not in VALIDATION]
    report: dict[str, Any] = {"lstm": {p.name: model_bits(bundle, p) for p in test}}
    if ngram_order:
        report[f"kneser_ney_{ngram_order}"] = ngram_scores(bundle.codec, train, test, ngram_order)
    for name in list(report):
        rows = report[name].values()
        notes = sum(r["notes"] for r in rows)
        report[name]["pooled"] = {key: sum(r[key] * r["notes"] for r in rows) / notes
                                  for key in ("bits_per_note", *KIND_NAMES.values())}
    return report




# --------------------------------------------------------------------------- the comparison


def model_row(name: str, scores: dict[str, Any]) -> dict[str, Any]:
    """One row of the comparison: pooled bits per note, their split by token kind, the fugues."""
    pooled = scores["pooled"]
    return {"model": name, **{k: round(float(pooled[k]), 4) for k in COLUMNS},
            "pieces": sorted(k for k in scores if k != "pooled")}


def baseline_row(bundle: Any, pieces: Sequence[Piece], baseline_dir: Path, model_dir: Path) -> dict[str, Any]:
    """The baseline bundle's row; a :class:`BundleError` when it spells events otherwise than
    ``bundle`` (its bits would not count the same tokens)."""
    baseline = load_bundle(baseline_dir)
    if baseline.codec.to_json() != bundle.codec.to_json():
        raise BundleError(f"{baseline_dir} spells events differently from {model_dir}.")
    return model_row("original architecture, same tokens", held_out_report(baseline, pieces, None)["lstm"])


def evaluate_held_out(pieces: Sequence[Piece], model_dir: str | Path, baseline_dir: str | Path | None,
                      ngram_order: int = 6) -> dict[str, Any]:
    """Held-out bits per note of the bundle in ``model_dir``, a Kneser–Ney
    ``ngram_order``-gram over its tokens, and the bundle in ``baseline_dir`` (the original
    architecture trained on the same tokens; ``None``: none). A baseline that cannot be
    scored is named in ``baseline_error``, not raised: the other figures stand."""
    bundle = load_bundle(model_dir)
    report = held_out_report(bundle, pieces, ngram_order)
    rows = [model_row("lstm (shipped)", report["lstm"]),
            model_row(f"kneser-ney {ngram_order}-gram", report[f"kneser_ney_{ngram_order}"])]
    baseline_error = None
    if baseline_dir is not None:
        try:
            rows.append(baseline_row(bundle, pieces, Path(baseline_dir), Path(model_dir)))
        except BundleError as exc:
            baseline_error = str(exc)
    return {
        "held_out": list(HELD_OUT), "kind": "spelled",
        "method": "network run continuously through each held-out fugue in the common key "
                  "(state carried); bits over every token of the full piano reduction "
                  "(onsets, pitches, durations) divided by the notes",
        "models": rows,
        **({"baseline_error": baseline_error} if baseline_error else {}),
    }


def format_held_out(report: dict[str, Any]) -> str:
    """The comparison as a table, one model a line."""
    lines = [f"Held-out fugues: {', '.join(report['held_out'])} (full piano reduction, durations included)",
             f"{'model':<36} {'bits/note':>9} {'struck':>7} {'held':>7} {'duration':>8}"]
    lines += [f"{row['model']:<36} {row['bits_per_note']:>9.3f} {row['struck']:>7.3f} "
              f"{row['held']:>7.3f} {row['duration']:>8.3f}" for row in report["models"]]
    if report.get("baseline_error"):
        lines.append(f"original architecture not scored: {report['baseline_error']}")
    return "\n".join(lines)
