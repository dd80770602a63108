"""SharedRun: frames computed once and shared, safe across threads, bounded in memory."""

import dataclasses
import math
import threading
import time

import pandas as pd
import pytest

from fitcore import PRESETS, FitConfig, train_iter
from fitcore.player import MAX_FRAMES, MAX_HISTORY, SharedRun, make_scene

# A join's deadline: it only stops a hung thread from hanging the suite, it claims no speed.
HANG_GUARD_S = 600.0


def quick(**changes):
    return dataclasses.replace(FitConfig(), **{"steps": 300, "every": 50, **changes})


def joined(thread: threading.Thread) -> None:
    thread.join(timeout=HANG_GUARD_S)
    assert not thread.is_alive(), f"hang guard, not a speed claim: {HANG_GUARD_S:.0f} s passed"


def test_frames_are_train_iters_snapshots():
    cfg = quick()
    run = SharedRun(cfg)
    step, got = -1, []
    while (frame := run.after(step)) is not None:
        got.append((frame.step, frame.train_loss))
        step = frame.step
    assert got == [(s.step, s.train_loss) for s in train_iter(cfg)]
    assert run.done


def test_nothing_is_computed_until_pulled():
    run = SharedRun(quick())
    assert run.frames == [] and not run.done
    run.after(-1)
    assert [f.step for f in run.frames] == [0]


def test_catch_up_spends_its_budget_and_returns_the_newest_frame():
    run = SharedRun(quick(steps=2000, every=10))
    assert run.catch_up(-1, budget=0.0).step == 0  # no budget: just the next frame
    frame = run.catch_up(0, budget=math.inf)  # no time limit: all of it
    assert frame.step == 2000 and run.done


def test_threads_pulling_at_once_see_one_consistent_run():
    cfg = quick(steps=400, every=10)
    run = SharedRun(cfg)
    seen, errors = [[] for _ in range(6)], []

    def watch(out):
        try:
            step = -1
            while (frame := run.after(step)) is not None:
                out.append((frame.step, frame.train_loss))
                step = frame.step
        except Exception as e:  # noqa: BLE001 - any error is the failure being tested for
            errors.append(e)

    threads = [threading.Thread(target=watch, args=(out,)) for out in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [(s.step, s.train_loss) for s in train_iter(cfg)]
    assert errors == [] and all(out == expected for out in seen)


def test_frames_are_thinned_past_the_cap_keeping_first_and_last():
    run = SharedRun(quick(steps=3000, every=5))
    run.catch_up(-1, budget=math.inf)
    steps = [f.step for f in run.frames]
    assert len(steps) <= MAX_FRAMES and steps[0] == 0 and steps[-1] == 3000
    assert steps == sorted(steps)


def test_history_keeps_every_step_but_hands_charts_a_bounded_table():
    run = SharedRun(quick(steps=6000, every=2, model="linear"))
    run.catch_up(-1, budget=math.inf)
    history = run.history(6000)
    assert list(history.columns) == ["step", "series", "loss"]
    assert len(history) <= MAX_HISTORY + 1 and history["step"].iloc[-1] == 6000
    assert history["step"].iloc[0] == 0


def test_history_has_test_loss_only_with_a_split():
    run = SharedRun(quick(test_fraction=0.2))
    run.after(-1)
    assert set(run.history(0)["series"]) == {"train", "test"}


def test_divergence_ends_the_run():
    run = SharedRun(FitConfig(dataset="linear", noise=0.5, lr=10.0, steps=500, every=100))
    frame = run.catch_up(-1, budget=math.inf)  # the diverged frame ends it, not the budget
    assert frame.diverged and run.done and run.after(frame.step) is None


def test_scene_matches_the_runs_data_and_reference():
    cfg = dataclasses.replace(PRESETS["blog-linear"], model="linear", test_fraction=0.25)
    scene = make_scene(cfg)
    assert scene.points["split"].value_counts().to_dict() == {"train": 150, "test": 50}
    assert scene.reference_loss is not None and scene.reference_params.keys() == {"w", "b"}
    lo, hi = scene.y_domain
    assert lo < scene.points["y"].min() and hi > scene.points["y"].max()
    assert scene.truth is not None and scene.truth["y"].iloc[0] == 2 * scene.truth["x"].iloc[0] + 5


def test_scene_of_uploaded_points_is_in_their_units_without_a_true_function():
    points = pd.DataFrame({"x": [10.0, 20.0, 30.0, 40.0], "y": [1.0, 3.0, 2.0, 5.0]})
    scene = make_scene(FitConfig(dataset="csv", model="linear"), points)
    assert scene.truth is None
    assert sorted(scene.points["x"]) == [10.0, 20.0, 30.0, 40.0]
    assert scene.x_domain[0] < 10 and scene.x_domain[1] > 40


def test_prefetch_computes_the_next_frame_on_another_thread_and_only_that():
    run = SharedRun(quick(steps=300, every=50))
    thread = run.prefetch(-1)
    assert thread is not None and thread is not threading.current_thread()
    joined(thread)
    assert [f.step for f in run.frames] == [0]  # one frame, not the run
    assert run.prefetch(-1) is None  # already known: nothing started
    joined(run.prefetch(0))
    assert [f.step for f in run.frames] == [0, 50]
    # the frames are the same as pulled in the foreground
    assert [f.train_loss for f in run.frames] == [
        s.train_loss for s in list(train_iter(quick(steps=300, every=50)))[:2]
    ]


def test_prefetch_starts_nothing_once_the_run_has_ended():
    run = SharedRun(quick(steps=100, every=50))
    run.catch_up(-1, budget=math.inf)
    assert run.done and run.prefetch(100) is None


def test_an_error_in_training_fails_every_later_pull_even_from_a_prefetch_thread():
    run = SharedRun(quick())
    run.after(-1)

    def broken():
        yield from ()
        raise ValueError("boom")

    run._it = broken()  # training that raises, as a bug in a generator would
    joined(run.prefetch(0))  # the thread swallows it; the run keeps it
    for _ in range(2):
        with pytest.raises(RuntimeError, match="training stopped") as caught:
            run.after(0)
        assert isinstance(caught.value.__cause__, ValueError)
    assert run.after(-1).step == 0  # frames computed before the error are still there


def _watch_at_max(run: SharedRun, budget: float, limit: int | None = None) -> list[int]:
    """The steps a page playing at max shows, one catch_up per rerun, from step 0 to the end."""
    shown = [run.first().step]
    while (frame := run.catch_up(shown[-1], budget, limit)) is not None:
        shown.append(frame.step)
    return shown


def test_a_computed_run_replays_at_the_pace_it_was_computed():
    # the second student on a teacher's link: before, catch_up walked every computed frame
    # in one rerun and the run jumped from step 0 to its end
    cfg = quick(steps=2000, every=20)
    teacher = SharedRun(cfg)
    teacher.first()  # step 0 (data, model, torch's first call) is not replayed
    began = time.perf_counter()
    teacher.catch_up(0, budget=math.inf)  # computed, and each frame's cost recorded
    budget = (time.perf_counter() - began) / 20  # a twentieth of the run, on any machine
    replay = _watch_at_max(teacher, budget)
    assert replay[0] == 0 and replay[-1] == 2000 and len(replay) > 10  # ~20 reruns, no jump
    # a run watched while it is computed, and watched again: the same frames, rerun by rerun
    run = SharedRun(cfg)
    first = _watch_at_max(run, budget)
    assert _watch_at_max(run, budget) == first


def test_catch_up_never_passes_its_frame_limit():
    run = SharedRun(PRESETS["blog-quadratic"])
    shown = _watch_at_max(run, budget=math.inf, limit=4)
    # 51 frames 100 steps apart; no time limit, so each rerun goes exactly 4 frames on
    assert shown == [*range(0, 5000, 400), 5000]
    assert _watch_at_max(run, budget=math.inf, limit=4) == shown  # the same when replayed


def test_frame_at_is_the_newest_frame_at_or_before_a_step():
    run = SharedRun(quick())
    run.catch_up(-1, budget=math.inf)
    assert run.frame_at(120).step == 100 and run.frame_at(0).step == 0
    assert run.frame_at(10_000).step == 300
    assert run.is_last(300) and not run.is_last(250)


def test_a_diverged_run_keeps_its_blow_up_and_its_last_good_fit():
    cfg = FitConfig(dataset="linear", noise=0.5, steps=100, every=20, lr=10.0)
    run = SharedRun(cfg)
    end = run.catch_up(-1, budget=math.inf)
    assert end.diverged and 0 < end.step < 20
    history = run.history(end.step)
    # every update up to the divergence, not just the step-0 dot
    assert history["step"].tolist() == list(range(end.step))
    assert history["loss"].is_monotonic_increasing and history["loss"].iloc[-1] > 1e20
    shown = run.last_good(end.step)
    assert shown.step == 0 and shown.curve["y_hat"].notna().all()


def test_the_last_good_fit_is_not_a_blown_up_one():
    cfg = FitConfig(dataset="linear", noise=0.5, model="linear", steps=300, every=10, lr=10.0)
    run = SharedRun(cfg)
    end = run.catch_up(-1, budget=math.inf)
    assert end.diverged
    blown = [f for f in run.frames if not f.diverged and f.step > 0]
    assert blown and all(abs(f.params["w"]) > 1e6 for f in blown[-1:])  # finite, but no fit
    shown = run.last_good(end.step)
    assert shown.train_loss <= run.first().train_loss and abs(shown.params["w"]) < 100


def test_catch_up_can_be_stopped_between_frames():
    # the page lets Streamlit raise its rerun here when a Pause arrives mid-training
    run = SharedRun(quick(steps=2000, every=10))
    calls = []

    def between():
        calls.append(len(run.frames))
        if len(calls) == 3:
            raise KeyboardInterrupt  # any exception: what Streamlit raises is internal

    with pytest.raises(KeyboardInterrupt):
        run.catch_up(-1, budget=math.inf, between=between)
    assert calls == [1, 2, 3] and [f.step for f in run.frames] == [0, 10, 20]
    assert run.after(20).step == 30  # the run goes on from where it was stopped
