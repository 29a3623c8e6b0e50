"""What one sandbox child costs, shared and isolated (never asserts a time: machines are noisy).

    python benchmarks/bench_sandbox.py [--children N]

Forks N children with an empty body in each mode, alternating, from a process that has imported
what a worker imports, and prints wall and CPU milliseconds per child (this process and its
children, user + system). Isolated rows print only where sandbox namespaces are available.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import coverage  # noqa: F401 - a worker's imports: fork cost grows with the address space
import libcst  # noqa: F401

from testaudit.config import ExecSettings
from testaudit.sandbox import isolate
from testaudit.sandbox.child import fork, frames


def _body(send) -> None:
    send(1)


def measure(settings: ExecSettings, workdir: str, children: int) -> tuple[float, float]:
    list(frames(fork(_body, settings, workdir), 10.0, 10.0))  # warm up
    before, started = os.times(), time.perf_counter()
    for _ in range(children):
        list(frames(fork(_body, settings, workdir), 10.0, 10.0))
    after, wall = os.times(), time.perf_counter() - started
    cpu = sum(after[:4]) - sum(before[:4])
    return wall / children * 1000, cpu / children * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    status = isolate.status()
    modes = [False, True] if status.isolated else [False]
    print(f"isolation here: {'yes' if status.isolated else 'no'} ({status.reason})")
    with tempfile.TemporaryDirectory() as workdir:
        for round_ in range(args.rounds):
            for isolated in modes:
                wall, cpu = measure(ExecSettings(isolate=isolated), workdir, args.children)
                print(f"round {round_ + 1}  {'isolated' if isolated else 'shared  '}  "
                      f"wall {wall:6.2f} ms  cpu {cpu:6.2f} ms per child")


if __name__ == "__main__":
    main()
