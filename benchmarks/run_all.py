"""Every benchmark, one after the other (``make bench``).

    .venv/bin/python benchmarks/run_all.py [--quick]

``--quick`` runs fewer repeats and leaves N=10^7 out (a smoke run).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

SCRIPTS = {
    # name: (full arguments, quick arguments)
    "overhead": ([], ["--repeat", "3"]),
    "cell": ([], ["--repeat", "3"]),
    "sizes": ([], ["--n", "1e2,1e4,1e5", "--repeat", "2"]),
    "memory": ([], ["--n", "1e5,1e6"]),
    "widget": ([], ["--repeat", "3"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller N")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args(argv)
    chosen = [n for n in SCRIPTS if not args.only or n in args.only.split(",")]
    for name in chosen:
        full, quick = SCRIPTS[name]
        start = time.perf_counter()
        print(f"\n## {name}: benchmarks/{name}.py {' '.join(quick if args.quick else full)}".rstrip())
        importlib.import_module(name).main(quick if args.quick else full)
        print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
