"""Is the generated music like the fugues? ``bachgen evaluate --generated``.

One piece is generated from each of the 48 fugues (seed: its first ``seq_len`` events;
400 new events; default sampling settings; fixed random seed), all 48 in one batch.
Each piece is measured on its words (before any key snapping):

* ``stuck`` — a loop (:func:`bachgen.sampling.find_loops`) left in the output (target 0);
* ``pitch_class_entropy`` — entropy (bits) of the struck notes' pitch classes;
* ``scale_consistency`` — share of struck notes in the best-fitting major scale;
* ``polyphony`` — mean number of sounding pitches, weighted by time;
* ``distinct_8grams`` — distinct runs of 8 events over all runs of 8 (repetitiveness);
* ``top_voice_step_ratio`` — of the moves of the highest sounding pitch, the share that
  are steps (1 or 2 semitones);
* ``pitch_range`` — highest minus lowest struck pitch, in semitones;
* ``longest_copied_run`` — the longest run of events found verbatim, in any
  transposition, in the corpus (target: median at most 12).

Each statistic is compared with the range (min to max) the real fugues span over every
stretch of the same number of events (stride 50); the target is at least 90 % of the
pieces inside the range on every statistic. For the copied runs the same measure is
taken between the real fugues: a 400-event stretch of each against the 47 others.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import Counter
from typing import Any, Sequence

import numpy as np

from .tokens import parse_word

STATISTICS = ("pitch_class_entropy", "scale_consistency", "polyphony", "distinct_8grams",
              "top_voice_step_ratio", "pitch_range")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
QUALITY_SEED = 1722
STRIDE = 50


def word_statistics(words: Sequence[str]) -> dict[str, float]:
    """The six statistics of one run of event words (see the module docstring)."""
    parsed = [parse_word(w) for w in words]
    struck = [p for s, _, _ in parsed for p in s]
    pcs = Counter(p % 12 for p in struck)
    total = sum(pcs.values())
    entropy = -sum(c / total * math.log2(c / total) for c in pcs.values()) if total else 0.0
    best_scale = max((sum(pcs[(t + s) % 12] for s in MAJOR) for t in range(12)), default=0)
    weighted = sum((len(s) + len(h)) * d for s, h, d in parsed)
    duration = sum(d for _, _, d in parsed)
    grams = [tuple(words[i:i + 8]) for i in range(len(words) - 7)]
    tops = [max(s + h) for s, h, _ in parsed if s or h]
    moves = [abs(b - a) for a, b in zip(tops, tops[1:]) if b != a]
    return {
        "pitch_class_entropy": entropy,
        "scale_consistency": best_scale / total if total else 0.0,
        "polyphony": weighted / duration if duration else 0.0,
        "distinct_8grams": len(set(grams)) / len(grams) if grams else 1.0,
        "top_voice_step_ratio": sum(1 for m in moves if m <= 2) / len(moves) if moves else 0.0,
        "pitch_range": float(max(struck) - min(struck)) if struck else 0.0,
    }


def reference_ranges(corpus_words: Sequence[Sequence[str]], length: int, stride: int = STRIDE
                     ) -> dict[str, tuple[float, float]]:
    """Min and max of every statistic over all ``length``-event stretches of the fugues."""
    values: dict[str, list[float]] = {name: [] for name in STATISTICS}
    for words in corpus_words:
        starts = range(0, max(1, len(words) - length + 1), stride)
        for start in starts:
            for name, value in word_statistics(words[start:start + length]).items():
                values[name].append(value)
    return {name: (min(v), max(v)) for name, v in values.items()}


def real_copy_runs(index, corpus_words: Sequence[Sequence[str]], length: int, offset: int = 50
                   ) -> list[int]:
    """For each fugue, the longest run of a ``length``-event stretch (from ``offset``) found
    in the other fugues."""
    runs = []
    for i, words in enumerate(corpus_words):
        start = min(offset, max(0, len(words) - length))
        runs.append(index.longest_run(list(words[start:start + length]), exclude=[i]))
    return runs


def generated_report(engine, events: int = 400, seed: int = QUALITY_SEED, sampling_config=None,
                     progress=None) -> dict[str, Any]:
    """Generate from each of the 48 fugues in one batch and measure (see the module docstring)."""
    from . import sampling
    from .config import SamplingConfig
    from .pipeline import SeedSpec, _seed_from_fugue

    say = progress or (lambda message: None)
    config = sampling_config or SamplingConfig(events=events, seed=seed)
    started = time.perf_counter()
    corpus = engine.corpus_words()
    fugue_ids = list(corpus)
    corpus_words = [corpus[f][0] for f in fugue_ids]
    say("seeds and corpus index")
    seeds = [_seed_from_fugue(SeedSpec(fugue=f), engine, np.random.default_rng(0)).ids for f in fugue_ids]
    index, forms = engine.copy_index(config.copy_limit or 12)
    use_index = index if config.copy_limit else None

    def reseed(rng, length):
        return engine.encode_nearest(engine.random_excerpt(rng, length))[0]

    say(f"generating {len(seeds)} pieces of {config.events} events")
    t = time.perf_counter()
    with engine.lock:
        result = sampling.sample(engine.step, seeds, config, np.random.default_rng(config.seed),
                                 vocab=engine.vocab, copy_index=use_index, forms=forms,
                                 reseed=reseed, context_len=engine.seq_len)
    sample_s = time.perf_counter() - t
    say("measuring")
    ranges = reference_ranges(corpus_words, config.events)
    real_runs = real_copy_runs(index, corpus_words, config.events)
    pieces = []
    for b, fugue_id in enumerate(fugue_ids):
        words = engine.vocab.decode(result.ids[b])
        values = word_statistics(words)
        inside = {name: ranges[name][0] <= values[name] <= ranges[name][1] for name in STATISTICS}
        pieces.append({
            "fugue": fugue_id,
            "events": len(words),
            "stuck": sampling.find_loops(result.ids[b], config.loop_max_period,
                                         config.loop_min_repeats, config.loop_min_events) > 0,
            "loop_recoveries": result.loop_recoveries[b],
            "reseeds": result.reseeds[b],
            **{name: round(values[name], 4) for name in STATISTICS},
            "inside": inside,
            "longest_copied_run": index.longest_run(words),
            "real_longest_copied_run": real_runs[b],
        })
    copied = [p["longest_copied_run"] for p in pieces]
    inside_share = {name: sum(p["inside"][name] for p in pieces) / len(pieces) for name in STATISTICS}
    totals = {
        "pieces": len(pieces),
        "stuck": sum(p["stuck"] for p in pieces),
        "loop_recoveries": sum(p["loop_recoveries"] for p in pieces),
        "inside_range_share": {k: round(v, 3) for k, v in inside_share.items()},
        "longest_copied_run_median": statistics.median(copied),
        "longest_copied_run_max": max(copied),
        "real_vs_real_copied_run_median": statistics.median(real_runs),
        "real_vs_real_copied_run_max": max(real_runs),
        "generated_mean": {name: round(statistics.mean(p[name] for p in pieces), 4) for name in STATISTICS},
        "sample_s": round(sample_s, 2),
        "total_s": round(time.perf_counter() - started, 2),
    }
    totals["targets"] = {
        "no_loops": totals["stuck"] == 0,
        "inside_range_90pct": all(v >= 0.9 for v in inside_share.values()),
        "copied_run_median_le_12": totals["longest_copied_run_median"] <= 12,
    }
    return {
        "settings": {"events": config.events, "temperature": config.temperature, "top_k": config.top_k,
                     "top_p": config.top_p, "seed": config.seed, "copy_limit": config.copy_limit},
        "reference_ranges": {k: [round(lo, 4), round(hi, 4)] for k, (lo, hi) in ranges.items()},
        "pieces": pieces,
        "totals": totals,
    }


_SHORT = {"pitch_class_entropy": "pc-ent", "scale_consistency": "scale", "polyphony": "poly",
          "distinct_8grams": "8gram", "top_voice_step_ratio": "steps", "pitch_range": "range"}


def format_report(report: dict[str, Any]) -> str:
    lines = []
    ranges = report["reference_ranges"]
    lines.append("reference (real fugues, same length): " + ", ".join(
        f"{_SHORT[k]} {lo:g}..{hi:g}" for k, (lo, hi) in ranges.items()))
    header = f"{'fugue':<8} {'stuck':>5} {'recov':>5} " + " ".join(f"{_SHORT[k]:>7}" for k in STATISTICS) \
        + f" {'copied':>6} {'real':>5}"
    lines.append(header)
    for p in report["pieces"]:
        cells = " ".join(f"{p[k]:>6.3g}{' ' if p['inside'][k] else '*'}" for k in STATISTICS)
        lines.append(f"{p['fugue']:<8} {str(p['stuck'])[0]:>5} {p['loop_recoveries']:>5} {cells} "
                     f"{p['longest_copied_run']:>6} {p['real_longest_copied_run']:>5}")
    t = report["totals"]
    lines.append("(* outside the real range)")
    lines.append(f"stuck in a loop: {t['stuck']} of {t['pieces']} (target 0); loop recoveries {t['loop_recoveries']}")
    lines.append("inside the real range: " + ", ".join(
        f"{_SHORT[k]} {v:.0%}" for k, v in t["inside_range_share"].items()) + " (target >= 90% each)")
    lines.append(f"longest copied run: median {t['longest_copied_run_median']}, max "
                 f"{t['longest_copied_run_max']} (target median <= 12); real fugues against one "
                 f"another: median {t['real_vs_real_copied_run_median']}, max {t['real_vs_real_copied_run_max']}")
    lines.append(f"time: sampling {t['sample_s']} s, total {t['total_s']} s")
    return "\n".join(lines)


def cmd_generated(args: argparse.Namespace) -> int:
    import sys

    from .config import CorpusConfig
    from .pipeline import Engine

    model_dir = getattr(args, "bundle", None) or getattr(args, "model", None)
    engine = Engine.load(model_dir, CorpusConfig.from_env(corpus_dir=getattr(args, "corpus_dir", None)))

    def say(message: str) -> None:
        if not args.json:
            print(f"... {message}", file=sys.stderr, flush=True)

    report = generated_report(engine, events=args.events, seed=args.quality_seed, progress=say)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def extend_evaluate_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``--generated`` (and its options) to ``bachgen evaluate``."""
    previous = parser.get_default("handler")
    parser.add_argument("--generated", action="store_true",
                        help="measure generated music against the real fugues instead")
    parser.add_argument("--events", type=int, default=400, help="with --generated: events per piece")
    parser.add_argument("--quality-seed", type=int, default=QUALITY_SEED,
                        help="with --generated: random seed of the 48 generations")

    def handler(args: argparse.Namespace) -> int:
        if args.generated:
            return cmd_generated(args)
        return previous(args)

    parser.set_defaults(handler=handler)
