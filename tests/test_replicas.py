"""Students through deploy/try-replicas.sh: 2 replicas behind nginx, sticky by nginx's cookie.

Without affinity a student's upload PUT can reach a replica that does not know the session and
fails with HTTP 400 (streamlit#4173); here every student uploads, trains, and stays on one replica.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import VIEWPORT, wait_for_app_idle

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "try-replicas.sh"
READY_TIMEOUT_S = 90.0
COOKIE = "fitlab_replica"  # the cookie deploy/nginx.conf sets and hashes on
STEPS = 200


@dataclass(frozen=True)
class Balancer:
    url: str  # http://127.0.0.1:PORT/
    replica_pids: tuple[int, ...]
    replica_ports: tuple[int, ...]
    nginx_pid: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def balancer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balancer]:
    """deploy/try-replicas.sh on a free port, until it prints its ready line."""
    if shutil.which("nginx") is None:
        pytest.fail(
            "nginx not found: this test runs Debian's nginx in front of two replicas "
            "(apt-get install -y nginx). It fails rather than skips so the deploy cannot break "
            "unseen."
        )
    port = _free_port()
    err_path = tmp_path_factory.mktemp("replicas") / "try-replicas.err"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            ["bash", str(SCRIPT), str(port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            # the script runs `python -m streamlit` from PATH, as in an activated venv: put
            # this interpreter's first, also when pytest was started by its full path
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    ready = f"ready http://127.0.0.1:{port}"
    try:
        try:
            line = lines.get(timeout=READY_TIMEOUT_S).rstrip("\n")
        except queue.Empty:
            line = ""
        if line != ready:
            pytest.fail(f"expected {ready!r}, got {line!r}:\n{err_path.read_text()}")
        log = err_path.read_text()
        replicas = re.findall(r"replica \d+ pid (\d+) on 127\.0\.0\.1:(\d+)", log)
        nginx_pid = int(re.search(r"nginx pid (\d+)", log).group(1))  # type: ignore[union-attr]
        yield Balancer(
            url=f"http://127.0.0.1:{port}/",
            replica_pids=tuple(int(pid) for pid, _ in replicas),
            replica_ports=tuple(int(p) for _, p in replicas),
            nginx_pid=nginx_pid,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    pids = (*[int(p) for p in re.findall(r"replica \d+ pid (\d+)", log)], nginx_pid)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "try-replicas.sh left processes running"


def _replica_for_cookie(url: str, value: str) -> str:
    request = urllib.request.Request(
        url + "_stcore/health", headers={"Cookie": f"{COOKIE}={value}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["X-Upstream"]


def _cookies_on_both_replicas(balancer: Balancer) -> list[str]:
    """Two cookie values that nginx's consistent hash sends to different replicas."""
    seen: dict[str, str] = {}
    for i in range(64):
        seen.setdefault(_replica_for_cookie(balancer.url, f"student-{i}"), f"student-{i}")
        if len(seen) == len(balancer.replica_ports):
            return list(seen.values())
    pytest.fail(f"64 cookie values all hashed to {list(seen)}: is the upstream hash wrong?")


def test_students_upload_and_train_through_sticky_replicas(browser, balancer, tmp_path):
    csv = tmp_path / "class.csv"
    rows = [(x / 10, 3 * x / 10 + 1 + (0.05 if x % 2 else -0.05)) for x in range(-10, 11, 2)]
    csv.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in rows), encoding="utf-8")
    # Two students with cookies known to land on different replicas, so the class is spread
    # however the random ids fall; two with none, so nginx's own Set-Cookie is what sticks.
    presets = [*_cookies_on_both_replicas(balancer), None, None]
    contexts, pages, errors, upstreams = [], [], [], []
    for value in presets:
        context = browser.new_context(viewport=VIEWPORT)
        if value is not None:
            context.add_cookies([{"name": COOKIE, "value": value, "url": balancer.url}])
        page = context.new_page()
        page.on(
            "response",
            lambda r, errs=errors: errs.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        contexts.append(context)
        pages.append(page)
    try:
        for i, page in enumerate(pages):
            response = page.goto(balancer.url + f"?dataset=csv&model=linear&steps={STEPS}")
            assert response is not None
            upstreams.append(response.headers["x-upstream"])
            if i < len(balancer.replica_ports):
                # One page per replica first: two first runs at once on a fresh server race in
                # `import fitcore` (ImportError: partially initialized module fitcore.train).
                wait_for_app_idle(page, timeout_ms=60_000)
        for page in pages:
            wait_for_app_idle(page, timeout_ms=60_000)
            page.locator(".st-key-upload input[type=file]").set_input_files(str(csv))
        for page in pages:
            page.get_by_text(f"{len(rows)} points from class.csv").wait_for()
            wait_for_app_idle(page)
            page.locator(".st-key-train button").click()
        for page, context, first in zip(pages, contexts, upstreams, strict=True):
            page.wait_for_function(
                "t => (document.querySelector('.st-key-status')?.innerText || '').includes(t)",
                arg=f"step {STEPS} / {STEPS}",
                timeout=30_000,
            )
            # the last frame is drawn before the page's closing rerun: let that rerun finish
            wait_for_app_idle(page, timeout_ms=60_000)
            points = page.locator('[data-testid="stVegaLiteChart"]').first.locator(
                "g.points_marks path"
            )
            points.nth(len(rows) - 1).wait_for(timeout=30_000)
            assert points.count() == len(rows)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
            # the same replica after the upload and the run as for the page itself
            after = context.request.get(balancer.url + "_stcore/health")
            assert after.headers["x-upstream"] == first
            assert any(c["name"] == COOKIE for c in context.cookies())
    finally:
        for context in contexts:
            context.close()
    assert not errors, f"HTTP errors through the balancer: {errors}"
    assert sorted(set(upstreams)) == sorted(f"127.0.0.1:{p}" for p in balancer.replica_ports)
