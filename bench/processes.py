"""The browser the page and classroom benchmarks drive, and the server process they read."""

from __future__ import annotations

import contextlib
import subprocess

import psutil

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright cannot download its own build here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def tree(ps: psutil.Process) -> list[psutil.Process]:
    """The process and its children, recursively."""
    return [ps, *ps.children(recursive=True)]


def cpu_seconds(ps: psutil.Process) -> float:
    """User + system CPU seconds so far, the process and its children (gone ones skipped)."""
    total = 0.0
    for p in tree(ps):
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def rss_mb(ps: psutil.Process) -> float:
    """Resident memory of the process and its children, in MiB."""
    total = 0
    for p in tree(ps):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 2**20


def stop(proc: subprocess.Popen) -> None:
    """Terminate, and kill what has not exited 10 s later."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
