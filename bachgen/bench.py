"""``bachgen bench``: how fast generation is, on the shipped model, in one run.

1. **The original loop** — ``model.predict`` on the 50-event window for every new event,
   arg-max — against **ours** (state carried, one step per event, sampling with the loop
   and copy guards on): events per second each and the ratio. The original is timed
   on fewer events (it is slow); events per second do not depend on how many.
2. **Batch** — 16 candidates at once against one: throughput ratio.
3. **The step** — the NumPy step against the same step as a compiled ``tf.function``.
4. **End to end** — 400 events to MIDI, WAV and piano roll through :func:`compose`
   on a loaded engine (as the app runs it).

Targets: ours at least 100x the original, batch of 16 at least 8x the throughput of
one, end to end at most 2 s. Figures depend on the machine and on how busy it is.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from .config import CorpusConfig, RenderConfig, SamplingConfig

TARGETS = {"speedup_vs_original": 100.0, "batch16_throughput_ratio": 8.0, "end_to_end_s": 2.0}


def _seed_ids(engine) -> list[int]:
    from .pipeline import SeedSpec, _no_seed, _seed_from_fugue

    if engine.corpus_available:
        return _seed_from_fugue(SeedSpec(), engine, np.random.default_rng(0)).ids
    return _no_seed(engine).ids * engine.seq_len


def original_loop(model, seed_ids: list[int], events: int, seq_len: int) -> tuple[list[int], float]:
    """The original project's generation: re-read the whole window for every event, arg-max."""
    window = list(seed_ids)
    out: list[int] = []
    started = time.perf_counter()
    for _ in range(events):
        x = np.array([window[-seq_len:]], dtype=np.int32)
        logits = model.predict(x, verbose=0)
        nxt = int(np.argmax(logits[0, -1]))
        out.append(nxt)
        window.append(nxt)
    return out, time.perf_counter() - started


def _step_ms(step, batch: int, repeats: int = 60) -> float:
    from .step import blas_single_thread

    ids = np.arange(1, batch + 1) % (step.vocab_size - 1) + 1
    state = step.zero_state(batch)
    with blas_single_thread():
        step.step(ids, state)
        started = time.perf_counter()
        for _ in range(repeats):
            _, state = step.step(ids, state)
        return (time.perf_counter() - started) / repeats * 1e3


def run_bench(bundle_dir: str | None = None, corpus: CorpusConfig | None = None,
              original_events: int = 30, events: int = 400, batch: int = 16,
              progress=None) -> dict[str, Any]:
    from . import sampling
    from .pipeline import ComposeSettings, Engine, SeedSpec, compose
    from .step import make_step

    say = progress or (lambda message: None)
    engine = Engine.load(bundle_dir, corpus)
    seed = _seed_ids(engine)
    config = SamplingConfig(events=events, seed=1)
    copy_index = forms = None
    reseed = engine.reseed if engine.corpus_available else None
    if engine.corpus_available:
        copy_index, forms = engine.copy_index(config.copy_limit)

    def ours(rows: int) -> float:
        result = sampling.sample(engine.step, [seed] * rows, config, np.random.default_rng(1),
                                 codec=engine.bundle.codec, copy_index=copy_index, forms=forms,
                                 reseed=reseed, context_len=engine.seq_len)
        return result.seconds

    say("original loop")
    engine.bundle.model.predict(np.array([seed[-engine.seq_len:]], dtype=np.int32), verbose=0)
    _, original_s = original_loop(engine.bundle.model, seed, original_events, engine.seq_len)
    original_eps = original_events / original_s
    say("ours, one candidate")
    ours(1)  # warm-up (first calls allocate)
    single_s = ours(1)
    single_eps = events / single_s
    say(f"ours, {batch} candidates")
    batch_s = ours(batch)
    batch_eps = batch * events / batch_s

    say("step: numpy vs tf.function")
    tf_step = make_step(engine.bundle.model, "tf")
    steps = {
        "numpy_b1_ms": _step_ms(engine.step, 1), "tf_b1_ms": _step_ms(tf_step, 1),
        f"numpy_b{batch}_ms": _step_ms(engine.step, batch), f"tf_b{batch}_ms": _step_ms(tf_step, batch),
    }

    say("end to end")
    render = RenderConfig(audio=True, score=False)
    settings = ComposeSettings(SeedSpec(), SamplingConfig(events=events, seed=1), render)
    compose(ComposeSettings(SeedSpec(), SamplingConfig(events=8, seed=1), render), engine)  # warm
    started = time.perf_counter()
    composition = compose(settings, engine)
    end_to_end = time.perf_counter() - started

    report = {
        "model": {"vocabulary": engine.bundle.codec.vocab_size, "units": engine.bundle.model_config.units,
                  "layers": engine.bundle.model_config.layers, "seq_len": engine.seq_len},
        "original_events": original_events,
        "original_events_per_s": round(original_eps, 2),
        "events": events,
        "ours_events_per_s": round(single_eps, 1),
        "speedup_vs_original": round(single_eps / original_eps, 1),
        "batch": batch,
        "batch_events_per_s": round(batch_eps, 1),
        "batch16_throughput_ratio": round(batch_eps / single_eps, 2),
        "step_ms": {k: round(v, 3) for k, v in steps.items()},
        "end_to_end_s": round(end_to_end, 3),
        "end_to_end_stages_s": {k: round(v, 3) for k, v in composition.timings.items()},
        "end_to_end_audio": composition.wav is not None,
        "notices": composition.notices,
    }
    report["targets"] = {
        "speedup_vs_original": report["speedup_vs_original"] >= TARGETS["speedup_vs_original"],
        "batch16_throughput_ratio": report["batch16_throughput_ratio"] >= TARGETS["batch16_throughput_ratio"],
        "end_to_end_s": end_to_end <= TARGETS["end_to_end_s"],
    }
    return report


def add_bench_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser("bench", help="generation speed: original loop vs ours, batch, end to end")
    p.add_argument("--model", help="model bundle folder (default: assets/model or $BACHGEN_MODEL_DIR)")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--original-events", type=int, default=30,
                   help="events for the (slow) original loop")
    p.add_argument("--events", type=int, default=400)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_bench)
    return p


def cmd_bench(args: argparse.Namespace) -> int:
    import sys

    def say(message: str) -> None:
        if not args.json:
            print(f"... {message}", file=sys.stderr, flush=True)

    report = run_bench(args.model, CorpusConfig.from_env(corpus_dir=args.corpus_dir),
                       args.original_events, args.events, args.batch, say)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    mark = {True: "ok", False: "MISSED"}
    t = report["targets"]
    print(f"model: {report['model']}")
    print(f"original loop (predict per event, {report['original_events']} events): "
          f"{report['original_events_per_s']:.2f} events/s")
    print(f"ours (one candidate, {report['events']} events): {report['ours_events_per_s']:.1f} events/s "
          f"= {report['speedup_vs_original']:.1f}x the original (target >= 100x: {mark[t['speedup_vs_original']]})")
    print(f"batch of {report['batch']}: {report['batch_events_per_s']:.1f} events/s "
          f"= {report['batch16_throughput_ratio']:.2f}x one candidate (target >= 8x: "
          f"{mark[t['batch16_throughput_ratio']]})")
    print("step (ms): " + ", ".join(f"{k} {v}" for k, v in report["step_ms"].items()))
    stages = ", ".join(f"{k} {v:.3f}" for k, v in report["end_to_end_stages_s"].items())
    print(f"end to end, {report['events']} events -> MIDI + WAV + piano roll: {report['end_to_end_s']:.3f} s "
          f"(target <= 2 s: {mark[t['end_to_end_s']]}); stages: {stages}")
    for notice in report["notices"]:
        print(f"note: {notice}")
    return 0
