"""CSV upload: example files, one test per error code, and arbitrary bytes never crash it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitcore.config import LIMITS, FitConfig
from fitcore.data import make_data
from fitcore.upload import (
    MAX_ABS_VALUE,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    MESSAGES,
    UploadError,
    load_csv,
    numeric_columns,
    read_table,
)

DATA = Path(__file__).parent / "data"
REPO_ROOT = Path(__file__).resolve().parent.parent
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def example(name: str) -> bytes:
    return (DATA / name).read_bytes()


def check_points_or_error(raw: bytes) -> None:
    """load_csv's whole contract: usable points, or a ValueError with a message."""
    try:
        df = load_csv(raw)
    except UploadError as e:
        assert e.code in MESSAGES
        assert str(e) == MESSAGES[e.code].format(**e.params)
        return
    except ValueError as e:
        assert str(e)
        return
    assert list(df.columns) == ["x", "y"]
    assert (df.dtypes == "float64").all()
    assert 2 <= len(df) <= MAX_ROWS
    assert df.abs().le(MAX_ABS_VALUE).all().all()  # finite, and small enough to scale
    assert df["x"].nunique() > 1
    assert isinstance(df.attrs["dropped"], int) and df.attrs["dropped"] >= 0


# --- limits agree with the rest of FitLab ------------------------------------------------------


def test_upload_limit_matches_streamlit_config():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    mb = config["server"]["maxUploadSize"]  # Streamlit's MB: 10**6 bytes, 2**20 on Windows
    assert mb == 1
    assert MAX_UPLOAD_BYTES == 1_000_000 <= mb * 2**20


def test_max_rows_is_the_largest_run():
    assert MAX_ROWS == LIMITS["n_points"][1] == 2000


def test_upload_error_is_a_value_error_with_code_and_params():
    e = UploadError("too_many_rows", rows=4000, limit=2000, step=2)
    assert isinstance(e, ValueError)
    assert (e.code, e.params) == ("too_many_rows", {"rows": 4000, "limit": 2000, "step": 2})
    assert "4000" in str(e) and "2000" in str(e)


# --- example files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "names", "rows", "first", "last", "dropped"),
    [
        ("gbk_header.csv", ("时间", "温度"), 5, (0.0, 20.5), (4.0, 25.0), 0),
        ("semicolon.csv", ("x", "y"), 5, (-1.5, 2.25), (1.5, 2.25), 0),
        ("bom_utf8.csv", ("distance", "speed"), 4, (1.0, 2.5), (4.0, 8.5), 0),
        ("no_header.csv", ("col1", "col2"), 5, (-1.0, 1.0), (1.0, 1.0), 0),
        ("extra_columns.csv", ("id", "height"), 4, (1.0, 1.62), (4.0, 1.58), 0),
        ("tab.csv", ("x", "y"), 4, (1.0, 10.0), (4.0, 40.0), 0),
        ("with_nan.csv", ("x", "y"), 3, (0.0, 1.0), (6.0, 7.0), 5),
    ],
)
def test_example_file_loads(name, names, rows, first, last, dropped):
    df = load_csv(example(name))
    assert len(df) == rows  # every data row of the file, less those dropped
    assert list(df.columns) == ["x", "y"]
    assert (df.dtypes == "float64").all()
    assert (df.attrs["x_name"], df.attrs["y_name"]) == names
    assert tuple(df.iloc[0]) == first
    assert tuple(df.iloc[-1]) == last
    assert df.attrs["dropped"] == dropped


def test_example_files_are_small():
    for path in DATA.glob("*.csv"):  # the upload examples (blog_losses.json is no upload)
        assert path.stat().st_size < 2048, path.name


def test_bom_does_not_stick_to_the_first_header():
    assert list(read_table(example("bom_utf8.csv")).columns) == ["distance", "speed"]


def test_gbk_file_is_really_gbk():
    raw = example("gbk_header.csv")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert list(read_table(raw).columns) == ["时间", "温度"]
    points = load_csv(raw)  # all five rows, read as numbers
    assert points.values.tolist() == [[0, 20.5], [1, 21.0], [2, 22.25], [3, 23.5], [4, 25.0]]


def test_with_nan_keeps_only_rows_finite_in_both():
    df = load_csv(example("with_nan.csv"))
    assert df["x"].tolist() == [0.0, 5.0, 6.0]
    assert df["y"].tolist() == [1.0, 6.0, 7.0]


def test_numeric_columns_skip_text():
    df = read_table(example("extra_columns.csv"))
    assert list(df.columns) == ["id", "name", "height", "weight", "age"]
    assert numeric_columns(df) == ["id", "height", "weight", "age"]
    assert df["name"].tolist() == ["Ann", "Bo", "Chen", "Dai"]


def test_chosen_columns():
    df = load_csv(example("extra_columns.csv"), x="height", y="weight")
    assert df["x"].tolist() == [1.62, 1.75, 1.80, 1.58]
    assert df["y"].tolist() == [55.0, 70.5, 78.0, 50.5]
    assert (df.attrs["x_name"], df.attrs["y_name"]) == ("height", "weight")


def test_only_x_chosen_takes_the_next_numeric_column_for_y():
    df = load_csv(example("extra_columns.csv"), x="weight")
    assert df.attrs["y_name"] == "id"


def test_uploaded_points_feed_make_data():
    data = make_data(FitConfig(dataset="csv"), points=load_csv(example("gbk_header.csv")))
    assert data.x_train.shape == (5, 1)
    assert data.x_train.min() == -1 and data.x_train.max() == 1


# --- formats beyond the example files ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"x,y\r\n1,2\r\n3,4\r\n",  # Windows line ends
        b"x,y\r1,2\r3,4\r",  # old Mac line ends
        b'"x","y"\n"1","2"\n"3","4"\n',  # every cell quoted
        b"x,y,,\n1,2,,\n3,4,,\n",  # Excel's trailing empty cells
        b"\n\nx,y\n\n1,2\n\n3,4\n\n",  # blank lines
        b" x , y \n 1 , 2 \n 3 , 4 \n",  # padded cells
        b"x y\n1 2\n3   4\n",  # whitespace-separated, numpy.savetxt's default
        "\ufeffx\ty\n1\t2\n3\t4\n".encode("utf-16"),  # Excel "Unicode Text"
    ],
)
def test_common_layouts_read_the_same_points(raw):
    df = load_csv(raw)
    assert df.values.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_decimal_comma_with_semicolons():
    df = load_csv(b"1,5;2,25\n-0,5;1e3\n,5;3,0E-1\n")
    assert df.values.tolist() == [[1.5, 2.25], [-0.5, 1000.0], [0.5, 0.3]]


def test_a_bad_first_data_row_is_not_a_header():
    df = read_table(b"1,oops\n2,3\n4,5\n")
    assert list(df.columns) == ["col1", "col2"]
    assert df["col1"].tolist() == [1.0, 2.0, 4.0]


def test_missing_markers_do_not_make_a_column_text():
    df = read_table(b"x,y\n1,NA\n2,null\n3,-\n4,5\n5,6\n")
    assert df["y"].dtype == "float64"
    assert load_csv(b"x,y\n1,NA\n2,null\n3,-\n4,5\n5,6\n").attrs["dropped"] == 3


def test_repeated_and_blank_header_names_are_made_unique():
    df = read_table(b"x,x,,y\n1,2,3,4\n5,6,7,8\n")
    assert list(df.columns) == ["x", "x.1", "col3", "y"]


# --- errors, one per code ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kwargs", "code"),
    [
        (b"", {}, "empty"),
        (b"\n \r\n\t\n", {}, "empty"),
        (b",,,\n,,\n", {}, "empty"),
        (b"\xff\xfe\xfa\x00\x81", {}, "not_text"),
        (b"\x80\x81\x82\x83", {}, "not_text"),
        (b"PK\x03\x04\x14\x00\x06\x00", {}, "not_text"),  # an .xlsx workbook
        (b"x,y\x00\n1,2\n", {}, "not_text"),
        (b'"x,y\n1,2\n' + b"3,4\n" * 40_000, {}, "bad_csv"),  # an unclosed quote
        (b",".join(b"%d" % i for i in range(MAX_COLUMNS + 1)), {}, "too_many_columns"),
        (b"name,city\nAnn,Paris\nBo,Lima\n", {}, "no_numeric"),
        (b"x,y\n", {}, "no_numeric"),
        (b"x,label\n1,a\n2,b\n3,c\n", {}, "one_column"),
        (b"1\n2\n3\n", {}, "one_column"),
        (b"x,y\n1,2\n3,4\n", {"x": "time"}, "no_such_column"),
        (b"x,y\n1,2\n3,4\n", {"y": "Y"}, "no_such_column"),
        (b"x,y,label\n1,2,a\n3,4,b\n", {"y": "label"}, "not_numeric"),
        (b"x,y\n1,2\n", {}, "too_few_rows"),
        (b"x,y\n1,2\n3,\n,4\n5,nan\n", {}, "too_few_rows"),
        (b"x,y\n2,1\n2,3\n2,5\n", {}, "constant_x"),
        (b"x,y\n1,2\n3,1e101\n", {}, "huge_value"),
        (b"x,y\n-1e300,2\n3,4\n", {}, "huge_value"),
    ],
)
def test_error_code(raw, kwargs, code):
    with pytest.raises(UploadError) as info:
        load_csv(raw, **kwargs)
    assert info.value.code == code
    assert str(info.value)


def test_same_column_for_x_and_y_is_allowed():
    assert load_csv(b"x,y\n1,2\n3,4\n", x="y", y="y").values.tolist() == [[2, 2], [4, 4]]


def test_too_many_rows_counts_usable_rows_and_suggests_a_step():
    rows = MAX_ROWS + 1
    raw = b"x,y\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(rows))
    with pytest.raises(UploadError) as info:
        load_csv(raw)
    assert info.value.code == "too_many_rows"
    assert info.value.params == {"rows": rows, "limit": MAX_ROWS, "step": 2}
    assert f"{rows}" in str(info.value) and f"{MAX_ROWS}" in str(info.value)


def test_max_rows_exactly_is_fine_and_blank_rows_do_not_count():
    raw = b"x,y\n" + b"".join(b"%d,%d\n,\n1,\n" % (i, i) for i in range(MAX_ROWS))
    df = load_csv(raw)
    assert len(df) == MAX_ROWS and df.attrs["dropped"] == MAX_ROWS


def test_a_long_file_stops_early_with_too_many_rows():
    with pytest.raises(UploadError) as info:
        load_csv(b"1,2\n" * 200_000)
    assert info.value.code == "too_many_rows"
    assert info.value.params["rows"] == 200_000


def test_too_big():
    raw = b"1,2\n" * (MAX_UPLOAD_BYTES // 4 + 1)
    with pytest.raises(UploadError) as info:
        load_csv(raw)
    assert info.value.code == "too_big"
    assert info.value.params["size"] == len(raw)


def test_messages_are_sentences():
    for code, message in MESSAGES.items():
        assert message.endswith("."), code
        assert message[0].isupper(), code


# --- arbitrary input ---------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(raw):
    check_points_or_error(raw)


@FUZZ
@given(st.text())
def test_any_text(text):
    check_points_or_error(text.encode("utf-8"))


cells = st.one_of(
    st.floats().map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", " ", "nan", "NA", "-", "inf", "-inf", "1e400", "1,5", '"', "x", "时间"]),
    st.text(max_size=4),
)


@FUZZ
@given(
    rows=st.lists(st.lists(cells, min_size=1, max_size=4), max_size=30),
    delimiter=st.sampled_from([",", ";", "\t", " "]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]),
)
def test_csv_like_text(rows, delimiter, newline, encoding):
    text = newline.join(delimiter.join(row) for row in rows)
    check_points_or_error(text.encode(encoding, errors="replace"))


@st.composite
def point_tables(draw):
    n = draw(st.integers(2, 60))
    numbers = st.floats(-MAX_ABS_VALUE, MAX_ABS_VALUE)
    xs = draw(st.lists(numbers, min_size=n, max_size=n).filter(lambda v: len(set(v)) > 1))
    ys = draw(st.lists(numbers, min_size=n, max_size=n))
    return pd.DataFrame({"x": xs, "y": ys})


@FUZZ
@given(
    points=point_tables(),
    sep=st.sampled_from([",", ";", "\t"]),
    header=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]),
)
def test_reads_back_what_pandas_writes(points, sep, header, encoding):
    names = ["时间", "温度"] if header else False
    raw = points.to_csv(sep=sep, header=names, index=False).encode(encoding)
    df = load_csv(raw)
    assert df["x"].tolist() == points["x"].tolist()
    assert df["y"].tolist() == points["y"].tolist()
