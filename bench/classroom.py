"""Classroom benchmark: N simulated students, each a real Chromium browser context, on one server.

Run from the repository root:
`python bench/classroom.py --students N --scenario all --preset blog-quadratic --speed max`.
It starts one `python -m streamlit run streamlit_app.py` on a free port (in `--root`, this
repository by default: point it at a `git worktree` of another commit to compare), opens N
pages from one Playwright thread, and runs each scenario:

- shared: everyone opens the teacher's link (one config) and presses Train;
- seeds: everyone opens the link with their own `?seed=` and presses Train;
- lr: everyone is on the teacher's link, changes the learning rate at once (`lr` widget) and
  presses Train.

Clicks go out in one loop over the pages (JS clicks, a few ms apart); then all pages are polled.
Each page records every change of the status text with performance.now() in a MutationObserver
installed before the page's scripts, so the polling does not skew the frame times. Per student:
frame intervals (median, p95, longest stall), time from the click to the last frame, pause
latency (click Pause once the run is 40% through, to the last status change; then Train again)
and errors (page exceptions, Streamlit exception elements). The server's CPU seconds and peak
RSS (with its children, by psutil, sampled while polling) are per scenario. Prints markdown.

In a class every student's browser runs on the student's own machine; here all N share the
server's cores. `--browser-nice` (10 by default, 0 to turn it off) starts Chromium at a lower
priority, so that the students' drawing takes the cores the server leaves, as it would cost
the server nothing in a classroom; the server's own figures are then the server's.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import psutil
from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench import processes  # noqa: E402
from bench.processes import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from fitcore import PRESETS  # noqa: E402

VIEWPORT = {"width": 1200, "height": 900}
LOAD_TIMEOUT_S = 420.0  # twenty contexts opening on a busy 2-core machine
RUN_TIMEOUT_S = 600.0
PAUSE_AT = 0.4  # share of the run after which each student presses Pause once
PAUSE_SETTLE_S = 1.5  # no status change for this long after Pause: the pause has taken

# Before the page's scripts: a MutationObserver on the document records each change of the
# status text (performance.now() ms, text); clicks on Train and Pause, and page errors.
RECORDER_JS = """
window.__fl = {changes: [], clicks: [], errors: []};
window.addEventListener('error', (e) => window.__fl.errors.push(String(e.message)));
window.addEventListener('click', (e) => {
  const hit = e.target.closest && e.target.closest('.st-key-train, .st-key-pause');
  const what = hit && hit.className.includes('pause') ? 'pause' : 'train';
  if (hit) window.__fl.clicks.push([performance.now(), what]);
}, true);
(() => {
  let last = null;
  const look = () => {
    const el = document.querySelector('.st-key-status');
    const m = (el ? el.innerText : '').match(/(\\d+)\\s*\\/\\s*(\\d+)/);
    const text = m ? m[1] + '/' + m[2] : null;
    if (text !== null && text !== last) {
      last = text; window.__fl.changes.push([performance.now(), text]);
    }
  };
  const start = () => new MutationObserver(look).observe(
    document.documentElement, {subtree: true, childList: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""

# One poll of a page: (step, steps, exception text or '', train button label, now).
POLL_JS = """
() => {
  const exc = document.querySelector('[data-testid="stException"]');
  const el = document.querySelector('.st-key-status');
  const m = (el ? el.innerText : '').match(/(\\d+)\\s*\\/\\s*(\\d+)/);
  const b = document.querySelector('.st-key-train button');
  return [m ? Number(m[1]) : -1, m ? Number(m[2]) : -1, exc ? exc.innerText.slice(0, 300) : '',
          b ? b.innerText : '', performance.now()];
}
"""

CLICK_JS = "(key) => document.querySelector('.st-key-' + key + ' button').click()"


class Server:
    """`python -m streamlit run streamlit_app.py` in `root` on a free port; psutil for its cost."""

    def __init__(self, root: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = Path(tempfile.mkstemp(prefix="fitlab_class_", suffix=".log")[1])
        cmd = [
            *(sys.executable, "-m", "streamlit", "run", "streamlit_app.py"),
            *("--server.headless", "true", "--server.port", str(port)),
            *("--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"),
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.ps = psutil.Process(self.proc.pid)
        self.peak_mb = 0.0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited:\n{self.log_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "_stcore/health", timeout=2) as r,
            ):
                if r.read().decode().strip() == "ok":
                    return
            time.sleep(0.2)
        raise RuntimeError(f"streamlit did not start:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def cpu(self) -> float:
        """User + system CPU seconds so far, the server and its children."""
        return processes.cpu_seconds(self.ps)

    def sample_rss(self) -> float:
        mb = processes.rss_mb(self.ps)
        self.peak_mb = max(self.peak_mb, mb)
        return mb

    def stop(self) -> None:
        processes.stop(self.proc)


@dataclasses.dataclass
class Student:
    page: object
    errors: list[str]
    paused: bool = False
    resumed: bool = False
    done: bool = False


@dataclasses.dataclass
class Result:
    scenario: str
    students: int
    finished: int
    median_ms: float
    p95_ms: float
    stall_ms: float  # longest gap between two frames on any page
    first_s: float  # median over clicks, Train (or resume) to the first new frame
    first_max_s: float
    last_frame_s: float  # median over pages, click to the last frame
    last_frame_max_s: float
    pause_ms: float  # median click-Pause to the last status change
    pause_max_ms: float
    cpu_s: float
    peak_mb: float
    errors: int

    @classmethod
    def of(cls, name, students, finished, tally: Tally, cpu, peak_mb, errors) -> Result:
        """The row from a scenario's tally."""
        gaps = tally.intervals
        q = statistics.quantiles(gaps, n=20) if len(gaps) > 1 else [0.0] * 19
        return cls(
            scenario=name,
            students=students,
            finished=finished,
            median_ms=statistics.median(gaps) if gaps else 0.0,
            p95_ms=q[18],
            stall_ms=max(tally.stalls, default=0.0),
            first_s=statistics.median(tally.firsts) if tally.firsts else 0.0,
            first_max_s=max(tally.firsts, default=0.0),
            last_frame_s=statistics.median(tally.lasts) if tally.lasts else 0.0,
            last_frame_max_s=max(tally.lasts, default=0.0),
            pause_ms=statistics.median(tally.pauses) if tally.pauses else 0.0,
            pause_max_ms=max(tally.pauses, default=0.0),
            cpu_s=cpu,
            peak_mb=peak_mb,
            errors=errors,
        )


@dataclasses.dataclass
class Tally:
    """A scenario's per-student figures, one student at a time: gaps and pauses in ms, first
    and last frames in s."""

    intervals: list[float] = dataclasses.field(default_factory=list)
    stalls: list[float] = dataclasses.field(default_factory=list)
    firsts: list[float] = dataclasses.field(default_factory=list)
    lasts: list[float] = dataclasses.field(default_factory=list)
    pauses: list[float] = dataclasses.field(default_factory=list)

    def add(
        self, times: list[float], t_train: float, pause: float | None, resume: float | None
    ) -> None:
        """One student's status changes and clicks (Train, Pause, Train again), in seconds."""
        playing = [t for t in times if t >= t_train and (pause is None or t < pause)]
        after: list[float] = []
        if pause is not None and resume is not None:
            before = [t for t in times if pause <= t < resume]
            self.pauses.append((before[-1] - pause) * 1000 if before else 0.0)
            after = [t for t in times if t >= resume]
        gaps = [(b - a) * 1000 for part in (playing, after) for a, b in itertools.pairwise(part)]
        # a click's first frame waits for the click's own rerun: reported apart from the stalls
        self.firsts += [part[0] - t for part, t in ((playing, t_train), (after, resume)) if part]
        self.intervals += gaps
        self.stalls.append(max(gaps, default=0.0))
        paused_for = (resume - pause) if pause is not None and resume is not None else 0.0
        self.lasts.append(times[-1] - t_train - paused_for)


def query(preset: str, speed: str, **fields) -> dict[str, str]:
    """The preset's link with `fields` changed, written as fields (how ui/share.py writes it)."""
    cfg = dataclasses.replace(PRESETS[preset], **fields)
    return {**cfg.to_query(), "speed": speed}


def open_students(browser, server: Server, links: list[dict[str, str]]) -> list[Student]:
    """One browser context per student; all pages loaded in parallel, then waited for."""
    students = []
    for link in links:
        context = browser.new_context(viewport=VIEWPORT, locale="en-US")
        context.add_init_script(RECORDER_JS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(server.url + "?" + urlencode(link), wait_until="commit", timeout=60_000)
        students.append(Student(page, errors))
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    for s in students:
        while True:
            step, _, exc, label, _ = s.page.evaluate(POLL_JS)
            if exc:
                s.errors.append(exc)
            if step >= 0 and label:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("pages did not load")
            s.page.wait_for_timeout(200)
    time.sleep(2)  # the last full runs settle
    return students


def raise_lr(students: list[Student]) -> None:
    """Every student moves the `lr` ladder (a select_slider) one notch up, 0.05 -> 0.1, at once."""
    for s in students:
        thumb = s.page.locator('.st-key-lr input[type="range"]').first
        thumb.focus()
        s.page.keyboard.press("ArrowRight")
    time.sleep(3)  # each session's rerun for the new config


def run_scenario(name: str, students: list[Student], server: Server) -> Result:
    """Everyone presses Train; each pauses once at PAUSE_AT and resumes; until all finish."""
    cpu0 = server.cpu()
    for s in students:
        s.page.evaluate("() => { window.__fl.changes = []; window.__fl.clicks = []; }")
    for s in students:  # close together: one loop of JS clicks
        s.page.evaluate(CLICK_JS, "train")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    pause_clicked: dict[int, float] = {}
    while not all(s.done for s in students) and time.monotonic() < deadline:
        server.sample_rss()
        for i, s in enumerate(students):
            if s.done:
                continue
            step, steps, exc, label, now = s.page.evaluate(POLL_JS)
            if exc:
                s.errors.append(exc)
                s.done = True
            elif not s.paused and step >= PAUSE_AT * steps:
                s.page.evaluate(CLICK_JS, "pause")
                s.paused, pause_clicked[i] = True, now
            elif s.paused and not s.resumed:
                changes = s.page.evaluate("() => window.__fl.changes")
                if now - changes[-1][0] >= PAUSE_SETTLE_S * 1000:
                    s.page.evaluate(CLICK_JS, "train")
                    s.resumed = True
            elif s.resumed and step == steps:
                s.done = True
        time.sleep(0.05)
    cpu = server.cpu() - cpu0
    tally, errors, finished = Tally(), 0, 0
    for s in students:
        data = s.page.evaluate("() => window.__fl")
        errors += len(s.errors) + len(data["errors"])
        changes = data["changes"]
        clicks = data["clicks"]
        finished += bool(changes) and changes[-1][1].split("/")[0] == changes[-1][1].split("/")[1]
        if not clicks or not changes:
            continue
        seconds = [t / 1000 for t, _ in changes]  # the page's clock is in ms
        pause = next((c[0] / 1000 for c in clicks if c[1] == "pause"), None)
        resume = next((c[0] / 1000 for c in clicks[1:] if c[1] == "train"), None)
        tally.add(seconds, clicks[0][0] / 1000, pause, resume)
    return Result.of(name, len(students), finished, tally, cpu, server.peak_mb, errors)


def scenario(name: str, n: int, args, browser, server: Server) -> Result:
    if name == "seeds":
        links = [query(args.preset, args.speed, seed=100 + i) for i in range(n)]
    else:  # shared, lr: the teacher's link (a seed of its own per scenario: a fresh run)
        links = [query(args.preset, args.speed, seed=50 + len(name))] * n
    students = open_students(browser, server, links)
    try:
        if name == "lr":
            raise_lr(students)
        return run_scenario(name, students, server)
    finally:
        for s in students:
            s.page.context.close()


def table(results: list[Result], load: list[tuple[float, float, float]]) -> str:
    head = (
        "| scenario | students | finished | frame interval median / p95 (ms) | longest stall (ms) "
        "| click to first frame median / max (s) | click to last frame median / max (s) "
        "| pause median / max (ms) "
        "| server CPU per student (s) | peak RSS (MB) | errors |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in results:
        lines.append(
            f"| {r.scenario} | {r.students} | {r.finished} | {r.median_ms:.0f} / {r.p95_ms:.0f} "
            f"| {r.stall_ms:.0f} | {r.first_s:.1f} / {r.first_max_s:.1f} "
            f"| {r.last_frame_s:.1f} / {r.last_frame_max_s:.1f} "
            f"| {r.pause_ms:.0f} / {r.pause_max_ms:.0f} | {r.cpu_s / r.students:.2f} "
            f"| {r.peak_mb:.0f} | {r.errors} |"
        )
    lines.append("")
    by = {r.scenario: r for r in results}
    if "shared" in by and "seeds" in by:
        ratio = by["seeds"].cpu_s / max(by["shared"].cpu_s, 1e-9)
        lines.append(f"server CPU, own seeds / shared link: {ratio:.1f}x")
    for r in results:
        lines.append(
            f"{r.scenario}: longest stall {r.stall_ms / 1000:.2f} s (target <= 3), "
            f"peak RSS {r.peak_mb:.0f} MB (target <= 690), "
            f"{r.finished}/{r.students} finished; {r.cpu_s:.1f} CPU s for the class"
        )
    lines.append(
        "load avg before / after each scenario: "
        + "; ".join(" ".join(f"{x:.2f}" for x in la) for la in load)
    )
    return "\n".join(lines)


def nice_chromium(niceness: int, folder: Path) -> str:
    """An executable that starts Chromium at `niceness` (its renderers inherit it)."""
    if niceness == 0:
        return CHROMIUM
    wrapper = folder / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n {niceness} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--scenario", choices=("all", "shared", "seeds", "lr"), default="all")
    parser.add_argument("--preset", default="blog-quadratic", choices=sorted(PRESETS))
    parser.add_argument("--speed", default="max", choices=("slow", "normal", "fast", "max"))
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="the checkout to serve")
    parser.add_argument(
        "--browser-nice", type=int, default=10, help="Chromium's niceness (0: the server's)"
    )
    args = parser.parse_args()
    names = ["shared", "seeds", "lr"] if args.scenario == "all" else [args.scenario]
    print(
        f"nproc {os.cpu_count()}, root {args.root}, students {args.students}, "
        f"browser niceness {args.browser_nice}",
        flush=True,
    )
    results, load = [], []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        chromium = nice_chromium(args.browser_nice, Path(tmp))
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for name in names:
            server = Server(args.root)  # one server per scenario: cold caches, its own peak
            try:
                load.append(os.getloadavg())
                results.append(scenario(name, args.students, args, browser, server))
                load.append(os.getloadavg())
                print(f"{name}: done", flush=True)
            finally:
                tracebacks = server.log_text().count("Traceback")
                server.stop()
            if tracebacks:
                print(f"{name}: {tracebacks} Traceback(s) in {server.log_path}")
        browser.close()
    print(table(results, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
