"""Bad input never breaks the session: one UsageError line each, and nothing runs."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from linreg_magic.check import StudentRun
from linreg_magic.magic import COMMANDS
from linreg_magic.options import option_specs
from linreg_magic.result import Result

_CUDA = torch.cuda.device_count()
_MPS = torch.backends.mps.is_available()

#: (the %linreg line, a fragment of the message, a fragment of the valid values it lists)
BAD_LINES: list[tuple[str, str, str]] = [
    ("--stage modul", "Did you mean --stage module?", "valid stages are numpy, tensors"),
    ("--stage NUMPY", "Unknown stage 'NUMPY'", "valid stages are numpy"),
    ("--stage 3", "Unknown stage '3'", "valid stages are"),
    ("--stage ''", "Unknown stage", "valid stages are"),
    ("--epochs 0", "--epochs got '0'", "from 1 to 1,000,000"),
    ("--epochs -1", "--epochs got '-1'", "from 1 to 1,000,000"),
    ("--epochs ten", "--epochs got 'ten'", "a whole number"),
    ("--epochs 1.5", "--epochs got '1.5'", "a whole number"),
    ("--epochs 2000000", "--epochs got '2000000'", "to 1,000,000"),
    ("--epochs inf", "--epochs got 'inf'", "a whole number"),
    ("--epochs nan", "--epochs got 'nan'", "a whole number"),
    ("--lr 0", "--lr got '0'", "> 0 up to 100"),
    ("--lr -0.1", "--lr got '-0.1'", "> 0 up to 100"),
    ("--lr abc", "--lr got 'abc'", "a number"),
    ("--lr 101", "--lr got '101'", "up to 100"),
    ("--lr nan", "--lr got 'nan'", "a number"),
    ("--lr inf", "--lr got 'inf'", "a number"),
    ("--n 1", "--n got '1'", "from 2 to"),
    ("--n 0", "--n got '0'", "from 2 to"),
    ("--n 1e9", "--n got '1e9'", "to 100,000,000"),
    ("--n many", "--n got 'many'", "a whole number"),
    ("--noise -1", "--noise got '-1'", "from 0 to"),
    ("--noise loud", "--noise got 'loud'", "a number"),
    ("--true-b 1e7", "--true-b got '1e7'", "from -1,000,000 to 1,000,000"),
    ("--true-w a,b", "--true-w got 'a'", "numbers separated by commas"),
    ("--true-w ,", "--true-w got ','", "numbers separated by commas"),
    ("--true-w 1,2", "--true-w has 2 value(s) but --features is 1", "one slope per feature"),
    ("--seed -1", "--seed got '-1'", "from 0 to"),
    ("--seed 4294967296", "--seed got '4294967296'", "to 4,294,967,295"),
    ("--seed 1.5", "--seed got '1.5'", "a whole number"),
    ("--val-split 0.95", "--val-split got '0.95'", "from 0 to 0.9"),
    ("--val-split -0.1", "--val-split got '-0.1'", "from 0 to 0.9"),
    ("--val-split half", "--val-split got 'half'", "a number"),
    ("--features 0", "--features got '0'", "from 1 to 100"),
    ("--features 101", "--features got '101'", "from 1 to 100"),
    ("--stage module --features 3", "the module stage has one feature", "valid stages for it are sequential"),
    ("--stage autograd --hidden 5", "--hidden applies to stages", "valid stages for it are sequential"),
    ("--hidden -1", "--hidden got '-1'", "from 0 to 4096"),
    ("--device gpu", "--device got 'gpu'", "valid devices are auto, cpu, cuda, cuda:N and mps"),
    ("--device cuda:x", "--device got 'cuda:x'", "valid devices are auto, cpu"),
    ("--device cuda:7", "--device cuda:7", "valid devices on this machine are auto, cpu"),
    ("--stage numpy --device cuda", "numpy stage runs on the CPU only", "devices for it are auto and cpu"),
    ("--stage numpy --device mps", "numpy stage runs on the CPU only", "devices for it are auto and cpu"),
    ("--colour red", "Unknown option --colour", "valid options are --stage, --device"),
    ("-x", "Unknown option -x", "valid options are"),
    ("--seed", "--seed needs a value", "from 0 to"),
    ("--device", "--device needs a value", "valid devices are"),
    ("--lr '0.1", "Could not read the options", "options look like --stage module"),
    ("--store 1abc", "--store got '1abc'", "valid values are Python names"),
    ("--store class", "--store got 'class'", "valid values are Python names"),
    ("--store a-b", "--store got 'a-b'", "valid values are Python names"),
    ("--n 2 --val-split 0.9", "leaves an empty training set", "at least two points to fit a line"),
    ("--stage sequential --features 2 --true-w 1,2,3", "--true-w has 3 value(s)", "one slope per feature"),
    ("run", "Unknown command 'run'", "valid commands are " + ", ".join(COMMANDS)),
    ("module", "Did you mean --stage module?", "valid commands are"),
    ("list extra", "list takes no arguments", "use it alone"),
    ("list --store r", "--store keeps what a command makes, and 'list' makes nothing to keep",
     "valid with --store are a run and bench, compare, widget"),
    ("contract numpy autograd", "contract takes one stage", "e.g. %linreg contract autograd"),
    ("contract nosuch", "Unknown stage 'nosuch'", "valid stages are numpy"),
    ("contract numpy --stage module", "contract got two stages", "name the stage once"),
    ("contract --device cuda:7", "--device cuda:7", "valid devices on this machine are"),
]
if not _CUDA:
    BAD_LINES.append(("--device cuda", "CUDA is not available", "devices on this machine are auto, cpu"))
if not _MPS:
    BAD_LINES.append(("--device mps", "MPS backend is not available here", "devices on this machine are"))

_MARKER = "LINREG_TEST_BODY_RAN"
_BODY = f"import os\nos.environ[{_MARKER!r}] = '1'\n"


def test_the_table_has_at_least_forty_bad_invocations() -> None:
    assert len(BAD_LINES) >= 40


def _one_line_usage_error(excinfo: pytest.ExceptionInfo[UsageError], what: str, valid: str) -> None:
    error = excinfo.value
    assert type(error) is UsageError  # exactly: a subclass would print a traceback
    message = str(error)
    assert "\n" not in message
    assert what in message
    assert valid.lower() in message.lower()


@pytest.mark.parametrize(("line", "what", "valid"), BAD_LINES, ids=[row[0] for row in BAD_LINES])
def test_a_bad_line_is_one_usage_error_naming_the_valid_values(ip, line: str, what: str,
                                                               valid: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        ip.run_line_magic("linreg", line)
    _one_line_usage_error(excinfo, what, valid)


@pytest.mark.parametrize(("line", "what", "valid"), BAD_LINES, ids=[row[0] for row in BAD_LINES])
def test_a_bad_line_over_student_code_fails_before_the_code_runs(ip, line: str, what: str,
                                                                 valid: str) -> None:
    os.environ.pop(_MARKER, None)
    with pytest.raises(UsageError) as excinfo:
        ip.run_cell_magic("linreg", line, _BODY)
    if line.split()[0] in COMMANDS:  # a known command with a body: the body is the mistake
        _one_line_usage_error(excinfo, "takes no cell body", "a command runs alone")
    else:
        _one_line_usage_error(excinfo, what, valid)
    assert _MARKER not in os.environ


@pytest.mark.changes_session("random")
def test_a_bad_invocation_changes_no_state_of_the_session(ip) -> None:
    random.seed(3)
    np.random.seed(3)
    torch.manual_seed(3)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.random.get_rng_state().clone())
    names = set(ip.user_ns)
    for line, _, _ in BAD_LINES[:20]:
        with pytest.raises(UsageError):
            ip.run_cell_magic("linreg", line, _BODY)
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.random.get_rng_state(), states[2])
    assert set(ip.user_ns) == names


# -- arbitrary option strings ---------------------------------------------------

_FLAGS = [spec.flag for spec in option_specs()]
_SMALL_INTS = st.integers(-3, 12).map(str)
_NUMBERS = st.one_of(_SMALL_INTS, st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.sampled_from(["0", "1e3", "0.5", "-0", "1_0", "0x10", "2,3", "nan", ""]))
_WORDS = st.one_of(st.text(max_size=8), st.sampled_from(
    ["numpy", "module", "sequential", "cpu", "cuda", "cuda:0", "mps", "auto", "list", "contract",
     "r", "class", "--", "-", "'", '"', "%", "\\"]))
_TOKEN = st.one_of(st.sampled_from(_FLAGS), st.sampled_from(_FLAGS).map(lambda f: f[:4]),
                   _NUMBERS, _WORDS)


def _quote(token: str) -> str:
    """The token as one word on the line (a ``#`` would start a comment)."""
    bare = token and token.isprintable() and " " not in token and not token.startswith("#")
    return token if bare else repr(token)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.lists(_TOKEN, max_size=6), epochs=st.integers(1, 4), n=st.integers(2, 30))
def test_arbitrary_option_strings_give_a_result_or_one_usage_error_line(ip, tokens: list[str],
                                                                       epochs: int, n: int) -> None:
    # the run stays small: later --epochs / --n win over the arbitrary ones
    line = " ".join(map(_quote, tokens)) + f" --epochs {epochs} --n {n} --features 1 --hidden 0"
    before = set(ip.user_ns)
    try:
        with capture_output():
            value = ip.run_line_magic("linreg", line)
    except UsageError as error:
        assert type(error) is UsageError
        assert "\n" not in str(error) and str(error).strip()
    else:
        first = line.split()[0] if line.split() else ""
        asked_help = bool({"-h", "--help"} & set(line.split()))
        assert isinstance(value, Result) or (value is None and (first in COMMANDS or asked_help)), line
    for name in set(ip.user_ns) - before:
        ip.user_ns.pop(name)


# -- arbitrary student code -------------------------------------------------------

_LINES = [
    "for epoch in range(n_epochs):", "    yhat = b + w * x_train_tensor", "    pass",
    "loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()",
    "loss = loss_fn(model(x_train_tensor), y_train_tensor)",
    "loss.backward()", "with torch.no_grad():", "    b -= lr * b.grad", "b -= lr * b.grad", "b.grad.zero_()",
    "optimizer.step()", "optimizer.zero_grad()", "b = None", "del w", "w = torch.zeros(5)", "model = 3",
    "losses = [1, 'x']", "losses = [float('inf')]", "losses = 7", "b = b * float('nan')",
    "raise ValueError('x')",
    "1 / 0", "x = (", "torch.set_grad_enabled(False)", "np.random.seed(1)", "torch.manual_seed(1)",
    "import matplotlib; matplotlib.rcParams['lines.linewidth'] = 7", "import random; random.seed(5)",
    "b = b - lr * 2 * ((b + w * x_train - y_train)).mean()", "model = nn.Linear(1, 1)",
    "class M(nn.Module):", "    def forward(self, x):", "        self.x = x", "model = M()",
]


@pytest.mark.changes_session("random")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.sampled_from(_LINES), min_size=1, max_size=7),
       stage=st.sampled_from(["numpy", "tensors", "autograd", "optimizer", "module", "nested"]))
def test_arbitrary_student_code_never_breaks_the_session(ip, lines: list[str], stage: str) -> None:
    random.seed(2)
    np.random.seed(2)
    torch.manual_seed(2)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.random.get_rng_state().clone())
    names = set(ip.user_ns)
    body = "\n".join(lines) + "\n"
    with capture_output():
        value = ip.run_cell_magic("linreg", f"--stage {stage} --device cpu --epochs 3 --n 20", body)
    assert isinstance(value, (Result, StudentRun)) and value.verdict is not None  # always judged
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.random.get_rng_state(), states[2])
    assert torch.is_grad_enabled()
    assert set(ip.user_ns) - names <= {"_", "__", "___"}
    import matplotlib

    matplotlib.rcParams["lines.linewidth"] = matplotlib.rcParamsDefault["lines.linewidth"]
