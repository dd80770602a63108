"""TurnGate: the page's frame gate, first come, first served, and what a queued page may do."""

import threading
import time
from types import SimpleNamespace

import pytest

from fitcore.player import TurnGate
from ui import live

HANG_GUARD_S = 60.0  # only stops a hung thread from hanging the suite; claims no speed


def wait_until(condition) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "hang guard, not a speed claim"
        time.sleep(0.001)


def queue_in_order(gate: TurnGate, names: list[str], entered: list[str]) -> list[threading.Thread]:
    """One thread per name, each queued behind the one before it (the gate is held)."""
    threads = []
    for name in names:
        before = gate.waiting

        def take(name=name) -> None:
            with gate.turn():
                entered.append(name)

        thread = threading.Thread(target=take)
        thread.start()
        wait_until(lambda before=before: gate.waiting == before + 1)
        threads.append(thread)
    return threads


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=HANG_GUARD_S)
        assert not thread.is_alive(), "hang guard, not a speed claim"


def test_waiters_are_let_in_in_the_order_they_came():
    gate = TurnGate(1)
    entered: list[str] = []
    with gate.turn():
        threads = queue_in_order(gate, ["a", "b", "c", "d"], entered)
        assert entered == []  # the one slot is held
    join(threads)
    assert entered == ["a", "b", "c", "d"]


def test_a_newcomer_does_not_pass_the_queue():
    """A thread arriving as a slot frees waits behind those already queued."""
    gate = TurnGate(1)
    entered: list[str] = []
    holder = gate.turn()
    holder.__enter__()
    threads = queue_in_order(gate, ["queued"], entered)
    holder.__exit__(None, None, None)  # handed straight to "queued", not left free
    with gate.turn():
        entered.append("newcomer")
    join(threads)
    assert entered == ["queued", "newcomer"]


def test_no_more_than_its_slots_hold_it_at_once():
    gate = TurnGate(2)
    inside, most, lock = [0], [0], threading.Lock()

    def student() -> None:
        for _ in range(20):
            with gate.turn():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.001)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=student) for _ in range(6)]
    for thread in threads:
        thread.start()
    join(threads)
    assert most[0] == 2


class Paused(Exception):
    """Stands in for Streamlit's RerunException: the page's Pause stops a queued rerun."""


def test_a_waiter_stopped_while_queued_leaves_the_queue():
    gate = TurnGate(1)
    stopped: list[BaseException] = []

    def paused_page() -> None:
        def between() -> None:
            raise Paused

        try:
            with gate.turn(between=between, poll=0.001):
                pytest.fail("a stopped waiter never holds the gate")
        except Paused as stop:
            stopped.append(stop)

    with gate.turn():
        thread = threading.Thread(target=paused_page)
        thread.start()
        join([thread])
        assert stopped and gate.waiting == 0
    with gate.turn():  # the slot came back: nothing leaked to the stopped waiter
        pass


def test_a_slot_handed_to_a_waiter_as_it_stops_goes_on_to_the_next():
    """The holder hands its slot over just before the waiter's Pause arrives."""
    gate = TurnGate(1)
    holder = gate.turn()
    holder.__enter__()
    entered: list[str] = []

    def between() -> None:
        holder.__exit__(None, None, None)  # the slot is handed to this waiter...
        raise Paused  # ...which stops before it could use it

    def paused_page() -> None:
        with pytest.raises(Paused), gate.turn(between=between, poll=0.001):
            entered.append("paused")

    thread = threading.Thread(target=paused_page)
    thread.start()
    join([thread])
    with gate.turn():  # would wait for ever had the handed slot been lost
        entered.append("next")
    assert entered == ["next"] and gate.waiting == 0


def test_a_gate_needs_a_slot():
    with pytest.raises(ValueError, match="at least one slot"):
        TurnGate(0)


def test_a_crowd_trains_less_per_turn_so_turns_come_round_sooner():
    alone = live.budget(SimpleNamespace(waiting=0, slots=2))
    assert alone == live.MAX_BUDGET  # one student: the full budget, as bench/page.py measures
    budgets = [live.budget(SimpleNamespace(waiting=w, slots=2)) for w in range(0, 60, 2)]
    assert budgets == sorted(budgets, reverse=True)
    # twenty students: the other 18 queue; each waits about nine turns of both slots
    crowd = live.budget(SimpleNamespace(waiting=18, slots=2))
    assert crowd < alone and (1 + 18 / 2) * crowd == pytest.approx(live.CROWD_ROUND_S)
    assert min(budgets) == live.MIN_BUDGET  # a big crowd still trains something each turn
