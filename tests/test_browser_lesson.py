"""A lesson in Chromium: answer a step's question, train, see the answer, and walk the steps
with PageDown and PageUp, in English and in Chinese. Screenshots go to /tmp/shots/lesson_*.png
(tall pages: the lesson bar, the question card and the charts in one picture)."""

from __future__ import annotations

from pathlib import Path

from fitcore.i18n import catalog
from fitcore.lessons import LESSONS
from tests.test_browser import LOAD_TIMEOUT_MS, click, new_page, open_page, url, wait_step

SHOTS = Path("/tmp/shots")
TALL = {"width": 1400, "height": 1600}


def bar_text(page) -> str:
    return page.locator(".st-key-lesson_bar").inner_text(timeout=LOAD_TIMEOUT_MS)


def lr_shown(page) -> str:
    """The learning rate as the sidebar's ladder shows it."""
    thumb = page.locator('.st-key-lr [data-testid="stSliderThumbValue"]')
    return thumb.inner_text(timeout=LOAD_TIMEOUT_MS).strip()


def press(page, app_idle, key: str, until: str) -> None:
    """Press `key` with the focus on the page itself (a key typed into a box is the box's)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)
    page.get_by_text(until).first.wait_for(timeout=LOAD_TIMEOUT_MS)
    app_idle(page)


def answer(page, app_idle, text: str) -> None:
    """Pick the question card's choice that reads `text`."""
    card = page.locator(".st-key-lesson_question")
    card.get_by_text(text, exact=True).click(timeout=LOAD_TIMEOUT_MS)
    app_idle(page)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"lesson_{name}.png"))


def test_a_lesson_walk_with_the_question_and_the_keyboard(app_server, browser, app_idle):
    lesson, T = LESSONS["straight-line"], catalog("en")
    ask, after = lesson.steps[1], lesson.steps[2]
    with new_page(browser, TALL) as page:
        open_page(page, url(app_server, lesson="straight-line", step="2"), app_idle)
        assert T["lesson_step_of"].format(k=2, n=3) in bar_text(page)
        assert ask.title_en in bar_text(page) and lr_shown(page) == "0.5"
        assert page.locator(".st-key-dataset").count() == 0  # the step hides it
        answer(page, app_idle, ask.question.choices_en[ask.question.answer])
        assert page.get_by_text(T["lesson_wait"]).count() == 1  # not before the run
        shot(page, "en_question")

        click(page, "train")
        wait_step(page, "==", ask.config.steps)
        page.get_by_text(T["lesson_right"]).wait_for(timeout=LOAD_TIMEOUT_MS)
        card = page.locator(".st-key-lesson_question").inner_text()
        assert ask.question.choices_en[ask.question.answer] in card
        shot(page, "en_answered")

        press(page, app_idle, "PageDown", after.title_en)
        assert T["lesson_step_of"].format(k=3, n=3) in bar_text(page)
        assert lr_shown(page) == "0.05"  # the step's own settings
        wait_step(page, "==", 0)  # a new step starts its run from the beginning
        assert "step=3" in page.url
        shot(page, "en_next")

        press(page, app_idle, "PageUp", ask.title_en)
        assert T["lesson_step_of"].format(k=2, n=3) in bar_text(page)
        assert lr_shown(page) == "0.5" and "step=2" in page.url


def test_a_lesson_walk_in_chinese(app_server, browser, app_idle):
    lesson, T = LESSONS["learning-rate"], catalog("zh")
    big, diverging = lesson.steps[2], lesson.steps[3]
    with new_page(browser, TALL) as page:
        open_page(page, url(app_server, lesson="learning-rate", step="3", lang="zh"), app_idle)
        assert T["lesson_step_of"].format(k=3, n=4) in bar_text(page)
        assert big.title_zh in bar_text(page) and lr_shown(page) == "0.5"
        press(page, app_idle, "PageDown", diverging.title_zh)
        assert T["lesson_step_of"].format(k=4, n=4) in bar_text(page) and lr_shown(page) == "10"
        answer(page, app_idle, diverging.question.choices_zh[diverging.question.answer])
        shot(page, "zh_question")

        click(page, "train")  # lr = 10 diverges: the run ends early, and the answer shows
        page.get_by_text(T["lesson_right"]).wait_for(timeout=LOAD_TIMEOUT_MS * 2)
        card = page.locator(".st-key-lesson_question").inner_text()
        assert diverging.question.choices_zh[diverging.question.answer] in card
        assert "**" not in card  # Markdown's bold closes before a full-width colon only
        shot(page, "zh_answered")

        press(page, app_idle, "PageUp", big.title_zh)
        assert T["lesson_step_of"].format(k=3, n=4) in bar_text(page) and lr_shown(page) == "0.5"
