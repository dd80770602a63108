"""The page as a class uses it, in a real browser: an autoplay link, the second student on a
run already computed, a page that loads nothing from outside this server.

Each test records every status text the page shows (a MutationObserver installed before the
page's own scripts) and asserts on that sequence, never on time.
"""

from __future__ import annotations

import contextlib
import itertools
from urllib.parse import urlencode, urlparse

from tests.conftest import wait_for_app_idle

LOAD_TIMEOUT_MS = 60_000
TRAIN_TIMEOUT_MS = 120_000
LAPTOP = {"width": 1400, "height": 1000}

# Every distinct status text, in order, from before the page's first script runs.
RECORDER_JS = """
window.__steps = [];
new MutationObserver(() => {
  const el = document.querySelector('.st-key-status');
  const m = el && el.innerText.match(/(\\d+)\\s*\\/\\s*(\\d+)/);
  if (!m) return;
  const step = Number(m[1]);
  if (window.__steps[window.__steps.length - 1] !== step) window.__steps.push(step);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def url(app_server, **query) -> str:
    return app_server.url + "?" + urlencode(query)


@contextlib.contextmanager
def student(browser):
    """A new student: own browser context (own Streamlit session), recording the status."""
    context = browser.new_context(viewport=LAPTOP, locale="en-US")
    context.add_init_script(RECORDER_JS)
    try:
        yield context.new_page()
    finally:
        context.close()


def shown(page) -> list[int]:
    return page.evaluate("window.__steps")


def wait_shown(page, step: int) -> list[int]:
    """Wait until the page has shown `step`; every step it showed, in order."""
    page.wait_for_function(
        "(s) => window.__steps.includes(s)", arg=step, timeout=TRAIN_TIMEOUT_MS, polling=50
    )
    return shown(page)


def frame_by_frame(shown: list[int], frames: list[int]) -> bool:
    """The page showed the run frame by frame: from its first frame to its last, in order,
    never two frames in a row missing.

    A browser starved of CPU can paint two status updates that arrive close together in one
    go (CI, both cores busy: one frame in 11 or 16 went unseen in 2 of 3 runs, a different one
    each time); the faults these tests guard against skipped 6 frames at the start, or all.
    """
    if not shown or shown[0] != frames[0] or shown[-1] != frames[-1] or shown != sorted(shown):
        return False
    index = [frames.index(step) for step in shown if step in frames]
    return len(index) == len(shown) and all(b - a <= 2 for a, b in itertools.pairwise(index))


def train(page) -> None:
    page.locator(".st-key-train button").click(timeout=LOAD_TIMEOUT_MS)


def open_and_wait(page, address: str) -> None:
    page.goto(address, timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function("() => window.__steps.length > 0", timeout=LOAD_TIMEOUT_MS)


def test_an_autoplay_link_shows_the_run_from_step_0(app_server, browser):
    # before: the timer ran while the browser was still drawing; steps 0-600 were never shown
    address = url(app_server, steps=1000, every=100, speed="slow", seed=101, autoplay=1)
    with student(browser) as page:
        page.goto(address, timeout=LOAD_TIMEOUT_MS)
        steps = wait_shown(page, 1000)
    assert frame_by_frame(steps, list(range(0, 1001, 100)))


def test_the_second_student_on_a_computed_run_sees_every_frame(app_server, browser):
    query = dict(steps=1500, every=100, seed=102)
    with student(browser) as first:
        open_and_wait(first, url(app_server, **query, speed="max"))
        train(first)
        wait_shown(first, 1500)  # the run is computed now, and shared
    with student(browser) as second:
        open_and_wait(second, url(app_server, **query, speed="slow"))
        train(second)
        assert frame_by_frame(wait_shown(second, 1500), list(range(0, 1501, 100)))


def test_the_second_student_at_max_sees_the_parabola_take_shape(app_server, browser):
    # before: a computed run jumped from step 0 to 5000 in one frame at max
    address = url(app_server, preset="blog-quadratic", seed=103, speed="max")
    for _ in range(2):  # the first student computes the run, the second replays it
        with student(browser) as page:
            open_and_wait(page, address)
            train(page)
            steps = wait_shown(page, 5000)
        # from step 0, only forward, in many frames (how many depends on the machine's pace)
        assert steps[0] == 0 and steps == sorted(set(steps)) and len(steps) >= 10


def test_nothing_the_page_loads_comes_from_outside_this_server(app_server, browser):
    host = urlparse(app_server.url).netloc
    outside = []
    with student(browser) as page:
        page.on(
            "request",
            lambda r: (
                urlparse(r.url).scheme in ("http", "https", "ws", "wss")
                and urlparse(r.url).netloc != host
                and outside.append(r.url)
            ),
        )
        open_and_wait(page, url(app_server, steps=300, every=100, lang="zh"))
        train(page)
        wait_shown(page, 300)
        for tab in page.locator('[data-baseweb="tab"]').all():
            tab.click()
        page.wait_for_timeout(500)  # late requests (fonts, icons) of the tabs just opened
    assert outside == []


def test_pausing_leaves_the_teachers_server_log_clean(app_server, browser):
    # before: "The fragment with id ... does not exist anymore" after most pauses
    start = len(app_server.log_text())
    with student(browser) as page:
        open_and_wait(page, url(app_server, steps=20000, every=20, seed=104, speed="fast"))
        for _ in range(6):
            train(page)
            page.wait_for_function(
                "(n) => window.__steps.length > n", arg=len(shown(page)), timeout=LOAD_TIMEOUT_MS
            )
            page.locator(".st-key-pause button").click(timeout=LOAD_TIMEOUT_MS)
            # Let the Pause's rerun finish: a Train click 300 ms after it was lost in 2 of 5
            # runs of this test (not seen in 50 tries by hand; see the closing note of #13).
            wait_for_app_idle(page, timeout_ms=LOAD_TIMEOUT_MS)
    log = app_server.log_text()[start:]
    assert "does not exist anymore" not in log and "Traceback" not in log
