"""``%linreg bench``: time one stage across data sizes and devices.

    %linreg bench --sizes 1e2,1e4,1e6,1e7 --devices cpu,cuda --stage module

For each size N the book's data is made once; on each device the stage's own
code prepares it, warms up (first kernels, allocator, caches), then trains a few
times, each time from the first to the last epoch the tracker records (what the
stage does before its loop and after it, such as printing ``state_dict()``, is
not timed), between two device synchronisations.  Each sample lasts about the
same time whatever N (a small N is timed over many epochs, a large one over
few); ``--epochs`` sets the number of epochs timed instead.  With
``--cuda-graph``, each CUDA device gets a second series: the step captured once
and replayed.

The table and the log-log figure show the time per epoch against N, with the
size from which the GPU is faster marked when both CPU and GPU were timed: the
device lesson (a GPU pays off only once there is enough work per launch).  The
data are the book's synthetic line (``--data`` other than synthetic has one
fixed size), and the stage takes the same checks of its options as a run.
One Ctrl-C stops the whole command and keeps (and shows) what finished.

The parts: :mod:`.timing` times one stage on one device, :mod:`.result` holds
the timings, :mod:`.command` reads the command's arguments, times every size and
device, and shows the figure and the table of :mod:`linreg_magic.views.bench`.
"""

from .command import BenchSetup, bench, bench_command, run_bench, show_bench
from .result import BenchResult, BenchRow, crossover
from .timing import REPEATS, EpochClock, epochs_for, time_stage

__all__ = ["REPEATS", "BenchResult", "BenchRow", "BenchSetup", "EpochClock", "bench", "bench_command",
           "crossover", "epochs_for", "run_bench", "show_bench", "time_stage"]
