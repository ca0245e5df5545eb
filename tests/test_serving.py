"""Takes drawn together (:mod:`bachgen.serving`): each gets exactly the music it gets alone, and waits for nobody alone."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from bachgen.config import RenderConfig, SamplingConfig
from bachgen.errors import ConfigError, SeedFileError
from bachgen.pipeline import ComposeSettings, SeedSpec, compose, load_engine
from bachgen.rows import SampleSettings, TakeRows, seed_row, token_probabilities
from bachgen.sampling import sample_ids, sample_takes
from bachgen.serving import DrawQueue
from bachgen.step import RowStableStep

QUIET = RenderConfig(audio=False, score=False)


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


def make_takes(engine, corpus_pieces):
    """A function giving fresh takes (new generators, new guards) of different seeds,
    events, candidates, settings and compass; two with a guard, one of 6 rows (so that a
    draw passes 8 rows, where the grammar advances all rows at once)."""
    from bachgen.guards import EventWatch

    codec = engine.codec
    pieces = {p.name: p for p in corpus_pieces}
    seeds = [seed_row(codec, pieces[f], 50, at) for f, at in
             [("wtc1f02", 0), ("wtc2f09", 40), ("wtc1f10", 10), ("wtc1f02", 0), ("wtc2f09", 0)]]
    plans = [(seeds[0], 30, 1, SampleSettings(1.0, 0, 0.98, (36, 84)), True),
             (seeds[1], 12, 3, SampleSettings(0.6, 0, 0.9), False),
             (seeds[2], 45, 2, SampleSettings(1.4, 30, 1.0, (40, 80)), False),
             (seeds[3], 30, 1, SampleSettings(1.0, 0, 0.98, (36, 84)), False),
             (seeds[4], 20, 6, SampleSettings(1.0, 0, 0.98, (36, 84)), True)]

    def takes(seed_of_rng: int = 7) -> list[TakeRows]:
        made = []
        for i, ((row, moved), events, rows, settings, guarded) in enumerate(plans):
            guard = EventWatch([codec.events(row.ids, row.start)] * rows) if guarded else None
            made.append(TakeRows([row] * rows, events, settings, np.random.default_rng(seed_of_rng + i),
                                 [moved] * rows, guard))
        return made

    return takes, plans


def alone_ids(step, codec, takes: list[TakeRows]) -> list:
    return [sample_ids(step, codec, t.rows, t.events, t.settings, t.rng, t.moved_by, t.watch) for t in takes]


def test_takes_sampled_together_get_the_ids_they_get_alone(engine, corpus_pieces):
    """Different seeds, events, candidates, settings and compass; one take with a guard."""
    codec, step = engine.codec, RowStableStep(engine.step)
    make, plans = make_takes(engine, corpus_pieces)
    alone = alone_ids(step, codec, make()[:4])
    finished: list[int] = []
    together = sample_takes(step, codec, make()[:4], on_done=lambda i, ids: finished.append(i))
    assert together == alone
    assert sorted(finished) == [0, 1, 2, 3] and finished[0] == 1  # the shortest take is told first
    assert all(len(codec.events(ids)) == plans[i][1] for i, rows in enumerate(together) for ids in rows)


def scripted(schedule, finished: list[int]):
    """A ``joiners`` callable: ``schedule`` is a list of ``(when, takes)``, ``when(step,
    finished)`` saying at which step (polled once a step, from 0) the takes join; the steps
    they joined at are recorded in ``joined_at``."""
    left, polls = list(schedule), [0]

    def joiners() -> list[TakeRows]:
        step, new = polls[0], []
        polls[0] += 1
        for item in list(left):
            if item[0](step, finished):
                new += item[1]
                left.remove(item)
                joiners.joined_at.append(step)
        return new

    joiners.joined_at = []
    return joiners


@pytest.mark.parametrize("case", ["k=0", "k=1", "k=9 and k=10", "k=60", "after a take finished",
                                  "compass and guard join later", "after two finished"])
def test_a_take_joining_a_running_draw_gets_the_ids_it_gets_alone(engine, corpus_pieces, case):
    """Takes added at step k (several k, rows of takes that are done dropped, a compass or
    guard not there before) each get the ids they get alone, numbered in the order they came."""
    codec, step = engine.codec, RowStableStep(engine.step)
    make, _ = make_takes(engine, corpus_pieces)
    at = lambda k: (lambda step_, finished: step_ == k)  # noqa: E731
    after_one_finished = lambda step_, finished: len(finished) > 0  # noqa: E731
    first, schedule = {
        "k=0": ([0, 1], [(at(0), [2, 3])]),
        "k=1": ([2], [(at(1), [0, 4])]),
        "k=9 and k=10": ([0, 1], [(at(9), [2]), (at(10), [4, 3])]),
        "k=60": ([1, 2], [(at(60), [4, 0])]),
        "after a take finished": ([1, 2, 3], [(after_one_finished, [4, 0])]),
        "compass and guard join later": ([1], [(at(5), [0]), (at(7), [4])]),
        "after two finished": ([1, 0, 2], [(lambda step_, finished: len(finished) >= 2, [3])]),
    }[case]
    order = first + [i for _, joining in schedule for i in joining]
    alone = alone_ids(step, codec, [make()[i] for i in order])
    takes = make()
    finished: list[int] = []
    joiners = scripted([(when, [takes[i] for i in joining]) for when, joining in schedule], finished)
    together = sample_takes(step, codec, [takes[i] for i in first], lambda i, ids: finished.append(i), joiners)
    assert len(joiners.joined_at) == len(schedule)  # every take did join (none came too late)
    assert together == alone
    assert sorted(finished) == list(range(len(order)))
    if case.startswith("after"):
        assert finished.index(len(first)) > 0  # joined once one had finished


def test_a_step_limit_counts_from_the_step_a_take_joined(engine, corpus_pieces):
    """A take that joins late still gets all its events (its step limit is its own)."""
    codec, step = engine.codec, RowStableStep(engine.step)
    make, plans = make_takes(engine, corpus_pieces)
    takes = make()
    finished: list[int] = []
    joiners = scripted([(lambda k, f: k == 200, [takes[3]])], finished)
    long = replace(takes[2], events=400)
    got = sample_takes(step, codec, [long], lambda i, ids: finished.append(i), joiners)
    assert joiners.joined_at == [200]
    assert got[1] == alone_ids(step, codec, [make()[3]])[0]
    assert len(codec.events(got[1][0])) == plans[3][1]


def spied(engine, hold_at: int | None = None, expected: int = 0) -> list[list[int]]:
    """Record the takes of every draw the engine's queue runs: how many start it, then how
    many join at each step where some do. With ``hold_at``, no take joins before step
    ``hold_at``, whose poll waits until ``expected`` takes wait in the queue (so they all
    join there, however quickly they asked)."""
    runs: list[list[int]] = []
    run = engine.draws.__dict__.setdefault("plain_run", engine.draws._run)  # not an earlier test's spy

    def recording(takes, done, joiners, early):
        sizes, polls = [len(takes)], [0]
        runs.append(sizes)

        def joining():
            if hold_at is not None and polls[0] < hold_at:
                polls[0] += 1
                return []
            if polls[0] == hold_at:
                wait_until(lambda: len(engine.draws._waiting) >= expected, 60)
            polls[0] += 1
            new = joiners()
            if new:
                sizes.append(len(new))
            return new

        run(takes, done, joining, early)

    engine.draws._run = recording
    return runs


def compose_together(engine, settings: list[ComposeSettings], failing: int = 0) -> tuple[list, list[list[int]]]:
    """Compose every settings in its own thread, all asking while the model is busy, so
    that they are drawn together (``failing`` takes never get that far); each result (or
    the error it raised), and the takes of each draw (:func:`spied`)."""
    results: list = [None] * len(settings)
    runs = spied(engine)

    def one(i: int) -> None:
        try:
            results[i] = compose(settings[i], engine)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(settings))]
    with engine.lock:  # the model is busy: every take has to wait in the queue
        for t in threads:
            t.start()
        wait_until(lambda: sum(map(sum, runs)) + len(engine.draws._waiting) == len(settings) - failing, 60)
    for t in threads:
        t.join(120)
    return results, runs


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
    together, runs = compose_together(engine, plans)
    assert [c.midi for c in together] == alone
    assert len(runs) == 1 and sum(runs[0]) == len(plans)  # those not there at its start join at step 0


def test_takes_asking_during_a_draw_join_it_and_get_the_ids_they_get_alone(engine):
    """A long take is drawing; three takes ask (from their threads) and join it at its
    12th step: each gets what it gets alone, waited about a step, and shares its steps.
    (Seeds and copy index are made first: the draw holds the engine's lock.)"""
    from bachgen.pipeline import draw, make_seed

    index = engine.copy_index(12)
    seeds = [make_seed(SeedSpec(fugue=f, start_bar=bar), engine, np.random.default_rng(1), [])
             for f, bar in [("wtc1f10", 1), ("wtc1f02", 1), ("wtc2f09", 5)]]
    plans = [(seeds[0], SamplingConfig(events=300, seed=1)), (seeds[1], SamplingConfig(events=40, seed=3)),
             (seeds[2], SamplingConfig(events=25, seed=4, temperature=0.6, top_p=0.9)),
             (seeds[1], SamplingConfig(events=60, seed=9, candidates=3, top_k=40, top_p=None))]

    def one(i: int):
        seed, cfg = plans[i]
        return draw(cfg, engine, seed, np.random.default_rng(cfg.seed), index)

    alone = [one(i).ids for i in range(len(plans))]
    runs = spied(engine, hold_at=12, expected=len(plans) - 1)
    results: list = [None] * len(plans)
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, one(i))) for i in range(len(plans))]
    threads[0].start()
    wait_until(lambda: runs)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(120)
    engine.draws._run = engine.draws.plain_run  # no more holding at step 12
    assert runs == [[1, len(plans) - 1]]
    assert [r.ids for r in results] == alone
    assert all(r.batch == len(plans) for r in results)  # the three joined the long take's draw


def test_a_take_that_fails_does_not_break_the_others(engine):
    plans = several_takes()[:3]
    alone = [compose(s, engine).midi for s in plans]
    broken = [ComposeSettings(SeedSpec(fugue=None, file_bytes=b"not music", file_name="x.mid"),
                              SamplingConfig(events=40, seed=1), QUIET),
              ComposeSettings(SeedSpec(fugue="wtc1f02", start_bar=999), SamplingConfig(events=40, seed=1),
                              QUIET)]
    results, runs = compose_together(engine, [plans[0], broken[0], plans[1], broken[1], plans[2]], failing=2)
    assert sum(map(sum, runs)) == 3
    assert isinstance(results[1], SeedFileError) and isinstance(results[3], ConfigError)
    assert [results[i].midi for i in (0, 2, 4)] == alone


def test_an_error_while_drawing_reaches_every_take_of_that_batch_only():
    def run(takes, done, joiners, early):
        if "bad" in takes:
            raise ValueError("broken batch")
        for i, take in enumerate(takes):
            done(i, take.upper())

    queue = DrawQueue(run)
    with pytest.raises(ValueError):
        queue.draw("bad")
    assert queue.draw("good").result == "GOOD"


def joining_run(script: list[str], takes_seen: list):
    """A ``run`` that follows ``script``: ``"join"`` polls ``joiners()`` until a take joins,
    ``"done i"`` finishes take ``i`` (its result: twice the take), ``"fail"`` raises."""

    def run(takes, done, joiners, early):
        takes = list(takes)
        for line in script:
            if line == "join":
                before = len(takes)
                wait_until(lambda: takes.extend(joiners()) or len(takes) > before)
            elif line == "fail":
                raise ValueError("broken draw")
            else:
                done(int(line.split()[1]), takes[int(line.split()[1])] * 2)
        takes_seen.append(takes)

    return run


def ask_in_thread(queue, take, got: dict) -> threading.Thread:
    def one() -> None:
        try:
            got[take] = queue.draw(take)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            got[take] = exc

    thread = threading.Thread(target=one)
    thread.start()
    return thread


def test_a_take_asking_during_a_draw_joins_it_and_counts_the_takes_it_shared_steps_with():
    """A draws alone; B joins it; A finishes; C joins B. A and C shared steps with one take
    each (batch 2), B with both (3); B and C hardly waited."""
    seen: list = []
    queue = DrawQueue(joining_run(["join", "done 0", "join", "done 1", "done 2"], seen))
    got: dict = {}
    threads = [ask_in_thread(queue, 1, got)]
    wait_until(lambda: queue._worker is not None and not queue._waiting)
    threads.append(ask_in_thread(queue, 2, got))
    wait_until(lambda: 1 in got)
    threads.append(ask_in_thread(queue, 3, got))
    for t in threads:
        t.join(5)
    assert seen == [[1, 2, 3]]  # one draw
    assert [got[t].result for t in (1, 2, 3)] == [2, 4, 6]
    assert [got[t].batch for t in (1, 2, 3)] == [2, 3, 2]  # B and C joined running draws


def test_an_error_reaches_the_takes_that_joined_the_draw_and_not_the_next():
    seen: list = []
    queue = DrawQueue(joining_run(["join", "fail"], seen))
    got: dict = {}
    first = ask_in_thread(queue, 1, got)
    wait_until(lambda: queue._worker is not None and not queue._waiting)
    second = ask_in_thread(queue, 2, got)
    first.join(5)
    second.join(5)
    assert isinstance(got[1], ValueError) and isinstance(got[2], ValueError)
    queue._run = joining_run(["done 0"], seen)
    assert queue.draw(5).result == 10 and queue.draw(5).batch == 1


def test_a_lone_take_is_served_at_once():
    seen: list = []

    def run(takes, done, joiners, early):
        seen.append(list(takes))
        for i, t in enumerate(takes):
            done(i, t * 2)

    queue = DrawQueue(run)
    served = queue.draw(21)
    assert served.result == 42 and served.batch == 1
    assert seen == [[21]]  # drawn in a draw of its own, not held back for company


def test_a_short_take_does_not_wait_for_a_long_one():
    held, release = threading.Event(), threading.Event()

    def run(takes, done, joiners, early):
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
