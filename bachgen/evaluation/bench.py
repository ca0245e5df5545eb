"""``bachgen bench``: how fast the model generates, in one run.

Every figure of a report is measured in the same run, so they can be compared.

1. **The original loop** — for every token, ``model.predict`` over the last window of
   tokens (the length the network was trained on) and arg-max under the codec's grammar,
   the way the original project generated. Timed on a few events: it is slow, and events
   per second do not depend on how many.
2. **Ours, one candidate** — the seed read once, then one recurrent step per token,
   sampling under the grammar: the NumPy step and the same step as a ``tf.function``,
   each the best of a few repeats with the seed read included, and each against the
   original loop.
3. **Batch** — 16 candidates drawn together against one (NumPy step): events per second
   of all rows together.
4. **End to end** — 400 events to MIDI, WAV and piano roll through :func:`compose` on a
   loaded engine (as the app runs it), with the seconds of each stage.
5. **Takes at once** — 8 takes (the app's settings, guards on, each from another fugue)
   one after another against one batch (:func:`bachgen.sampling.sample_takes`),
   checking that each gets the same ids both ways; what row-stable steps
   (:class:`bachgen.step.RowStableStep`) cost a lone take; and the 8 asking at once
   from their own threads through the engine's queue: seconds until each has its music.

Targets: one candidate at least 1,000 events a second; end to end at most 1 s.

The NumPy steps run with one BLAS thread (:func:`bachgen.step.blas_single_thread`), as
the app runs them. Figures depend on the machine and on how busy it is, so the report
carries the load average at its start and end.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any, Callable

import numpy as np

from .. import catalog
from ..codec import SpelledCodec
from ..config import DEFAULT_BARS, CorpusConfig, FormConfig, RenderConfig, SamplingConfig
from ..fugue import EXAMPLE_SUBJECT, FUGUE_BEST_OF
from ..network import INPUTS
from .player_bench import player_costs, player_lines
from ..pipeline import (ComposeSettings, Composition, Engine, SeedSpec, compose, draw, load_engine,
                        make_seed, sample_settings, watch)
from ..seeding import OwnSubject
from ..rows import RowConditions, SeedRow, TakeRows
from ..sampling import sample_ids, sample_takes
from ..step import RowStableStep, blas_single_thread, load_step

TARGETS = {"one_candidate_events_per_s": 1000.0, "end_to_end_s": 1.0, "fugue_s": 3.0}
#: The whole fugue the bench writes: on our own subject, in three voices, this many bars.
FUGUE_VOICES, FUGUE_BARS = 3, 48
#: Events the original loop writes when not told (it is slow).
ORIGINAL_EVENTS = 20
#: Tokens the original loop reads per prediction when the bundle does not name its window.
DEFAULT_WINDOW_TOKENS = 192

Say = Callable[[str], None]


def _sig(value: float, digits: int = 4) -> float:
    """``value`` to ``digits`` significant digits: readable, and ratios still check against it."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where the system has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def run_bench(bundle_dir: str | None = None, corpus: CorpusConfig | None = None,
              original_events: int | None = None, events: int = 400, batch: int = 16,
              progress: Say | None = None, repeats: int = 3, takes: int = 8) -> dict[str, Any]:
    """Measure the bundle in ``bundle_dir`` (default: the default bundle; see the module
    docstring). ``original_events``: events of the slow original loop (default
    :data:`ORIGINAL_EVENTS`); ``takes``: takes asking at once."""
    say = progress or (lambda message: None)
    load_before = _load_average()
    engine = load_engine(bundle_dir, corpus)
    n_original = original_events if original_events is not None else ORIGINAL_EVENTS
    report = bench_spelled(engine, n_original, events, batch, repeats, say, takes)
    report["load_average"] = {"start": load_before, "end": _load_average()}
    return report


def end_to_end(engine: Engine, events: int, form: FormConfig = FormConfig(),
               bars: int | None = None) -> tuple[float, Composition]:
    """Seconds for ``events`` events (or ``bars`` bars) to MIDI + WAV + piano roll through
    :func:`compose` (score off) held to ``form``, after one short warm-up composition, and the
    :class:`Composition` made."""
    spec = SeedSpec() if engine.corpus_available else SeedSpec(fugue=None)
    render = RenderConfig(audio=True, score=False)
    compose(ComposeSettings(spec, SamplingConfig(events=8, seed=1), render, form), engine)  # warm
    started = time.perf_counter()
    composition = compose(ComposeSettings(spec, SamplingConfig(events=events, bars=bars, seed=1), render, form),
                          engine)
    return time.perf_counter() - started, composition


def form_costs(engine: Engine, events: int, say: Say) -> dict[str, Any]:
    """What the form costs end to end: the same events with the form off (the baseline,
    measured in the same run), and the default take (:data:`~bachgen.config.DEFAULT_BARS` bars
    with entries and a close)."""
    say("end to end, the form off and the default take")
    off, _ = end_to_end(engine, events, FormConfig(entries=False, close=False))
    bars, take = end_to_end(engine, events, FormConfig(), DEFAULT_BARS)
    return {"form_off_s": round(off, 3), "default_take_s": round(bars, 3), "default_take_bars": DEFAULT_BARS,
            "default_take_events": take.stats["events"]}


def fugue_cost(engine: Engine, say: Say) -> dict[str, Any]:
    """Seconds for a whole fugue (:data:`FUGUE_VOICES` voices, :data:`FUGUE_BARS` bars, on
    :data:`~bachgen.fugue.EXAMPLE_SUBJECT`) to MIDI + piano roll (the page's first picture; no
    audio, no score), after the warm-up of :func:`end_to_end`."""
    say(f"a whole fugue: {FUGUE_VOICES} voices, {FUGUE_BARS} bars")
    own = OwnSubject(text=EXAMPLE_SUBJECT, voices=FUGUE_VOICES)
    settings = ComposeSettings(SeedSpec(fugue=None, own=own), SamplingConfig(bars=FUGUE_BARS, seed=1),
                               RenderConfig(audio=False, score=False), FormConfig(best_of=FUGUE_BEST_OF))
    started = time.perf_counter()
    made = compose(settings, engine)
    seconds = time.perf_counter() - started
    return {"voices": FUGUE_VOICES, "bars": FUGUE_BARS, "seconds": round(seconds, 3), "events": made.stats["events"],
            "stages_s": {k: round(v, 3) for k, v in made.timings.items()}}


def _end_to_end_report(seconds: float, composition: Composition, events: int) -> dict[str, Any]:
    """The end-to-end part of a report: total, seconds per stage, whether audio was made."""
    return {"events": events, "seconds": round(seconds, 3),
            "stages_s": {k: round(v, 3) for k, v in composition.timings.items()},
            "audio": composition.wav is not None, "notices": list(composition.notices)}


# --------------------------------------------------------------------------- one take


def spelled_window(bundle: Any) -> int:
    """Tokens the network read per training window (the original loop's window)."""
    fit = bundle.config.get("fit") if isinstance(bundle.config, dict) else None
    return int(fit.get("seq_len", DEFAULT_WINDOW_TOKENS)) if isinstance(fit, dict) else DEFAULT_WINDOW_TOKENS


def spelled_seed(engine: Engine) -> SeedRow:
    """The seed row ``compose`` starts from by default (a fugue's first events; the neutral
    start when the corpus is not available)."""
    spec = SeedSpec() if engine.corpus_available else SeedSpec(fugue=None)
    return make_seed(spec, engine, np.random.default_rng(0), []).row


def spelled_original_loop(model: Any, codec: SpelledCodec, row: SeedRow, events: int,
                          window: int) -> tuple[int, float]:
    """The original project's way on the spelled network: for every token, ``model.predict``
    over the last ``window`` tokens (with their conditioning), arg-max under the grammar.

    Returns the tokens written for ``events`` events and the seconds taken.
    """
    ids = list(row.ids)
    feats = [list(f) for f in codec.features(np.asarray(ids), row.time_signature, row.start, row.key)]
    grammar = codec.start_states([row.ids], [row.start])
    conditions = RowConditions.of(codec, [row])
    written = tokens = 0
    started = time.perf_counter()
    while written < events and tokens < events * (codec.max_pitches + 1):
        columns = np.asarray([[t] + f for t, f in zip(ids[-window:], feats[-window:])], dtype=np.int32)
        x = {name: columns[None, :, i] for i, name in enumerate(INPUTS)}
        logits = model.predict(x, verbose=0)[0, -1]
        token = int(np.argmax(np.where(codec.allowed(grammar)[0], logits, -np.inf)))
        codec.advance_inplace(grammar, [token])
        ids.append(token)
        feats.append([int(v) for v in conditions.features(codec, grammar.tick, grammar)[0]])
        written += int(codec.kind[token] == codec.KIND_DURATION)
        tokens += 1
    return tokens, time.perf_counter() - started


def time_draw(step: Any, codec: SpelledCodec, row: SeedRow, rows: int, events: int, repeats: int) -> dict[str, float]:
    """Best of ``repeats`` draws of ``events`` events on ``rows`` rows of the same seed, the seed
    read included (one BLAS thread, default sampling settings); figures of all rows together."""
    settings = sample_settings(SamplingConfig())
    best, tokens = math.inf, 0
    with blas_single_thread():
        sample_ids(step, codec, [row] * rows, min(events, 8), settings, np.random.default_rng(1))  # warm
        for _ in range(max(1, repeats)):
            started = time.perf_counter()
            out = sample_ids(step, codec, [row] * rows, events, settings, np.random.default_rng(1))
            seconds = time.perf_counter() - started
            if seconds < best:
                best, tokens = seconds, sum(len(ids) for ids in out)
    return {"rows": rows, "events": rows * events, "tokens": tokens, "seconds": _sig(best),
            "events_per_s": _sig(rows * events / best), "tokens_per_s": _sig(tokens / best)}


def _measure_spelled(engine: Engine, original_events: int, events: int, batch: int, repeats: int,
                     say: Say) -> dict[str, Any]:
    """The raw figures: original loop, NumPy and tf steps with one row, NumPy with ``batch``."""
    bundle, codec, row = engine.bundle, engine.codec, spelled_seed(engine)
    window = spelled_window(bundle)
    say("original loop")
    spelled_original_loop(bundle.model, codec, row, 1, window)  # warm (first predict builds it)
    tokens, seconds = spelled_original_loop(bundle.model, codec, row, original_events, window)
    original = {"events": original_events, "tokens": tokens, "seconds": _sig(seconds),
                "events_per_s": _sig(original_events / seconds), "tokens_per_s": _sig(tokens / seconds),
                "window_tokens": window}
    say("ours, one candidate, numpy step")
    numpy_one = time_draw(engine.step, codec, row, 1, events, repeats)
    say("ours, one candidate, tf.function step")
    tf_one = time_draw(load_step(bundle, "tf"), codec, row, 1, events, repeats)
    say(f"ours, {batch} candidates, numpy step")
    numpy_batch = time_draw(engine.step, codec, row, batch, events, repeats)
    seed_events = int(sum(codec.kind[t] == codec.KIND_DURATION for t in row.ids))
    return {"original": original, "numpy": numpy_one, "tf": tf_one, "batch": numpy_batch,
            "seed": {"events": seed_events, "tokens": len(row.ids)}}


def bench_spelled(engine: Engine, original_events: int, events: int, batch: int, repeats: int,
                  say: Say, takes: int = 8) -> dict[str, Any]:
    """The report for a spelled engine (see the module docstring)."""
    raw = _measure_spelled(engine, original_events, events, batch, repeats, say)
    original_eps = raw["original"]["events_per_s"]
    for name in ("numpy", "tf"):
        raw[name]["vs_original"] = _sig(raw[name]["events_per_s"] / original_eps)
    raw["batch"]["vs_one"] = _sig(raw["batch"]["events_per_s"] / raw["numpy"]["events_per_s"])
    say("end to end")
    seconds, composition = end_to_end(engine, events)
    costs = form_costs(engine, events, say)
    fugue = fugue_cost(engine, say)
    net = engine.bundle.net
    report = {
        "kind": "spelled",
        "model": {"vocabulary": engine.codec.vocab_size, "units": net.units, "layers": net.layers},
        "events": events, "repeats": repeats,
        "seed": raw["seed"], "original": raw["original"],
        "ours": {"numpy": raw["numpy"], "tf": raw["tf"]},
        "numpy_vs_tf": _sig(raw["numpy"]["events_per_s"] / raw["tf"]["events_per_s"]),
        "batch": raw["batch"],
        "end_to_end": {**_end_to_end_report(seconds, composition, events), **costs,
                       "vs_form_off": _sig(seconds / costs["form_off_s"])},
        "fugue": {**fugue, "vs_default_take": _sig(fugue["seconds"] / costs["default_take_s"])},
        "takes_at_once": {"sampler": bench_batched(engine, takes, events, say, repeats),
                          "queue": bench_queue(engine, takes, events, say)},
    }
    say("the player: the browser plays the MIDI, or the server renders audio")
    report["player"] = player_costs(engine, events)
    report["targets"] = {
        "one_candidate_events_per_s":
            raw["numpy"]["events_per_s"] >= TARGETS["one_candidate_events_per_s"],
        "end_to_end_s": seconds <= TARGETS["end_to_end_s"],
        "fugue_s": fugue["seconds"] <= TARGETS["fugue_s"],
    }
    return report


# --------------------------------------------------------------------------- takes at once


def _takes_at_once(engine: Engine, takes: int, events: int) -> list[tuple[Any, Any, Any]]:
    """``takes`` takes as the app draws them (its default settings, guards on), each from
    another fugue's opening (or the neutral seed without the corpus) with its own generator:
    ``(config, seed, copy index)`` each."""
    made, ids = [], catalog.fugue_ids()
    for i in range(takes):
        spec = SeedSpec(ids[i % len(ids)]) if engine.corpus_available else SeedSpec(fugue=None)
        cfg = SamplingConfig(events=events, seed=100 + i)
        seed = make_seed(spec, engine, np.random.default_rng(0), [])
        index = engine.copy_index(cfg.copy_limit) if engine.corpus_available else None
        made.append((cfg, seed, index))
    return made


def _draw_rows(engine: Engine, plan: list[tuple[Any, Any, Any]]) -> list[TakeRows]:
    """The plan's takes as rows to draw, each with a fresh generator and guard."""
    return [TakeRows([seed.row] * cfg.candidates, cfg.events, sample_settings(cfg),
                     np.random.default_rng(cfg.seed), [seed.moved_by] * cfg.candidates,
                     watch(cfg, engine, [seed] * cfg.candidates, index)) for cfg, seed, index in plan]


def bench_batched(engine: Engine, takes: int, events: int, say: Say, repeats: int = 3) -> dict[str, Any]:
    """``takes`` takes one after another against one batch (the sampler alone, one BLAS
    thread; the two ways alternate, best of ``repeats`` each, as the machine's load comes
    and goes), whether each take got the same ids both ways, and what row-stable steps
    cost a lone take against the plain step (alternating too)."""
    plan, step, codec = _takes_at_once(engine, takes, events), RowStableStep(engine.step), engine.codec
    ways = {"apart": lambda: [sample_takes(step, codec, [t])[0] for t in _draw_rows(engine, plan)],
            "batched": lambda: sample_takes(step, codec, _draw_rows(engine, plan)),
            "plain": lambda: sample_takes(engine.step, codec, _draw_rows(engine, plan[:1])),
            "row_stable": lambda: sample_takes(step, codec, _draw_rows(engine, plan[:1]))}
    say(f"{takes} takes one after another and as one batch; a lone take with either step")
    best, cpu, ids = _best_alternating(ways, repeats)
    return {"takes": takes, "events": events, "repeats": repeats,
            "one_after_another_s": _sig(best["apart"]), "batched_s": _sig(best["batched"]),
            "speedup": _sig(best["apart"] / best["batched"]),
            "one_after_another_cpu_s": _sig(cpu["apart"]), "batched_cpu_s": _sig(cpu["batched"]),
            "speedup_cpu": _sig(cpu["apart"] / cpu["batched"]), "identical": ids["apart"] == ids["batched"],
            "lone_take": {"plain_step_s": _sig(best["plain"]), "row_stable_s": _sig(best["row_stable"]),
                          "ratio": _sig(best["row_stable"] / best["plain"]),
                          "plain_step_cpu_s": _sig(cpu["plain"]), "row_stable_cpu_s": _sig(cpu["row_stable"]),
                          "ratio_cpu": _sig(cpu["row_stable"] / cpu["plain"])}}


def _best_alternating(ways: dict[str, Callable[[], Any]], repeats: int
                      ) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """Best seconds of each way over ``repeats`` rounds of all of them in turn (one BLAS
    thread): on the clock, and of this thread's CPU time (what the way costs, whatever
    else keeps the cores busy); and what each way gave."""
    best, cpu, made = {name: math.inf for name in ways}, {name: math.inf for name in ways}, {}
    with blas_single_thread():
        next(iter(ways.values()))()  # warm
        for _ in range(max(1, repeats)):
            for name, way in ways.items():
                started, started_cpu = time.perf_counter(), time.thread_time()
                made[name] = way()
                best[name] = min(best[name], time.perf_counter() - started)
                cpu[name] = min(cpu[name], time.thread_time() - started_cpu)
    return best, cpu, made


def bench_queue(engine: Engine, takes: int, events: int, say: Say) -> dict[str, Any]:
    """Seconds from asking to getting the music for ``takes`` takes that ask at once from
    their own threads through the engine's queue (:func:`bachgen.pipeline.draw`),
    against the same takes one after another (as behind one lock: each waits for those
    before it); median and largest."""
    plan = _takes_at_once(engine, takes, events)
    say(f"{takes} takes one after another through the queue")
    waits, started = [], time.perf_counter()
    for cfg, seed, index in plan:
        draw(cfg, engine, seed, np.random.default_rng(cfg.seed), index)
        waits.append(time.perf_counter() - started)
    say(f"{takes} takes asking at once from {takes} threads")
    latency, batches = [0.0] * takes, [0] * takes
    gate = threading.Barrier(takes)

    def one(i: int) -> None:
        cfg, seed, index = plan[i]
        gate.wait()
        asked = time.perf_counter()
        batches[i] = draw(cfg, engine, seed, np.random.default_rng(cfg.seed), index).batch
        latency[i] = time.perf_counter() - asked

    threads = [threading.Thread(target=one, args=(i,)) for i in range(takes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figures = lambda xs: {"p50": _sig(float(np.median(xs))), "max": _sig(max(xs))}  # noqa: E731
    return {"takes": takes, "events": events, "one_after_another": figures(waits),
            "at_once": figures(latency), "batches": sorted(set(batches))}


# --------------------------------------------------------------------------- the report as text


def format_bench(report: dict[str, Any]) -> str:
    """The report of :func:`run_bench` as lines of text, targets marked ``ok`` or ``MISSED``."""
    mark = {True: "ok", False: "MISSED"}
    m, o, t = report["model"], report["original"], report["targets"]
    lines = [f"model: spelled, vocabulary {m['vocabulary']}, {m['layers']} x {m['units']} units; "
             f"seed {report['seed']['events']} events ({report['seed']['tokens']} tokens)",
             f"original loop (predict over the last {o['window_tokens']} tokens per token, arg-max under "
             f"the grammar; {o['events']} events, {o['tokens']} tokens): {o['events_per_s']:,.2f} events/s "
             f"({o['tokens_per_s']:,.1f} tokens/s)"]
    for name, label in (("numpy", "NumPy step"), ("tf", "tf.function step")):
        r = report["ours"][name]
        line = (f"ours, one candidate, {label} ({report['events']} events, {r['tokens']} tokens, seed read "
                f"included, best of {report['repeats']}): {r['events_per_s']:,.1f} events/s "
                f"({r['tokens_per_s']:,.0f} tokens/s) = {r['vs_original']:,.1f}x the original")
        if name == "numpy":
            line += f" (target >= 1,000 events/s: {mark[t['one_candidate_events_per_s']]})"
        lines.append(line)
    b = report["batch"]
    lines += [f"NumPy step against tf.function: {report['numpy_vs_tf']:.2f}x",
              f"batch of {b['rows']} (NumPy step): {b['events_per_s']:,.1f} events/s of all rows "
              f"= {b['vs_one']:.2f}x one candidate"]
    lines += _end_to_end_lines(report["end_to_end"], TARGETS["end_to_end_s"], t["end_to_end_s"])
    f = report["fugue"]
    lines.append(f"a whole fugue, {f['voices']} voices, {f['bars']} bars ({f['events']} events) -> MIDI + piano roll: "
                 f"{f['seconds']:.3f} s (target <= {TARGETS['fugue_s']:g} s: {mark[t['fugue_s']]}) = "
                 f"{f['vs_default_take']:.2f}x the default take; stages (s): "
                 + ", ".join(f"{k} {v:.3f}" for k, v in f["stages_s"].items()))
    lines += _takes_at_once_lines(report["takes_at_once"])
    if report.get("player"):
        lines += player_lines(report["player"])
    if report.get("load_average"):
        lines.append(f"load average at start / end: {report['load_average']['start']} / "
                     f"{report['load_average']['end']}")
    return "\n".join(lines)


def _takes_at_once_lines(r: dict[str, Any]) -> list[str]:
    """The lines of :func:`bench_batched` and :func:`bench_queue`."""
    s, q, lone = r["sampler"], r["queue"], r["sampler"]["lone_take"]
    return [f"{s['takes']} takes of {s['events']} events at once (sampler, best of {s['repeats']}): "
            f"one after another {s['one_after_another_s']:.3f} s, one batch {s['batched_s']:.3f} s "
            f"= {s['speedup']:.2f}x; CPU time {s['one_after_another_cpu_s']:.3f} s against "
            f"{s['batched_cpu_s']:.3f} s = {s['speedup_cpu']:.2f}x; every take the same ids both ways: "
            f"{'yes' if s['identical'] else 'NO'}",
            f"a lone take with row-stable steps (products row by row): {lone['row_stable_s']:.3f} s "
            f"against {lone['plain_step_s']:.3f} s with the plain step = {lone['ratio']:.2f}x "
            f"(CPU time {lone['row_stable_cpu_s']:.3f} s against {lone['plain_step_cpu_s']:.3f} s "
            f"= {lone['ratio_cpu']:.2f}x)",
            f"{q['takes']} takes asking at once through the queue: music after "
            f"p50 {q['at_once']['p50']:.3f} s, max {q['at_once']['max']:.3f} s (batches of {q['batches']} "
            f"takes); one after another: p50 {q['one_after_another']['p50']:.3f} s, "
            f"max {q['one_after_another']['max']:.3f} s"]


def _end_to_end_lines(e: dict[str, Any], target: float, met: bool) -> list[str]:
    """The end-to-end line and its notices."""
    stages = ", ".join(f"{k} {v:.3f}" for k, v in e["stages_s"].items())
    return [f"end to end, {e['events']} events -> MIDI + WAV + piano roll: {e['seconds']:.3f} s "
            f"(target <= {target:g} s: {'ok' if met else 'MISSED'}); stages (s): {stages}",
            f"the same with the form off (baseline, same run): {e['form_off_s']:.3f} s; with entries "
            f"{e['vs_form_off']:.2f}x that; the default take ({e['default_take_bars']} bars, "
            f"{e['default_take_events']} events, entries and a close): {e['default_take_s']:.3f} s",
            *[f"note: {notice}" for notice in e["notices"]]]
