"""Helpers for the browser tests: a real Streamlit server and a real Chromium.

The server is ``streamlit run app.py`` on 127.0.0.1 and a free port; it is ready when
``/_stcore/health`` answers ``ok``. Chromium is the system one (``/usr/bin/chromium``),
driven by Playwright without downloading a browser of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("BACHGEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
#: Generous sanity bound for one generation in the browser (not a performance target).
GENERATE_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        return _peak_rss_mb(self.pid)

    def children_peak_rss_mb(self) -> float:
        """Sum of the peaks of the server's child processes (the score worker), in MB."""
        return sum(_peak_rss_mb(pid) or 0.0 for pid in _children(self.pid))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


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


def is_wav(data: bytes) -> bool:
    return len(data) > 44 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
