"""The Overfitting tab in Chromium: a class's sweep, Stop, and a closed tab that trains nothing."""

from __future__ import annotations

import time

import psutil

from tests.test_browser import LOAD_TIMEOUT_MS, PHONE, new_page, open_page, url

LESSON = dict(
    dataset="sine",
    n_points=20,
    noise=0.6,
    test_fraction=0.3,
    model="poly",
    degree=12,
    lr=0.5,
    steps=3000,
    seed=3,
)
# A sweep that takes a while: 8 widths of a network on 2000 points for 20000 steps.
LONG = dict(
    dataset="sine",
    n_points=2000,
    test_fraction=0.3,
    model="mlp",
    hidden=64,
    activation="tanh",
    steps=20000,
    seed=5,
)


def server_cpu(pid: int) -> float:
    proc = psutil.Process(pid)
    t = proc.cpu_times()
    return t.user + t.system


def bar(page):
    """The sweep's progress bar (while it trains)."""
    return page.locator('[data-testid="stProgress"]', has_text="Training:")


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_a_phone_in_chinese_runs_the_lessons_sweep(app_server, browser, app_idle):
    with new_page(browser, PHONE, is_mobile=True, has_touch=True) as page:
        open_page(page, url(app_server, **LESSON, lang="zh"), app_idle)
        open_tab(page, "过拟合")
        page.locator(".st-key-sweep_go button").click()
        page.get_by_text("次数 = 6 时测试损失最低").wait_for(timeout=LOAD_TIMEOUT_MS)
        panel = page.locator('[data-testid="stTabs"]')
        charts = panel.locator('[data-testid="stVegaLiteChart"]')
        # loss against degree, and the chosen degrees' curves: the second follows the caption
        # in the same rerun, and a busy machine can paint it a moment later
        charts.nth(1).wait_for(timeout=LOAD_TIMEOUT_MS)
        assert charts.count() >= 2
        width = page.evaluate("document.documentElement.clientWidth")
        assert panel.bounding_box()["width"] <= width + 1  # nothing wider than the phone
        assert not page.locator('[data-testid="stException"]').count()


def test_stop_and_a_closed_tab_leave_the_server_idle(app_server, browser, app_idle):
    with new_page(browser) as page:
        open_page(page, url(app_server, **LONG), app_idle)
        open_tab(page, "Overfitting")
        page.locator(".st-key-sweep_go button").click()
        bar(page).wait_for(timeout=LOAD_TIMEOUT_MS)
        time.sleep(1.5)
        cpu0, t0 = server_cpu(app_server.pid), time.monotonic()
        time.sleep(1.5)
        busy = (server_cpu(app_server.pid) - cpu0) / (time.monotonic() - t0)
        assert busy > 0.3, "the sweep was not training"
        page.locator(".st-key-sweep_stop button").click()
        bar(page).wait_for(state="detached", timeout=LOAD_TIMEOUT_MS)
        assert _quiet_within(app_server.pid, 20.0), "Stop left the sweep training"
        # Run again: it goes on from where it stopped (the sweep is the server's), then close
        page.locator(".st-key-sweep_go button").click()
        bar(page).wait_for(timeout=LOAD_TIMEOUT_MS)
        time.sleep(1.0)
    assert _quiet_within(app_server.pid, 20.0), "a closed tab left the sweep training"


def _quiet_within(pid: int, seconds: float) -> bool:
    """Whether the server's CPU falls under 15% of a core for a whole second within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cpu0, t0 = server_cpu(pid), time.monotonic()
        time.sleep(1.0)
        if (server_cpu(pid) - cpu0) / (time.monotonic() - t0) < 0.15:
            return True
    return False
