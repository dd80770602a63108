"""Crowd benchmark: N students as Streamlit websocket clients on one server, without browsers.

Run from the repository root: `python bench/crowd.py --students 20 --scenario seeds`.

bench/classroom.py drives real Chromium pages, but on this 2-core machine twenty browsers
drawing their charts take the cores the server needs (load average 28): their timer ticks
leave late, and the stalls it measures are the browsers'. In a class each student's browser
runs on the student's own machine and costs the server nothing but its messages. Here each
student is a client of Streamlit's own websocket protocol doing what the page's frontend does
for the server: it opens the link (a rerun with its query string), keeps each fragment's
`run_every` timer as the frontend does (an interval per fragment id, cleared when a full run
starts, kept when the same interval comes again), presses Train and Pause (button triggers,
by the ids the server's elements carry) and records each change of the status text with its
arrival time. What it does not do is draw, so the figures are the server's: frame intervals,
the longest stall, click to the last frame, pause latency, server CPU per student, peak RSS,
and errors (exception elements). Same scenarios and table as bench/classroom.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.classroom import (  # noqa: E402
    PAUSE_AT,
    PAUSE_SETTLE_S,
    RUN_TIMEOUT_S,
    Result,
    Server,
    Tally,
    query,
    table,
)
from fitcore import PRESETS  # noqa: E402

STATUS = re.compile(r"(\d+)\s*/\s*(\d+)")
LOAD_TIMEOUT_S = 120.0


class Student:
    """One student's session: the link, the fragment timers, the status changes."""

    def __init__(self, server_url: str, link: dict[str, str]) -> None:
        self.ws_url = server_url.replace("http://", "ws://") + "_stcore/stream"
        self.query = urlencode(link)
        self.page_hash = ""
        self.buttons: dict[str, str] = {}  # widget key -> widget id
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}  # fragment id -> (interval, task)
        self.changes: list[tuple[float, int, int]] = []  # (time, step, steps) per status change
        self.clicks: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.ws = None
        self.reader: asyncio.Task | None = None

    async def open(self) -> None:
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None)
        self.reader = asyncio.create_task(self._read())
        await self._rerun()

    async def close(self) -> None:
        for _, task in self.timers.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader

    async def click(self, key: str) -> None:
        self.clicks.append((time.monotonic(), key))
        await self._rerun(trigger=key)

    @property
    def status(self) -> tuple[int, int]:
        return self.changes[-1][1:] if self.changes else (-1, -1)

    async def _rerun(self, trigger: str | None = None, fragment: str | None = None) -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.context_info.locale = "en-US"
        state.widget_states.SetInParent()  # widgets keep their values; only triggers are sent
        if trigger is not None:
            widget = state.widget_states.widgets.add()
            widget.id = self.buttons[trigger]
            widget.trigger_value = True
        if fragment is not None:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        assert self.ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(msg.SerializeToString())

    async def _tick(self, fragment: str, interval: float) -> None:
        while True:  # setInterval: a fixed rate, whether or not the last rerun has finished
            await asyncio.sleep(interval)
            await self._rerun(fragment=fragment)

    def _stop_timer(self, fragment: str) -> None:
        if fragment in self.timers:
            self.timers.pop(fragment)[1].cancel()

    async def _read(self) -> None:
        assert self.ws is not None
        async for data in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = msg.new_session.page_script_hash
                if not msg.metadata.run.fragment_ids:  # a full run: the frontend drops timers
                    for fragment in list(self.timers):
                        self._stop_timer(fragment)
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "auto_rerun":
                fragment, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
                if self.timers.get(fragment, (None,))[0] != interval:
                    self._stop_timer(fragment)
                    task = asyncio.create_task(self._tick(fragment, interval))
                    self.timers[fragment] = (interval, task)
            elif kind == "stop_auto_rerun":
                for fragment in msg.stop_auto_rerun.fragment_ids:
                    self._stop_timer(fragment)
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element)

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "button":
            self.buttons[element.button.id.rsplit("-", 1)[-1]] = element.button.id
        elif kind == "progress":
            m = STATUS.search(element.progress.text)
            if m and (not self.changes or self.changes[-1][1:] != (int(m[1]), int(m[2]))):
                self.changes.append((time.monotonic(), int(m[1]), int(m[2])))
        elif kind == "exception":
            self.errors.append(f"{element.exception.type}: {element.exception.message}"[:300])


async def open_students(server: Server, links: list[dict[str, str]]) -> list[Student]:
    students = [Student(server.url, link) for link in links]
    await asyncio.gather(*(s.open() for s in students))
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while not all(s.changes and "train" in s.buttons for s in students):
        if time.monotonic() > deadline:
            raise RuntimeError("pages did not load")
        server.sample_rss()
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # the last full runs settle
    return students


async def run_scenario(name: str, students: list[Student], server: Server) -> Result:
    """Everyone presses Train; each pauses once at PAUSE_AT and resumes; until all finish."""
    cpu0 = server.cpu()
    for s in students:
        s.changes = s.changes[-1:]
    await asyncio.gather(*(s.click("train") for s in students))
    paused: set[int] = set()
    resumed: set[int] = set()
    done: set[int] = set()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while len(done) < len(students) and time.monotonic() < deadline:
        server.sample_rss()
        now = time.monotonic()
        for i, s in enumerate(students):
            step, steps = s.status
            if i in done:
                continue
            if s.errors:
                done.add(i)
            elif i not in paused and step >= PAUSE_AT * steps:
                paused.add(i)
                await s.click("pause")
            elif i in paused and i not in resumed:
                if now - max(s.changes[-1][0], s.clicks[-1][0]) >= PAUSE_SETTLE_S:
                    resumed.add(i)
                    await s.click("train")
            elif i in resumed and step == steps:
                done.add(i)
        await asyncio.sleep(0.05)
    cpu = server.cpu() - cpu0
    return summarize(name, students, cpu, server.peak_mb)


def summarize(name: str, students: list[Student], cpu: float, peak_mb: float) -> Result:
    tally, errors, finished = Tally(), 0, 0
    for s in students:
        errors += len(s.errors)
        finished += bool(s.changes) and s.changes[-1][1] == s.changes[-1][2]
        trains = [t for t, key in s.clicks if key == "train"]
        pause = next((t for t, key in s.clicks if key == "pause"), None)
        resume = trains[1] if len(trains) > 1 else None
        tally.add([t for t, _, _ in s.changes], trains[0], pause, resume)
    return Result.of(name, len(students), finished, tally, cpu, peak_mb, errors)


async def scenario(name: str, n: int, args, server: Server) -> Result:
    if name == "seeds":
        links = [query(args.preset, args.speed, seed=100 + i) for i in range(n)]
    else:  # shared: the teacher's link
        links = [query(args.preset, args.speed, seed=50 + len(name))] * n
    students = await open_students(server, links)
    try:
        return await run_scenario(name, students, server)
    finally:
        await asyncio.gather(*(s.close() for s in students))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--scenario", choices=("all", "shared", "seeds"), default="all")
    parser.add_argument("--preset", default="blog-quadratic", choices=sorted(PRESETS))
    parser.add_argument("--speed", default="max", choices=("slow", "normal", "fast", "max"))
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="the checkout to serve")
    args = parser.parse_args()
    names = ["shared", "seeds"] if args.scenario == "all" else [args.scenario]
    print(f"nproc {os.cpu_count()}, root {args.root}, students {args.students} (websocket)")
    results, load = [], []
    for name in names:
        server = Server(args.root)
        try:
            load.append(os.getloadavg())
            results.append(asyncio.run(scenario(name, args.students, args, server)))
            load.append(os.getloadavg())
        finally:
            tracebacks = server.log_text().count("Traceback")
            server.stop()
        if tracebacks:
            print(f"{name}: {tracebacks} Traceback(s) in {server.log_path}")
    print(table(results, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
