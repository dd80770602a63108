"""A fresh server's first pages, several at once: fitcore imported from many threads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Four script threads of four first pages, each importing what the page imports, in a fresh
# interpreter (fitcore not imported yet), as a server does when a class opens the link.
CROWD = """
import importlib, threading
errors = []
def page(name):
    try:
        from ui import boot
        boot.load()
        importlib.import_module(name)
    except Exception as exc:
        errors.append(repr(exc))
names = ("fitcore.config", "fitcore.i18n", "fitcore.train", "ui.common")
threads = [threading.Thread(target=page, args=(n,)) for n in names]
for t in threads: t.start()
for t in threads: t.join()
print("errors:", errors)
"""


def test_first_pages_at_once_all_import_fitcore():
    # without boot.load() this failed on every try here (5 of 5): ImportError and KeyError
    out = subprocess.run(
        [sys.executable, "-c", CROWD], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "errors: []" in out.stdout, out.stdout


def test_the_page_loads_fitcore_through_boot_before_any_fitcore_import():
    tree = ast.parse((ROOT / "streamlit_app.py").read_text(encoding="utf-8"))
    order = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fitcore"):
            order.append("fitcore")
        elif isinstance(node, ast.Expr) and ast.unparse(node) == "boot.load()":
            order.append("boot")
    assert order and order[0] == "boot", order
