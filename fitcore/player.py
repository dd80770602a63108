"""SharedRun: one config's snapshots, computed on demand and shared by every session watching it.

Runs are deterministic, so thirty students on the teacher's link need the snapshots computed once.
Each session keeps only its own cursor (the step it shows) and pulls frames from the shared run;
training advances only when some session pulls past what is computed, so a closed tab costs nothing.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from fitcore.config import FitConfig
from fitcore.data import Data, generate, is_generated, make_data
from fitcore.reference import least_squares, reference_params
from fitcore.train import Snapshot, prepare, train_iter

MAX_FRAMES = 200  # snapshots kept per run; past this the older ones are thinned evenly
MAX_HISTORY = 1000  # loss points handed to a chart; the full history stays (one row a snapshot)
MAX_UNIT_CURVES = 32  # hidden-unit curves kept per frame (more is clutter, and memory)


class SharedRun:
    """The frames of train_iter(cfg, points), safe to pull from several threads at once."""

    def __init__(self, cfg: FitConfig, points: pd.DataFrame | None = None):
        self.cfg = cfg
        self.points = points  # uploaded or edited points, None for generated data
        data, g = prepare(cfg, points)  # made once: the scene draws the points training sees
        self._it: Iterator[Snapshot] | None = train_iter(cfg, units=True, prepared=(data, g))
        # One lock guards the generator: a widget change starts a new script thread before the
        # old one stops, and two threads calling next() on one generator raise ValueError.
        self._lock = threading.Lock()
        self._frames: list[Snapshot] = []  # replaced, never mutated, so readers need no lock
        self._error: Exception | None = None  # what training raised, if it did
        self._history: list[tuple[int, float, float | None]] = []  # (step, train, test), all
        # Seconds of training spent up to each snapshot (step -> seconds): a replay of frames
        # already computed is paced by what they cost the first time.
        self._clock: list[tuple[int, float]] = []  # (step, seconds), one per snapshot
        self._spent = 0.0
        self.scene = make_scene(cfg, points, data)

    @property
    def done(self) -> bool:
        """True once the run has produced its last snapshot (the end, or divergence)."""
        return self._it is None

    @property
    def frames(self) -> list[Snapshot]:
        """The computed frames in step order (older ones thinned past MAX_FRAMES)."""
        return self._frames

    def best_step(self, until: int) -> int | None:
        """The step of the lowest test loss up to step `until` (the first if tied), where early
        stopping would have kept the model; None without a test split."""
        rows = self._history
        n = bisect.bisect_right(rows, until, key=lambda row: row[0])
        test = np.array([rows[i][2] for i in range(n)], dtype=float)
        test[~np.isfinite(test)] = np.inf
        if not n or not np.isfinite(test).any():
            return None
        return int(rows[int(np.argmin(test))][0])

    def history(self, until: int) -> pd.DataFrame:
        """Loss history up to step `until`: columns step, series ('train' | 'test'), loss.

        Every train row, then every test row (none without a test split); at most MAX_HISTORY
        steps, evenly thinned, always keeping the first and the last. Built with numpy: the
        page asks for it every frame.
        """
        rows = self._history  # only ever appended to, in step order
        n = bisect.bisect_right(rows, until, key=lambda row: row[0])
        picked: Sequence[int] = range(n)
        if n > MAX_HISTORY:
            stride = -(-n // MAX_HISTORY)
            picked = [*range(0, n - 1, stride), n - 1]
        table = np.array([rows[i] for i in picked], dtype=float).reshape(-1, 3)
        series = ["train"] if np.isnan(table[:, 2]).all() else ["train", "test"]
        k = len(table)
        loss = table[:, 1 : 1 + len(series)].T.reshape(-1)
        keep = np.isfinite(loss)  # no test loss on a trail row; no inf on a log axis
        return pd.DataFrame(
            {
                "step": np.tile(table[:, 0].astype(np.int64), len(series))[keep],
                "series": np.repeat(series, k)[keep],
                "loss": loss[keep],
            }
        )

    def first(self) -> Snapshot:
        """The step-0 snapshot (the untrained model); every run has one."""
        first = self.after(-1)
        assert first is not None  # train_iter always yields step 0
        return first

    def frame_at(self, step: int) -> Snapshot:
        """The frame for `step`: the newest at or before it (frames may have been thinned)."""
        best = self.first()
        for frame in self._frames:
            if frame.step > step:
                break
            best = frame
        return best

    def is_last(self, step: int) -> bool:
        """True when `step` is at or past the run's last frame (its end, or its divergence).

        Known as soon as that frame is computed, before the run is pulled past it.
        """
        if not self._frames or step < self._frames[-1].step:
            return False
        last = self._frames[-1]
        return self.done or last.diverged or last.step >= self.cfg.steps

    def last_good(self, step: int) -> Snapshot:
        """The frame to show for `step`: itself, or for a diverged one the last good fit.

        The last good fit is the newest frame before the divergence whose loss is finite and
        not above the starting loss (a blown-up fit with finite loss is no fit to show).
        """
        frame = self.frame_at(step)
        if not frame.diverged:
            return frame
        start = self.first().train_loss
        good = [
            f
            for f in self._frames
            if not f.diverged and math.isfinite(f.train_loss) and f.train_loss <= start
        ]
        return good[-1] if good else self.first()

    def after(self, step: int) -> Snapshot | None:
        """The first frame past `step`, computing it if needed; None when the run has ended.

        Raises RuntimeError past the last frame when training itself raised (here or on a
        prefetch thread), rather than looking like a run that ended.
        """
        found = self._find_after(step)
        if found is None and self._error is not None:
            raise RuntimeError("training stopped with an error") from self._error
        if found is not None or self.done:
            return found
        with self._lock:
            found = self._find_after(step)  # another session may have computed it meanwhile
            while found is None and self._it is not None:
                found = self._advance()
            return found

    def prefetch(self, step: int) -> threading.Thread | None:
        """Start computing the frame after `step` on a thread of its own; None if not needed.

        A page playing frame by frame calls it after drawing `step`, so that the next rerun
        finds its frame ready and only draws: the training happens while the browser renders
        and the timer waits, not inside the rerun. One snapshot at most, so a closed tab leaves
        no work behind. Not started when that frame is known, the run has ended, or another
        thread is already computing.
        """
        if self.done or self._find_after(step) is not None or self._lock.locked():
            return None
        thread = threading.Thread(target=self._prefetch, args=(step,), daemon=True)
        thread.start()
        return thread

    def _prefetch(self, step: int) -> None:
        # A new thread starts with one OpenMP thread per core: 4x slower for this network when
        # the other core is busy (torch keeps the count per OS thread).
        torch.set_num_threads(1)
        with contextlib.suppress(Exception):  # kept in _error: the page's next pull reports it
            self.after(step)

    def catch_up(
        self,
        step: int,
        budget: float,
        limit: int | None = None,
        *,
        between: Callable[[], object] | None = None,
    ) -> Snapshot | None:
        """The newest frame within `budget` seconds of training past `step`, and `limit` frames.

        Always at least the next frame. Frames computed earlier are charged what they cost
        to compute then, so a second student on a computed run watches it at the pace of the
        first run instead of jumping to the end; new frames are charged their real cost.
        `between` is called after each frame, outside the lock (the page uses it to let
        Streamlit stop the rerun when a Pause arrives). None when the run has ended.
        How many pages may catch up at once is the page's frame gate (a TurnGate).
        """
        start = self._clock_at(step)
        latest = self.after(step)
        count = 1
        while latest is not None and not latest.diverged and (limit is None or count < limit):
            if self._clock_at(latest.step) - start >= budget:
                break
            if between is not None:
                between()
            nxt = self.after(latest.step)
            if nxt is None:
                break
            latest, count = nxt, count + 1
        return latest

    def _clock_at(self, step: int) -> float:
        """Training seconds spent up to the newest snapshot at or before `step` (0 before any)."""
        i = bisect.bisect_right(self._clock, step, key=lambda row: row[0])
        return self._clock[i - 1][1] if i else 0.0

    def _find_after(self, step: int) -> Snapshot | None:
        for frame in self._frames:
            if frame.step > step:
                return frame
        return None

    def _advance(self) -> Snapshot | None:
        """Pull one snapshot from the generator (caller holds the lock)."""
        assert self._it is not None  # the caller checks
        began = time.perf_counter()
        try:
            snap = next(self._it)
        except StopIteration:
            self._it = None
            return None
        except Exception as exc:
            # kept so that every later pull fails too, also when a prefetch thread hit it
            self._it, self._error = None, exc
            raise
        if snap.diverged:
            self._it = None
        self._spent += time.perf_counter() - began
        # a diverged snapshot carries the losses of the updates since the previous one
        self._history += [(s, loss, None) for s, loss in snap.trail]
        self._history.append((snap.step, snap.train_loss, snap.test_loss))
        self._clock.append((snap.step, self._spent))
        frames = [*self._frames, as_frame(snap)]
        if len(frames) > MAX_FRAMES:
            # keep the first and the newest, drop every other one in between
            frames = [frames[0], *frames[1:-1][1::2], frames[-1]]
        self._frames = frames
        return frames[-1]


class TurnGate:
    """At most `slots` holders at once, the others let in first come, first served.

    threading.Semaphore is not fair: a freed slot goes to whichever thread reaches it first,
    and a woken waiter that loses that race waits again at the back of the queue. Twenty
    students' frames on one server, each a new thread arriving as its last frame ended, left
    some pages waiting 27 s between frames (bench/crowd.py); here a freed slot is handed
    straight to the longest waiter.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"a gate needs at least one slot; got {slots}")
        self.slots = slots
        self._free = slots
        self._lock = threading.Lock()
        self._queue: collections.deque[threading.Event] = collections.deque()

    @contextlib.contextmanager
    def turn(self, between: Callable[[], object] | None = None, poll: float = 0.05):
        """Hold a slot for the `with` block; `between` is called every `poll` s while queued.

        An exception from `between` (the page's Pause, a closed tab) leaves the queue at once,
        and a slot handed over meanwhile goes on to the next in line.
        """
        self._enter(between, poll)
        try:
            yield self
        finally:
            self._leave()

    @property
    def waiting(self) -> int:
        """How many threads are queued for a slot."""
        with self._lock:
            return len(self._queue)

    def _enter(self, between: Callable[[], object] | None, poll: float) -> None:
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return
            turn = threading.Event()
            self._queue.append(turn)
        try:
            while not turn.wait(poll):  # set, under the lock, by the holder handing its slot on
                if between is not None:
                    between()
        except BaseException:
            with self._lock:
                handed = turn.is_set()
                if not handed:
                    self._queue.remove(turn)
            if handed:
                self._leave()
            raise

    def _leave(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._free += 1


def as_frame(snap: Snapshot) -> Snapshot:
    """A snapshot as a run keeps it: at most MAX_UNIT_CURVES unit curves, no trail."""
    units = snap.units
    if units is not None and units["unit"].max() >= MAX_UNIT_CURVES:
        units = units[units["unit"] < MAX_UNIT_CURVES]
    return dataclasses.replace(snap, units=units, trail=())


@dataclasses.dataclass(frozen=True)
class Scene:
    """What stays fixed for a whole run: the points, the true function, the reference fit, axes."""

    points: pd.DataFrame  # x, y, split ('train' | 'test'), in the data's own units
    truth: pd.DataFrame | None  # x, y: the generating function without noise
    reference: pd.DataFrame | None  # x, y: the closed-form least-squares curve
    reference_loss: float | None  # its MSE on the training points (the best any w, b can do)
    reference_params: dict[str, float]  # w, b or c0..cd of the least-squares fit
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]


def make_scene(
    cfg: FitConfig, points: pd.DataFrame | None = None, data: Data | None = None
) -> Scene:
    """The fixed parts of the picture for cfg; the same data train_iter(cfg, points) sees.

    `data`: that run's Data when the caller has made it already (train.prepare).
    """
    d = data if data is not None else make_data(cfg, points)
    grid = d.grid()
    gx = grid[:, 0] * d.x_scale + d.x_shift

    def original(x, y):
        return (x[:, 0] * d.x_scale + d.x_shift).numpy(), (y[:, 0] * d.y_scale + d.y_shift).numpy()

    parts = []
    for split, (x, y) in {"train": (d.x_train, d.y_train), "test": (d.x_test, d.y_test)}.items():
        xs, ys = original(x, y)
        parts.append(pd.DataFrame({"x": xs, "y": ys, "split": split}))
    pts = pd.concat(parts, ignore_index=True)
    pts["id"] = pts.index  # what a click on the chart selects
    truth = None
    if is_generated(cfg.dataset):  # generated data, also after a student edited its points
        truth = pd.DataFrame({"x": gx.numpy(), "y": generate(cfg.dataset, grid)[:, 0]})
    reference, reference_loss, params = None, None, {}
    if cfg.model in ("linear", "poly") and cfg.loss == "mse":
        degree = 1 if cfg.model == "linear" else cfg.degree
        coef = least_squares(d.x_train, d.y_train, degree)  # in training units
        fit_train = np.polynomial.polynomial.polyval(d.x_train[:, 0].double().numpy(), coef)
        reference_loss = float(np.mean((fit_train - d.y_train[:, 0].double().numpy()) ** 2))
        fit_grid = np.polynomial.polynomial.polyval(grid[:, 0].double().numpy(), coef)
        reference = pd.DataFrame({"x": gx.numpy(), "y": fit_grid * d.y_scale + d.y_shift})
        xs, ys = original(d.x_train, d.y_train)
        params = reference_params(cfg, torch.tensor(xs)[:, None], torch.tensor(ys)[:, None])
    ys = [pts["y"].to_numpy()] + ([truth["y"].to_numpy()] if truth is not None else [])
    lo, hi = float(min(v.min() for v in ys)), float(max(v.max() for v in ys))
    pad = 0.15 * ((hi - lo) or 1.0)
    return Scene(
        points=pts,
        truth=truth,
        reference=reference,
        reference_loss=reference_loss,
        reference_params=params,
        x_domain=(float(gx[0]), float(gx[-1])),
        y_domain=(lo - pad, hi + pad),
    )


def residuals(scene: Scene, frame: Snapshot) -> pd.DataFrame | None:
    """The residual sticks' table (x, y, y_hat, in_batch) of a frame's training points, as
    the fit chart draws them; None when the frame has no fitted values."""
    if frame.fitted is None:
        return None
    train = scene.points[scene.points["split"] == "train"]
    in_batch = np.ones(len(train), dtype=bool)
    if frame.batch is not None:
        in_batch = np.zeros(len(train), dtype=bool)
        in_batch[frame.batch] = True
    return pd.DataFrame(
        {"x": train["x"], "y": train["y"], "y_hat": frame.fitted, "in_batch": in_batch}
    )
