"""The page on several replicas behind HAProxy: each browser stays on one and gets its own music.

The committed ``deploy/haproxy.cfg`` is what :func:`bachgen.replicas.balancer_config` writes
for the defaults, and HAProxy takes it without a warning. Bad options (no replica, a port in
use, no HAProxy) are refused in one line saying what to do. The runner starts two replicas
and the balancer, the balancer deals new browsers out in turn and keeps each on its replica,
and nothing is left running after it (nor after ``bachgen serve`` gets SIGTERM, nor when a
replica dies under it).

The load test drives eight Chromium sessions through the balancer at once, each with its own
random seed: each must get exactly the MIDI ``compose`` gives for its settings, its player
must play that file, it must stay on the replica its ``SERVERID`` cookie names (the take is
drawn there: that replica's log holds its record) and both replicas must serve sessions.
p50 / max click -> first sound and the CPU-seconds of the replicas, their workers, the
balancer and the browsers go to ``tests/artifacts/replicas.json`` and are printed. The
replicas share the machine's cores with the eight browsers: the figures are the machine's as
much as the code's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bachgen.errors import ConfigError, ServeError
from bachgen.replicas import (
    STICKY_COOKIE,
    ReplicaConfig,
    Replicas,
    balancer_config,
    check_balancer_config,
    find_haproxy,
    group_members,
    is_healthy,
    port_is_free,
)
from tests.app_support import shipped_model_dir
from tests.browser_support import (
    ARTIFACTS,
    PAUSE_AFTER_SOUND,
    CpuSampler,
    child_pids,
    drive_sessions,
    expected_midi,
    free_ports,
    load_average,
    load_test_model,
    notes_of,
    peak_rss_mb,
    percentile,
    require_browser,
    take_records,
    wait_for_records,
    write_artifact_json,
)

REPO = Path(__file__).resolve().parent.parent
DEPLOYED = REPO / "deploy" / "haproxy.cfg"
SESSIONS = 8
SEEDS = [2000 + 23 * i for i in range(SESSIONS)]


def require_haproxy() -> None:
    try:
        find_haproxy()
    except ServeError:
        pytest.skip("HAProxy is not installed (make system-serve installs it: sudo apt-get install haproxy)")


def local_config(replicas: int = 2) -> ReplicaConfig:
    """``replicas`` replicas and their balancer on free ports of 127.0.0.1."""
    first = free_ports(replicas + 1)
    return ReplicaConfig(replicas=replicas, port=first, first_replica_port=first + 1, host="127.0.0.1")


def get(url: str, cookie: str | None = None) -> tuple[int, list[str]]:
    """Status and ``Set-Cookie`` headers of a GET (no proxy of the environment)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with opener.open(request, timeout=10) as response:
        return response.status, response.headers.get_all("Set-Cookie") or []


def sticky_value(headers: list[str]) -> str | None:
    """The value of the ``SERVERID`` cookie a response sets, if it sets one."""
    for header in headers:
        name, _, rest = header.partition("=")
        if name.strip() == STICKY_COOKIE:
            return rest.split(";")[0]
    return None


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if state[state.rfind(")") + 2:].split()[0] != "Z":
            running.append(pid)
    return running


def everything_of(served: Replicas) -> list[int]:
    """Every process the runner started, with their workers."""
    return sorted({pid for started in served.processes for pid in group_members(started.pid)})


# --------------------------------------------------------------------------- the configuration


def test_the_committed_balancer_config_is_what_balancer_config_writes_for_the_defaults():
    assert DEPLOYED.read_text() == balancer_config(ReplicaConfig()), (
        "deploy/haproxy.cfg is stale: write it again with "
        "`bachgen serve --print-config > deploy/haproxy.cfg`")


def test_the_committed_config_keeps_browsers_on_their_replica_and_the_websocket_open():
    text = DEPLOYED.read_text()
    for line in ("mode http", "balance roundrobin", "cookie SERVERID insert indirect nocache",
                 "option httpchk GET /_stcore/health", "timeout tunnel 1h",
                 "server replica1 127.0.0.1:8511 check cookie replica1",
                 "server replica2 127.0.0.1:8512 check cookie replica2", "bind 0.0.0.0:8501"):
        assert line in text


@pytest.mark.parametrize("replicas", [None, 1, 16])
def test_haproxy_accepts_the_config_without_a_warning(replicas, tmp_path):
    require_haproxy()
    path = DEPLOYED
    if replicas is not None:
        path = tmp_path / "haproxy.cfg"
        path.write_text(balancer_config(ReplicaConfig(replicas=replicas, port=9000, first_replica_port=9001)))
    assert check_balancer_config(path) == ""


def test_haproxy_refusing_a_config_is_said_in_one_line(tmp_path):
    require_haproxy()
    path = tmp_path / "haproxy.cfg"
    path.write_text(balancer_config(ReplicaConfig()).replace("balance roundrobin", "balance nowhere"))
    with pytest.raises(ServeError, match="HAProxy refuses the configuration") as error:
        check_balancer_config(path)
    assert "\n" not in str(error.value)


# --------------------------------------------------------------------------- bad options


@pytest.mark.parametrize(("options", "said"), [
    ({"replicas": 0}, "replicas must be between 1 and 16, not 0"),
    ({"replicas": 17}, "replicas must be between 1 and 16, not 17"),
    ({"port": 0}, "port must be between 1 and 65535"),
    ({"port": 70_000}, "port must be between 1 and 65535"),
    ({"first_replica_port": 65_535}, "must lie between 1 and 65535"),
    ({"port": 8512}, "The balancer's port 8512 is among the replicas' ports 8511-8512"),
    ({"host": "example.org"}, "host must be an IPv4 address"),
])
def test_options_out_of_range_are_refused_saying_what_is_wrong(options, said):
    with pytest.raises(ConfigError, match=said):
        ReplicaConfig(**options)


@pytest.mark.parametrize("which", ["balancer", "replica2"])
def test_a_port_in_use_is_refused_naming_it_before_anything_starts(which):
    config = local_config()
    taken = config.port if which == "balancer" else config.replica_ports[1]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        served = Replicas(config)
        with pytest.raises(ConfigError, match=f"Port {taken} .*is already in use") as error:
            served.start()
    assert ("--port" if which == "balancer" else "--first-replica-port") in str(error.value)
    assert served.processes == []


def test_an_address_of_another_machine_is_refused_before_anything_starts():
    first = free_ports(3)
    served = Replicas(ReplicaConfig(port=first, first_replica_port=first + 1, host="127.0.0.1",
                                    replica_host="192.0.2.1"))  # TEST-NET-1: no one's address
    with pytest.raises(ConfigError, match="192.0.2.1 is no address of this machine"):
        served.start()
    assert served.processes == []


def test_without_haproxy_serving_says_how_to_install_it():
    served = Replicas(local_config(), haproxy="bachgen-no-such-haproxy")
    with pytest.raises(ServeError, match="needs HAProxy") as error:
        served.start()
    assert "sudo apt-get install haproxy" in str(error.value)
    assert served.processes == []


def test_the_command_refuses_a_bad_option_in_one_line_and_prints_the_config():
    def serve(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bachgen", "serve", *argv], capture_output=True,
                              text=True, timeout=60, cwd=REPO, check=False)

    refused = serve("--replicas", "0")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        ("bachgen: error: replicas must be between 1 and 16, not 0. Run about one replica per core "
         "(--replicas N).")]
    assert serve("--print-config").stdout == DEPLOYED.read_text()


# --------------------------------------------------------------------------- the runner


def test_the_runner_starts_the_replicas_and_the_balancer_and_leaves_nothing_behind(tmp_path):
    require_haproxy()
    config = local_config()
    lines: list[str] = []
    with Replicas(config, log_dir=tmp_path, progress=lines.append) as served:
        assert is_healthy(served.url)
        assert all(is_healthy(replica.url) for replica in served.replicas)
        run_dir, started = served.run_dir, everything_of(served)
        dealt = [sticky_value(get(served.url + "/")[1]) for _ in range(4)]
        assert sorted(dealt) == ["replica1", "replica1", "replica2", "replica2"]
        assert dealt[0] != dealt[1], "new browsers are dealt out in turn"
        status, cookies = get(served.url + "/", cookie=f"{STICKY_COOKIE}=replica2")
        assert status == 200 and sticky_value(cookies) is None, "a browser with its cookie keeps it"
    assert len(lines) == 2 and len(started) >= 3
    assert alive(started) == []
    assert all(port_is_free("127.0.0.1", port) for port in [config.port, *config.replica_ports])
    assert not run_dir.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"replica1.log", "replica2.log", "balancer.log"}


def test_a_replica_that_dies_stops_everything_and_its_log_is_kept():
    require_haproxy()
    served = Replicas(local_config())
    with pytest.raises(ServeError, match="replica2 stopped by itself") as error, served:
        started = everything_of(served)
        os.kill(served.replicas[1].pid, signal.SIGKILL)
        served.wait(poll_s=0.05)
    log = Path(str(error.value).rsplit("See its log: ", 1)[1])
    assert log.is_file() and log.name == "replica2.log"
    assert alive(started) == []
    shutil.rmtree(log.parent)


def test_an_interrupt_while_starting_stops_what_started_and_leaves_no_folder(monkeypatch):
    require_haproxy()
    served = Replicas(local_config())

    def interrupted(self, haproxy):
        raise KeyboardInterrupt

    monkeypatch.setattr(Replicas, "_start_balancer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        served.start()
    assert len(served.replicas) == 2 and alive([r.pid for r in served.replicas]) == []
    assert not served.run_dir.exists()


def test_bachgen_serve_stops_everything_on_sigterm():
    require_haproxy()
    config = local_config()
    command = [sys.executable, "-m", "bachgen", "serve", "--port", str(config.port), "--host",
               "127.0.0.1", "--first-replica-port", str(config.first_replica_port)]
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        said = []
        while not said or "Ctrl-C stops everything" not in said[-1]:  # its lines until it serves
            said.append(process.stderr.readline())
            assert said[-1], "".join(said)
        assert is_healthy(config.url)
        children = [int(p) for p in Path(f"/proc/{process.pid}/task/{process.pid}/children")
                    .read_text().split()]
        started = sorted({pid for child in children for pid in group_members(child)})
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    lines = "".join(said + [stderr]).splitlines()
    assert lines[-1] == "bachgen: stopped" and all(line.startswith("bachgen: ") for line in lines)
    assert any(f"open {config.url}" in line for line in lines)
    assert len(started) >= 3 and alive(started) == []


# --------------------------------------------------------------------------- eight listeners


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    require_browser()
    return load_test_model(tmp_path_factory)


@pytest.fixture(scope="module")
def served(model_dir):
    require_haproxy()
    with Replicas(local_config(), env={"BACHGEN_MODEL_DIR": str(model_dir)},
                  log_dir=ARTIFACTS / "replicas") as running:
        yield running
        started = everything_of(running)  # the replicas' workers too, by now
    assert alive(started) == [], "processes left running after the replicas stopped"


def drawn_on(served: Replicas) -> dict[int, str]:
    """Seed -> the replica whose log holds that take's timing record (where it was drawn)."""
    found = {}
    for replica in served.replicas:
        found.update(dict.fromkeys(take_records(replica.log), replica.name))
    return found


@pytest.mark.slow
@pytest.mark.browser
def test_eight_sessions_through_the_balancer_stay_on_their_replica_and_get_their_own_music(
        served, model_dir):
    load_before = load_average()
    started = time.perf_counter()
    with CpuSampler([r.pid for r in served.replicas], balancer_pid=served.balancer.pid) as cpu:
        results = asyncio.run(drive_sessions(served.url, SEEDS))
    wall = time.perf_counter() - started
    load_after = load_average()
    assert all(p.process.poll() is None for p in served.processes), "a process died under load"
    memory = {r.name: [round(peak_rss_mb(r.pid) or 0.0),
                       round(sum(peak_rss_mb(pid) or 0.0 for pid in child_pids(r.pid)))]
              for r in served.replicas}

    pinned = {}
    for seed, result in zip(SEEDS, results):
        assert result["errors"] == 0, f"session with seed {seed} shows an error"
        assert result["player"] == result["midi"], f"the player of seed {seed} plays another file"
        pinned[seed] = result["cookies"].get(STICKY_COOKIE)
        assert pinned[seed] in served.config.replica_names, f"seed {seed}: no {STICKY_COOKIE} cookie"
        assert result["cookies_opened"].get(STICKY_COOKIE) == pinned[seed], f"seed {seed} moved"
    assert set(pinned.values()) == set(served.config.replica_names), "a replica served no session"
    for replica in served.replicas:  # each take was drawn on the replica its session is kept on
        wait_for_records(replica.log, [s for s in SEEDS if pinned[s] == replica.name])
    assert drawn_on(served) == pinned

    expected = expected_midi(model_dir, SEEDS)
    for seed, result in zip(SEEDS, results):
        assert notes_of(result["midi"]) == notes_of(expected[seed]), (
            f"the session with seed {seed} did not get the music of its own settings")
    assert len({r["midi"] for r in results}) == SESSIONS, "two sessions got the same piece"

    latencies = [r["latency"] for r in results]
    cpu_between = cpu.between(min(r["clicked_at"] for r in results), max(r["ready_at"] for r in results))
    figures = {
        "sessions": SESSIONS,
        "replicas": served.config.replicas,
        "sessions_per_replica": {name: list(pinned.values()).count(name)
                                 for name in served.config.replica_names},
        "paused_after_first_sound": PAUSE_AFTER_SOUND,
        "click_to_first_sound_p50_s": round(statistics.median(latencies), 2),
        "click_to_first_sound_p95_s": round(percentile(latencies, 0.95), 2),
        "click_to_first_sound_max_s": round(max(latencies), 2),
        "click_to_score_max_s": round(max(r["scored"] for r in results), 2),
        "cpu_s_first_click_to_last_sound": cpu_between,
        "peak_rss_mb_replica_and_its_workers": memory,
        "servers_cpu_s_per_take": round((cpu_between["server"] + cpu_between["workers"]) / SESSIONS, 3),
        "load_average_before_after": [load_before, load_after],
        "cores": os.cpu_count(),
        "wall_s": round(wall, 2),
        "model": "shipped" if shipped_model_dir() is not None else "tiny test bundle",
    }
    path = write_artifact_json("replicas.json", figures)
    print(f"\nreplicas load test ({path}): {figures}")
