"""Eight people at once: concurrent browser sessions against one server.

Each session sets its own random seed and presses Generate at the same moment. All must
finish; each session's MIDI must be exactly what :func:`bachgen.pipeline.compose` gives
for that session's settings (no cross-talk between sessions through the shared engine),
and its player must play exactly that MIDI file. p50 / p95 click -> first sound (the
player's synthesizer output seen in each page), where each take's time went (the server's
timing record of each take, see :func:`tests.browser_support.breakdown`: median and
largest per stage), the CPU-seconds the browsers, the server and its workers used from the
first click to the last take's first sound (and the server's per take, against the figure
of the server-rendered player it replaced), the server's peak resident memory and the
machine's load average are written to ``tests/artifacts/load.json`` and printed. Each
session also waits for its score. The figures are the machine's as much as the code's:
take them on a quiet machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import pytest

from tests.app_support import shipped_model_dir
from tests.browser_support import (
    PAUSE_AFTER_SOUND,
    CpuSampler,
    breakdown,
    drive_sessions,
    expected_midi,
    load_average,
    load_test_model,
    notes_of,
    percentile,
    require_browser,
    start_server,
    summarise,
    wait_for_records,
    write_artifact_json,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SESSIONS = 8
SEEDS = [1000 + 17 * i for i in range(SESSIONS)]
#: Server CPU-seconds (the server and its worker processes) per take between the first click
#: and the last take's sound when the server rendered every take's audio (FluidSynth, then
#: FLAC) — README, "Audio first": 2.86 + 2.96 CPU-seconds for 8 takes.
SERVER_CPU_PER_TAKE_BEFORE = (2.86 + 2.96) / 8


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    require_browser()
    return load_test_model(tmp_path_factory)


@pytest.fixture(scope="module")
def server(model_dir):
    running = start_server("load-server", env={"BACHGEN_MODEL_DIR": str(model_dir)})
    yield running
    running.stop()


def median_of(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 2) if known else None


def max_of(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(max(known), 2) if known else None


def take_breakdowns(server, results: list[dict]) -> list[dict]:
    """Each session's take: where its seconds went (the server's records, by seed)."""
    takes = wait_for_records(server.log_path, SEEDS)
    scores = wait_for_records(server.log_path, SEEDS, kind="score")
    missing = [seed for seed in SEEDS if seed not in takes]
    assert not missing, f"no timing record in the server's log for seeds {missing}"
    return [breakdown(takes[seed], r["clicked_at"], r["ready_at"], scores.get(seed))
            for seed, r in zip(SEEDS, results)]


def test_eight_sessions_at_once_each_get_their_own_music(server, model_dir):
    load_before = load_average()
    started = time.perf_counter()
    with CpuSampler(server.pid) as cpu:
        results = asyncio.run(drive_sessions(server.url, SEEDS))
    wall = time.perf_counter() - started
    load_after = load_average()
    peak_mb = server.peak_rss_mb()
    children_mb = server.children_peak_rss_mb()
    assert server.process.poll() is None, "the server died under load:\n" + server.log_tail()

    assert len(results) == SESSIONS
    for seed, result in zip(SEEDS, results):
        assert result["errors"] == 0, f"session with seed {seed} shows an error"
        assert result["player"] == result["midi"], (
            f"the player of the session with seed {seed} does not play its take's MIDI file")

    expected = expected_midi(model_dir, SEEDS)
    for seed, result in zip(SEEDS, results):
        assert notes_of(result["midi"]) == notes_of(expected[seed]), (
            f"the session with seed {seed} did not get the music of its own settings")
    assert len({r["midi"] for r in results}) == SESSIONS, "two sessions got the same piece"

    cpu_between = cpu.between(min(r["clicked_at"] for r in results),
                              max(r["ready_at"] for r in results))
    server_cpu_per_take = (cpu_between["server"] + cpu_between["workers"]) / SESSIONS
    # All of a take's work on the server (music, pages, score) from the first click to the
    # last score: what one replica holds a minute with its cores kept busy by takes alone.
    whole = cpu.between(min(r["clicked_at"] for r in results),
                        max(r["clicked_at"] + r["scored"] for r in results))
    server_cpu_per_whole_take = (whole["server"] + whole["workers"]) / SESSIONS
    latencies = [r["latency"] for r in results]
    attached = [r["attached"] for r in results]
    composed = [r["composed"] for r in results if r["composed"] is not None]
    breakdowns = take_breakdowns(server, results)
    figures = {
        "sessions": SESSIONS,
        "paused_after_first_sound": PAUSE_AFTER_SOUND,
        "click_to_first_sound_p50_s": round(statistics.median(latencies), 2),
        "click_to_first_sound_p95_s": round(percentile(latencies, 0.95), 2),
        "click_to_first_sound_max_s": round(max(latencies), 2),
        # from the press as the page saw it (the harness's click reaching eight busy pages
        # is left out): the player notes when Generate is pressed
        "press_to_first_sound_p50_s": median_of([r["from_press"] for r in results]),
        "press_to_first_sound_max_s": max_of([r["from_press"] for r in results]),
        "click_to_midi_in_player_p50_s": round(statistics.median(attached), 2),
        "click_to_midi_in_player_max_s": round(max(attached), 2),
        "click_to_score_max_s": round(max(r["scored"] for r in results), 2),
        # left playing (BACHGEN_LOAD_KEEP_PLAYING=1): silence between the opening's end and the rest
        "wait_for_the_rest_s": sorted(round(r["gap"], 2) for r in results),
        "breakdown_s": summarise(breakdowns),
        "cpu_s_first_click_to_last_sound": cpu_between,
        "server_cpu_s_per_take": round(server_cpu_per_take, 3),
        "server_cpu_s_per_take_before": round(SERVER_CPU_PER_TAKE_BEFORE, 3),
        "server_cpu_ratio_to_before": round(server_cpu_per_take / SERVER_CPU_PER_TAKE_BEFORE, 2),
        "server_cpu_s_per_take_to_its_score": round(server_cpu_per_whole_take, 2),
        "takes_a_minute_one_replica_can_serve": round(60 * (os.cpu_count() or 1) / server_cpu_per_whole_take, 1),
        "cores": os.cpu_count(),
        "breakdown_per_take_s": {str(seed): b for seed, b in zip(SEEDS, breakdowns)},
        "player_midi_bytes_p50": int(statistics.median(len(r["player"]) for r in results)),
        "load_average_before_after": [load_before, load_after],
        "server_compose_p50_s": round(statistics.median(composed), 2) if composed else None,
        "server_compose_max_s": round(max(composed), 2) if composed else None,
        "wall_s": round(wall, 2),
        "server_peak_rss_mb": round(peak_mb, 1) if peak_mb is not None else None,
        "worker_processes_peak_rss_mb": round(children_mb, 1),
        "model": "shipped" if shipped_model_dir() is not None else "tiny test bundle",
    }
    path = write_artifact_json("load.json", figures)
    print(f"\nload test ({path}): {figures}")
