"""The Downloads tab's pictures in Streamlit's AppTest: made only when asked, once per run."""

import pytest
from streamlit.testing.v1 import AppTest

from fitcore import animation as anim
from fitcore.i18n import catalog

APP = "../streamlit_app.py"
T = catalog("en")


def open_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def download_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.get("download_button")}


@pytest.fixture
def fresh_animations():
    from ui.tabs import code

    code._animation.clear()  # shared by every session of the server, and so by these tests
    yield
    code._animation.clear()


def test_the_page_draws_no_animation_until_asked(monkeypatch, fresh_animations):
    import ui.tabs.code

    calls = []
    monkeypatch.setattr(ui.tabs.code, "render_frames", lambda *a, **k: calls.append(a))
    at = open_page(steps="100", every="50")
    assert "download_png" in download_keys(at)
    assert not {"download_gif", "download_mp4"} & download_keys(at)
    assert at.button(key="make_animation").label == T["anim_make"]
    assert not calls


def test_make_the_animation_offers_the_gif_and_the_mp4(fresh_animations):
    at = open_page(steps="100", every="50")
    at.button(key="make_animation").click().run()
    assert not at.exception, at.exception
    assert {"download_gif", "download_mp4", "download_png", "download_data"} <= download_keys(at)
    assert not at.error
    # made once for the run: a second student's page offers it at once
    assert {"download_gif", "download_mp4"} <= download_keys(open_page(steps="100", every="50"))


def test_a_failing_renderer_says_so_and_the_rest_of_the_page_works(monkeypatch, fresh_animations):
    import ui.tabs.code

    def broken(*args, **kwargs):
        raise anim.AnimationError("vl-convert could not render a chart: crashed")

    monkeypatch.setattr(ui.tabs.code, "render_frames", broken)
    at = open_page(steps="100", every="50", lang="zh")
    at.button(key="make_animation").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [catalog("zh")["anim_failed"]]
    assert {"download_data", "download_png"} <= download_keys(at)
    assert not {"download_gif", "download_mp4"} & download_keys(at)
    at.button(key="step").click().run()  # the page goes on
    assert not at.exception, at.exception
    assert at.get("progress")[0].proto.text == catalog("zh")["status"].format(step=50, steps=100)


def test_a_server_without_chinese_fonts_says_so_on_the_chinese_page(monkeypatch):
    monkeypatch.setattr(anim, "CJK_FONT_DIRS", ("/nonexistent",))
    at = open_page(lang="zh", steps="100", every="50")
    assert catalog("zh")["anim_no_fonts"] in [w.value for w in at.warning]
    assert "download_png" not in download_keys(at)
    assert "download_data" in download_keys(at)
