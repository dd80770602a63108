"""SharedRun.catch_up's gate: a bound on how many reruns of one server train at once."""

import dataclasses
import math
import threading

from fitcore import FitConfig
from fitcore.player import SharedRun

HANG_GUARD_S = 600.0  # only stops a hung thread from hanging the suite; claims no speed


def quick(**changes):
    return dataclasses.replace(FitConfig(), **{"steps": 300, "every": 50, **changes})


class Gate:
    """A context manager that records who held it, and whether frames were trained inside."""

    def __init__(self, run: SharedRun) -> None:
        self.run = run
        self.entered = 0
        self.held = False
        self.frames_at_entry: list[int] = []

    def __enter__(self):
        self.entered += 1
        self.held = True
        self.frames_at_entry.append(len(self.run.frames))
        return self

    def __exit__(self, *exc):
        self.held = False
        return False


def test_training_past_the_computed_frames_holds_the_gate_once():
    run = SharedRun(quick())
    gate = Gate(run)
    frame = run.catch_up(-1, budget=math.inf, gate=gate)
    assert frame is not None and frame.step == 300
    assert gate.entered == 1 and not gate.held  # entered once, left on return
    assert gate.frames_at_entry == [0]  # before the first frame was trained


def test_replaying_computed_frames_never_waits_for_the_gate():
    run = SharedRun(quick())
    run.catch_up(-1, budget=math.inf)  # the teacher computed the whole run
    gate = Gate(run)
    frame = run.catch_up(-1, budget=math.inf, gate=gate)
    assert frame is not None and frame.step == 300
    assert gate.entered == 0


def test_the_gate_is_entered_only_when_a_replay_reaches_new_frames():
    run = SharedRun(quick())
    run.catch_up(-1, budget=math.inf, limit=3)  # steps 0, 50, 100 computed
    gate = Gate(run)
    run.catch_up(-1, budget=math.inf, gate=gate)
    assert gate.entered == 1
    assert gate.frames_at_entry == [3]  # the replayed frames came first, outside the gate


def test_a_bound_of_one_lets_one_trainer_in_at_a_time():
    runs = [SharedRun(quick(seed=s)) for s in range(4)]
    gate = threading.BoundedSemaphore(1)
    inside, most, lock = [0], [0], threading.Lock()

    def between() -> None:  # called between frames, while the caller holds the gate
        with lock:
            most[0] = max(most[0], inside[0])

    def student(run: SharedRun) -> None:
        class Counted:
            def __enter__(self):
                gate.acquire()
                with lock:
                    inside[0] += 1

            def __exit__(self, *exc):
                with lock:
                    inside[0] -= 1
                gate.release()

        while (
            frame := run.catch_up(
                -1 if not run.frames else run.frames[-1].step,
                budget=math.inf,
                limit=2,
                between=between,
                gate=Counted(),
            )
        ) is not None:
            if run.is_last(frame.step):
                break

    threads = [threading.Thread(target=student, args=(run,)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=HANG_GUARD_S)
        assert not t.is_alive(), "hang guard, not a speed claim"
    assert most[0] == 1
    assert all(run.frames[-1].step == 300 for run in runs)
