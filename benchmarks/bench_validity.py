"""Can a maintainer trust the findings? Audit MBPP+'s base suite blind, then judge it with MBPP+.

    python benchmarks/bench_validity.py [--limit N] [--workers N] [--code DIR] [--data DIR]
                                        [--no-samples] [--keep OUT]

The audit sees only what a base-suite audit of the original benchmark would: each MBPP+ task's
prompt, reference and `base_input`, with its `contract` and `plus_input` withheld (written to a
temporary copy of the file). Both are then used only as the judge, here, outside testaudit:

- witness precision: of the survivors' witness inputs that testaudit counts as confirmed wrong,
  the share that meet the MBPP+ contract (all witnesses, whatever their kind, are shown too);
- survivor recall: of the survivors that MBPP+'s contract-valid plus inputs prove wrong (some
  input on which the mutant's output is not the reference's, by EvalPlus's comparison rules),
  the share that testaudit confirms wrong;
- on the real model programs in data/samples (--candidates): precision and recall of "passes
  the tests, but wrong", judged the same way (a program passes when it agrees with the reference
  on every base input, by EvalPlus's rules; it is wrong when it passes and disagrees on a
  contract-valid plus input);
- harness disagreements: samples whose pass/fail testaudit and this judge see differently.

`--code DIR` runs the audit with another checkout of testaudit (to measure an older commit: the
judge is always this file's own). The judge runs task code in child processes under a memory
cap, a per-call alarm and a per-task time limit.
"""

from __future__ import annotations

import argparse
import ast
import copy
import gzip
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from testaudit.load.evalplus import contract_check  # noqa: E402
from testaudit.suites.evalplus import CONTRACT_FUNCTION, deserialize, evalplus_same  # noqa: E402

DATA = HERE.parent / "shared" / "data"
CALL_S = 1.0  # per call in the judge
PROGRAM_S = 10.0  # per program and task in the judge: a slower program is judged on what it ran


def _read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _number(task_id: str) -> int | None:
    m = re.match(r"(?:Mbpp/|mbpp_)(\d+)", task_id)
    return int(m.group(1)) if m else None


# --- the judge (runs in child processes) ---------------------------------------------------


class _Late(BaseException):
    pass


def _alarm(signum, frame):
    raise _Late()


def _init() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(5000)


def _load(source: str, entry_point: str):
    # As EvalPlus's untrusted_check execs a program: in a fresh dict, so that `__name__` is the
    # builtins module's and an `if __name__ == "__main__":` block does not run.
    namespace: dict = {}
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        exec(compile(source, "<program>", "exec"), namespace)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return namespace, namespace[entry_point]


def _call(function, args: list) -> tuple[str, object]:
    signal.setitimer(signal.ITIMER_REAL, CALL_S)
    try:
        return "value", function(*copy.deepcopy(args))
    except BaseException as exc:  # noqa: BLE001 - a program's failure is a result here
        return "raised", type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _runs(source: str, entry: str, inputs: list, expected: list, family: str,
          atol: float) -> tuple[bool, bool]:
    """(agrees on every input, finished): EvalPlus's rules; a raise or a timeout disagrees."""
    try:
        _, function = _load(source, entry)
    except BaseException:  # noqa: BLE001
        return False, True
    started = time.monotonic()
    for args, (kind, value) in zip(inputs, expected, strict=True):
        if time.monotonic() - started > PROGRAM_S:
            return True, False
        got_kind, got = _call(function, args)
        if kind != "value":
            continue  # the reference raises: EvalPlus's inputs do not test this
        if got_kind != "value" or not evalplus_same(entry, family, atol, args, value, got):
            return False, True
    return True, True


def judge_task(job: dict) -> dict:
    """For one MBPP+ task: which programs MBPP+ proves wrong, which samples pass its base inputs,
    which witness inputs meet its contract."""
    rec = job["record"]
    task_id, entry = rec["task_id"], rec["entry_point"]
    source = rec["prompt"] + rec["canonical_solution"]
    family, atol = "mbpp", float(rec.get("atol") or 0)
    namespace, reference = _load(source, entry)
    checker = None
    contract = rec.get("contract") or ""
    if contract.strip():
        exec(contract_check(ast.parse(source), entry, contract), namespace)
        checker = namespace[CONTRACT_FUNCTION]

    def valid(args: list) -> bool:
        if checker is None:
            return True
        kind, _ = _call(checker, args)
        return kind == "value"

    plus = [a for a in deserialize(task_id, "plus_input", rec["plus_input"] or []) if valid(a)]
    base = deserialize(task_id, "base_input", rec["base_input"])
    plus_expected = [_call(reference, a) for a in plus]
    base_expected = [_call(reference, a) for a in base]
    out: dict = {"task_id": task_id, "wrong": {}, "passes": {}, "sample_wrong": {}, "witness_valid": {}}
    for ident, program in job["programs"].items():
        agrees, _ = _runs(program, entry, plus, plus_expected, family, atol)
        out["wrong"][ident] = not agrees
    for ident, program in job["samples"].items():
        passes, _ = _runs(program, entry, base, base_expected, family, atol)
        out["passes"][ident] = passes
        if passes:
            agrees, _ = _runs(program, entry, plus, plus_expected, family, atol)
            out["sample_wrong"][ident] = not agrees
    out["witness_wrong"] = {}
    for ident, text in job["witnesses"].items():
        try:
            args = list(ast.literal_eval(f"({text},)")) if text.strip() else []
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            out["witness_valid"][ident] = None  # clipped or not a literal: not judged
            continue
        out["witness_valid"][ident] = valid(args)
        program = job["samples"].get(ident.removeprefix("sample "))
        if program is not None and out["witness_valid"][ident]:
            # A contract-valid input on which the sample and the reference differ is a proof too,
            # one that MBPP+'s plus inputs may lack; re-checked here, by EvalPlus's rules.
            agrees, _ = _runs(program, entry, [args], [_call(reference, args)], family, atol)
            out["witness_wrong"][ident] = not agrees
    return out


# --- the audit --------------------------------------------------------------------------------


def withheld(records: list[dict], path: Path) -> None:
    """The file the audit sees: no contract, no plus inputs."""
    with path.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps({**rec, "contract": "", "plus_input": []}) + "\n")


def samples_file(records: list[dict], data: Path, path: Path) -> dict[str, dict[int, str]]:
    """The model programs of the audited tasks as a --candidates file; by task, line -> program."""
    by_number = {_number(r["task_id"]): r["task_id"] for r in records}
    found: dict[str, dict[int, str]] = {}
    seen: set[tuple[str, str]] = set()
    line = 0
    with path.open("w", encoding="utf-8") as f:
        for s in _read(data / "samples" / "mbpp-model-samples.jsonl.gz"):
            task_id = by_number.get(_number(s["task_id"]))
            if task_id is None or (task_id, s["solution"]) in seen:
                continue
            seen.add((task_id, s["solution"]))
            line += 1
            f.write(json.dumps({"task_id": task_id, "completion": s["solution"]}) + "\n")
            found.setdefault(task_id, {})[line] = s["solution"]
    return found


def audit(dataset: Path, out: Path, code: Path, workers: int, candidates: Path | None) -> dict:
    command = [sys.executable, "-m", "testaudit", "audit", str(dataset), "--out", str(out), "--no-cache",
               "--no-html", "--workers", str(workers)]
    if candidates is not None:
        command += ["--candidates", str(candidates)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=out.parent)
    if not (out / "results.json").exists():
        sys.exit(f"the audit failed ({done.returncode}):\n{done.stderr[-3000:]}")
    results = json.loads((out / "results.json").read_text())
    results["_wall"] = time.perf_counter() - started
    return results


def _confirmed(witness: dict | None) -> bool:
    # Results written before the three kinds of survivor have no outside_domain: all confirmed.
    return witness is not None and not witness.get("outside_domain")


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else "n/a (0/0)"


def _jobs(results: dict, by_id: dict, samples: dict[str, dict[int, str]]) -> list[dict]:
    """One judge job per audited task: its survivors' programs, its samples, its witnesses."""
    jobs = []
    for task in results["tasks"]:
        if task["status"] != "ok":
            continue
        programs, witnesses, task_samples = {}, {}, {}
        source = task["source"]
        for m in task["mutants"]:
            if m["status"] in ("survived", "no_coverage"):
                programs[m["id"]] = source[: m["start"]] + m["replacement"] + source[m["end"]:]
                if m.get("witness"):
                    witnesses[m["id"]] = m["witness"]["input"]
        for c in task.get("candidates", []):
            if c["sample"] in samples.get(task["task_id"], {}):
                task_samples[str(c["sample"])] = samples[task["task_id"]][c["sample"]]
            if c.get("witness"):
                witnesses[f"sample {c['sample']}"] = c["witness"]["input"]
        jobs.append({"record": by_id[task["task_id"]], "programs": programs, "samples": task_samples,
                     "witnesses": witnesses})
    return jobs


def _kind(witness: dict | None) -> str:
    if witness is None:
        return "unconfirmed"
    return "confirmed_wrong" if _confirmed(witness) else "outside_domain"


def _mutant_figures(results: dict, judged: dict, show: bool) -> Counter:
    """Witness precision and survivor recall: counts over every survivor of the audit."""
    n: Counter = Counter()
    for task in results["tasks"]:
        j = judged.get(task["task_id"])
        for m in task["mutants"] if j is not None else ():
            if m["id"] not in j["wrong"]:
                continue
            w = m.get("witness")
            n[_kind(w)] += 1
            name = f"{task['task_id']} {m['original']!r} -> {m['replacement']!r}"
            if w is not None:
                ok = j["witness_valid"].get(m["id"])
                if show and _confirmed(w) and ok is False:
                    print(f"  invalid witness: {name}: {w['input'][:80]}")
                n["unparsed"] += ok is None
                n["witnesses"] += ok is not None
                n["valid"] += bool(ok)
                n["confirmed"] += ok is not None and _confirmed(w)
                n["valid_confirmed"] += bool(ok) and _confirmed(w)
            if j["wrong"][m["id"]]:
                n["proven"] += 1
                n["proven_found"] += _confirmed(w)
                if show and not _confirmed(w):
                    print(f"  missed survivor: {name}: {(w or {}).get('outside_domain') or 'no witness'}")
    return n


PASSING = ("passes", "passes_but_wrong", "passes_differs_outside_domain")


def _sample_figures(results: dict, judged: dict, show: bool) -> Counter:
    """'Passes the tests, but wrong' against the judge, and pass/fail disagreements."""
    n: Counter = Counter()
    for task in results["tasks"]:
        j = judged.get(task["task_id"])
        for c in task.get("candidates", []) if j is not None else ():
            ident, verdict = str(c["sample"]), c["verdict"]
            judge_passes = j["passes"].get(ident)
            if judge_passes is None or verdict == "error":
                continue
            disagrees = (verdict in PASSING) != judge_passes
            n["disagreements"] += disagrees
            if show and disagrees:
                print(f"  disagreement: {task['task_id']} sample {ident}: testaudit {verdict}, "
                      f"the judge {'passes' if judge_passes else 'fails'} it ({c.get('detail')})")
            if not judge_passes:
                continue
            n["passing"] += 1
            plus_wrong = bool(j["sample_wrong"].get(ident))
            wrong = plus_wrong or bool(j["witness_wrong"].get("sample " + ident))
            said = verdict == "passes_but_wrong"
            n["outside"] += verdict == "passes_differs_outside_domain"
            n["said_wrong"] += said
            n["said_right"] += said and wrong
            n["truly_wrong"] += wrong
            n["found"] += said and wrong
            n["strict_wrong"] += plus_wrong
            n["strict_found"] += plus_wrong and said
            where = f"{task['task_id']} sample {ident}"
            if show and said and not wrong:
                print(f"  sample called wrong, not by MBPP+: {where}: {c['witness']['input'][:80]}")
            if show and wrong and not said:
                why = (c.get("witness") or {}).get("outside_domain") or ""
                print(f"  missed sample: {where}: {verdict} {why}")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N MBPP+ tasks")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--code", type=Path, default=HERE, help="the testaudit checkout to audit with")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-samples", action="store_true", help="skip the model programs")
    parser.add_argument("--keep", type=Path, default=None, help="keep the audit's output here")
    parser.add_argument("--show", action="store_true", help="print each miss and each invalid witness")
    args = parser.parse_args()

    records = _read(args.data / "MbppPlus-v0.2.0.jsonl.gz")[: args.limit]
    with tempfile.TemporaryDirectory(prefix="bench-validity-") as tmp:
        tmpdir = Path(tmp)
        dataset = tmpdir / "MbppPlus-withheld.jsonl"
        withheld(records, dataset)
        samples = {} if args.no_samples else samples_file(records, args.data, tmpdir / "samples.jsonl")
        out = args.keep or tmpdir / "out"
        results = audit(dataset, out, args.code.resolve(), args.workers,
                        None if args.no_samples else tmpdir / "samples.jsonl")
    jobs = _jobs(results, {r["task_id"]: r for r in records}, samples)
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_init) as pool:
        judged = {r["task_id"]: r for r in pool.map(judge_task, jobs)}
    m = _mutant_figures(results, judged, args.show)
    print(f"bench_validity: {len(records)} MBPP+ tasks (base suite; contract and plus_input withheld), "
          f"code {args.code.resolve()}, audit {results['_wall']:.1f} s")
    print(f"  survivors: {m['confirmed_wrong'] + m['outside_domain'] + m['unconfirmed']} | confirmed "
          f"wrong {m['confirmed_wrong']}, outside the tested domain {m['outside_domain']}, "
          f"unconfirmed {m['unconfirmed']}")
    print("  witness precision (confirmed witnesses meeting the MBPP+ contract): "
          f"{_ratio(m['valid_confirmed'], m['confirmed'])}")
    print(f"  witness precision, all witnesses of any kind: {_ratio(m['valid'], m['witnesses'])}"
          + (f"; {m['unparsed']} witness inputs not judged (clipped)" if m["unparsed"] else ""))
    print("  survivor recall (survivors MBPP+ plus inputs prove wrong, confirmed wrong): "
          f"{_ratio(m['proven_found'], m['proven'])}")
    if samples:
        n = _sample_figures(results, judged, args.show)
        print(f"  samples: {sum(len(v) for v in samples.values())} programs, {n['passing']} pass the base "
              f"tests (judge), {n['truly_wrong']} of those MBPP+ proves wrong; testaudit: "
              f"{n['said_wrong']} passes_but_wrong, {n['outside']} differ only outside the tested domain")
        print("  samples precision ('passes the tests, but wrong' that MBPP+ proves wrong: a "
              f"contract-valid plus or witness input): {_ratio(n['said_right'], n['said_wrong'])}")
        print("  samples recall (MBPP+-proven wrong passing programs called passes_but_wrong): "
              f"{_ratio(n['found'], n['truly_wrong'])}; proven by plus inputs alone: "
              f"{_ratio(n['strict_found'], n['strict_wrong'])}")
        print(f"  harness disagreements (pass/fail, testaudit vs the judge): {n['disagreements']}")


if __name__ == "__main__":
    main()
