"""%load_ext, %%linreg and %linreg in a real InteractiveShell."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

from linreg_magic import Result


def test_loading_the_extension_imports_no_torch_matplotlib_or_numpy():
    code = ("import sys, json\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "ip = InteractiveShell.instance()\n"
            "ip.run_line_magic('load_ext', 'linreg_magic')\n"
            "assert ip.find_cell_magic('linreg') and ip.find_line_magic('linreg')\n"
            "print(json.dumps({m: m in sys.modules for m in "
            "['torch', 'matplotlib', 'numpy', 'torchviz', 'ipywidgets', 'sklearn']}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {m: False for m in loaded}, loaded


def test_unload_removes_the_magics_and_reload_brings_them_back(ip):
    assert ip.find_line_magic("linreg") is not None
    ip.run_line_magic("unload_ext", "linreg_magic")
    assert ip.find_line_magic("linreg") is None
    assert ip.find_cell_magic("linreg") is None
    ip.run_line_magic("load_ext", "linreg_magic")
    ip.run_line_magic("reload_ext", "linreg_magic")
    assert ip.find_cell_magic("linreg") is not None


def test_cell_magic_shows_header_table_figure_and_graph(run_cell_outputs):
    result, captured = run_cell_outputs("--stage module --device cpu")
    assert isinstance(result, Result)
    mimes = [set(o.data) for o in captured.outputs]
    assert {"text/html", "text/plain"} <= mimes[0]
    header = captured.outputs[0].data["text/plain"]
    assert header.startswith("module · cpu (") and "1,000 epochs" in header and "training" in header
    table = captured.outputs[1].data["text/plain"]
    assert "1.02354075" in table and "1.0235" in table and "closed form" in table
    assert any("image/png" in m for m in mimes)
    svg = next(o.data["image/svg+xml"] for o in captured.outputs if "image/svg+xml" in o.data)
    assert svg.lstrip().startswith("<svg") and "MseLossBackward0" in svg


def test_graph_names_the_parameters_and_the_loss_operation(ip):
    from linreg_magic.views import graph_of, render_graph

    result = ip.run_line_magic("linreg", "--stage module --device cpu --epochs 3")
    dot = graph_of(result)
    assert dot is not None
    rendered = render_graph(dot)
    labels = " ".join(rendered.node_labels)
    for node in ("MseLossBackward0", "AddBackward0", "MulBackward0", "AccumulateGrad", "b", "w"):
        assert node in labels, (node, labels)
    assert rendered.svg is not None and rendered.program is not None


def test_autograd_stage_graph_shows_the_hand_written_loss(ip):
    from linreg_magic.views import graph_of

    result = ip.run_line_magic("linreg", "--stage autograd --device cpu --epochs 2")
    source = graph_of(result).source
    assert "MeanBackward0" in source and "PowBackward0" in source and "SubBackward0" in source


@pytest.mark.parametrize("stage", ["numpy", "tensors"])
def test_stages_without_autograd_say_why_there_is_no_graph(run_cell_outputs, stage):
    _, captured = run_cell_outputs(f"--stage {stage} --device cpu --epochs 5")
    notes = [o.data["text/plain"] for o in captured.outputs if o.data["text/plain"].startswith("Graph:")]
    assert len(notes) == 1
    assert ("numpy has no autograd" if stage == "numpy" else "do not require gradients") in notes[0]
    assert not any("image/svg+xml" in o.data for o in captured.outputs)


def test_line_magic_runs_without_a_body(ip):
    result = ip.run_line_magic("linreg", "--stage numpy --epochs 1000")
    assert result.b == pytest.approx(1.02354094, abs=1e-7)


def test_the_cell_value_is_the_result_so_underscore_holds_it(ip):
    ip.run_cell("%%linreg --stage loss --device cpu --epochs 10\n# the stage's own code\n",
                store_history=True)
    assert isinstance(ip.user_ns["_"], Result)
    assert ip.user_ns["_"].stage == "loss"


def test_the_magic_writes_no_names_into_the_user_namespace(ip):
    before = {k for k in ip.user_ns if not k.startswith("_")}
    ip.run_line_magic("linreg", "--stage sequential --device cpu --epochs 5")
    after = {k for k in ip.user_ns if not k.startswith("_")}
    assert after == before


def test_help_lists_every_option_with_its_default(ip):
    from linreg_magic.options import option_specs

    doc = " ".join(ip.find_cell_magic("linreg").__doc__.split())
    for spec in option_specs():
        assert spec.flag in doc
    assert "(default: 1000)" in doc and "(default: module)" in doc


def test_list_shows_the_ladder_in_order(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "list")
    text = captured.outputs[0].data["text/plain"]
    names = [line.split()[1] for line in text.splitlines()]
    assert names == ["numpy", "tensors", "autograd", "optimizer", "loss", "module", "nested",
                     "sequential"]


def test_terminal_output_is_readable_text(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "--stage nested --device cpu --epochs 5")
    for output in captured.outputs:
        assert output.data["text/plain"].strip()
        assert "<IPython" not in output.data["text/plain"]


@pytest.mark.parametrize(("line", "fragment"), [
    ("--stage modul", "Did you mean --stage module?"),
    ("--epochs -1", "from 1 to 1,000,000"),
    ("--epochs ten", "--epochs got 'ten'"),
    ("--lr 0", "> 0"),
    ("--device cuda:7", "Use --device auto or --device cpu"),
    ("--device gpu", "valid devices are auto, cpu, cuda, cuda:N and mps"),
    ("--stage numpy --device cuda", "runs on the CPU only"),
    ("--colour red", "Unknown option --colour"),
    ("--stage module --features 3", "--stage sequential"),
    ("--stage sequential --features 2 --true-w 1,2,3", "one slope per feature"),
    ("--n 2 --val-split 0.9", "empty training set"),
    ("--seed", "--seed needs a value"),
    ("run", "Unknown command 'run'"),
])
def test_bad_options_are_one_usage_error_line(ip, line, fragment):
    with pytest.raises(UsageError) as excinfo:
        ip.run_line_magic("linreg", line)
    assert type(excinfo.value) is UsageError
    message = str(excinfo.value)
    assert "\n" not in message
    assert fragment.lower() in message.lower()
    assert "valid" in message.lower()


# -- the help, generated from the declarations ------------------------------------------------

def test_help_lists_every_command_of_the_table_with_its_words_and_summary(ip):
    from linreg_magic.command_table import COMMANDS

    doc = ip.find_line_magic("linreg").__doc__
    flat = " ".join(doc.split())
    for command in COMMANDS.values():
        assert f"  {command.usage}\n" in doc and " ".join(command.summary.split()) in flat
    assert "%linreg bench [--sizes N[,N...]] [--devices D[,D...]]" in doc


def test_help_shows_the_options_in_their_groups_in_order(ip):
    from linreg_magic.options import GROUPS, option_specs

    doc = ip.find_line_magic("linreg").__doc__
    starts = [doc.index(f"\n{title}:\n") for title in GROUPS.values()]
    assert starts == sorted(starts)
    ends = [*starts[1:], doc.index("\n%linreg diff:\n")]
    for (group, _), start, end in zip(GROUPS.items(), starts, ends):
        for spec in option_specs():
            inside = start < doc.index(f"\n  {spec.flag} ") < end
            assert inside is (spec.group == group), (spec.flag, group)
    assert doc.index("\n  --side-by-side") > doc.index("\n%linreg diff:\n")
    assert doc.index("\n  --sizes") > doc.index("\n%linreg bench:\n")


def test_help_says_how_the_line_is_read_and_that_ipython_expands_it_first(ip):
    doc = " ".join(ip.find_line_magic("linreg").__doc__.split())
    assert "values are text, parsed and never evaluated" in doc
    assert "IPython expands $name and {expression} as it does for every magic" in doc
    assert "# starts a comment" in doc


# -- the line as IPython hands it over ------------------------------------------------------------

def test_ipython_expands_dollar_names_before_the_magic_reads_the_line(ip):
    ip.user_ns.update(rate=0.05, where="cpu")
    try:
        ip.run_cell("%linreg --stage numpy --epochs 3 --n 20 --show params --lr $rate --device {where} "
                    "--store kept", store_history=True)
        assert ip.user_ns["kept"].options.lr == 0.05 and ip.user_ns["kept"].device == "cpu"
        ip.run_cell("for r in (0.2, 0.3):\n"
                    "    last = get_ipython().run_line_magic('linreg', f'--stage numpy --epochs 2 --n 20 '\n"
                    "                                        f'--show params --lr {r}')\n")
        assert ip.user_ns["last"].options.lr == 0.3
    finally:
        for name in ("rate", "where", "kept", "last", "r"):
            ip.user_ns.pop(name, None)


def test_an_option_value_is_looked_up_never_evaluated(ip):
    import os

    os.environ.pop("LINREG_EVALUATED", None)
    ip.user_ns.update(xs=[1.0, 2.0, 3.0], ys=[2.0, 4.0, 6.0])
    try:
        with pytest.raises(UsageError) as caught:
            ip.run_line_magic("linreg", """--data user --x "__import__('os').environ.setdefault"""
                                        """('LINREG_EVALUATED', '1')" --y ys""")
    finally:
        ip.user_ns.pop("xs")
        ip.user_ns.pop("ys")
    assert type(caught.value) is UsageError and "no such variable in your namespace" in str(caught.value)
    assert "LINREG_EVALUATED" not in os.environ


# -- the commands' own options ------------------------------------------------------------------

@pytest.mark.parametrize(("line", "message"), [
    ("diff module side-by-side", "side-by-side is an option of diff: write --side-by-side. Valid is "
                                 "%linreg diff STAGE [OTHER] [--side-by-side]. Try %linreg diff module "
                                 "--side-by-side"),
    ("--stage module --side-by-side", "--side-by-side applies to %linreg diff. It is diff's own option: "
                                      "the two stages in two columns. Drop --side-by-side, or run "
                                      "%linreg diff --side-by-side"),
    ("--sizes 1e2,1e4", "--sizes applies to %linreg bench. It is bench's own option: the data sizes "
                        "to time"),
    ("compare --devices cpu", "--devices applies to %linreg bench"),
    ("bench --n 100,1000", "%linreg bench takes --sizes, not --n. --sizes N[,N...] is the data sizes to "
                           "time, separated by commas (default 1e2,1e4,1e6,1e7). Try %linreg bench "
                           "--sizes 1e2,1e4,1e6"),
    ("bench --device cpu", "%linreg bench takes --devices, not --device"),
    ("bench --sizes 1", "--sizes got '1'. Valid values are whole numbers separated by commas, each "
                        "from 2 to 100,000,000"),
    ("bench --sizes ,", "--sizes got ','"),
    ("bench --devices gpu", "--devices got 'gpu'. Valid devices are auto, cpu, cuda, cuda:N and mps "
                            "(separated by commas)"),
    ("diff module --side-by-side maybe", "Unknown stage 'maybe'"),
])
def test_a_commands_own_options_belong_to_it_and_are_read_by_their_kinds(ip, line, message):
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("linreg", line)
    assert type(caught.value) is UsageError and "\n" not in str(caught.value)
    assert str(caught.value).startswith(message)


def test_diff_side_by_side_is_an_option(ip):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_line_magic("linreg", "diff sequential --side-by-side")
        ip.run_line_magic("linreg", "diff sequential --side-by-side off")
    side, plain = (o.data["text/html"] for o in captured.outputs)
    assert "<table" in side and side != plain


def test_every_command_of_the_table_has_a_handler_that_loads():
    from linreg_magic.command_table import COMMANDS

    for command in COMMANDS.values():
        assert callable(command.load()), command.name
