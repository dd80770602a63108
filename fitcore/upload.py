"""Uploaded CSV files: bytes to a table, and a table to the x, y points of a run.

Everything a student can upload ends in a DataFrame or an `UploadError` whose `code` the page
translates. Input is only split and parsed as numbers (csv module, `pd.to_numeric`); nothing in
it is ever evaluated.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
import types
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from fitcore.config import LIMITS, _show
from fitcore.i18n import catalog

# .streamlit/config.toml sets server.maxUploadSize = 1 (MB); checked again here because
# load_csv is also called outside the page. Streamlit's uploader counts a MB as 10**6 bytes, or
# 2**20 in browsers on Windows; 10**6 is the stricter of the two.
MAX_UPLOAD_BYTES = 1_000_000
MAX_ROWS = int(LIMITS["n_points"][1])  # a run trains on at most this many points
# Reading stops past this many rows: a file this long cannot have MAX_ROWS usable points unless
# most rows are blank, and splitting all of a 1 MB file of short rows takes seconds.
MAX_TABLE_ROWS = 5 * MAX_ROWS
MAX_COLUMNS = 100  # an x, y table is narrow; also bounds the per-column work on odd files
# Beyond this, spreads and squares overflow float64 while make_data scales the points.
MAX_ABS_VALUE = 1e100

# Candidate delimiters, least likely inside a value first: a tie goes to the earlier one, so
# "1,5;2,5" (decimal commas) splits on the semicolon.
DELIMITERS = ("\t", ";", ",")
SNIFF_ROWS = 100  # rows looked at to choose the delimiter

# "1,5" or "-,5e3": a decimal comma, read as a decimal point only when ";" is the delimiter
# (European spreadsheets), where it cannot be a thousands separator or a column break.
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")
# Cells that mean "no value": they neither make a column text nor a first row a header.
_MISSING = frozenset({"nan", "na", "n/a", "#n/a", "null", "none", "-", "?"})
# Signatures of files that are not text: xlsx/ods (zip) and old xls (OLE2) workbooks.
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")

# What can be wrong with an upload: each is an UploadError's `code`, with a message upload_<code>
# in every catalog (fitcore/catalogs/<lang>.toml) whose {placeholders} its `params` fill.
CODES = (
    "empty",
    "too_big",
    "not_text",
    "bad_csv",
    "too_many_columns",
    "no_numeric",
    "one_column",
    "no_such_column",
    "not_numeric",
    "too_few_rows",
    "too_many_rows",
    "constant_x",
    "huge_value",
)
# The English message of each code: str(error). The page shows its own language's by code.
MESSAGES: Mapping[str, str] = types.MappingProxyType(
    {code: catalog("en")[f"upload_{code}"] for code in CODES}
)


class UploadError(ValueError):
    """A file FitLab cannot use: `code` names the problem, `params` fill its message."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(MESSAGES[code].format(**params))


def read_table(raw: bytes) -> pd.DataFrame:
    """All columns of an uploaded CSV; mostly-numeric columns as float64 (text cells -> NaN).

    Reads UTF-8 (with or without BOM), UTF-16 with BOM, else GBK; delimiter comma, semicolon,
    tab, or runs of spaces; a header row when the first row has text above numbers, else
    columns col1, col2, ... Raises UploadError for anything it cannot read.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise UploadError("too_big", size=len(raw), limit=MAX_UPLOAD_BYTES, rows=MAX_ROWS)
    text = _decode(bytes(raw))
    try:
        rows = _split(text)
    except (csv.Error, MemoryError) as e:  # csv.Error: a field over the csv module's size limit
        raise UploadError("bad_csv") from e
    if not rows:
        raise UploadError("empty")
    width = max(len(row) for row in rows)
    if width > MAX_COLUMNS:
        raise UploadError("too_many_columns", columns=width, limit=MAX_COLUMNS)
    rows = [row + [""] * (width - len(row)) for row in rows]
    return _table(rows)


def numeric_columns(df: pd.DataFrame) -> list[str]:
    """Names of the columns with at least 2 finite numbers: the choices for x and y."""
    return [
        name
        for name in df.columns
        if pd.api.types.is_numeric_dtype(df[name]) and _finite(df[name]).sum() >= 2
    ]


def load_csv(raw: bytes, x: str | None = None, y: str | None = None) -> pd.DataFrame:
    """The points of an uploaded CSV: columns x, y (float64), rows with NaN or inf dropped.

    `x` and `y` name the columns to use; by default the first two of `numeric_columns`.
    The result's `attrs` hold "dropped" (rows skipped for a blank, text, NaN or inf in x or
    y; empty lines are not counted) and "x_name", "y_name" (the chosen columns, for axis
    labels). Raises UploadError, a ValueError whose message tells the student what to change.
    """
    return table_points(read_table(raw), x, y)


def table_points(df: pd.DataFrame, x: str | None = None, y: str | None = None) -> pd.DataFrame:
    """load_csv's points from a table read_table already parsed (a page that first offers the
    table's columns need not parse the upload twice)."""
    numeric = [name for name in df.columns if pd.api.types.is_numeric_dtype(df[name])]
    if not numeric:
        raise UploadError("no_numeric")
    for name in (x, y):
        if name is not None and name not in df.columns:
            raise UploadError("no_such_column", column=_show(name), choices=_list(numeric))
        if name is not None and name not in numeric:
            raise UploadError("not_numeric", column=_show(name), choices=_list(numeric))
    # Defaults: the first columns with 2+ numbers, then those with fewer (too_few_rows says why).
    ranked = numeric_columns(df)
    free = [name for name in dict.fromkeys(ranked + numeric) if name not in (x, y)]
    if len(free) < (x is None) + (y is None):
        raise UploadError("one_column", column=_show(numeric[0]))
    if x is None:
        x = free.pop(0)
    if y is None:
        y = free.pop(0)

    points = pd.DataFrame({"x": df[x].astype("float64"), "y": df[y].astype("float64")})
    usable = _finite(points["x"]) & _finite(points["y"])
    dropped = int((~usable).sum())
    points = points[usable].reset_index(drop=True)
    n = len(points)
    if n < 2:
        raise UploadError("too_few_rows", rows=n, x=_show(x), y=_show(y), dropped=dropped)
    if n > MAX_ROWS:
        raise UploadError("too_many_rows", rows=n, limit=MAX_ROWS, step=_step(n))
    for name, column in ((x, points["x"]), (y, points["y"])):
        big = column.abs().max()
        if big > MAX_ABS_VALUE:
            limit = f"{MAX_ABS_VALUE:g}"
            raise UploadError("huge_value", column=_show(name), value=f"{big:g}", limit=limit)
    if points["x"].min() == points["x"].max():
        raise UploadError("constant_x", column=_show(x), value=f"{points['x'].iloc[0]:g}")
    points.attrs.update(dropped=dropped, x_name=x, y_name=y)
    return points


def _decode(raw: bytes) -> str:
    """The file's text: UTF-16 with a BOM, UTF-8 with or without one, else GBK."""
    if raw.startswith(_SPREADSHEET_MAGIC):
        raise UploadError("not_text")  # a workbook: GBK might decode it, into nonsense
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)  # Excel's "Unicode Text" export
    else:
        encodings = ("utf-8-sig", "gbk")  # gbk: Chinese Windows spreadsheet exports
    for encoding in encodings:
        try:
            text = raw.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # UTF-16 without a BOM, or binary that happened to decode
            break
        return text
    raise UploadError("not_text")


def _split(text: str) -> list[list[str]]:
    """Non-blank rows of stripped cells, trailing blank cells removed, split on the delimiter."""
    delimiter = _sniff(text)
    lines: Iterable[list[str]]
    if delimiter is None:
        lines = (line.split() for line in text.splitlines())
    else:
        lines = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    for line in lines:
        row = [cell.strip() for cell in line]
        while row and not row[-1]:
            row.pop()  # Excel writes trailing delimiters for formatted but empty cells
        if row:
            rows.append(row)
        if len(rows) > MAX_TABLE_ROWS:
            n = sum(1 for line in text.splitlines() if line.strip())  # fast, for the message
            raise UploadError("too_many_rows", rows=n, limit=MAX_ROWS, step=_step(n))
    if delimiter == ";":
        rows = [[_point(cell) for cell in row] for row in rows]
    return rows


def _sniff(text: str) -> str | None:
    """The delimiter that splits the first rows most consistently into 2+ columns.

    None means runs of whitespace (numpy.savetxt's default) when no delimiter splits the rows.
    """
    best, best_share = ",", -1.0
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            widths = [len(row) for row in itertools.islice(_nonblank(reader), SNIFF_ROWS)]
        except csv.Error:  # a field over the size limit: not this delimiter
            continue
        if not widths:
            return ","
        width, count = max(Counter(widths).items(), key=lambda item: (item[1], item[0]))
        if width >= 2 and count / len(widths) > best_share:
            best, best_share = delimiter, count / len(widths)
    if best_share < 0:
        lines = itertools.islice((line.split() for line in text.splitlines() if line.strip()), 5)
        if any(len(words) >= 2 for words in lines):
            return None
    return best


def _step(n: int) -> int:
    """Keep one row in this many to get n rows down to MAX_ROWS."""
    return math.ceil(n / MAX_ROWS)


def _nonblank(rows):
    return (row for row in rows if any(cell.strip() for cell in row))


def _point(cell: str) -> str:
    """A decimal comma as a decimal point: "1,5" -> "1.5"; other cells unchanged."""
    return cell.replace(",", ".") if _DECIMAL_COMMA.fullmatch(cell) else cell


def _table(rows: list[list[str]]) -> pd.DataFrame:
    """A DataFrame from equal-length rows of strings, deciding whether the first is a header."""
    cells = np.array(rows, dtype=object)  # (rows, columns) of str
    flat = pd.Series(cells.ravel(), dtype=object)
    values = pd.to_numeric(flat, errors="coerce").to_numpy(dtype="float64").reshape(cells.shape)
    # Blank cells and missing-value markers (NaN, NA, null, ...) count neither as numbers nor
    # as text; "nan" parses to NaN, so `number` is False for them too.
    filled = ~flat.str.lower().isin(_MISSING | {""}).to_numpy(dtype=bool).reshape(cells.shape)
    number = ~np.isnan(values)

    # Over the numeric columns, a header has more names than numbers: "x,y" over numbers is
    # one, "1,oops" (a bad cell in the first data row) is not.
    numeric_below = _mostly_numbers(number[1:], filled[1:])
    votes = np.where(number[0], 1, -1)[numeric_below & filled[0]]
    all_text = len(rows) > 1 and not numeric_below.any() and not number[0].any()
    header = votes.sum() < 0 or all_text
    first = 1 if header else 0
    names = [(cell if header else "") or f"col{i + 1}" for i, cell in enumerate(cells[0])]

    numeric = _mostly_numbers(number[first:], filled[first:])
    columns = {}
    for i, name in enumerate(_unique(names)):
        if name == f"col{i + 1}" and (cells[first:, i] == "").all():
            continue  # a blank column between two others, e.g. "x,,y"
        if numeric[i]:
            columns[name] = pd.Series(values[first:, i], dtype="float64")
        else:
            columns[name] = pd.Series(cells[first:, i], dtype="str")
    return pd.DataFrame(columns)


def _mostly_numbers(number: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Per column: True when more than half of its filled cells are numbers (inf too)."""
    return (number.sum(axis=0) * 2 > filled.sum(axis=0)) & number.any(axis=0)


def _unique(names: list[str]) -> list[str]:
    """Names with repeats suffixed like pandas does: x, x.1, x.2."""
    seen: set[str] = set()
    out = []
    for name in names:
        new, k = name, 0
        while new in seen:
            k += 1
            new = f"{name}.{k}"
        seen.add(new)
        out.append(new)
    return out


def _finite(column: pd.Series) -> pd.Series:
    return column.abs() < math.inf


def _list(names: list[str]) -> str:
    return ", ".join(_show(name) for name in names) or "(none)"
