"""Reading the %linreg line: quotes, comments, negative numbers, switches, --help.

The parser is a pure function of the line, so most of these need no shell; the
property tests generate the kinds of input users type and check that what was
written is what is read.
"""

from __future__ import annotations

import math
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from linreg_magic.magic import arguments
from linreg_magic.magic_line import read_line, split_line
from linreg_magic.options import Options
from linreg_magic.result import Result

FLAGS = arguments()


def _read(line: str):  # type: ignore[no-untyped-def]
    return read_line(line, FLAGS)


def _options(line: str) -> Options:
    read = _read(line)
    assert read.words == ()
    return Options.from_mapping(read.values)


@pytest.mark.parametrize(("line", "name", "value"), [
    ("--true-b -1e3", "true_b", -1000.0),
    ("--true-b=-1e3", "true_b", -1000.0),
    ("--true-b -.5", "true_b", -0.5),
    ("--true-b -0", "true_b", 0.0),
    ("--lr .05", "lr", 0.05),
    ("--stage 'module'", "stage", "module"),
    ('--stage "nested"', "stage", "nested"),
    ("--device ' cpu '", "device", "cpu"),
    ("--device CPU", "device", "cpu"),
    ("--x \"df['my col']\"", "x", "df['my col']"),
    ("--x df['my col']", "x", "df['my col']"),
    ("--x C:\\data\\x", "x", "C:\\data\\x"),
])
def test_a_value_is_read_as_written(line: str, name: str, value: object) -> None:
    extra = " --data user --y y" if name == "x" else ""
    assert getattr(_options(line + extra), name) == value


@pytest.mark.parametrize(("line", "slopes"), [
    ("--true-w -1,2 --features 2 --stage sequential", (-1.0, 2.0)),
    ("--true-w '1 2 3' --features 3 --stage sequential", (1.0, 2.0, 3.0)),
    ("--true-w '1, -2' --features 2 --stage sequential", (1.0, -2.0)),
    ("--true-w=-0.5 ", (-0.5,)),
])
def test_negative_and_quoted_slopes_are_read(line: str, slopes: tuple[float, ...]) -> None:
    assert _options(line).true_w == slopes


def test_a_trailing_comment_is_not_part_of_the_line() -> None:
    assert _read("list   # the stages").words == ("list",)
    assert _read("--stage module --epochs 5  # five epochs").values == {"stage": "module", "epochs": "5"}
    assert _read("--x 'a # b' --y y #").values == {"x": "a # b", "y": "y"}
    assert _read("# all of it").words == ()


def test_a_preset_path_with_spaces_is_one_word() -> None:
    assert _read('widget "my preset.json" --lr 0.05').words == ("widget", "my preset.json")
    assert _read("widget 'lectures/week 1.json'").words == ("widget", "lectures/week 1.json")


@pytest.mark.parametrize(("line", "on"), [
    ("--cuda-graph", True), ("--cuda-graph on", True), ("--cuda-graph off", False),
    ("--cuda-graph OFF", False), ("--cuda-graph=off", False), ("--cuda-graph false", False),
    ("--cuda-graph --epochs 3", True),
])
def test_a_switch_is_on_alone_or_takes_on_and_off(line: str, on: bool) -> None:
    assert _options(line).cuda_graph is on


def test_a_switch_leaves_a_following_word_to_the_command() -> None:
    read = _read("compare --cuda-graph numpy")
    assert read.words == ("compare", "numpy") and read.values == {"cuda_graph": True}


def test_help_is_asked_with_help_or_h() -> None:
    assert _read("--help").help and _read("-h").help and _read("bench --help").help
    assert not _read("--stage module").help


def test_a_flag_given_twice_keeps_the_last_value() -> None:
    assert _read("--epochs 5 --epochs 7").values == {"epochs": "7"}


def test_a_double_dash_ends_the_options() -> None:
    assert _read("code -- --stage").words == ("code", "--stage")


def test_a_quoted_token_is_never_a_flag() -> None:
    assert _read("--x '--y' --y y").values == {"x": "--y", "y": "y"}
    assert _read("'--stage'").words == ("--stage",)


@pytest.mark.parametrize(("line", "message"), [
    ("--lr '0.1", "Could not read the options (a ' quote is not closed). Options look like "
                  "--stage module, and a value with spaces is quoted: --x \"df['my col']\". "
                  "Check the quotes on the %linreg line"),
    ('--x "a', "Could not read the options (a \" quote is not closed)"),
    ("--seed", "--seed needs a value. Valid values are a whole number from 0 to 4,294,967,295. "
               "Try --seed 42"),
    ("--seed --epochs 3", "--seed needs a value"),
    ("--x -y", "--x needs a value"),
    ("--colour red", "Unknown option --colour. Valid options are --stage, --device"),
    ("--epoch 3", "Did you mean --epochs?"),
    ("-x", "Unknown option -x"),
    ("--st module", "Unknown option --st"),
])
def test_a_line_that_cannot_be_read_is_one_usage_error(line: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        _read(line)
    assert type(caught.value) is UsageError
    assert message in str(caught.value) and "\n" not in str(caught.value)


# -- property tests: what is written is what is read ------------------------------------

_VALUE_FLAGS = sorted(flag for flag, spec in FLAGS.items() if spec.kind.takes_value)
_NUMBERS = st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr),
                     st.integers(-10**9, 10**9).map(str),
                     st.floats(-1e6, 1e6).map(lambda v: f"{v:.3e}"))
_TEXT = st.text(string.ascii_letters + string.digits + " _-.,:[]'\"/\\#$%", max_size=12)
_VALUES = st.one_of(_NUMBERS, _TEXT, st.lists(_NUMBERS, min_size=1, max_size=4).map(",".join))


def _written(value: str, style: int) -> str:
    """``value`` as a user may write it: bare where that reads back the same, else quoted."""
    bare = (value and not any(c.isspace() or c in "'\"" for c in value) and value[0] != "#"
            and not (value[0] == "-" and len(value) > 1 and not (value[1].isdigit() or value[1] == ".")))
    if bare and style == 0:
        return value
    quote = "'" if "'" not in value else '"'
    return f"{quote}{value}{quote}"


def _writable(value: str) -> bool:
    return not ("'" in value and '"' in value)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(_VALUE_FLAGS), _VALUES.filter(_writable),
                                st.integers(0, 2)), max_size=6),
       words=st.lists(st.sampled_from(["compare", "numpy", "my preset.json", "x"]), max_size=2),
       comment=st.sampled_from(["", "  # a comment", " # --stage numpy 'unclosed", "\t#"]))
def test_every_value_written_after_its_flag_is_read_back(pairs: list[tuple[str, str, int]],
                                                         words: list[str], comment: str) -> None:
    parts = [_written(w, 0) for w in words]
    for flag, value, style in pairs:
        parts.append(f"{flag}={_written(value, 0)}" if style == 2 else f"{flag} {_written(value, style)}")
    read = _read(" ".join(parts) + comment)
    expected = {FLAGS[flag].name: value for flag, value, _ in pairs}
    assert dict(read.values) == expected
    assert read.words == tuple(words)


@settings(max_examples=200, deadline=None)
@given(value=st.floats(-1e6, 1e6, allow_nan=False), style=st.sampled_from(["{}", "{:e}", "{:.2f}", "{:g}"]),
       quoted=st.booleans())
def test_any_intercept_in_range_is_read_however_it_is_written(value: float, style: str, quoted: bool) -> None:
    text = style.format(value)
    options = _options(f"--true-b {repr(text) if quoted else text}")
    assert math.isclose(options.true_b, float(text), rel_tol=0, abs_tol=0)


@settings(max_examples=100, deadline=None)
@given(slopes=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=4),
       separator=st.sampled_from([",", ", ", " "]))
def test_any_slopes_in_range_are_read_with_commas_or_spaces(slopes: list[float], separator: str) -> None:
    text = separator.join(repr(s) for s in slopes)
    line = f"--true-w '{text}'" if " " in text else f"--true-w {text}"
    options = _options(f"{line} --features {len(slopes)} --stage sequential")
    assert options.true_w == tuple(slopes)


def test_the_tokens_keep_quotes_inside_a_token_and_drop_them_around_one() -> None:
    assert [t.text for t in split_line("""a 'b c' d"e f"g "" ''""")] == ["a", "b c", 'd"e f"g', "", ""]
    assert [t.quoted for t in split_line("a 'b'")] == [False, True]


# -- through a real shell ------------------------------------------------------------------

_SHELL_LINES = [
    "--stage 'numpy' --true-b -1e3 --show params",
    "--stage numpy --device ' cpu ' --true-w -1.5 --show params   # the book's line, reversed",
    "--stage sequential --features 3 --true-w '1 2 3' --show params",
    "--stage sequential --features 2 --true-w -1,2 --show params",
    "--stage numpy --cuda-graph off --show params",
]


@pytest.mark.parametrize("line", _SHELL_LINES)
def test_lines_users_type_run_in_a_real_shell(ip, line: str) -> None:  # type: ignore[no-untyped-def]
    with capture_output():
        result = ip.run_line_magic("linreg", line + " --epochs 3 --n 20")
    assert isinstance(result, Result)


def test_the_readmes_lines_with_a_trailing_comment_are_read_without_it(ip) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    lines = re.findall(r"^%linreg (.+#.*)$", readme, flags=re.M)
    assert len(lines) >= 3
    for line in lines:
        read = _read(line)
        assert "#" not in " ".join([*read.words, *map(str, read.values.values())]), line
    listing = next(line for line in lines if line.startswith("list"))
    with capture_output() as captured:
        ip.run_line_magic("linreg", listing)
    assert captured.outputs[0].data["text/plain"].startswith("1.")


def test_help_shows_the_same_text_as_the_question_mark(ip) -> None:  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        value = ip.run_line_magic("linreg", "--help")
    assert value is None
    assert captured.outputs[0].data["text/plain"] == ip.find_line_magic("linreg").__doc__


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(true_b=st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: f"{v:.4g}"),
       stage=st.sampled_from(["numpy", "tensors", "module"]), quote=st.sampled_from(["", "'", '"']))
def test_negative_and_quoted_values_run_through_the_shell(ip, true_b: str, stage: str,  # type: ignore[no-untyped-def]
                                                          quote: str) -> None:
    with capture_output():
        result = ip.run_line_magic("linreg", f"--stage {quote}{stage}{quote} --true-b {quote}{true_b}{quote} "
                                             "--epochs 2 --n 10 --device cpu --show params  # generated")
    assert result.stage == stage and result.options.true_b == float(true_b)
