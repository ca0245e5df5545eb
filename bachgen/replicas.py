"""The page on several servers: Streamlit replicas behind HAProxy, each browser kept on one.

A Streamlit server holds each listener's session in its own memory: the websocket the page
talks over, the takes' media files (``/media/...``) and the uploaded seed files. When the
listeners outgrow one server the page runs as several servers (*replicas*) behind a load
balancer that sends each new browser to the next replica in turn and keeps it there with a
cookie (``SERVERID``) set on its first answer; a browser that wandered to another replica
would find neither its session nor its media. The replicas share one cookie secret, so the
cookies Streamlit signs (its XSRF token) agree whichever replica signed them.

:class:`ReplicaConfig` says how many replicas and on which ports (checked where the values
come in); :func:`balancer_config` writes HAProxy's configuration for it (``deploy/haproxy.cfg``
is the one for the defaults; docs/serving.md explains each line); :class:`Replicas` starts
the replicas and the balancer, waits until each answers its health check, and stops them
all on the way out of its ``with`` block (Ctrl-C, an error, or SIGTERM / SIGHUP with
:func:`interrupted_by_signals`). ``bachgen serve`` and ``make serve`` run it.

The standard library only: the replicas are separate ``streamlit run app.py`` processes,
so this module imports neither Streamlit nor the page.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import check
from .errors import ConfigError, ServeError

if TYPE_CHECKING:  # annotations only (Python 3.10 has no typing.Self)
    from typing_extensions import Self

#: At most this many replicas on one machine (about one per core pays; more only share them).
MAX_REPLICAS = 16
#: The page's script, beside the package in a checkout (Streamlit runs a file, not a module).
APP = Path(__file__).resolve().parent.parent / "app.py"
#: Streamlit's health endpoint: ``ok`` once the server takes connections.
HEALTH_PATH = "/_stcore/health"
#: The cookie that keeps a browser on its replica; its value is the replica's name.
STICKY_COOKIE = "SERVERID"
#: A cookie secret chosen by the operator (the same on every machine of a deployment);
#: without it each run draws a new one.
SECRET_ENV = "BACHGEN_COOKIE_SECRET"
#: How a replica is given the secret: Streamlit reads ``server.cookieSecret`` from it, and
#: unlike a command-line option it is not shown to other users by ``ps``.
STREAMLIT_SECRET_ENV = "STREAMLIT_SERVER_COOKIE_SECRET"
#: Where Debian puts HAProxy: outside a user's PATH (only root's has the ``sbin`` folders).
SBIN_FOLDERS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
INSTALL_HAPROXY = "Install it: sudo apt-get install haproxy (make serve does this when run as root)."
#: Seconds a process is given to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class ReplicaConfig:
    """How the page is served on one machine: ``replicas`` Streamlit servers listening on
    ``replica_host`` at ``first_replica_port``, ``first_replica_port + 1``, ..., and the
    balancer listeners open, on ``host:port``.

    ``host`` 0.0.0.0 (the default) is every interface of the machine, as ``make run``;
    ``replica_host`` is 127.0.0.1 so that browsers reach the replicas only through the
    balancer, which keeps each on its own. Values out of range raise
    :class:`~bachgen.errors.ConfigError` here; whether the ports are free is checked when
    the replicas start (:func:`check_ports_free`).
    """

    replicas: int = 2
    port: int = 8501
    first_replica_port: int = 8511
    host: str = "0.0.0.0"
    replica_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        check(isinstance(self.replicas, int) and 1 <= self.replicas <= MAX_REPLICAS,
               f"replicas must be between 1 and {MAX_REPLICAS}, not {self.replicas}.",
               "Run about one replica per core (--replicas N).")
        check(1 <= self.port <= 65535, f"port must be between 1 and 65535, not {self.port}.")
        last = self.first_replica_port + self.replicas - 1
        check(1 <= self.first_replica_port and last <= 65535,
               f"The replicas' ports {self.first_replica_port}-{last} must lie between 1 and 65535.",
               "Choose another first replica port (--first-replica-port).")
        check(not self.first_replica_port <= self.port <= last,
               f"The balancer's port {self.port} is among the replicas' ports "
               f"{self.first_replica_port}-{last}.",
               "Give the replicas ports of their own (--first-replica-port).")
        for name in ("host", "replica_host"):
            value = getattr(self, name)
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise ConfigError(f"{name} must be an IPv4 address, not {value!r}.",
                                  "Use 0.0.0.0 (every interface) or 127.0.0.1 (this machine only).") from None

    @property
    def replica_ports(self) -> list[int]:
        """The replicas' ports, in order."""
        return [self.first_replica_port + i for i in range(self.replicas)]

    @property
    def replica_names(self) -> list[str]:
        """The replicas' names (``replica1``, ...): in the balancer's ``server`` lines, its
        logs and the value of a browser's ``SERVERID`` cookie."""
        return [f"replica{i + 1}" for i in range(self.replicas)]

    @property
    def url(self) -> str:
        """Where a browser on this machine opens the page."""
        return f"http://{local_address(self.host)}:{self.port}"


def local_address(host: str) -> str:
    """The address to reach ``host`` from this machine (a wildcard address is reached as
    127.0.0.1)."""
    return "127.0.0.1" if host == "0.0.0.0" else host


BALANCER_TEMPLATE = """\
# bachgen: {count} Streamlit replica(s) of the page behind HAProxy, each browser kept on one.
# Written by `bachgen serve --print-config` (bachgen.replicas.balancer_config); what each
# line is for: docs/serving.md. Check it with `haproxy -c -f haproxy.cfg`.

global
    # A replica going down or coming back is logged (standard output); requests are not.
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option redispatch
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout client-fin 30s
    # The page's websocket stays open while the page does; once upgraded it is a tunnel.
    timeout tunnel 1h

frontend page
    bind {host}:{port}
    default_backend replicas

backend replicas
    # A new browser goes to the next replica in turn and stays there: its session,
    # media files and uploads live in that replica's memory.
    balance roundrobin
    cookie {cookie} insert indirect nocache httponly
    # Only replicas whose health endpoint answers ok get browsers.
    option httpchk GET {health}
    http-check expect string ok
{servers}
"""


def balancer_config(config: ReplicaConfig) -> str:
    """HAProxy's configuration for ``config``: one frontend on ``host:port``, one backend of
    the replicas, round robin for new browsers, the ``SERVERID`` cookie for the rest, health
    checks on ``/_stcore/health`` (docs/serving.md, line by line)."""
    servers = "\n".join(f"    server {name} {config.replica_host}:{port} check cookie {name}"
                        for name, port in zip(config.replica_names, config.replica_ports))
    return BALANCER_TEMPLATE.format(count=config.replicas, host=config.host, port=config.port,
                                    cookie=STICKY_COOKIE, health=HEALTH_PATH, servers=servers)


def port_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host:port`` now, or ``None`` if it could (bound the
    way HAProxy and Streamlit bind: a port left in TIME_WAIT counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except PermissionError:
            return "needs root: ports below 1024 are the system's"
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"cannot be opened: {host} is no address of this machine"
            return "is already in use"
    return None


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (see :func:`port_problem`)."""
    return port_problem(host, port) is None


def check_ports_free(config: ReplicaConfig) -> None:
    """Refuse a port that is in use or cannot be opened, naming it and what to do."""
    wanted = [(config.host, config.port, "the balancer's port", "--port")]
    wanted += [(config.replica_host, port, f"{name}'s port", "--first-replica-port")
               for name, port in zip(config.replica_names, config.replica_ports)]
    for host, port, what, option in wanted:
        problem = port_problem(host, port)
        if problem == "is already in use":
            raise ConfigError(f"Port {port} ({what}) is already in use on {host}.",
                              f"Stop what listens there (ss -ltnp | grep :{port}) or choose "
                              f"another port ({option}).")
        if problem is not None:
            raise ConfigError(f"Port {port} ({what}) on {host} {problem}.",
                              f"Choose another port ({option}) or address.")


def find_haproxy(name: str = "haproxy") -> str:
    """The path of the HAProxy program (on the PATH, else in the ``sbin`` folders), or
    :class:`~bachgen.errors.ServeError` saying how to install it."""
    found = shutil.which(name)
    if found is None and os.sep not in name:
        found = shutil.which(name, path=os.pathsep.join(SBIN_FOLDERS))
    if found is None:
        raise ServeError("Serving several replicas needs HAProxy, and it is not installed "
                         f"({name} is not on the PATH).", INSTALL_HAPROXY)
    return found


def check_balancer_config(path: Path, haproxy: str = "haproxy") -> str:
    """Have HAProxy check the configuration file (``haproxy -c``); its warnings, if any.
    A configuration it refuses raises :class:`~bachgen.errors.ServeError` with its reason."""
    result = subprocess.run([find_haproxy(haproxy), "-c", "-f", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        reasons = [line for line in output.splitlines() if "ALERT" in line] or output.splitlines()[-1:]
        raise ServeError(f"HAProxy refuses the configuration {path}: {' / '.join(reasons)}",
                         "Check the options (bachgen serve --print-config shows the file).")
    return "\n".join(line for line in output.splitlines() if "WARNING" in line)


def cookie_secret() -> str:
    """The cookie secret every replica is given: ``$BACHGEN_COOKIE_SECRET`` (one secret for
    every machine of a deployment), else a new random one for this run."""
    return os.environ.get(SECRET_ENV) or secrets.token_hex(32)


def replica_command(app: Path, port: int, host: str, python: str = sys.executable) -> list[str]:
    """The command line of one replica: ``streamlit run app.py`` on ``host:port``, headless,
    without a file watcher (nothing to reload in service) or usage statistics."""
    return [python, "-m", "streamlit", "run", str(app), "--server.port", str(port),
            "--server.headless", "true", "--server.address", host,
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]


def is_healthy(base_url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``base_url`` answers Streamlit's health check with ``ok`` (straight, never
    through an HTTP proxy of the environment)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(base_url + HEALTH_PATH, timeout=timeout_s) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (OSError, urllib.error.URLError, http.client.HTTPException):
        return False


@dataclass
class Started:
    """One process :class:`Replicas` started: its name, the process (the leader of a process
    group of its own, which holds its workers too), its log file and the URL it serves."""

    name: str
    process: subprocess.Popen
    log: Path
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


def start_process(name: str, command: Sequence[str], log: Path, url: str, *,
                  cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Started:
    """Start ``command`` writing to ``log``, in a process group (and session) of its own:
    the terminal's Ctrl-C reaches only the runner, which then stops each process in turn,
    and the whole group (the process and its workers) can be ended at once."""
    with open(log, "wb") as out:
        process = subprocess.Popen(list(command), cwd=cwd, env=dict(env) if env is not None else None,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Started(name, process, log, url)


def wait_until_healthy(started: Started, deadline: float) -> None:
    """Wait until ``started`` answers its health check; :class:`~bachgen.errors.ServeError`
    when it exits first or ``deadline`` (a ``time.monotonic`` time) passes."""
    while not is_healthy(started.url):
        code = started.process.poll()
        if code is not None:
            raise ServeError(f"{started.name} exited with status {code} before it answered.",
                             f"See its log: {started.log}")
        if time.monotonic() > deadline:
            raise ServeError(f"{started.name} did not answer {started.url}{HEALTH_PATH} in time.",
                             f"See its log: {started.log}")
        time.sleep(0.1)


def process_stats() -> Iterator[tuple[int, list[str]]]:
    """Each process's pid and the fields of its ``/proc/PID/stat`` after its name (state,
    parent, process group, ...); processes gone while read are skipped."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        yield int(entry.name), stat[stat.rfind(")") + 2:].split()


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``, read from ``/proc``."""
    return [pid for pid, fields in process_stats()
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z"]


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to every process of group ``pgid`` (nothing if it is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def end_group(started: Started, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Stop a started process and its workers: SIGTERM to its group, then SIGKILL to what is
    left after ``timeout_s``; returns once none of them runs."""
    pgid = started.pid
    if started.process.poll() is not None and not group_members(pgid):
        return  # gone already, workers too (its group id may be another's by now)
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    try:
        started.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        signal_group(pgid, signal.SIGKILL)
        started.process.wait(timeout=5)
    while group_members(pgid):
        if time.monotonic() > deadline:
            signal_group(pgid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.05)


@contextlib.contextmanager
def interrupted_by_signals(signums: Sequence[int] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`KeyboardInterrupt` as Ctrl-C does,
    so a service manager's stop or a closed terminal unwinds ``with Replicas(...)`` and
    everything is stopped. Only the main thread can take signals; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, interrupt) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ignore Ctrl-C, SIGTERM and SIGHUP in the block (a second Ctrl-C must not cut the
    stopping short and leave processes behind); a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Replicas:
    """The page served by ``config.replicas`` Streamlit servers behind HAProxy, as a context
    manager: ``with Replicas(config) as served: ... served.url ...``.

    Starting checks the ports and HAProxy, starts every replica with the same cookie secret
    (:func:`cookie_secret`), waits until each answers its health check, writes the
    balancer's configuration (:func:`balancer_config`) into a temporary folder, has HAProxy
    check it, starts HAProxy and waits until the page answers through it. Leaving the block
    (normally, by an error or by Ctrl-C) stops the balancer, then the replicas and their
    workers. The logs (``replica1.log``, ..., ``balancer.log``) go to ``log_dir``, or into
    the temporary folder, which is removed on a clean stop and kept when a process failed
    (its log is named in the error). ``env`` is added to this process's environment for the
    replicas (e.g. ``BACHGEN_MODEL_DIR``); ``progress`` is called with a line at each stage.
    """

    def __init__(self, config: ReplicaConfig | None = None, *, env: Mapping[str, str] | None = None,
                 log_dir: Path | str | None = None, app: Path = APP, python: str = sys.executable,
                 haproxy: str = "haproxy", start_timeout_s: float = 180.0,
                 progress: Callable[[str], None] | None = None) -> None:
        self.config = config or ReplicaConfig()
        self._env, self._app, self._python, self._haproxy = dict(env or {}), Path(app), python, haproxy
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._timeout_s, self._progress = start_timeout_s, progress or (lambda line: None)
        self.replicas: list[Started] = []
        self.balancer: Started | None = None
        self.run_dir: Path | None = None
        self._failed = self._stopped = False

    @property
    def url(self) -> str:
        """Where a browser on this machine opens the page (through the balancer)."""
        return self.config.url

    @property
    def log_dir(self) -> Path | None:
        """The folder of the logs (``None`` before starting)."""
        return self._log_dir or self.run_dir

    @property
    def processes(self) -> list[Started]:
        """What runs: the replicas, then the balancer."""
        return [*self.replicas, *([self.balancer] if self.balancer else [])]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Self:
        """Start the replicas and the balancer; returns once the page answers through the
        balancer. Anything that fails stops what was started and raises a
        :class:`~bachgen.errors.BachgenError` saying what and what to do."""
        config = self.config
        check_ports_free(config)
        haproxy = find_haproxy(self._haproxy)
        if not self._app.is_file():
            raise ServeError(f"The page's script {self._app} is not there.",
                             "Run bachgen serve from a checkout of bachgen (app.py beside the package).")
        self.run_dir = Path(tempfile.mkdtemp(prefix="bachgen-serve-"))
        try:
            self._start_replicas()
            self._start_balancer(haproxy)
        except BaseException as exc:
            self._failed = isinstance(exc, ServeError)  # keep its logs; not for Ctrl-C
            self.stop()
            raise
        return self

    def _start_replicas(self) -> None:
        """Every replica at once (each takes seconds to import), then wait for each."""
        config, logs = self.config, self.log_dir
        assert logs is not None
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self._env, STREAMLIT_SECRET_ENV: cookie_secret()}
        self._progress(f"starting {config.replicas} replica(s) on {config.replica_host}, ports "
                       f"{config.replica_ports[0]}-{config.replica_ports[-1]}")
        for name, port in zip(config.replica_names, config.replica_ports):
            command = replica_command(self._app, port, config.replica_host, self._python)
            self.replicas.append(start_process(name, command, logs / f"{name}.log",
                                               f"http://{config.replica_host}:{port}",
                                               cwd=self._app.parent, env=env))
        deadline = time.monotonic() + self._timeout_s
        for replica in self.replicas:
            wait_until_healthy(replica, deadline)

    def _start_balancer(self, haproxy: str) -> None:
        """Write and check the balancer's configuration, start HAProxy in the foreground
        (``-db``: no daemon, so it is this runner's to stop) and wait for the page through it."""
        assert self.run_dir is not None and self.log_dir is not None
        path = self.run_dir / "haproxy.cfg"
        path.write_text(balancer_config(self.config))
        check_balancer_config(path, haproxy)
        self._progress(f"starting the balancer (HAProxy) on {self.config.host}:{self.config.port}")
        self.balancer = start_process("the balancer (HAProxy)", [haproxy, "-db", "-f", str(path)],
                                      self.log_dir / "balancer.log", self.url)
        wait_until_healthy(self.balancer, time.monotonic() + self._timeout_s)

    def wait(self, poll_s: float = 0.5) -> None:
        """Serve until a process stops by itself: then raise
        :class:`~bachgen.errors.ServeError` naming it and its log (kept). Ctrl-C (or a
        signal under :func:`interrupted_by_signals`) ends the wait with KeyboardInterrupt."""
        while True:
            for started in self.processes:
                code = started.process.poll()
                if code is not None:
                    self._failed = True
                    raise ServeError(f"{started.name} stopped by itself (status {code}); "
                                     "everything is stopped.", f"See its log: {started.log}")
            time.sleep(poll_s)

    def stop(self) -> None:
        """Stop the balancer first (no new requests), then every replica with its workers;
        remove the temporary folder unless a process failed (its log may be there). Does
        nothing the second time."""
        if self._stopped:
            return
        with signals_held():
            if self.balancer is not None:
                end_group(self.balancer)
            for replica in self.replicas:
                if replica.process.poll() is None:
                    signal_group(replica.pid, signal.SIGTERM)  # all at once: each takes a moment
            for replica in self.replicas:
                end_group(replica)
            self._stopped = True
            if self.run_dir is not None and not self._failed:
                shutil.rmtree(self.run_dir, ignore_errors=True)
