"""Helpers for the browser tests: a real Streamlit server and a real Chromium.

The server is ``streamlit run app.py`` on 127.0.0.1 and a free port; it is ready when
``/_stcore/health`` answers ``ok``. Chromium is the system one (``/usr/bin/chromium``),
driven by Playwright without downloading a browser of its own. The load tests
(``test_load.py``: one server; ``test_replicas.py``: replicas behind a balancer) share the
sessions they drive at once (:func:`drive_sessions`) and the music each must get
(:func:`expected_midi`).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bachgen.replicas import process_stats

if TYPE_CHECKING:  # annotations only (Python 3.10 has no typing.Self)
    from typing_extensions import Self

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("BACHGEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # The page's player starts a take by itself (a listener's click on Generate allows it).
    "--autoplay-policy=no-user-gesture-required",
]
#: Generous sanity bound for one generation in the browser (not a performance target).
GENERATE_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports free now on 127.0.0.1 (below the range the
    system hands out for outgoing connections, so none is taken by one meanwhile)."""
    from bachgen.replicas import port_is_free

    for _ in range(500):
        first = random.randrange(20_000, 32_000 - count)
        if all(port_is_free("127.0.0.1", first + i) for i in range(count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports found")


def load_test_model(tmp_path_factory) -> Path:
    """The model the load tests' servers use: the shipped one, else a tiny bundle."""
    from tests.app_support import build_tiny_bundle, shipped_model_dir

    shipped = shipped_model_dir()
    return shipped if shipped is not None else build_tiny_bundle(tmp_path_factory.mktemp("model"))


@dataclass
class Server:
    """A running ``streamlit run app.py``; ``health_s`` is launch -> ``/_stcore/health`` ok."""

    process: subprocess.Popen
    url: str
    started: float
    health_s: float
    log_path: Path
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def peak_rss_mb(self) -> float | None:
        """Peak resident memory of the server process (``VmHWM``), in MB."""
        return peak_rss_mb(self.pid)

    def children_peak_rss_mb(self) -> float:
        """Sum of the peaks of the server's child processes (the score worker and the
        player's audio workers), in MB."""
        return sum(peak_rss_mb(pid) or 0.0 for pid in child_pids(self.pid))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class CpuSampler:
    """CPU-seconds used so far by the browsers (Chromium), the server and its worker
    processes, sampled on a thread every ``every_s`` with the epoch time, so the CPU spent
    between two moments (:meth:`between`) can be told by whom.

    ``server_pid`` may name several servers (replicas): ``server`` and ``workers`` are then
    their sums, and ``server_1``, ``server_2``, ... each one's own (itself and its workers);
    ``balancer_pid`` adds a ``balancer`` group."""

    GROUPS = ("browsers", "server", "workers")

    def __init__(self, server_pid: int | list[int], every_s: float = 0.2,
                 balancer_pid: int | None = None) -> None:
        self.server_pids = [server_pid] if isinstance(server_pid, int) else list(server_pid)
        self.every_s, self.balancer_pid = every_s, balancer_pid
        self.groups = self.GROUPS + (("balancer",) if balancer_pid is not None else ()) + (
            tuple(f"server_{i + 1}" for i in range(len(self.server_pids)))
            if len(self.server_pids) > 1 else ())
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._now()))
            self._stop.wait(self.every_s)

    def _owners(self, stats: dict[int, list[str]]) -> dict[int, tuple[str, ...]]:
        """pid -> the groups its CPU counts in (servers, their workers, the balancer), from one
        reading of ``/proc`` (``stats``: :func:`bachgen.replicas.process_stats`)."""
        owners: dict[int, tuple[str, ...]] = {}
        several = len(self.server_pids) > 1
        for i, server in enumerate(self.server_pids):
            own = (f"server_{i + 1}",) if several else ()
            owners[server] = ("server", *own)
            owners.update({pid: ("workers", *own) for pid, fields in stats.items()
                           if len(fields) > 1 and fields[1] == str(server)})
        if self.balancer_pid is not None:
            owners[self.balancer_pid] = ("balancer",)
        return owners

    def _now(self) -> dict[str, float]:
        """Each group's CPU-seconds so far: ``/proc`` read once (it runs on the machine it measures)."""
        tick = os.sysconf("SC_CLK_TCK")
        totals = dict.fromkeys(self.groups, 0.0)
        stats = dict(process_stats())
        owners = self._owners(stats)
        for pid, fields in stats.items():
            groups = owners.get(pid) or (("browsers",) if is_browser(pid) else ())
            for group in groups:
                totals[group] += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return totals

    def between(self, start: float, end: float) -> dict[str, float]:
        """CPU-seconds of each group from the last sample at or before ``start`` to the first
        at or after ``end`` (epoch seconds)."""
        before = [s for t, s in self.samples if t <= start] or [self.samples[0][1]]
        after = [s for t, s in self.samples if t >= end] or [self.samples[-1][1]]
        return {g: round(after[0][g] - before[-1][g], 2) for g in self.groups}


def is_browser(pid: int) -> bool:
    """Whether process ``pid`` is Chromium (by its command line; gone: no)."""
    try:
        return b"chrom" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (from ``/proc``)."""
    return [child for child, fields in process_stats() if len(fields) > 1 and fields[1] == str(pid)]


def start_server(name: str = "server", timeout_s: float = 120.0, env: dict | None = None) -> Server:
    """Launch the app and wait until its health endpoint answers ``ok``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = ARTIFACTS / f"{name}.log"
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
        "--server.port", str(port), "--server.headless", "true",
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]
    environment = {**os.environ, **(env or {})}
    log_file = open(log_path, "wb")  # noqa: SIM115 (closed with the process)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=log_file,
                               stderr=subprocess.STDOUT)
    log_file.close()
    url = f"http://127.0.0.1:{port}"
    deadline = started + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n"
                               + log_path.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.perf_counter() > deadline:
            process.kill()
            raise RuntimeError(f"streamlit did not become healthy in {timeout_s} s")
        time.sleep(0.1)
    return Server(process, url, started, time.perf_counter() - started, log_path)


def require_browser() -> None:
    """Skip cleanly when the system Chromium or Playwright is missing."""
    pytest.importorskip("playwright.sync_api")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (make system-test installs it)")


def launch_options() -> dict:
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


def wait_for_app_ready(page, timeout_ms: int = 120_000) -> None:
    """The page is usable: the Generate button is shown and enabled."""
    button = page.get_by_role("button", name="Generate")
    button.wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function(
        """() => [...document.querySelectorAll('button')]
               .some(b => b.innerText.trim().endsWith('Generate') && !b.disabled)""",
        timeout=timeout_ms,
    )


def write_artifact_json(name: str, data: dict) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    existing = {}
    if path.exists():
        try:
            existing = json.loads(path.read_text())
        except ValueError:
            existing = {}
    existing.update(data)
    path.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    return path


def take_records(log_path: Path, kind: str = "take") -> dict[int, dict]:
    """The server's timing records (``bachgen take {...}`` / ``bachgen score {...}`` lines of
    its log), by random seed; the last one wins."""
    prefix = f"bachgen {kind} "
    found = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith(prefix):
            record = json.loads(line[len(prefix):])
            found[record["seed"]] = record
    return found


def wait_for_records(log_path: Path, seeds: list[int], kind: str = "take",
                     timeout_s: float = 30.0) -> dict[int, dict]:
    """The records of these seeds, waiting for the server to write them."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = take_records(log_path, kind)
        if all(seed in found for seed in seeds) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


#: The stages of a take on the server, in the order they happen (see app.py and
#: bachgen.pipeline.compose): seconds each.
SERVER_STAGES = ("seed", "index", "lock_wait", "sample", "decode", "midi",
                 "audio_synth_wait", "audio_synth", "audio_encode")
#: What the page does after the audio: wait for other listeners' audio, draw the piano roll.
AFTER_AUDIO_STAGES = ("after_audio_wait", "pianoroll")


def breakdown(record: dict, clicked_at: float, audio_ready_at: float,
              score: dict | None = None) -> dict[str, float]:
    """Where one take's seconds went, click -> audio ready in the browser (epoch clocks of
    the test and of the server, on the same machine):

    - ``rerun_start``: click -> the server begins the page's run (websocket, script start);
    - ``page_before_generate``: the top of the page before composing;
    - the server stages of :data:`SERVER_STAGES` (``lock_wait``: queueing for the model);
    - ``server_other``: the rest of composing on the server (status, progress, bookkeeping);
    - ``to_audio_element``: composed -> the audio element is handed to Streamlit;
    - ``media_transfer``: audio element handed over -> the browser has the audio's metadata
      (delta to the browser, media request, the first bytes decoded);
    - or, when the take's opening was played while the rest was drawn (the page's player):
      ``to_opening``, composing began -> the opening handed to Streamlit, and
      ``opening_to_sound``, from there to the sound in the browser (the server stages are
      then the whole take's, most of them after the sound);
    - ``page_after_audio``: drawing the rest of the take after the audio (not on the way to
      it), of which ``after_audio_wait`` waiting for other listeners' audio first and
      ``pianoroll`` drawing the piano roll;
    - ``engrave``: the score, in its worker process (queue included), after the audio.
    """
    trace, timings = record["trace"], record["timings"]
    out = {"click_to_audio": audio_ready_at - clicked_at,
           "rerun_start": trace["run_started_at"] - clicked_at,
           "page_before_generate": trace["generate_started_at"] - trace["run_started_at"]}
    out.update({stage: timings.get(stage, 0.0) for stage in SERVER_STAGES})
    composing = trace["composed_at"] - trace["generate_started_at"]
    out["server_other"] = composing - sum(out[stage] for stage in SERVER_STAGES)
    if "opening_sent_at" in trace:  # the take's opening was sent (and heard) before the rest
        out["to_opening"] = trace["opening_sent_at"] - trace["generate_started_at"]
        out["opening_to_sound"] = audio_ready_at - trace["opening_sent_at"]
    else:
        out["to_audio_element"] = trace["audio_sent_at"] - trace["composed_at"]
        out["media_transfer"] = audio_ready_at - trace["audio_sent_at"]
    out["page_after_audio"] = trace.get("page_done_at", trace["audio_sent_at"]) \
        - trace["audio_sent_at"]
    out.update({stage: timings.get(stage, 0.0) for stage in AFTER_AUDIO_STAGES})
    if score is not None:
        out["engrave"] = score["timings"].get("engrave", 0.0)
        out["click_to_score"] = score["trace"]["score_shown_at"] - clicked_at
    return {name: round(value, 3) for name, value in out.items()}


def summarise(breakdowns: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Median and largest value of each stage over several takes."""
    import statistics

    names = breakdowns[0].keys() if breakdowns else ()
    return {name: {"p50": round(statistics.median(b[name] for b in breakdowns), 3),
                   "max": round(max(b[name] for b in breakdowns), 3)}
            for name in names if all(name in b for b in breakdowns)}


def load_average() -> list[float]:
    """The machine's load average (1, 5, 15 minutes): the figures are noisy when it is high."""
    return [round(x, 2) for x in os.getloadavg()]


def is_wav(data: bytes) -> bool:
    return len(data) > 44 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def is_ogg(data: bytes | None) -> bool:
    """An Ogg stream whose first packet is a Vorbis identification header."""
    return bool(data) and data[:4] == b"OggS" and b"\x01vorbis" in data[:64]


def is_flac(data: bytes | None) -> bool:
    return bool(data) and data[:4] == b"fLaC"


def is_compressed_audio(data: bytes | None) -> bool:
    """What the page's player may get: FLAC (its default) or Ogg Vorbis."""
    return is_flac(data) or is_ogg(data)


# --------------------------------------------------------------------------- the page's player

#: The player's frame is served from ``/component/<its name>/``.
PLAYER_FRAME = "bachgen_player"
#: The peak level of everything and of each voice over ``ms`` milliseconds, in the player's
#: frame (sampled every 20 ms from its analysers).
LEVELS_JS = """async (ms) => {
    const p = window.bachgenPlayer, end = performance.now() + ms;
    let all = 0, voices = null;
    while (performance.now() < end) {
        const now = p.levels();
        voices = voices || now.voices.map(() => 0);
        all = Math.max(all, now.all);
        now.voices.forEach((v, i) => { voices[i] = Math.max(voices[i], v); });
        await new Promise((r) => setTimeout(r, 20));
    }
    return {all, voices};
}"""


def player_frame(page, timeout_s: float = 120.0):
    """The page's player (its frame) once its piano is loaded."""
    deadline = time.monotonic() + timeout_s
    while True:
        frames = [f for f in page.frames if PLAYER_FRAME in f.url]
        if frames:
            frames[0].wait_for_function(
                "() => window.bachgenPlayer && window.bachgenPlayer.state === 'ready'",
                timeout=max(1.0, deadline - time.monotonic()) * 1000)
            return frames[0]
        if time.monotonic() > deadline:
            raise AssertionError("the page shows no player")
        page.wait_for_timeout(100)


def wait_for_sound(frame, take: int, label: str = "take", timeout_s: float = GENERATE_TIMEOUT_S) -> dict:
    """The player's record of the sound of take number ``take`` first seen at its output
    (``label`` "take": on arrival; "seek": after playing from a bar): epoch milliseconds
    ``at``, the player's ``clock`` then and the music's second ``expected`` there."""
    script = ("([label, take]) => { const s = window.bachgenPlayer.sounds[label];"
              " return s && s.take === take; }")
    frame.wait_for_function(script, arg=[label, take], timeout=timeout_s * 1000)
    return frame.evaluate("(label) => window.bachgenPlayer.sounds[label]", label)


#: True once the player has a whole take (not only the opening heard while the rest is drawn).
WHOLE_TAKE_JS = "() => window.bachgenPlayer.take !== null && !window.bachgenPlayer.partial()"


def player_midi(frame, timeout_s: float = GENERATE_TIMEOUT_S) -> bytes:
    """The MIDI file the player is playing, once it has the whole take."""
    frame.wait_for_function(WHOLE_TAKE_JS, timeout=timeout_s * 1000)
    return bytes(frame.evaluate("() => Array.from(window.bachgenPlayer.midi() || [])"))


# --------------------------------------------------------------------------- sessions at once

#: Each session pauses its player once its first sound is measured. The eight browsers run
#: on the server's own two cores here, and a page playing costs about a fifth of a core (its
#: synthesizer and playhead) that a listener's own machine pays in a real deployment; left
#: playing, the first takes' sound would take the cores from the later takes' sampling.
#: ``BACHGEN_LOAD_KEEP_PLAYING=1`` keeps them playing (the figures of both are printed).
PAUSE_AFTER_SOUND = os.environ.get("BACHGEN_LOAD_KEEP_PLAYING") != "1"


def expected_midi(model_dir, seeds: list[int]) -> dict[int, bytes]:
    """What ``compose`` writes for the page's default settings with each seed."""
    import dataclasses

    from bachgen.config import DEFAULT_BARS, CorpusConfig, RenderConfig, SamplingConfig
    from bachgen.pipeline import ComposeSettings, SeedSpec, compose, load_engine

    engine = load_engine(model_dir, CorpusConfig.from_env())
    result = {}
    for seed in seeds:
        settings = ComposeSettings(
            seed=SeedSpec(fugue="wtc1f02", start_bar=1),
            sampling=dataclasses.replace(SamplingConfig(), bars=DEFAULT_BARS, seed=seed),
            render=dataclasses.replace(RenderConfig(), tempo_bpm=80.0, include_seed=False,
                                       audio=False, score=False),
        )
        result[seed] = compose(settings, engine).midi
    return result


def notes_of(midi_bytes: bytes) -> list[tuple[int, float, float]]:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))
    return sorted((n.pitch, round(n.start, 4), round(n.end, 4))
                  for inst in midi.instruments for n in inst.notes)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


#: How often the sessions' waits look (ms). Playwright's default looks at every animation
#: frame, in each of the eight pages and their players' frames: on the machine the server
#: runs on, that is the harness taking the cores it measures. The times themselves are the
#: player's own records (its sound watcher looks every 2 ms), not when a wait returns.
POLL_MS = 100


async def session_idle(page) -> None:
    """Wait until the page's script run has finished."""
    await page.wait_for_timeout(250)
    await page.wait_for_function(
        """() => { const w = document.querySelector('[data-testid="stStatusWidget"]');
                   return !w || !w.innerText.includes('Running'); }""", timeout=120_000,
        polling=POLL_MS)


async def session_player_frame(page, timeout_s: float = 180.0):
    """The page's player (its frame) once its piano is loaded (async :func:`player_frame`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        frames = [f for f in page.frames if PLAYER_FRAME in f.url]
        if frames:
            await frames[0].wait_for_function(
                "() => window.bachgenPlayer && window.bachgenPlayer.state === 'ready'",
                timeout=max(1.0, deadline - time.monotonic()) * 1000)
            return frames[0]
        assert time.monotonic() < deadline, "the page shows no player"
        await page.wait_for_timeout(100)


async def open_session(browser, url: str, seed: int):
    """A browser context of its own (its own cookies) with the page open, its random seed set
    and its player ready."""
    context = await browser.new_context(viewport={"width": 1300, "height": 900},
                                        accept_downloads=True)
    page = await context.new_page()
    await page.goto(url, wait_until="domcontentloaded")
    generate = page.get_by_role("button", name="Generate")
    await generate.wait_for(state="visible", timeout=180_000)
    await page.wait_for_function(
        """() => [...document.querySelectorAll('button')]
               .some(b => b.innerText.trim().endsWith('Generate') && !b.disabled)""",
        timeout=180_000)
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Random seed")
    field = box.locator("input")
    await field.fill(str(seed))
    await field.press("Enter")
    await session_idle(page)
    assert await field.input_value() == str(seed)
    await session_player_frame(page)
    return context, page


async def run_session(page) -> dict:
    """Press Generate and wait for the take: its first sound, its MIDI file (downloaded and
    in the player) and its score; the times on the way."""
    frame = await session_player_frame(page)
    clicked, clicked_at = time.perf_counter(), time.time()
    await page.get_by_role("button", name="Generate").click()
    await frame.wait_for_function("() => window.bachgenPlayer.arrivedAt",
                                  timeout=GENERATE_TIMEOUT_S * 1000, polling=POLL_MS)
    attached = await frame.evaluate("() => window.bachgenPlayer.arrivedAt") / 1000 - clicked_at
    await frame.wait_for_function("() => (window.bachgenPlayer.sounds.take || {}).take === 1",
                                  timeout=GENERATE_TIMEOUT_S * 1000, polling=POLL_MS)
    ready_at = await frame.evaluate("() => window.bachgenPlayer.sounds.take.at") / 1000
    latency = ready_at - clicked_at
    pressed_at = (await frame.evaluate("() => window.bachgenPlayer.pressedAt") or 0) / 1000
    from_press = ready_at - pressed_at if pressed_at >= clicked_at - 1 else None
    if PAUSE_AFTER_SOUND:
        await frame.locator("#play").click()
    composed = None  # the server's own figure, from the status line ("Composed in 1.8 s")
    status = page.get_by_text("Composed in")
    if await status.count():
        words = (await status.first.inner_text()).split()
        composed = float(words[2]) if len(words) > 2 else None
    await frame.wait_for_function(WHOLE_TAKE_JS, timeout=GENERATE_TIMEOUT_S * 1000, polling=POLL_MS)
    gap = await frame.evaluate("() => window.bachgenPlayer.gapMs") / 1000  # left playing: a wait for the rest
    player = bytes(await frame.evaluate("() => Array.from(window.bachgenPlayer.midi())"))
    button = page.locator('[data-testid="stDownloadButton"]').filter(has_text="MIDI").first
    await button.wait_for(timeout=GENERATE_TIMEOUT_S * 1000)
    async with page.expect_download() as info:
        await button.locator("button").click()
    download = await info.value
    midi = await asyncio.to_thread(Path(await download.path()).read_bytes)
    await page.get_by_role("heading", name="Score").wait_for(timeout=GENERATE_TIMEOUT_S * 1000)
    scored = time.perf_counter() - clicked
    errors = await page.locator('[data-testid="stAlertContentError"]').count()
    return {"latency": latency, "attached": attached, "composed": composed, "player": player,
            "midi": midi, "errors": errors, "clicked_at": clicked_at, "ready_at": ready_at,
            "scored": scored, "gap": gap, "from_press": from_press}


async def drive_sessions(url: str, seeds: list[int]) -> list[dict]:
    """One browser session per seed against ``url``, all opened, then Generate pressed in all
    at once: :func:`run_session`'s result for each, in the order of ``seeds``, with the
    session's cookies (name -> value) when it opened (``cookies_opened``) and at the end
    (``cookies``)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options())
        try:
            sessions = await asyncio.gather(*(open_session(browser, url, s) for s in seeds))
            opened = [await cookies_of(context) for context, _ in sessions]
            results = await asyncio.gather(*(run_session(page) for _, page in sessions))
            for result, before, (context, _) in zip(results, opened, sessions):
                result.update(cookies_opened=before, cookies=await cookies_of(context))
                await context.close()
            return list(results)
        finally:
            await browser.close()


async def cookies_of(context) -> dict[str, str]:
    """A browser context's cookies, name -> value."""
    return {cookie["name"]: cookie["value"] for cookie in await context.cookies()}
