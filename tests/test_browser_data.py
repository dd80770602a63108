"""Uploads and point editing in a real browser (AppTest drives neither uploads nor charts)."""

import re
from pathlib import Path

from fitcore import FitConfig, train_iter
from fitcore.i18n import catalog
from fitcore.upload import load_csv
from tests.conftest import wait_for_app_idle

DATA = Path(__file__).parent / "data"
T = catalog("en")


def status(page) -> str:
    return page.locator(".st-key-status").inner_text()


def wait_status(page, text: str) -> None:
    """Wait until the status element's text contains `text` (it redraws with each frame)."""
    page.wait_for_function(
        "t => (document.querySelector('.st-key-status')?.innerText || '').includes(t)", arg=text
    )


def upload(page, path: Path) -> None:
    page.locator(".st-key-upload input[type=file]").set_input_files(str(path))
    wait_for_app_idle(page)


def open_csv_page(page, app_server):
    page.goto(app_server.url + "?dataset=csv&model=linear&steps=200&every=100")
    wait_for_app_idle(page)
    page.locator(".st-key-upload").wait_for()


def test_a_good_upload_trains_and_a_bad_one_keeps_the_data(page, app_server, tmp_path):
    # the link cannot carry an upload: the page asks for a file and offers the uploader
    log_start = len(app_server.log_text())  # the server is shared: earlier tests' lines
    open_csv_page(page, app_server)
    upload(page, DATA / "semicolon.csv")
    wait_status(page, "step 0 / 200")
    page.locator(".st-key-step button").click()
    wait_status(page, "step 100 / 200")
    wait_for_app_idle(page)
    w_before = page.locator('[data-testid="stMetric"]').nth(1).inner_text()

    bad = tmp_path / "bad.csv"
    bad.write_text("name,city\nAnna,Paris\nBo,Rome\n", encoding="utf-8")
    upload(page, bad)
    alert = page.locator('[data-testid="stAlertContentError"]')
    alert.wait_for()
    assert "No column holds numbers" in alert.inner_text()
    assert "previous data is kept" in alert.inner_text()
    # the run on the previous file is still there, at the same step
    assert status(page).startswith("step 100 / 200")
    assert page.locator('[data-testid="stMetric"]').nth(1).inner_text() == w_before
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in app_server.log_text()[log_start:]


def metric(page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_a_chinese_gbk_file_loads_with_its_row_count(page, app_server):
    open_csv_page(page, app_server)
    upload(page, DATA / "gbk_header.csv")
    # the file holds five rows under a Chinese header (时间, 温度), none dropped
    page.get_by_text(re.compile(r"(?<!\d)5 points from gbk_header\.csv")).wait_for()
    skipped = T["upload_dropped"].split("}", 1)[1].strip()  # "rows were skipped (...)."
    assert page.get_by_text(skipped).count() == 0
    wait_status(page, "step 0 / 200")
    wait_for_app_idle(page)
    # and those five points are what trains: the step-0 loss of a run on them
    points = load_csv((DATA / "gbk_header.csv").read_bytes())
    assert points["y"].tolist() == [20.5, 21.0, 22.25, 23.5, 25.0]
    first = next(iter(train_iter(FitConfig(dataset="csv", model="linear", steps=200), points)))
    assert metric(page, T["train_loss"]) == f"{first.train_loss:.4g}"


def test_clicked_points_are_removed_and_an_outlier_added(page, app_server):
    page.goto(app_server.url + "?model=linear&dataset=linear&noise=0.5&n_points=20&seed=5")
    wait_for_app_idle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    points = chart.locator("g.points_marks path")  # the scatter layer, named "points"
    points.first.wait_for()
    assert points.count() == 20
    points.nth(7).click()
    remove = page.locator(".st-key-remove_points button")
    page.wait_for_function(
        "document.querySelector('.st-key-remove_points button').innerText.includes('(1)')"
    )
    remove.click()
    wait_for_app_idle(page)
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=stVegaLiteChart] g.points_marks path')"
        ".length === 19"
    )
    page.locator(".st-key-add_outlier button").click()
    wait_for_app_idle(page)
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=stVegaLiteChart] g.points_marks path')"
        ".length === 20"
    )
    wait_status(page, "step 0 /")  # edited data is a new run
    page.locator(".st-key-undo_edits button").click()
    wait_for_app_idle(page)
    assert page.locator(".st-key-undo_edits button").is_disabled()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_the_loss_chart_draws_every_step_shown(page, app_server):
    page.goto(app_server.url + "?steps=300&every=100&seed=8")
    wait_for_app_idle(page)
    for step in (100, 200):
        page.locator(".st-key-step button").click()
        wait_status(page, f"step {step} / 300")
    wait_for_app_idle(page)
    # the loss line's SVG path: one move and then one segment per further snapshot drawn
    page.wait_for_function(
        "() => { const p = document.querySelectorAll('[data-testid=stVegaLiteChart]')[1]"
        "?.querySelector('g.loss_marks path');"
        " return p && p.getAttribute('d').split('L').length === 3 }"
    )
