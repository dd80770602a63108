"""The string catalogs: same keys and placeholders in every language, Chinese without English,
and every key the code asks for exists while every key in the catalogs is asked for."""

import ast
import itertools
import re
import string
import subprocess
import sys
import types
from collections import defaultdict
from pathlib import Path

import pytest

from fitcore import config, registry, upload
from fitcore.i18n import (
    LANGS,
    TABLES,
    catalog,
    dynamic_keys,
    key_families,
    pick_language,
    script_catalog,
)

ROOT = Path(__file__).resolve().parents[1]
TABLE = {"page": catalog, "script": script_catalog}

# Names a Chinese student meets as they are, in textbooks and in the code: tools, file formats,
# the names of losses, optimizers and activations, keys and special values. Anything else in
# Latin letters (3 or more in a row) in a Chinese string is English of FitLab's own.
TECHNICAL_NAMES = {
    *("FitLab", "PyTorch", "CSV", "UTF", "GBK", "Excel", "Shift"),
    *("GIF", "PNG"),  # the Downloads tab's picture formats (MP4 has too few letters to match)
    *("MSE", "Huber", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "BFGS"),
    *("ReLU", "Leaky", "tanh", "sigmoid", "GELU", "ELU", "SiLU"),
    *("NaN", "inf"),
    *("sin", "exp"),  # in the datasets' formulas
}
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def _placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _english_words(text):
    text = re.sub(r"`[^`]*`", "", text)  # code
    text = re.sub(r"\$[^$]*\$", "", text)  # math (LaTeX, drawn by the page)
    text = re.sub(r"\{\w*\}", "", text)  # placeholders
    return set(ENGLISH_WORD.findall(text)) - TECHNICAL_NAMES


# --- the catalogs themselves -------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_every_language_has_the_same_keys(table):
    for lang in LANGS:
        assert set(TABLE[table](lang)) == set(TABLE[table]("en")), lang


@pytest.mark.parametrize(
    ("table", "key"), [(table, key) for table in TABLES for key in sorted(TABLE[table]("en"))]
)
def test_every_language_has_the_same_placeholders(table, key):
    for lang in LANGS:
        text = TABLE[table](lang)[key]
        assert isinstance(text, str) and text, lang
        assert _placeholders(text) == _placeholders(TABLE[table]("en")[key]), lang


@pytest.mark.parametrize("key", sorted(catalog("zh")))
def test_chinese_strings_have_no_english_words(key):
    assert _english_words(catalog("zh")[key]) == set()


def test_the_english_word_check_finds_english():
    assert _english_words("用 python 运行 `python x.py`，{name} 用 ReLU") == {"python"}


def test_one_file_per_language_with_the_two_tables():
    import tomllib

    found = sorted(p.stem for p in (ROOT / "fitcore" / "catalogs").glob("*.toml"))
    assert found == sorted(LANGS) and set(LANGS) == set(config.LANGS)
    for lang in LANGS:
        data = tomllib.loads((ROOT / "fitcore" / "catalogs" / f"{lang}.toml").read_text("utf-8"))
        assert set(data) == set(TABLES), lang


def test_catalogs_are_read_once_and_read_only():
    assert catalog("zh") is catalog("zh") and catalog("fr") is catalog("en")
    assert script_catalog("xx") is script_catalog("en") is not catalog("en")
    for strings in (catalog("en"), script_catalog("zh")):
        assert isinstance(strings, types.MappingProxyType)
        with pytest.raises(TypeError):
            strings["title"] = "changed"  # type: ignore[index]
    assert catalog("en")["title"] == "FitLab"


def test_language_choice():
    assert pick_language("en", "zh-CN") == "en"
    assert pick_language(None, "zh-TW") == "zh"
    assert pick_language("xx", None) == "en"
    assert pick_language(None, None) == "en"


def test_upload_messages_are_the_english_catalogs():
    assert dict(upload.MESSAGES) == {c: catalog("en")[f"upload_{c}"] for c in upload.CODES}
    # CODES is every code upload.py raises, and nothing else
    raised = set()
    for node in ast.walk(ast.parse((ROOT / "fitcore" / "upload.py").read_text("utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "UploadError":
            raised.add(node.args[0].value)
    assert raised == set(upload.CODES)


# config imports the catalog only when it needs it: upload imports i18n and config
@pytest.mark.parametrize("first", ["fitcore.config", "fitcore.i18n", "fitcore.upload"])
def test_modules_import_in_any_order(first):
    code = (
        f"import {first}\n"
        "from fitcore.config import FitConfig\n"
        "assert FitConfig.from_query({'lr': 'x'}, lang='zh')[1][0].startswith('lr=')\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --- key families: the keys the code builds at run time ---------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_every_dynamic_key_is_in_every_language(table):
    for lang in LANGS:
        assert dynamic_keys(table) - set(TABLE[table](lang)) == set(), lang


def test_each_family_matches_its_pattern():
    for table in TABLES:
        for pattern, keys in key_families(table).items():
            shape = re.compile(re.escape(pattern).replace(r"\{\}", ".+"))
            assert keys and all(shape.fullmatch(k) for k in keys), pattern


def test_every_choice_has_a_label_family():
    families = key_families()
    for field in registry.FIELDS:
        keys = {registry.label_key(field, name) for name in registry.names(field)}
        assert keys <= set().union(*families.values()), field
    assert {f"sp_{s}" for s in config.SPEEDS} == families["sp_{}"]
    assert {f"preset_{p}" for p in config.PRESETS} < families["preset_{}"]


# --- which keys the code asks for --------------------------------------------------------------
#
# The scanner reads the code's syntax tree. A catalog is `T`, `page` or anything assigned from
# `catalog(...)` / `_catalog(...)` (the page's), `t` or anything assigned from
# `script_catalog(...)` (the script's), and a direct `catalog(lang)[...]`. For each lookup
# `C[key]` or `C.get(key)` it works out the key's shape: a literal ("title"), or a pattern with
# `{}` for each part filled in at run time (f"ds_{d}" -> "ds_{}", a parameter -> "{}"). A
# variable is followed to what it is bound to in its scope: `x = "a" if c else "b"`, `for k in
# ("a", "b")`, `for k, v in {...}.items()`, `for _, (k, _) in zip(..., rows)`, a list it
# `.append`s or `.insert`s to; what cannot be followed (a parameter, an import) is `{}`.
# registry.label_key(field, name) is the label family of its field.

PAGE_NAMES, SCRIPT_NAMES = {"T", "page"}, {"t"}
CALLS = {"catalog": "page", "_catalog": "page", "script_catalog": "script"}
HOLE = "{}"
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
MAX_SHAPES = 200  # a key with more alternatives than this is a pattern, not a list


def code_files() -> list[Path]:
    """The code that can ask for a key: the page, the ui package (if there is one yet), fitcore."""
    return [
        ROOT / "streamlit_app.py",
        *sorted((ROOT / "ui").glob("**/*.py")),
        *sorted((ROOT / "fitcore").glob("**/*.py")),
    ]


class Scanner:
    def __init__(self, source: str, name: str):
        self.name = name
        self.tree = ast.parse(source, name)
        self.parent: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
        self.tables = {n: "page" for n in PAGE_NAMES} | {n: "script" for n in SCRIPT_NAMES}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and (table := self._catalog_call(node.value)):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.tables[target.id] = table
        # table -> shape -> places ("file:line")
        self.uses: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def scan(self) -> "Scanner":
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Subscript):
                container, key = node.value, node.slice
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
            ):
                container, key = node.func.value, node.args[0]
            else:
                continue
            table = self._table(container)
            if table is None:
                continue
            for shape in self.shapes(key):
                self.uses[table][shape].append(f"{self.name}:{node.lineno}")
        return self

    def _catalog_call(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            return CALLS.get(name)
        return None

    def _table(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.tables.get(node.id)
        return self._catalog_call(node)

    # -- a key expression's shapes: literal keys, or patterns with {} holes

    def shapes(self, node: ast.AST | None, depth: int = 0) -> set[str]:
        if node is None or depth > 20:
            return {HOLE}
        if isinstance(node, ast.Constant):
            return {node.value} if isinstance(node.value, str) else {HOLE}
        if isinstance(node, ast.JoinedStr):
            parts = [
                {v.value} if isinstance(v, ast.Constant) else self.shapes(v.value, depth + 1)
                for v in node.values
            ]
            return self._join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._join(
                [self.shapes(node.left, depth + 1), self.shapes(node.right, depth + 1)]
            )
        if isinstance(node, ast.IfExp):
            return self.shapes(node.body, depth + 1) | self.shapes(node.orelse, depth + 1)
        if isinstance(node, ast.Call) and self._called(node) == "label_key" and node.args:
            fields = self.shapes(node.args[0], depth + 1)
            if HOLE in fields or not fields <= set(registry.FIELDS):
                fields = set(registry.FIELDS)
            name = self.shapes(node.args[1], depth + 1) if len(node.args) > 1 else {HOLE}
            return self._join([{registry.FIELDS[f][1] for f in fields}, name])
        if isinstance(node, ast.Name):
            values = self.bound(node, depth + 1)
            if values is None:
                return {HOLE}
            return set().union(*(self.shapes(v, depth + 1) for v in values)) or {HOLE}
        return {HOLE}

    @staticmethod
    def _called(node: ast.Call) -> str | None:
        return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)

    @staticmethod
    def _join(parts: list[set[str]]) -> set[str]:
        out = {"".join(p) for p in itertools.product(*parts)}
        if len(out) > MAX_SHAPES:  # too many to list: a pattern
            out = {"".join(next(iter(p)) if len(p) == 1 else HOLE for p in parts)}
        return {re.sub(r"(\{\})+", HOLE, shape) for shape in out}

    # -- what a name is bound to in its scope

    def bound(self, name: ast.Name, depth: int) -> list[ast.AST | None] | None:
        """The expressions `name` may stand for, or None when it cannot be followed."""
        node: ast.AST = name
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, COMPREHENSIONS):
                for gen in node.generators:
                    if (path := _path(gen.target, name.id)) is not None:
                        return self._project(self.elements(gen.iter, depth), path)
            elif isinstance(node, SCOPES):
                if not isinstance(node, ast.Module):
                    args = node.args
                    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                    every += [a for a in (args.vararg, args.kwarg) if a]
                    if any(a.arg == name.id for a in every):
                        return None  # a parameter: filled in by the caller
                values = self._assigned(node, name.id, depth)
                if values is not None:
                    return values
        return None

    def _assigned(self, scope: ast.AST, name: str, depth: int) -> list | None:
        """What `name` is assigned or looped over in `scope`; None when `scope` never binds it."""
        found: list | None = None
        for node in self._own_nodes(scope):
            if isinstance(node, ast.Assign):
                targets, source = node.targets, lambda node=node: [node.value]
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                targets, source = [node.target], lambda node=node: [node.value]
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets, source = [node.target], lambda node=node: self.elements(node.iter, depth)
            else:
                continue
            for target in targets:
                if (path := _path(target, name)) is not None:
                    # an unknown source binds it to anything: a hole
                    found = [*(found or []), *(self._project(source(), path) or [None])]
        return found

    def _own_nodes(self, scope: ast.AST):
        """The nodes of `scope` outside its nested functions, lambdas and comprehensions."""
        stack = list(ast.iter_child_nodes(scope))
        while stack:
            node = stack.pop()
            yield node
            if not isinstance(node, (*SCOPES, *COMPREHENSIONS, ast.ClassDef)):
                stack.extend(ast.iter_child_nodes(node))

    def elements(self, node: ast.AST | None, depth: int) -> list[ast.AST | None] | None:
        """The items iterating over `node` gives, or None when they cannot be known."""
        if node is None or depth > 20:
            return None
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            out: list = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    inner = self.elements(elt.value, depth + 1)
                    if inner is None:
                        return None
                    out += inner
                else:
                    out.append(elt)
            return out
        if isinstance(node, ast.Dict):
            return [k for k in node.keys if k is not None]
        if isinstance(node, ast.Call):
            func, args = node.func, node.args
            if isinstance(func, ast.Attribute) and func.attr in ("items", "keys", "values"):
                pairs = self._dict(func.value, depth + 1)
                if pairs is None:
                    return None
                if func.attr == "keys":
                    return [k for k, _ in pairs]
                if func.attr == "values":
                    return [v for _, v in pairs]
                return [ast.Tuple(elts=[k, v]) for k, v in pairs]
            called = self._called(node)
            if called in ("sorted", "list", "tuple", "set", "reversed", "frozenset") and args:
                return self.elements(args[0], depth + 1)
            if called == "enumerate" and args:
                items = self.elements(args[0], depth + 1)
                return None if items is None else [ast.Tuple(elts=[None, e]) for e in items]
            if called == "zip" and args:
                columns = [self.elements(a, depth + 1) for a in args]
                known = [c for c in columns if c is not None]
                if not known:
                    return None
                n = max(len(c) for c in known)
                return [
                    ast.Tuple(
                        elts=[c[i] if c is not None and i < len(c) else None for c in columns]
                    )
                    for i in range(n)
                ]
            return None
        if isinstance(node, ast.Name):
            values = self.bound(node, depth + 1)
            if values is None:
                return None
            out = []
            for value in values:
                items = self.elements(value, depth + 1)
                if items is None:
                    return None
                out += items
            return out + self._added(node)
        return None

    def _dict(self, node: ast.AST, depth: int) -> list[tuple] | None:
        if isinstance(node, ast.Dict):
            return [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
        if isinstance(node, ast.Name):
            values = self.bound(node, depth + 1)
            if values and all(isinstance(v, ast.Dict) for v in values):
                return [pair for v in values for pair in self._dict(v, depth + 1)]
        return None

    def _added(self, name: ast.Name) -> list[ast.AST]:
        """Items added to the list `name` by .append(x), .insert(i, x) or .extend([...])."""
        scope = name
        while scope in self.parent and not isinstance(scope, SCOPES):
            scope = self.parent[scope]
        out: list = []
        for node in self._own_nodes(scope):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name.id
                and node.args
            ):
                if node.func.attr == "append":
                    out.append(node.args[0])
                elif node.func.attr == "insert" and len(node.args) == 2:
                    out.append(node.args[1])
                elif node.func.attr == "extend":
                    out += self.elements(node.args[0], 0) or [None]
        return out

    @staticmethod
    def _project(items: list | None, path: tuple[int, ...]) -> list | None:
        """The part at `path` of each item (tuple unpacking), None where it cannot be known."""
        if items is None:
            return None
        out = []
        for item in items:
            for i in path:
                item = item.elts[i] if isinstance(item, (ast.Tuple, ast.List)) else None
                if item is None:
                    break
            out.append(item)
        return out


def _path(target: ast.AST, name: str) -> tuple[int, ...] | None:
    """Where `name` sits in an assignment target: () for `name`, (1, 0) for `a, (name, b)`."""
    if isinstance(target, ast.Name):
        return () if target.id == name else None
    if isinstance(target, (ast.Tuple, ast.List)):
        for i, elt in enumerate(target.elts):
            if (sub := _path(elt, name)) is not None:
                return (i, *sub)
    return None


def scan(sources: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    """table -> key shape (a literal key, or a pattern with {}) -> where the code asks for it."""
    uses: dict[str, dict[str, list[str]]] = {table: defaultdict(list) for table in TABLES}
    for name, source in sources.items():
        for table, shapes in Scanner(source, name).scan().uses.items():
            for shape, places in shapes.items():
                uses[table][shape] += places
    return uses


def problems(uses, tables, families) -> list[str]:
    """What is wrong between the code's lookups (scan), the catalogs and the key families.

    tables: table -> its keys; families: table -> pattern -> keys.
    """
    out = []
    for table in TABLES:
        keys, declared = set(tables[table]), families[table]
        asked = {shape for shape in uses[table] if HOLE not in shape}
        for shape, places in sorted(uses[table].items()):
            if HOLE not in shape and shape not in keys:
                out.append(f"(a) [{table}] {shape!r} is not in the catalog ({places[0]})")
            if HOLE in shape and shape not in declared:
                out.append(
                    f"(b) [{table}] a key {shape!r} is built at run time but no family in "
                    f"i18n.key_families has that pattern ({places[0]})"
                )
        for pattern, members in sorted(declared.items()):
            if pattern not in uses[table]:
                out.append(f"(b) [{table}] family {pattern!r} is declared, but no code uses it")
            for key in sorted(members - keys):
                out.append(f"(a) [{table}] {key!r} of family {pattern!r} is not in the catalog")
        dynamic = set().union(*declared.values())
        for key in sorted(keys - asked - dynamic):
            out.append(f"(c) [{table}] {key!r} is in the catalog but no code asks for it")
    return out


def real_sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text("utf-8") for p in code_files()}


def real_problems(sources=None) -> list[str]:
    tables = {table: TABLE[table]("en") for table in TABLES}
    families = {table: key_families(table) for table in TABLES}
    return problems(scan(sources or real_sources()), tables, families)


def test_the_code_asks_only_for_catalog_keys_and_for_all_of_them():
    assert real_problems() == []


def test_the_scanner_sees_the_page_and_the_script():
    uses = scan(real_sources())
    for shape in ("title", "upload_kept", "warn_invalid", "ds_{}", "{}_help", "upload_{}"):
        assert shape in uses["page"], shape
    for shape in ("title", "weights_why", "adamw_default", "data_as_is", "opt_{}", "loss_{}"):
        assert shape in uses["script"], shape


FAKE = """from fitcore.i18n import catalog, script_catalog

def page(T, field):
    T["title"]
    T[f"{field}_help"]
    for k in ("language", "g_data"):
        T[k]
    rows = [("reset", 1), ("step", 2)]
    for _, (key, _) in zip(range(9), rows):
        T[key]
    names = ["train"]
    names.insert(0, "pause")
    [T[n] for n in names]
    for again, _ in {"again": 1}.items():
        T.get(again)
    T["resume" if field else "status"]
    words = script_catalog("zh")
    choice = "seed" if rows else "steps"
    words[choice]
    catalog("en")[f"sp_{field}"]
    for other in IMPORTED:
        T[other]
"""


def test_the_scanner_follows_variables():
    uses = scan({"fake.py": FAKE})
    assert set(uses["page"]) == {
        *("title", "{}_help", "language", "g_data", "reset", "step", "train", "pause"),
        *("again", "resume", "status", "sp_{}", "{}"),
    }
    assert set(uses["script"]) == {"seed", "steps"}
    assert uses["page"]["g_data"] == ["fake.py:7"]


def _only(problems, kind):
    return [p for p in problems if p.startswith(f"({kind})")]


def test_the_key_check_finds_a_key_missing_from_the_catalog():  # (a)
    found = real_problems({**real_sources(), "fake.py": 'T["no_such_key"]\nt["nor_this"]'})
    assert _only(found, "a") == [
        "(a) [page] 'no_such_key' is not in the catalog (fake.py:1)",
        "(a) [script] 'nor_this' is not in the catalog (fake.py:2)",
    ]
    assert _only(found, "b") == _only(found, "c") == []


def test_the_key_check_finds_a_run_time_key_of_no_family():  # (b)
    fake = 'page[f"nope_{x}"]\nT[f"{x}_{y}"]\nT["a" + name]'
    found = real_problems({**real_sources(), "fake.py": fake})
    assert _only(found, "b") == [
        f"(b) [page] a key {shape!r} is built at run time but no family in i18n.key_families "
        f"has that pattern (fake.py:{line})"
        for shape, line in (("a{}", 3), ("nope_{}", 1), ("{}_{}", 2))
    ]
    assert _only(found, "a") == _only(found, "c") == []


def test_the_key_check_finds_a_key_nothing_asks_for():  # (c)
    tables = {table: {**TABLE[table]("en"), "orphan": "x"} for table in TABLES}
    families = {table: key_families(table) for table in TABLES}
    found = problems(scan(real_sources()), tables, families)
    assert found == [
        "(c) [page] 'orphan' is in the catalog but no code asks for it",
        "(c) [script] 'orphan' is in the catalog but no code asks for it",
    ]


def test_the_key_check_finds_a_family_key_missing_and_an_unused_family():
    tables = {table: dict(TABLE[table]("en")) for table in TABLES}
    del tables["page"]["sp_max"]
    families = {table: key_families(table) for table in TABLES}
    families["script"]["nothing_{}"] = frozenset({"title"})
    found = problems(scan(real_sources()), tables, families)
    assert found == [
        "(a) [page] 'sp_max' of family 'sp_{}' is not in the catalog",
        "(b) [script] family 'nothing_{}' is declared, but no code uses it",
    ]
