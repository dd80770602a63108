"""The READMEs a new user reads: the commands they copy, the order of the sections, the links."""

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READMES = ("README.md", "README.zh.md")
# Everything a reader may follow a link from: the READMEs, the deploy guides, the benchmarks.
DOCS = (*READMES, "DEPLOY.md", "DEPLOY.zh.md", "docs/benchmarks.md", "docs/benchmarks.zh.md")


def _ci_test_command() -> str:
    """TEST_CMD of .ci/run: the command CI runs, and checks the README still gives."""
    line = next(
        x for x in (ROOT / ".ci" / "run").read_text().splitlines() if x.startswith("TEST_CMD=")
    )
    return shlex.split(line.removeprefix("TEST_CMD="))[0]


def _torch_pin() -> str:
    return next(
        x for x in (ROOT / "requirements.txt").read_text().splitlines() if x.startswith("torch==")
    )


APP_CMD = "pip install -r requirements.txt && streamlit run streamlit_app.py"
TEST_CMD = _ci_test_command()
# PyPI's Linux wheel is the CUDA build (~2.7 GB more); PyTorch's own index has the CPU one.
CPU_TORCH = f"pip install {_torch_pin()} --index-url https://download.pytorch.org/whl/cpu"
SECTIONS = {
    "README.md": ["Quick start", "For teachers", "For students", "Reference", "For developers"],
    "README.zh.md": ["快速上手", "给老师", "给学生", "参考", "给开发者"],
}
BENCHMARKS = {"README.md": "docs/benchmarks.md", "README.zh.md": "docs/benchmarks.zh.md"}

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
SPAN = re.compile(r"`([^`\n]+)`")
CODE = re.compile(FENCE.pattern + "|" + SPAN.pattern, re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def code(text: str) -> list[str]:
    """What a reader can copy, in the order it comes: each line of a fenced block, each inline
    code span."""
    out = []
    for block, span in CODE.findall(text):
        out += [line.strip() for line in block.splitlines() if line.strip()] if block else [span]
    return out


def prose(text: str) -> str:
    """The text without its code, where a `[a](b)` or a `# comment` is not markdown."""
    return SPAN.sub("", FENCE.sub("", text))


def sections(text: str) -> list[str]:
    return re.findall(r"^## (.+?)\s*$", prose(text), re.M)


def slugs(text: str) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, '-' for spaces."""
    headings = re.findall(r"^#+ (.+?)\s*$", FENCE.sub("", text), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def links(text: str) -> list[str]:
    return LINK.findall(prose(text))


def broken_links(name: str, text: str) -> list[str]:
    """The relative links of `text` (the file `name`) whose file or heading does not exist."""
    out = []
    for target in links(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (ROOT / name).parent / path if path else ROOT / name
        if not file.is_file():
            out.append(target)
        elif anchor and file.suffix == ".md":
            own = text if not path else file.read_text(encoding="utf-8")
            if anchor not in slugs(own):
                out.append(target)
    return out


# --- the READMEs themselves -------------------------------------------------------------------


@pytest.mark.parametrize("name", READMES)
def test_the_readme_gives_the_app_test_and_cpu_torch_commands(name):
    commands = code(read(name))
    assert APP_CMD in commands
    assert TEST_CMD in commands
    assert CPU_TORCH in commands


@pytest.mark.parametrize("name", READMES)
def test_the_first_command_is_the_app(name):
    assert code(read(name))[0] == APP_CMD


@pytest.mark.parametrize("name", READMES)
def test_the_sections_come_in_their_order(name):
    assert sections(read(name)) == SECTIONS[name]


@pytest.mark.parametrize("name", READMES)
def test_the_readme_links_to_the_benchmarks(name):
    assert BENCHMARKS[name] in links(read(name))
    assert (ROOT / BENCHMARKS[name]).is_file()


@pytest.mark.parametrize("name", DOCS)
def test_every_relative_link_resolves(name):
    assert links(read(name)), name
    assert broken_links(name, read(name)) == []


# --- the checks find what they look for ---------------------------------------------------------


README = f"""# App

## Quick start

```bash
{APP_CMD}
```

Linux: `{CPU_TORCH}`. Then test:

```bash
{TEST_CMD}
```

## For teachers
## For students
## Reference
## For developers
"""


def test_the_checks_pass_a_readme_that_has_it_all():
    assert code(README)[0] == APP_CMD and {APP_CMD, CPU_TORCH, TEST_CMD} <= set(code(README))
    assert sections(README) == SECTIONS["README.md"]


def test_a_changed_or_merely_mentioned_command_is_not_a_command():
    assert APP_CMD not in code(README.replace("streamlit_app.py", "app.py"))
    assert CPU_TORCH not in code(README.replace("/whl/cpu", "/whl/cu126"))
    assert TEST_CMD not in code(README.replace("```bash\n" + TEST_CMD, "Run " + TEST_CMD))


def test_the_first_command_is_found():
    assert (
        code(README.replace("## Quick start\n", "## Quick start\n\n`make run`\n"))[0] == "make run"
    )


def test_sections_out_of_order_are_seen():
    text = README.replace("## For students\n## Reference", "## Reference\n## For students")
    assert sections(text) != SECTIONS["README.md"]
    assert sections("```bash\n## not a heading\n```\n## One\n### Two\n") == ["One"]


def test_a_broken_link_is_found():
    text = README + (
        "\n[a](docs/nope.md) [b](#no-such-part) [c](README.zh.md#nope) ![d](docs/none.png)"
        "\n[ok](#for-students) [ok](DEPLOY.md) [web](https://example.org/x)"
        "\n`[code](not/a/link.md)`\n"
    )
    found = broken_links("README.md", text)
    assert found == ["docs/nope.md", "#no-such-part", "README.zh.md#nope", "docs/none.png"]


def test_links_resolve_from_the_file_s_own_folder():
    assert broken_links("docs/benchmarks.md", "[r](../README.md#quick-start)") == []
    assert broken_links("docs/benchmarks.md", "[r](README.md)") == ["README.md"]


def test_headings_become_github_anchors():
    text = "# Give it to a class\n## 4. Memory\n### 损失爆炸时\n#### `hide` only hides\n"
    assert slugs(text) == {"give-it-to-a-class", "4-memory", "损失爆炸时", "hide-only-hides"}
