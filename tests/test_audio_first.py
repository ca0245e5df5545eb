"""The server's audio-first rule: work that comes after a take's audio waits while other
takes still wait for theirs (:class:`bachgen.serving.AudioFirst`).

The gate's clock is a fake one that moves only when the gate sleeps, so the waits are
exact and the tests take no time."""

from __future__ import annotations

import types

import pytest

from bachgen import serving
from bachgen.serving import AudioFirst


class FakeClock:
    """``perf_counter``, ``monotonic`` and ``sleep`` of a clock that only ``sleep`` moves;
    ``at(t, action)`` runs ``action`` once the clock reaches ``t``."""

    def __init__(self) -> None:
        self.now, self.slept, self._due = 0.0, 0, []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += 1
        for due in [d for d in self._due if d[0] <= self.now]:
            self._due.remove(due)
            due[1]()

    def at(self, when: float, action) -> None:
        self._due.append((when, action))


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(serving, "time", types.SimpleNamespace(
        perf_counter=fake.time, monotonic=fake.time, sleep=fake.sleep))
    return fake


def test_nothing_held_means_no_wait(clock):
    gate = AudioFirst(longest_wait_s=5.0)
    assert not gate.busy()
    assert gate.wait() == 0.0 and clock.slept == 0


def test_after_audio_work_waits_until_the_other_take_has_its_audio(clock):
    gate = AudioFirst(longest_wait_s=5.0)
    mine, other = gate.hold(), gate.hold()
    gate.release(mine)  # my audio is on the page; the other take has none yet
    clock.at(0.3, lambda: gate.release(other))
    waited = gate.wait()
    assert 0.3 <= waited < 0.4 and not gate.busy()  # up to the sleep after the release, not the bound


def test_the_wait_is_bounded(clock):
    gate = AudioFirst(longest_wait_s=0.3)
    gate.hold()
    assert 0.3 <= gate.wait() < 0.4
    assert gate.busy()  # it gave up waiting: the other take still has no audio


def test_a_ticket_of_a_session_that_went_away_lapses(clock):
    gate = AudioFirst(longest_wait_s=5.0, hold_expires_s=0.2)
    gate.hold()
    assert gate.busy()
    clock.sleep(0.25)
    assert not gate.busy() and gate.wait() == 0.0


def test_releasing_twice_or_an_unknown_ticket_is_harmless():
    gate = AudioFirst()
    ticket = gate.hold()
    gate.release(ticket)
    gate.release(ticket)
    gate.release(None)
    assert not gate.busy()
