"""Do the tests `testaudit strengthen` adds reject real wrong programs? MBPP+ as the judge.

    python benchmarks/bench_strengthen.py [--limit N] [--workers N] [--data DIR] [--keep DIR]

The strengthening sees only what a base-suite audit of the original benchmark would: each MBPP+
task's prompt, reference and `base_input`, with its `contract` and `plus_input` withheld (as in
bench_validity.py). It runs once, with `--max-tests 20`; the suite `--max-tests k` writes is
the suggested tests plus the first k differential tests of that run (triage/differential.py
chooses them in a prefix order), so k = 0 (suggested tests only), 5, 10 and 20 are read from it.

Then, outside testaudit, with bench_validity.py's judge (EvalPlus's comparison rules, its
program loading and its time limits), for the real model programs in data/samples:
- wrong: passes the base inputs and disagrees with the reference on a contract-valid plus input;
- rejected at k: disagrees (or raises, or times out) on one of the first k added inputs, or on a
  suggested one;
- also: right programs (pass base and plus) that the added inputs reject (false rejections), and
  the share of added inputs that meet the withheld contract.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "benchmarks"))

from bench_validity import (  # noqa: E402
    DATA,
    _call,
    _init,
    _load,
    _read,
    _runs,
    samples_file,
    withheld,
)

from testaudit.load.evalplus import contract_check  # noqa: E402
from testaudit.suites.evalplus import CONTRACT_FUNCTION, deserialize, evalplus_same  # noqa: E402

KS = (0, 5, 10, 20)
INPUT = "# input: "


def _judge(job: dict) -> dict:
    """For one task: per sample, whether it passes base, is wrong by plus, and on which added
    inputs it disagrees; per added input, whether it meets the contract."""
    import ast

    rec = job["record"]
    task_id, entry = rec["task_id"], rec["entry_point"]
    source = rec["prompt"] + rec["canonical_solution"]
    atol = float(rec.get("atol") or 0)
    namespace, reference = _load(source, entry)
    checker = None
    if (rec.get("contract") or "").strip():
        exec(contract_check(ast.parse(source), entry, rec["contract"]), namespace)
        checker = namespace[CONTRACT_FUNCTION]

    def valid(args: list) -> bool:
        return checker is None or _call(checker, args)[0] == "value"

    base = deserialize(task_id, "base_input", rec["base_input"])
    plus = [a for a in deserialize(task_id, "plus_input", rec["plus_input"] or []) if valid(a)]
    added = deserialize(task_id, "added", job["added"])
    base_expected = [_call(reference, a) for a in base]
    plus_expected = [_call(reference, a) for a in plus]
    added_expected = [_call(reference, a) for a in added]
    out = {"task_id": task_id, "valid": [valid(a) for a in added], "samples": {}}
    for ident, program in job["samples"].items():
        passes, _ = _runs(program, entry, base, base_expected, "mbpp", atol)
        if not passes:
            continue
        right, _ = _runs(program, entry, plus, plus_expected, "mbpp", atol)
        try:
            _, function = _load(program, entry)
        except BaseException:  # noqa: BLE001 - a program that cannot load fails everything
            function = None
        rejected = []
        for args, (kind, value) in zip(added, added_expected, strict=True):
            if kind != "value":
                rejected.append(False)
                continue
            got_kind, got = _call(function, args) if function else ("raised", None)
            rejected.append(got_kind != "value" or not evalplus_same(entry, "mbpp", atol, args, value, got))
        out["samples"][ident] = {"wrong": not right, "rejected": rejected,
                                 "fails_on": None if right else _first_failing(function, plus, plus_expected,
                                                                                entry, atol)}
    return out


def _first_failing(function, inputs: list, expected: list, entry: str, atol: float) -> str | None:
    """The first input the program gets wrong, shortened, for --show."""
    for args, (kind, value) in zip(inputs, expected, strict=True):
        if kind != "value":
            continue
        got_kind, got = _call(function, args) if function else ("raised", None)
        if got_kind != "value" or not evalplus_same(entry, "mbpp", atol, args, value, got):
            return repr(args)[:100] + f" -> {repr(got)[:40]} (expected {repr(value)[:40]})"
    return None


def _strengthen(dataset: Path, target: Path, reports: Path, workers: int) -> dict:
    command = [sys.executable, "-m", "testaudit", "strengthen", str(dataset), "--out", str(target),
               "--max-tests", str(max(KS)), "--reports", str(reports), "--no-cache", "--no-html",
               "--workers", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(HERE)}, capture_output=True,
                          text=True)
    found = list(reports.glob("*/strengthen-report.json"))
    if not found:
        sys.exit(f"strengthen failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(found[0].read_text())
    report["_wall"] = time.perf_counter() - started
    report["_stdout"] = done.stdout
    return report


def _added(task: dict) -> tuple[list, list[str]]:
    """The task's added inputs (JSON, as EvalPlus stores them) and the kind of each."""
    inputs, kinds = [], []
    for test in task["tests"]:
        head = test["text"].split("\n", 1)[0]
        if head.startswith(INPUT):
            inputs.append(json.loads(head[len(INPUT):]))
            kinds.append(test["kind"])
    return inputs, kinds


def _within(kinds: list[str], k: int) -> list[bool]:
    """Which added inputs the suite of --max-tests k holds: every suggested one, the first k others."""
    seen, keep = 0, []
    for kind in kinds:
        if kind == "suggested":
            keep.append(True)
        else:
            seen += 1
            keep.append(seen <= k)
    return keep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N MBPP+ tasks")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--reuse", action="store_true", help="with --keep: judge its kept run again")
    parser.add_argument("--show", action="store_true",
                        help="print the wrong programs not rejected, the right ones rejected, "
                        "and the added inputs outside the contract")
    parser.add_argument("--keep", type=Path, default=None, help="keep the strengthened file and reports here")
    args = parser.parse_args()

    records = _read(args.data / "MbppPlus-v0.2.0.jsonl.gz")[: args.limit]
    with tempfile.TemporaryDirectory(prefix="bench-strengthen-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        dataset = folder / "MbppPlus-withheld.jsonl"
        withheld(records, dataset)
        samples = samples_file(records, args.data, folder / "samples.jsonl")
        found = list((folder / "reports").glob("*/strengthen-report.json"))
        if args.reuse and found:  # judge a kept run again (--keep DIR --reuse)
            report = {**json.loads(found[0].read_text()), "_wall": 0.0}
        else:
            report = _strengthen(dataset, folder / "MbppPlus-strong.jsonl", folder / "reports", args.workers)
    by_id = {r["task_id"]: r for r in records}
    tasks = {t["task_id"]: t for t in report["tasks"]}
    jobs, kinds = [], {}
    for task_id, rec in by_id.items():
        inputs, kinds[task_id] = _added(tasks.get(task_id, {"tests": []}))
        jobs.append({"record": rec, "added": inputs,
                     "samples": {str(k): v for k, v in samples.get(task_id, {}).items()}})

    with ProcessPoolExecutor(max_workers=args.workers, initializer=_init) as pool:
        judged = list(pool.map(_judge, jobs))
    summary = report["summary"]
    print(f"bench_strengthen: {len(records)} MBPP+ tasks (contract and plus_input withheld), "
          f"strengthen --max-tests {max(KS)} in {report['_wall']:.1f} s wall")
    print(f"  audit: mutation score {summary['mutation_score_before']:.3f} -> "
          f"{summary['mutation_score_after']:.3f}, confirmed wrong {summary['confirmed_wrong_before']} -> "
          f"{summary['confirmed_wrong_after']}, references pass: {summary['references_pass']}")
    wrong = sum(s["wrong"] for j in judged for s in j["samples"].values())
    right = sum(not s["wrong"] for j in judged for s in j["samples"].values())
    print(f"  samples passing the base tests: {wrong + right}, of which MBPP+ proves {wrong} wrong")
    for k in KS:
        _print_k(k, judged, kinds, len(records), wrong, right)
    if args.show:
        _show(judged, kinds, {job["record"]["task_id"]: job["added"] for job in jobs}, max(KS))


def _print_k(k: int, judged: list[dict], kinds: dict, tasks: int, wrong: int, right: int) -> None:
    """One line per --max-tests k. A right program (by MBPP+) that an added test rejects on a
    contract-valid input disagrees with the reference there: MBPP+'s plus inputs miss it (the
    reference is the task's oracle), so it is counted apart from a false rejection, one made
    only by inputs outside the contract."""
    rejected = false = disagree = added = valid = 0
    for j in judged:
        keep = _within(kinds[j["task_id"]], k)
        added += sum(keep)
        valid += sum(v for v, kept in zip(j["valid"], keep, strict=True) if kept)
        for s in j["samples"].values():
            hits = [v for r, kept, v in zip(s["rejected"], keep, j["valid"], strict=True) if r and kept]
            if hits and s["wrong"]:
                rejected += 1
            elif hits:  # a right program (by MBPP+): on a valid input, or only outside the contract
                disagree += any(hits)
                false += not any(hits)
    share = f"{rejected / wrong:.1%}" if wrong else "n/a"
    print(f"  --max-tests {k:>2}: rejects {rejected}/{wrong} wrong programs ({share}); "
          f"{added / tasks:.1f} added tests per task; right programs (by MBPP+) rejected: "
          f"{false}/{right} falsely (only by inputs outside the contract), {disagree} on a "
          f"contract-valid input where they differ from the reference; added inputs meeting the "
          f"contract: {valid}/{added}")


def _show(judged: list[dict], kinds: dict, added: dict[str, list], k: int) -> None:
    """--show, at the largest k: added inputs outside the contract, wrong programs missed, and
    right programs rejected (by which input)."""
    for j in judged:
        task_id, keep = j["task_id"], _within(kinds[j["task_id"]], k)

        def text(index: int, task_id: str = task_id) -> str:
            return f"{kinds[task_id][index]} input {json.dumps(added[task_id][index])[:100]}"

        for index, ok in enumerate(j["valid"]):
            if not ok and keep[index]:
                print(f"    added outside the contract: {task_id} {text(index)}")
        for ident, s in j["samples"].items():
            if s["wrong"] and not any(s["rejected"]):
                print(f"    missed: {task_id} sample {ident}: {s['fails_on']}")
            for index, hit in enumerate(s["rejected"]):
                if hit and keep[index] and not s["wrong"]:
                    print(f"    right (by MBPP+) program rejected: {task_id} sample {ident} by {text(index)}"
                          f"{'' if j['valid'][index] else ' (outside the contract)'}")

if __name__ == "__main__":
    main()
