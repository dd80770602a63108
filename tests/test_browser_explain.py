"""The explain panel in Chromium: open it, walk one update by its stages, see the landscape's
arrows, in English and in Chinese, on a laptop and a phone. Screenshots go to the test's
tmp_path; the numbers are checked against explain_step computed here.
"""

from __future__ import annotations

import dataclasses

from fitcore import FitConfig, explain_step, train_iter
from fitcore.i18n import catalog
from tests.test_browser import LOAD_TIMEOUT_MS, PHONE, status, url

LINE = {"dataset": "linear", "model": "linear", "lr": "0.1", "steps": "40", "every": "10"}
CFG = FitConfig(dataset="linear", model="linear", lr=0.1, steps=40, every=10)


def opened(page, app_server, app_idle, **query):
    page.goto(url(app_server, **query))
    page.locator(".st-key-status").wait_for(timeout=LOAD_TIMEOUT_MS)
    app_idle(page)
    return page


def click(page, app_idle, key: str) -> None:
    page.locator(f".st-key-{key} button").first.click()
    app_idle(page)


def open_panel(page, app_idle, T) -> None:
    page.locator(".st-key-explain summary").first.click()
    app_idle(page)
    page.locator(".st-key-explain .katex").first.wait_for(timeout=LOAD_TIMEOUT_MS)


def panel_text(page) -> str:
    return page.locator(".st-key-explain").inner_text()


def test_the_panel_walks_one_update_by_its_stages_with_the_runs_numbers(
    page, app_server, app_idle, tmp_path
):
    T = catalog("en")
    opened(page, app_server, app_idle, **LINE)
    click(page, app_idle, "step")
    assert status(page) == (10, 40)
    open_panel(page, app_idle, T)
    ex = explain_step(CFG, 10)
    text = panel_text(page)
    assert T["explain_intro"].format(step=10, next=11).replace("**", "") in text
    # KaTeX writes the numbers into the page's text: the loss and the new w
    assert f"{ex.loss:.4g}" in text and f"{ex.params_after['0.weight']:.4g}" in text
    page.locator(".st-key-explain").screenshot(path=str(tmp_path / "panel_en.png"))

    click(page, app_idle, "step")  # the next update, its first stage only
    assert status(page) == (11, 40)
    text = panel_text(page)
    assert T["stage_forward"] in text and f"2 · {T['stage_loss']}" not in text
    exact = list(train_iter(dataclasses.replace(CFG, every=1)))[11]
    metrics = page.locator(".st-key-metrics").inner_text()
    assert f"{exact.params['w']:.4g}" in metrics  # a step the run keeps no frame of
    for shown in (2, 3, 4):
        click(page, app_idle, "step")
        assert status(page) == (11, 40)
        # the stage's heading: on a busy machine the panel can be painted after the rerun ends
        page.locator(".st-key-explain").get_by_text(f"{shown} · ").first.wait_for(
            timeout=LOAD_TIMEOUT_MS
        )
        assert f"{shown} · " in panel_text(page)

    page.get_by_role("tab", name=T["landscape_panel"]).click()
    app_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').last.screenshot(
        path=str(tmp_path / "landscape_en.png")
    )
    caption = T["landscape_arrows"].split("{step}")[0]
    assert caption in page.locator('[data-testid="stMain"]').inner_text()


def test_the_chinese_panel_on_a_phone(browser, app_server, app_idle, tmp_path):
    ZH = catalog("zh")
    context = browser.new_context(viewport=PHONE)
    try:
        page = opened(context.new_page(), app_server, app_idle, **LINE, lang="zh", batch_size="8")
        click(page, app_idle, "step")
        open_panel(page, app_idle, ZH)
        text = panel_text(page)
        assert ZH["explain_intro"].format(step=10, next=11).replace("**", "") in text
        assert ZH["stage_update"] in text
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # the page itself never scrolls sideways
        page.locator(".st-key-explain").screenshot(path=str(tmp_path / "panel_zh_phone.png"))
    finally:
        context.close()
