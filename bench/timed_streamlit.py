"""`streamlit run ...` with every script and fragment run timed, for bench/page.py.

Usage: `python bench/timed_streamlit.py OUT.jsonl run streamlit_app.py [options]`. Wraps
the function Streamlit's script runner executes each script or fragment run with
(exec_func_with_error_handling: once per run, on the script thread; one ScriptRunner call
loops over a run and the reruns it asks for, so timing that call would add a fragment's
st.rerun() full run to the fragment) and fitcore's SharedRun._advance (one snapshot of
training), and appends one JSON line per call to OUT.jsonl: {"what": "full" | "fragment" |
"advance", "wall": ms, "cpu": ms}, cpu being that thread's CPU time. A run's time includes
the training it did (its advance lines).
The page itself carries no timing code; nothing here changes what it does.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from streamlit.runtime.scriptrunner import script_runner
from streamlit.web.cli import main

from fitcore import player


def timed(function, what):
    """function, recording each call's time as `what` (or what(args) when callable)."""

    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            kind = what(args) if callable(what) else what
            record(kind, time.perf_counter() - wall, time.thread_time() - cpu)

    return wrapper


def record(what: str, wall: float, cpu: float) -> None:
    line = json.dumps({"what": what, "wall": wall * 1000, "cpu": cpu * 1000})
    with LOCK, OUT.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def run_kind(args) -> str:
    return "fragment" if args[1].fragment_ids_this_run else "full"  # args: (func, ctx)


OUT = Path(sys.argv.pop(1))
LOCK = threading.Lock()
script_runner.exec_func_with_error_handling = timed(
    script_runner.exec_func_with_error_handling, run_kind
)
player.SharedRun._advance = timed(player.SharedRun._advance, "advance")

if __name__ == "__main__":
    sys.argv[0] = "streamlit"
    sys.exit(main())
