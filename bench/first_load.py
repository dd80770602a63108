"""First-load benchmark: from `streamlit run` to the first page a teacher sees, drawn.

Run from the repository root: `python bench/first_load.py [--runs N] [--root DIR ...]`. Each
run starts a fresh `streamlit run streamlit_app.py --server.headless true` on a free port (a
new server process, so torch is imported again; its files are in the OS page cache after the
first run), opens the page in Debian's Chromium as soon as the server answers its health
check, and prints, in seconds from the moment the server process was started:

- healthy: the server answers /_stcore/health; opened: the bench opens the page;
- connected: the page's websocket is up (Streamlit's grey placeholders show until a script run
  sends its first element);
- first text: the first visible text in the page's main area; what it said is printed last;
- gone: when that text left the page ("-" if it stayed, as the title does); a first text that
  is not the title and is still there at the end is a banner left behind, and fails the run;
- title: the page's title (h1) is drawn;
- chart: the first chart is drawn (a canvas or svg inside a Vega-Lite chart element);
- again: on the same server, now warm, from opening a second page to its first chart.

Times are taken in the browser (Date.now() from a 10 ms poller installed before the page's
own scripts) against the clock the bench read as it started the server, so Playwright's round
trips do not count. Chromium is started once, before the first server, and is not timed.
`--root A B` serves two checkouts in turn (before and after: e.g. the committed code from
`git archive HEAD | tar -x -C DIR`), so that each pair shares the machine's load of the moment.
`--lang zh` opens `?lang=zh`; `--screenshot PATH` saves the last checkout's first page as soon
as its first text shows (that run's later times then include the screenshot).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright cannot download its own build here
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_S = 120

# Runs before the page's scripts: the epoch milliseconds at which each thing first showed.
RECORDER_JS = """
window.__fl = {};
(() => {
  const fl = window.__fl;
  const timer = setInterval(() => {
    const now = Date.now();
    const app = document.querySelector('[data-testid="stApp"]');
    if (fl.connected === undefined && app
        && app.getAttribute('data-test-connection-state') === 'CONNECTED') fl.connected = now;
    const main = document.querySelector('[data-testid="stMain"]');
    const text = main ? main.innerText.trim() : '';
    if (text && fl.first_text === undefined) {
      fl.first_text = now;
      fl.first_words = text.split('\\n')[0].slice(0, 80);
    }
    if (fl.first_words !== undefined && fl.gone === undefined
        && !text.includes(fl.first_words)) fl.gone = now;
    if (fl.title === undefined && document.querySelector('[data-testid="stMain"] h1')) {
      fl.title = now;
    }
    const chart = document.querySelector(
      '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks');
    if (fl.chart === undefined && chart) fl.chart = now;
    if (fl.chart !== undefined && now - fl.chart > 3000) clearInterval(timer);
  }, 10);
})();
"""

# seconds from the server's start, but "again": from opening a second page to its chart
COLUMNS = ("healthy", "opened", "connected", "first_text", "gone", "title", "chart", "again")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, port: int, log) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    return subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            url = f"http://127.0.0.1:{port}/_stcore/health"
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("streamlit did not answer its health check")


def open_page(browser, url: str) -> tuple:
    """A new session (own browser context) on `url`, recording; (context, page, epoch s)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.add_init_script(RECORDER_JS)
    page = context.new_page()
    opened = time.time()
    page.goto(url, wait_until="commit")
    return context, page, opened


def drawn(page) -> dict:
    """What the recorder saw, once the first chart has been on the page for 2 s."""
    page.wait_for_function(
        "() => window.__fl.chart && Date.now() - window.__fl.chart > 2000",
        timeout=TIMEOUT_S * 1000,
        polling=100,
    )
    return page.evaluate("() => window.__fl")


def one_load(browser, root: Path, lang: str | None, screenshot: Path | None) -> dict:
    """Start a server and load its page, then a second page: seconds to each event."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/" + (f"?lang={lang}" if lang else "")
    with tempfile.TemporaryFile() as log:
        t0 = time.time()
        proc = start_server(root, port, log)
        try:
            wait_healthy(proc, port)
            healthy = time.time() - t0
            context, page, opened = open_page(browser, url)
            if screenshot:
                page.wait_for_function("() => window.__fl.first_text", timeout=TIMEOUT_S * 1000)
                page.screenshot(path=str(screenshot))
            seen = drawn(page)
            title = page.locator('[data-testid="stMain"] h1').first.inner_text()
            context.close()
            context, page, again_opened = open_page(browser, url)  # the server is warm now
            again = drawn(page)["chart"] / 1000 - again_opened
            context.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    out = {k: (seen[k] / 1000 - t0 if k in seen else None) for k in COLUMNS[2:-1]}
    out["healthy"], out["opened"], out["again"] = healthy, opened - t0, again
    out["words"] = seen.get("first_words", "")
    # a first text that is not the title and never went away is a banner left behind
    out["leftover"] = out["gone"] is None and out["words"] not in title
    return out


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="loads per checkout")
    parser.add_argument(
        "--root", type=Path, nargs="+", default=[REPO_ROOT], help="checkouts to serve, in turn"
    )
    parser.add_argument("--lang", choices=("en", "zh"), help="open the page with ?lang=")
    parser.add_argument("--screenshot", type=Path, help="save the page at its first text")
    args = parser.parse_args()

    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; seconds from server start")
    for i, root in enumerate(args.root):
        print(f"[{i}] {root.resolve()}")
    print("run  " + "  ".join(f"{c:>10}" for c in COLUMNS) + "  first text")
    rows: dict[int, list[dict]] = {i: [] for i in range(len(args.root))}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for n in range(args.runs):
            for i, root in enumerate(args.root):  # in turn: each pair shares the moment's load
                shot = args.screenshot if n == 0 and i == len(args.root) - 1 else None
                row = one_load(browser, root, args.lang, shot)
                rows[i].append(row)
                cells = "  ".join(f"{fmt(row[c]):>10}" for c in COLUMNS)
                note = " (STILL ON THE PAGE)" if row["leftover"] else ""
                print(f"[{i}]{n + 1:>2}  {cells}  {row['words']!r}{note}", flush=True)
        browser.close()
    for i, runs in rows.items():
        medians = []
        for c in COLUMNS:
            values = [r[c] for r in runs if r[c] is not None]
            medians.append(fmt(statistics.median(values)) if values else "-")
        print(f"[{i}]med " + "  ".join(f"{m:>10}" for m in medians) + f"  (n={len(runs)})")
    print(f"load {os.getloadavg()[0]:.1f}")
    return 1 if any(r["leftover"] for runs in rows.values() for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
