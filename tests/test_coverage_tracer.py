"""run/coverage.py drives coverage.py's C tracer itself: it must record the lines that
coverage.Coverage records, threads included."""

from __future__ import annotations

import textwrap
from pathlib import Path

from testaudit.run import coverage

PROGRAM = textwrap.dedent("""\
    import threading

    def f(x):
        if x > 0:
            return (x
                    + 1)
        else:
            return -x

    def never():
        return 0

    def in_thread(out):
        for i in range(3):
            out.append(f(i))

    out = []
    worker = threading.Thread(target=in_thread, args=(out,))
    worker.start()
    worker.join()
    try:
        f(-1)
        raise ValueError
    except ValueError:
        pass
    """)


def _lines(measure, path: str) -> set[int]:
    code = compile(PROGRAM, path, "exec")
    with measure(path) as lines:
        exec(code, {"__name__": "traced"})
    return lines


def test_the_tracer_records_what_coverage_records(tmp_path: Path) -> None:
    path = str(tmp_path / "reference.py")
    Path(path).write_text(PROGRAM, encoding="utf-8")
    direct = _lines(coverage.measure, path)
    assert direct == _lines(coverage._measure_with_coverage, path)
    assert 11 not in direct and 15 in direct  # never() did not run; the thread's loop did


def test_nothing_is_traced_after_the_block(tmp_path: Path) -> None:
    import sys
    import threading

    path = str(tmp_path / "reference.py")
    before = sys.gettrace(), threading.gettrace()
    _lines(coverage.measure, path)
    assert (sys.gettrace(), threading.gettrace()) == before
