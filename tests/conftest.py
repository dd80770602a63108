"""Shared fixtures: a real Streamlit server and headless Chromium for browser tests.

Browser tests ask for `page` (and usually `app_server`); they are marked `browser` automatically,
so `python -m pytest -m "not browser"` runs everything else. They never skip: a missing Chromium
is an error, because a skipped test would hide a broken page.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Debian's chromium: Playwright cannot download its own browser build on these machines.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}

SERVER_START_TIMEOUT_S = 60.0
# Fixtures that need a server or a browser; a test using any of them gets the `browser` marker.
BROWSER_FIXTURES = frozenset({"app_server", "browser", "page"})

# The app the server runs, relative to the repo root (or absolute). Overridable so the fixtures
# can be tried on a scratch app.
APP_PATH_ENV = "FITLAB_TEST_APP"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real server or browser as `browser`.

    Under pytest-xdist (`-n 2 --dist loadgroup`, pyproject's addopts) they also share one
    xdist group: one worker runs them one after another on one server and one Chromium, as
    without xdist, while the other worker takes the in-process tests beside them.
    """
    for item in items:
        if BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session", autouse=True)
def _full_error_details_in_process() -> None:
    """Let AppTest see real exception messages and tracebacks.

    .streamlit/config.toml sets client.showErrorDetails = "type" so students never see a
    traceback. AppTest runs the page in this process and reads that file from the working
    directory, so without this its `at.exception` would hold only Streamlit's generic
    "This app has encountered an error" text and no stack trace. The app_server subprocess keeps
    the file's setting, like production.
    """
    import streamlit as st

    st.set_option("client.showErrorDetails", "full")
    # the page turns unexpected errors into a plain message for students; tests want them raised
    os.environ["FITLAB_RAISE"] = "1"


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """One torch thread, as the app uses: on a busy 2-core machine two threads run ~10x slower."""
    import torch

    torch.set_num_threads(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class AppServer:
    """A running `streamlit run` subprocess."""

    url: str  # e.g. http://127.0.0.1:40123/ ; append "?lr=0.1" for query parameters
    pid: int
    log_path: Path

    def log_text(self) -> str:
        """The server's stdout and stderr so far (assert "Traceback" not in it)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _wait_healthy(proc: subprocess.Popen, health_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = log_path.read_text(encoding="utf-8", errors="replace")
            pytest.fail(f"streamlit exited with code {proc.returncode} before serving:\n{log}")
        try:
            with urllib.request.urlopen(health_url, timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    pytest.fail(f"{health_url} did not answer 'ok' within {SERVER_START_TIMEOUT_S:.0f} s:\n{log}")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """Serve the app with `streamlit run` from the repo root for the whole test session."""
    app = Path(os.environ.get(APP_PATH_ENV, "streamlit_app.py"))
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    # Unbuffered so print() from the page reaches the log before a test reads it.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        # cwd = repo root, so .streamlit/config.toml applies as it does for `streamlit run`.
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    try:
        _wait_healthy(proc, f"http://127.0.0.1:{port}/_stcore/health", log_path)
        yield AppServer(url=f"http://127.0.0.1:{port}/", pid=proc.pid, log_path=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright, shared by the session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: browser tests need Debian's chromium "
            "(apt-get install -y chromium). They fail rather than skip so a broken page "
            "cannot pass unseen."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh 1400x1000 page in its own browser context (own cookies, own Streamlit session)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


# Streamlit 1.67's frontend sets data-test-script-state on [data-testid="stApp"]:
# "initial" before the first run, then "running" / "rerunRequested" / "stopRequested" while a
# script or fragment runs, "notRunning" when it is done, "compilationError" for a broken script.
# It also sets data-test-connection-state ("CONNECTED" once the websocket is up).
# stStatusWidget is no use here: it only appears after a run has lasted about half a second.
# Idle does not mean drawn: an st.altair_chart ([data-testid="stVegaLiteChart"]) renders a
# moment later, so wait on its locator. A widget with key="lr" sits in an element with
# class st-key-lr, e.g. page.locator(".st-key-train button").
_IDLE_JS = """
([settleMs]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app && app.getAttribute('data-test-script-state');
  const connected = app && app.getAttribute('data-test-connection-state') === 'CONNECTED';
  if (state === 'compilationError') return state;
  const now = performance.now();
  if (!connected || state !== 'notRunning') { window.__fitlabIdleSince = undefined; return false; }
  if (window.__fitlabIdleSince === undefined) window.__fitlabIdleSince = now;
  return now - window.__fitlabIdleSince >= settleMs ? state : false;
}
"""


def wait_for_app_idle(page, timeout_ms: float = 30_000, settle_ms: float = 150) -> None:
    """Wait until the page is connected and no script or fragment run has started for settle_ms.

    A click does not flip the state at once (the server reports the new run a few ms later), so
    the state must stay "notRunning" for settle_ms before this returns. A fragment with
    run_every flips it back to "running" on every tick, so while the page animates this may
    return between two ticks or keep waiting: to know training ended, wait for the status text.
    """
    page.evaluate("() => { window.__fitlabIdleSince = undefined; }")
    handle = page.wait_for_function(_IDLE_JS, arg=[settle_ms], timeout=timeout_ms, polling=25)
    if handle.json_value() == "compilationError":
        pytest.fail("the Streamlit script failed to compile (see the page / server log)")


@pytest.fixture
def app_idle() -> Callable[..., None]:
    """wait_for_app_idle as a fixture, so test modules need not import conftest."""
    return wait_for_app_idle
