"""``%linreg bench``: time per epoch across sizes and devices, in a real shell."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from linreg_magic import register_stage, unregister_stage
from linreg_magic.bench import BenchResult, BenchRow, EpochClock, crossover, epochs_for
from linreg_magic.bench.timing import MAX_EPOCHS, MIN_EPOCHS, RECORD_VALUES, SAMPLE_SECONDS
from linreg_magic.result import StopKind
from linreg_magic.stage import Stage
from linreg_magic.views.bench import bench_text, plot_bench

SIZES = [100, 10_000, 1_000_000, 10_000_000]


def _bench(ip, line: str):  # type: ignore[no-untyped-def]
    with capture_output() as captured:
        result = ip.run_line_magic("linreg", "bench " + line)
    return result, captured


def test_bench_times_each_size_on_the_cpu_and_shows_a_figure_and_a_table(ip) -> None:  # type: ignore[no-untyped-def]
    state = np.random.get_state()[1].copy()
    result, captured = _bench(ip, "--sizes 1e2,1e3 --devices cpu --stage module --epochs 4")
    assert isinstance(result, BenchResult)
    assert [(r.n, r.device, r.epochs) for r in result.rows] == [(100, "cpu", 4), (1000, "cpu", 4)]
    assert all(r.seconds_per_epoch > 0 and len(r.runs) == 3 for r in result.rows)
    figure, table = captured.outputs
    assert figure.data["image/png"] and "time per epoch against N" in figure.data["text/plain"]
    assert "1,000" in table.data["text/plain"] and "epochs timed" in table.data["text/html"]
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the note shown where CUDA is missing")
def test_a_device_this_machine_lacks_is_skipped_with_one_line(ip) -> None:  # type: ignore[no-untyped-def]
    result, captured = _bench(ip, "--sizes 100 --devices cpu,cuda --epochs 3")
    assert result.devices() == ["cpu"]
    assert result.skipped == ("skipped cuda: CUDA is not available (this torch "
                              f"({torch.__version__}) is a CPU-only build)",)
    assert result.skipped[0] in captured.outputs[1].data["text/plain"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_only_for_missing_devices_is_one_usage_error(ip) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        _bench(ip, "--sizes 100 --devices cuda")
    message = str(info.value)
    assert type(info.value) is UsageError and "\n" not in message
    assert message.startswith("None of the devices asked (cuda) can run the module stage here")
    assert "Available devices here are cpu" in message and message.endswith("Try --devices cpu")


def test_the_numpy_stage_is_timed_on_the_cpu_only(ip) -> None:  # type: ignore[no-untyped-def]
    result, _ = _bench(ip, "--sizes 100 --devices cpu,cuda --stage numpy --epochs 3")
    assert result.devices() == ["cpu"]
    assert result.skipped
    assert result.skipped[0].startswith("skipped cuda: The numpy stage runs on the CPU only")


@pytest.mark.parametrize(("line", "start"), [
    ("--sizes 1e2,abc", "--sizes got 'abc'"),
    ("--sizes 1", "--sizes got '1'"),
    ("--devices cpu,gpu", "--devices got 'gpu'"),
    ("--stage modul", "Unknown stage 'modul'"),
    ("now", "bench takes options only, got 'now'"),
    ("--sizes ,", "--sizes got ','"),
    ("--sizes 100 --epochs 1", "bench --epochs 1: a sample is timed from its first epoch to its last"),
])
def test_bad_bench_settings_are_one_usage_error(ip, line: str, start: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        _bench(ip, line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert str(info.value).startswith(start)


def test_samples_are_sized_by_time_a_slow_epoch_over_few_epochs_a_fast_one_over_more() -> None:
    assert epochs_for(SAMPLE_SECONDS / 500) == 500
    assert epochs_for(1e-9) == MAX_EPOCHS
    assert epochs_for(10.0) == MIN_EPOCHS
    assert epochs_for(10.0, asked=50) == 50


def test_a_sample_never_records_more_numbers_than_its_bound() -> None:
    width = 1_000_000  # a wide model: a million parameter values per epoch
    assert epochs_for(1e-9, values_per_epoch=width) == max(MIN_EPOCHS, RECORD_VALUES // width)


def _series(values: list[float]) -> tuple[list[int], list[float]]:
    return SIZES, values


def test_the_crossover_is_where_the_gpu_line_drops_below_the_cpu_line() -> None:
    cpu = _series([1e-4, 1e-4, 1e-2, 1e-1])
    gpu = _series([5e-4, 5e-4, 6e-4, 1e-3])
    found = crossover(cpu, gpu)
    assert found is not None and 10_000 < found < 1_000_000
    # equal times at a measured size: that size
    assert crossover(_series([1, 1, 2, 3]), _series([2, 2, 2, 2])) == pytest.approx(1_000_000)


def test_no_crossover_when_the_gpu_never_wins_or_always_wins() -> None:
    assert crossover(_series([1, 2, 3, 4]), _series([5, 6, 7, 8])) is None
    assert crossover(_series([5, 6, 7, 8]), _series([1, 2, 3, 4])) is None


def _two_devices() -> BenchResult:
    cpu = [1e-4, 1.2e-4, 8e-3, 9e-2]
    gpu = [6e-4, 6e-4, 6.5e-4, 2e-3]
    rows = [BenchRow(n, "cpu", 3, t, (t,)) for n, t in zip(SIZES, cpu)]
    rows += [BenchRow(n, "cuda:0", 3, t, (t,)) for n, t in zip(SIZES, gpu)]
    return BenchResult("module", tuple(rows), device_names={"cpu": "cpu (2 cores)", "cuda:0": "cuda:0 H100"})


def test_the_figure_is_log_log_with_one_line_per_device_and_the_crossover_marked() -> None:
    result = _two_devices()
    ax = plot_bench(result)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["cpu (2 cores)", "cuda:0 H100"]
    cross = result.crossover()
    assert cross is not None
    assert any(list(line.get_xdata()) == [cross, cross] for line in ax.get_lines())
    assert any(t.get_text().startswith("GPU faster from N ~ ") for t in ax.texts)


def test_the_table_says_how_much_faster_the_gpu_is_and_from_which_size() -> None:
    text = bench_text(_two_devices())
    assert "45.00x faster" in text  # 9e-2 / 2e-3 at N = 10,000,000
    assert "6.00x slower" in text  # 1e-4 against 6e-4 at N = 100
    assert "the GPU is faster from N ~ " in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the note shown where CUDA is missing")
def test_cuda_graph_series_are_left_out_with_a_note_where_there_is_no_gpu(ip) -> None:  # type: ignore[no-untyped-def]
    result, captured = _bench(ip, "--sizes 100 --devices cpu --epochs 3 --cuda-graph")
    assert result.devices() == ["cpu"]
    assert result.skipped == ("no CUDA graph series: it needs a CUDA GPU",)
    assert "no CUDA graph series" in captured.outputs[1].data["text/plain"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_bench_times_eager_and_graph_series(ip) -> None:  # type: ignore[no-untyped-def]
    result, _ = _bench(ip, "--sizes 100,1e4 --devices cpu,cuda --epochs 20 --cuda-graph")
    assert result.devices() == ["cpu", "cuda:0", "cuda:0 graph"]
    eager = dict(zip(*result.series("cuda:0")))
    graph = dict(zip(*result.series("cuda:0 graph")))
    assert graph[100] < eager[100]


@pytest.mark.parametrize(("line", "start"), [
    ("--stage numpy --features 3", "--features applies to stages that build their model from the data's "
                                   "shape; the numpy stage has one feature"),
    ("--stage module --hidden 5", "--hidden applies to stages that build their model from the data's "
                                  "shape; the module stage has one feature"),
])
def test_bench_refuses_options_the_stage_cannot_take_as_a_run_does(ip, line: str, start: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        _bench(ip, f"--sizes 100 --devices cpu --epochs 3 {line}")
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert str(info.value).startswith(start)
    assert str(info.value).endswith(f"Use --stage sequential, or drop {line.split()[2]}")


def test_bench_times_the_sequential_stage_with_several_features_and_a_hidden_layer(ip) -> None:  # type: ignore[no-untyped-def]
    result, _ = _bench(ip, "--sizes 100 --devices cpu --epochs 3 --stage sequential --features 3 "
                           "--hidden 5")
    assert [(r.n, r.device) for r in result.rows] == [(100, "cpu")]


@pytest.mark.parametrize("source", ["diabetes", "user --x sizes --y prices"])
def test_bench_on_data_other_than_synthetic_is_one_usage_error(ip, source: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        _bench(ip, f"--sizes 100,200 --devices cpu --epochs 3 --data {source}")
    message = str(info.value)
    assert type(info.value) is UsageError and "\n" not in message
    assert message.startswith(f"bench times the synthetic data made at each size --sizes; --data "
                              f"{source.split()[0]} is one fixed data set. The valid --data for bench "
                              "is synthetic. Drop --data")


def test_bench_with_a_misspelt_data_source_says_which_sources_exist(ip) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        _bench(ip, "--sizes 100 --devices cpu --data diabetis")
    assert type(info.value) is UsageError
    assert str(info.value) == ("--data got 'diabetis'. Valid values are synthetic, diabetes, user. "
                               "Did you mean --data diabetes?")


# -- what is timed, and a Ctrl-C ------------------------------------------------
def _numpy_stage(name: str, model_training) -> Stage:  # type: ignore[no-untyped-def]
    def model_configuration() -> dict:  # type: ignore[type-arg]
        return {"b": np.zeros(1), "w": np.zeros(1)}

    return Stage(name=name, title=name, summary="a numpy loop for bench's tests", order=99,
                 model_configuration=model_configuration, model_training=model_training,
                 uses_torch=False, returns="bw")


def _loop(x_train, y_train, b, w, lr, n_epochs, tracker) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    for _epoch in range(n_epochs):
        error = b + w * x_train - y_train
        b = b - lr * 2 * error.mean()
        w = w - lr * 2 * (x_train * error).mean()
        tracker.log((error ** 2).mean(), b=b, w=w)
    return b, w


def test_a_sample_is_timed_from_the_first_recorded_epoch_to_the_last_not_what_follows(ip) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[object, float | None, float | None]] = []

    def model_training(x_train, y_train, b, w, lr, n_epochs, tracker):  # type: ignore[no-untyped-def]
        seen.append((type(tracker), tracker.first, tracker.last))  # before the loop: no mark yet
        b, w = _loop(x_train, y_train, b, w, lr, n_epochs, tracker)
        seen.append((type(tracker), tracker.first, tracker.last))  # the span ends with the last epoch
        print({"b": b, "w": w})  # the book's print after the loop: outside the span
        return {"b": b, "w": w}

    register_stage(_numpy_stage("spanned", model_training))
    try:
        result, _ = _bench(ip, "--sizes 100 --devices cpu --stage spanned --epochs 5")
    finally:
        unregister_stage("spanned")
    assert seen[0] == (EpochClock, None, None)
    after = seen[-1]
    assert after[0] is EpochClock and after[1] is not None and after[2] is not None
    assert after[2] > after[1]
    assert result.rows[0].runs[-1] == pytest.approx((after[2] - after[1]) / 4)


def test_one_ctrl_c_stops_the_whole_bench_and_keeps_and_shows_what_finished(ip) -> None:  # type: ignore[no-untyped-def]
    def model_training(x_train, y_train, b, w, lr, n_epochs, tracker):  # type: ignore[no-untyped-def]
        if len(x_train) > 100:  # the second size: the user presses Ctrl-C
            raise KeyboardInterrupt
        b, w = _loop(x_train, y_train, b, w, lr, n_epochs, tracker)
        return {"b": b, "w": w}

    register_stage(_numpy_stage("interrupted", model_training))
    try:
        result, captured = _bench(ip, "--sizes 100,1000,10000 --devices cpu --stage interrupted --epochs 3")
    finally:
        unregister_stage("interrupted")
    assert [(r.n, r.device) for r in result.rows] == [(100, "cpu")]
    assert result.stopped is not None and result.stopped.kind is StopKind.INTERRUPTED
    assert result.stopped.text == ("stopped after 1 of 3 timings (interrupted); the table shows those "
                                   "that finished")
    figure, table = captured.outputs
    assert figure.data["image/png"]
    assert table.data["text/plain"].splitlines()[1].startswith("100  ")
    assert table.data["text/plain"].endswith(result.stopped.text)


def test_a_bench_stopped_before_its_first_timing_has_a_table_head_and_its_stop_line() -> None:
    from linreg_magic.result import Stop

    stop = Stop(StopKind.INTERRUPTED, 0, "stopped after 0 of 4 timings (interrupted)")
    text = bench_text(BenchResult("module", (), stopped=stop))
    assert text.splitlines() == ["N  device  epochs timed  time per epoch  vs cpu", stop.text]


def test_bench_takes_its_lists_as_sizes_and_devices_already_read() -> None:
    from linreg_magic.bench import bench

    with capture_output():
        result = bench({"sizes": [200, 100], "devices": ["cpu"], "stage": "module", "epochs": 3}, repeats=1)
    assert [(r.n, r.device, len(r.runs)) for r in result.rows] == [(100, "cpu", 1), (200, "cpu", 1)]
    with pytest.raises(UsageError) as info:
        bench({"sizes": [], "stage": "module"})
    assert str(info.value).startswith("bench --sizes needs at least one size")
