"""Takes drawn together: each gets exactly the music it gets alone, and waits for nobody alone."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bachgen.batching import DrawQueue, RowStableStep
from bachgen.config import RenderConfig, SamplingConfig
from bachgen.errors import ConfigError, SeedFileError
from bachgen.pipeline import ComposeSettings, SeedSpec, compose, load_engine
from bachgen.spelled_sampling import (SampleSettings, TakeRows, sample_ids, sample_takes, seed_row,
                                      token_probabilities)

QUIET = RenderConfig(audio=False, score=False)


@pytest.fixture(scope="module")
def engine(tiny_spelled_dir, corpus_config):
    return load_engine(tiny_spelled_dir, corpus_config)


def random_rows(step, rows: int, seed: int = 0):
    """Tokens, features and a state of ``rows`` rows the network could meet."""
    rng = np.random.default_rng(seed)
    w = step.w
    tokens = rng.integers(0, w.tables[0].shape[0], rows)
    features = np.stack([rng.integers(0, t.shape[0], rows) for t in w.tables[1:]], axis=1)
    state = [(rng.standard_normal((rows, w.units)).astype(np.float32),
              rng.standard_normal((rows, w.units)).astype(np.float32)) for _ in range(w.layers)]
    return tokens, features, state


def steps_to_check(engine):
    from tests.app_support import shipped_model_dir

    steps = [engine.step]
    shipped = shipped_model_dir()
    if shipped is not None:
        steps.append(load_engine(shipped).step)
    return steps


def test_a_row_gets_the_same_bits_in_every_batch(engine):
    """1 to 35 rows, the row first, last or in the middle: logits and state alike, and a
    lone row as the plain step gives it."""
    from bachgen.step import blas_single_thread

    for inner in steps_to_check(engine):
        step, n = RowStableStep(inner), 35
        tokens, features, state = random_rows(inner, n)
        with blas_single_thread():
            alone = [inner(tokens[r:r + 1], features[r:r + 1], [(h[r:r + 1], c[r:r + 1]) for h, c in state])
                     for r in range(n)]
            for rows in range(1, n + 1):
                for at in {0, (n - rows) // 2, n - rows}:
                    part = slice(at, at + rows)
                    logits, new = step(tokens[part], features[part], [(h[part], c[part]) for h, c in state])
                    for i, r in enumerate(range(at, at + rows)):
                        assert np.array_equal(logits[i], alone[r][0][0]), (rows, at, i)
                        assert all(np.array_equal(h[i], a[0]) and np.array_equal(c[i], b[0])
                                   for (h, c), (a, b) in zip(new, alone[r][1]))


def test_token_probabilities_of_a_row_do_not_depend_on_the_others():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((12, 196)).astype(np.float32) * 3
    mask = rng.random((12, 196)) < 0.7
    for settings in [SampleSettings(1.0, 0, 0.98), SampleSettings(0.7, 20, 0.9), SampleSettings(1.3, 5, 1.0)]:
        together = token_probabilities(logits, mask, settings)
        for r in range(12):
            alone = token_probabilities(logits[r:r + 1], mask[r:r + 1], settings)[0]
            assert np.array_equal(alone, together[r])


def test_takes_sampled_together_get_the_ids_they_get_alone(engine, corpus_pieces):
    """Different seeds, events, candidates, settings and compass; one take with a guard."""
    from bachgen.guards import EventWatch

    codec, step = engine.codec, RowStableStep(engine.step)
    pieces = {p.name: p for p in corpus_pieces}
    seeds = [seed_row(codec, pieces[f], 50, at) for f, at in
             [("wtc1f02", 0), ("wtc2f09", 40), ("wtc1f10", 10), ("wtc1f02", 0)]]
    plans = [(seeds[0], 30, 1, SampleSettings(1.0, 0, 0.98, (36, 84)), True),
             (seeds[1], 12, 3, SampleSettings(0.6, 0, 0.9), False),
             (seeds[2], 45, 2, SampleSettings(1.4, 30, 1.0, (40, 80)), False),
             (seeds[3], 30, 1, SampleSettings(1.0, 0, 0.98, (36, 84)), False)]

    def takes(seed_of_rng: int) -> list[TakeRows]:
        made = []
        for i, ((row, moved), events, rows, settings, guarded) in enumerate(plans):
            guard = EventWatch([codec.events(row.ids, row.start)] * rows) if guarded else None
            made.append(TakeRows([row] * rows, events, settings, np.random.default_rng(seed_of_rng + i),
                                 [moved] * rows, guard))
        return made

    alone = [sample_ids(step, codec, t.rows, t.events, t.settings, t.rng, t.moved_by, t.watch)
             for t in takes(7)]
    finished: list[int] = []
    together = sample_takes(step, codec, takes(7), on_done=lambda i, ids: finished.append(i))
    assert together == alone
    assert sorted(finished) == [0, 1, 2, 3] and finished[0] == 1  # the shortest take is told first
    assert all(len(codec.events(ids)) == plans[i][1] for i, rows in enumerate(together) for ids in rows)


def spied(engine) -> list[int]:
    """Record the takes of every batch the engine's queue runs."""
    sizes: list[int] = []
    run = engine.draws._run

    def recording(takes, done):
        sizes.append(len(takes))
        run(takes, done)

    engine.draws._run = recording
    return sizes


def compose_together(engine, settings: list[ComposeSettings], failing: int = 0) -> tuple[list, list[int]]:
    """Compose every settings in its own thread, all asking while the model is busy, so
    that they are drawn together (``failing`` takes never get that far); each result (or
    the error it raised), and the takes of each batch."""
    results: list = [None] * len(settings)
    sizes = spied(engine)

    def one(i: int) -> None:
        try:
            results[i] = compose(settings[i], engine)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(settings))]
    with engine.lock:  # the model is busy: every take has to wait in the queue
        for t in threads:
            t.start()
        wait_until(lambda: sum(sizes) + len(engine.draws._waiting) == len(settings) - failing, 60)
    for t in threads:
        t.join(120)
    return results, sizes


def several_takes() -> list[ComposeSettings]:
    def take(spec: SeedSpec, **sampling) -> ComposeSettings:
        return ComposeSettings(spec, SamplingConfig(**{"events": 40, "seed": 3, **sampling}), QUIET)

    return [take(SeedSpec(fugue="wtc1f02")),
            take(SeedSpec(fugue="wtc1f02"), seed=4),
            take(SeedSpec(fugue="wtc2f09", start_bar=5), temperature=0.6, top_p=0.9, events=25),
            take(SeedSpec(fugue=None), candidates=3, events=60, top_k=40, top_p=None),
            take(SeedSpec(fugue=None, random_place=True), temperature=1.4, compass=None, seed=9)]


def test_concurrent_takes_get_the_midi_they_get_alone(engine):
    plans = several_takes()
    alone = [compose(s, engine).midi for s in plans]
    together, sizes = compose_together(engine, plans)
    assert [c.midi for c in together] == alone
    assert sum(sizes) == len(plans) and len(sizes) <= 2  # the first batch: those there first


def test_a_take_that_fails_does_not_break_the_others(engine):
    plans = several_takes()[:3]
    alone = [compose(s, engine).midi for s in plans]
    broken = [ComposeSettings(SeedSpec(fugue=None, file_bytes=b"not music", file_name="x.mid"),
                              SamplingConfig(events=40, seed=1), QUIET),
              ComposeSettings(SeedSpec(fugue="wtc1f02", start_bar=999), SamplingConfig(events=40, seed=1),
                              QUIET)]
    results, _ = compose_together(engine, [plans[0], broken[0], plans[1], broken[1], plans[2]], failing=2)
    assert isinstance(results[1], SeedFileError) and isinstance(results[3], ConfigError)
    assert [results[i].midi for i in (0, 2, 4)] == alone


def test_an_error_while_drawing_reaches_every_take_of_that_batch_only():
    def run(takes, done):
        if "bad" in takes:
            raise ValueError("broken batch")
        for i, take in enumerate(takes):
            done(i, take.upper())

    queue = DrawQueue(run)
    with pytest.raises(ValueError):
        queue.draw("bad")
    assert queue.draw("good").result == "GOOD"


def test_a_lone_take_is_served_at_once():
    queue = DrawQueue(lambda takes, done: [done(i, t * 2) for i, t in enumerate(takes)])
    started = time.perf_counter()
    served = queue.draw(21)
    assert served.result == 42 and served.batch == 1
    assert served.queued < 0.25 and time.perf_counter() - started < 1.0  # no window to wait out


def test_a_short_take_does_not_wait_for_a_long_one():
    held, release = threading.Event(), threading.Event()

    def run(takes, done):
        if takes == [0]:  # the batch that keeps the model busy while the others ask
            held.wait(5)
            done(0, 0)
            return
        for i in sorted(range(len(takes)), key=lambda i: takes[i]):
            done(i, takes[i])
            release.wait(5)  # the long take is still being drawn

    queue = DrawQueue(run)
    got: list = []
    threads = [threading.Thread(target=lambda n=n: got.append(queue.draw(n).result)) for n in (0, 2, 1)]
    threads[0].start()
    wait_until(lambda: queue._worker is not None and not queue._waiting)
    threads[1].start()
    threads[2].start()
    wait_until(lambda: len(queue._waiting) == 2)
    held.set()
    wait_until(lambda: len(got) == 2)
    assert sorted(got) == [0, 1]  # the long take (2) is still being drawn
    release.set()
    for t in threads:
        t.join(5)
    assert sorted(got) == [0, 1, 2]


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)
