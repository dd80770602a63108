"""The code's layout: who may import what, how long the page's files are, pins kept in step."""

import ast
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = [ROOT / "streamlit_app.py", *sorted((ROOT / "ui").rglob("*.py"))]
CORE = sorted((ROOT / "fitcore").rglob("*.py"))


def imported(path: pathlib.Path) -> set[str]:
    """The top-level package of every module `path` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return {name.split(".")[0] for name in names}


def test_imports_go_one_way_page_to_ui_to_fitcore():
    assert len(PAGE) > 5 and len(CORE) > 10
    for path in PAGE:
        assert "torch" not in imported(path), f"{path.name} imports torch; that is fitcore's work"
    for path in CORE:
        assert not {"streamlit", "ui"} & imported(path), f"{path.name} imports the UI"


def test_the_page_is_an_outline_and_no_ui_file_is_long():
    assert len((ROOT / "streamlit_app.py").read_text().splitlines()) <= 120
    for path in PAGE[1:]:
        assert len(path.read_text().splitlines()) <= 300, path.name


def test_the_project_and_the_deploy_file_pin_the_same_versions():
    def pins(lines):
        return {
            m[1].lower(): m[2] for m in (re.match(r"([\w.-]+)==([\w.]+)", x) for x in lines) if m
        }

    deploy = pins((ROOT / "requirements.txt").read_text().splitlines())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert deploy and pins(project) == deploy
