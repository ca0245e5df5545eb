"""How good is the spelled model: held-out bits per note, an n-gram yardstick, generated music.

* **Bits per note** over the full piano reduction of each held-out fugue (onsets, pitches
  and durations): the sum of −log2 p over every token of the piece in the common key,
  divided by its number of notes (:func:`bachgen.dataset.note_count`), so figures compare
  across spellings. The first token has no context and is charged log2 of the vocabulary
  (padding excluded). Also split by token kind (struck, held, duration).
* **Kneser–Ney n-gram** over the same tokens, trained on the same augmented pieces.
* **Generated music**: one generation per fugue from its opening, measured with
  :mod:`bachgen.quality` against the real stretches; loops (``stuck``) and the longest run
  copied from the corpus in any transposition (:class:`bachgen.guards.CopyIndex`).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from typing import Any, Sequence

import numpy as np

from .codecs.spelled import KeyCondition, SpelledCodec
from .conditioned import INPUTS, common_key, in_modes, piece_versions
from .config import TokenConfig
from .dataset import HELD_OUT, VALIDATION, note_count
from .events import Piece
from .tokens import event_word, piece_to_words

KIND_NAMES = {1: "struck", 2: "held", 3: "duration"}


def _summarise(bits: np.ndarray, ids: np.ndarray, codec: SpelledCodec, notes: int) -> dict[str, float]:
    """Total bits per note and its split by token kind."""
    kinds = codec.kinds(ids)
    out = {"bits_per_note": float(bits.sum() / notes), "tokens": int(len(ids)), "notes": int(notes)}
    for kind, name in KIND_NAMES.items():
        out[name] = float(bits[kinds == kind].sum() / notes)
    return out


def model_input_names(model: Any) -> list[str]:
    """The names of the inputs ``model`` reads (the conditioned network all of :data:`INPUTS`,
    the original one only ``tokens``): a network is fed exactly its own inputs."""
    return [str(t.name) for t in model.inputs]


def model_bits(bundle: Any, piece: Piece) -> dict[str, float]:
    """Bits per note of the network on ``piece`` in the common key (one pass, state carried)."""
    codec = bundle.codec
    moved, minor = common_key(piece)
    ids = np.asarray(codec.encode(moved), dtype=np.int64)
    feats = codec.features(ids, moved.time_signature, codec.first_tick(moved), KeyCondition(minor, 0))
    columns = {"tokens": ids, **{name: feats[:, i] for i, name in enumerate(INPUTS[1:])}}
    inputs = {name: columns[name][None, :] for name in model_input_names(bundle.model)}
    # predict runs the compiled graph: calling the model eagerly steps the LSTM in Python
    # (minutes for one fugue instead of seconds), with the same logits
    logits = np.asarray(bundle.model.predict(inputs, verbose=0))[0].astype(np.float64)
    logp = logits - logits.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    bits = np.empty(len(ids))
    bits[0] = math.log2(codec.vocab_size - 1)
    bits[1:] = -logp[np.arange(len(ids) - 1), ids[1:]] / math.log(2)
    return _summarise(bits, ids, codec, note_count(piece, codec.token_config))


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
        out[piece.name] = _summarise(model.bits(ids), ids, codec, note_count(piece, codec.token_config))
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


# --------------------------------------------------------------------------- generated music


def corpus_copy_index(pieces: Sequence[Piece]) -> Any:
    """A measuring-only :class:`~bachgen.guards.CopyIndex` over the fugues' events with holds."""
    from .guards import CopyIndex

    words = [piece_to_words(p, TokenConfig(holds=True)) for p in pieces]
    return CopyIndex(words, limit=0, names=[p.name for p in pieces])


def real_statistics(pieces: Sequence[Piece]) -> list[dict[str, float]]:
    """Statistics of the real stretches (events 50..449 of each fugue), cut as :mod:`bachgen.quality` does."""
    from .quality import piece_statistics, stretch

    return [piece_statistics(stretch(p)) for p in pieces]


def told_generations(bundle: Any, pieces: Sequence[Piece], events: int, seed_events: int,
                     settings: Any, seed: int, step: Any = None) -> list[Any]:
    """One generation per piece, as :func:`bachgen.spelled_sampling.generate_batch` makes them,
    but with each row's key condition as the codec tells it (:meth:`SpelledCodec.told_key`).

    The sampler's per-row conditions take the key of the seed row as it is; telling it
    here keeps the key column of a ``key_told`` ``"mode"``/``"none"`` model as in training
    (for ``"key"`` the rows, draws and music are the same as ``generate_batch``'s).
    """
    from dataclasses import replace

    from .conditioned import require_step
    from .spelled_sampling import Generation, assemble, load_step, sample_ids, seed_row

    require_step(bundle)
    codec = bundle.codec
    step = step or load_step(bundle)
    made = [seed_row(codec, p, seed_events, 0) for p in pieces]
    rows = [replace(r, key=codec.told_key(r.key)) for r, _ in made]
    new = sample_ids(step, codec, rows, events, settings, np.random.default_rng(seed), [m for _, m in made])
    return [Generation(assemble(codec, r, ids, m, p, False), tuple(ids), r, m)
            for r, (_, m), ids, p in zip(rows, made, new, pieces)]


def generated_report(bundle: Any, pieces: Sequence[Piece], settings: Any, seed: int,
                     real: Sequence[dict[str, float]], index: Any, events: int = 400,
                     seed_events: int = 50, step: Any = None) -> dict[str, Any]:
    """One generation per piece (seed: its first ``seed_events`` events), measured against ``real``."""
    started = time.perf_counter()
    made = told_generations(bundle, pieces, events, seed_events, settings, seed, step)
    return measure_generations(made, bundle.codec, real, index, settings, seed, events, seed_events,
                               time.perf_counter() - started)


def measure_generations(made: Sequence[Any], codec: SpelledCodec, real: Sequence[dict[str, float]],
                        index: Any, settings: Any, seed: int, events: int, seed_events: int,
                        seconds: float) -> dict[str, Any]:
    """The :mod:`bachgen.quality` row of generations (loops, copied runs, statistics against ``real``).

    Separate from the drawing so that generations of several models (one per mode) can be
    measured as one set.
    """
    from .guards import find_loops
    from .quality import generated_row

    numbers: dict[str, int] = {}
    stuck, copied = [], []
    for g in made:
        words = [event_word(e, True) for e in codec.events(g.new_ids)]
        stuck.append(find_loops([numbers.setdefault(w, len(numbers)) for w in words]) > 0)
        copied.append(index.longest_run(words))
    row = generated_row([g.piece for g in made], real, stuck, copied)
    row["settings"] = {"temperature": settings.temperature, "top_k": settings.top_k,
                       "top_p": settings.top_p, "compass": settings.compass, "seed": seed,
                       "events": events, "seed_events": seed_events}
    row["sample_seconds"] = round(seconds, 2)
    row["tokens"] = int(sum(len(g.new_ids) for g in made))
    return row


def summary_line(row: dict[str, Any]) -> str:
    """One line: settings, pieces inside every band, classifier accuracy, stuck, copied runs, medians."""
    s, st = row["settings"], row["statistics"]
    acc = row["classifier"].get("accuracy", row["classifier"])
    medians = " ".join(f"{k}={st[k]['median']:.3g}/{st[k]['real_median']:.3g}({st[k]['inside']})"
                       for k in st)
    return (f"T={s['temperature']} top_p={s['top_p']} top_k={s['top_k']} compass={s['compass']} "
            f"seed={s['seed']}: "
            f"inside {row['all_inside']}/{row['pieces']}, classifier {acc}, stuck {row.get('stuck')}, "
            f"copied median {row.get('longest_copied_run_median')} max {row.get('longest_copied_run_max')} | "
            f"{medians}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bachgen.spelled_eval BUNDLE [--heldout] [--settings T:P:K ...] [--seeds 1 2]``."""
    import argparse

    from .conditioned import can_step, load_bundle, require_step
    from .config import CorpusConfig
    from .corpus import load_corpus
    from .spelled_sampling import SampleSettings, load_step

    parser = argparse.ArgumentParser(prog="python -m bachgen.spelled_eval")
    parser.add_argument("bundle")
    parser.add_argument("--heldout", action="store_true")
    parser.add_argument("--ngram-order", type=int, default=0)
    parser.add_argument("--settings", nargs="*", default=["1.0:0.98:0:36:84"],
                        help="TEMPERATURE:TOP_P:TOP_K[:LOW:HIGH compass] for each variant")
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    bundle = load_bundle(args.bundle)
    pieces = load_corpus(CorpusConfig.from_env())
    result: dict[str, Any] = {}
    if args.heldout:
        result["held_out"] = held_out_report(bundle, pieces, args.ngram_order or None)
        print(json.dumps({k: v["pooled"] for k, v in result["held_out"].items()}, indent=1), flush=True)
    if not can_step(bundle) and args.heldout:
        print(f"not sampled: the {bundle.net.arch!r} network has no step engine", flush=True)
        args.settings = []
    else:
        require_step(bundle)
    real, index = real_statistics(pieces), corpus_copy_index(pieces)
    step = load_step(bundle) if args.settings else None
    result["generated"] = []
    for text in args.settings:
        t, p, k, *compass = text.split(":")
        bounds = (int(compass[0]), int(compass[1])) if compass else None
        for seed in args.seeds:
            row = generated_report(bundle, pieces, SampleSettings(float(t), int(k), float(p), bounds), seed,
                                   real, index, step=step)
            result["generated"].append(row)
            print(summary_line(row), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
