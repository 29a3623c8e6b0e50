"""The command line: turns options into a RunConfig and calls the core. Nothing else lives here.

The stages are imported inside the commands, when they run: `testaudit --help` and a mistyped
option answer without loading libcst, multiprocess or jinja2.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import click

from testaudit import __version__
from testaudit.errors import NothingTestedError, TestauditError, ThresholdError, UsageError
from testaudit.load import FORMAT_NAMES, SUITES

EXIT_INTERRUPTED = 128 + 2  # the shell's code for a process ended by SIGINT


class _Failure(click.ClickException):
    """A one-line error with our exit code (click prints 'Error: ...')."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


@contextlib.contextmanager
def _sigterm_as_sigint():
    """SIGTERM (a CI runner's cancel, `kill`) stops a command as Ctrl-C does: it raises SIGINT,
    so that what holds Ctrl-C holds it too, and the interrupted message and exit 130 follow."""
    try:
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: signal.raise_signal(signal.SIGINT))
    except ValueError:  # not the main thread (a caller's thread): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _guard(fn):
    """Run a command body: domain errors become one line and an exit code, never a traceback."""

    def wrapper(*args, **kwargs):
        try:
            with _sigterm_as_sigint():
                return fn(*args, **kwargs)
        except TestauditError as exc:
            raise _Failure(str(exc), exc.exit_code) from exc
        except KeyboardInterrupt:
            click.echo("\ninterrupted: results so far are in the session store; "
                       "rerun with --resume to continue", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("TESTAUDIT_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise _Failure(f"internal error: {type(exc).__name__}: {first} "
                           "(set TESTAUDIT_DEBUG=1 for the traceback)", TestauditError.exit_code) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="testaudit")
def cli() -> None:
    """Audit benchmark test suites: how many wrong programs do they let through?"""


class _ShardType(click.ParamType):
    """--shard K/N: a bad value is click's one-line usage error (exit 2)."""

    name = "K/N"

    def convert(self, value, param, ctx):
        from testaudit.config import Shard

        if isinstance(value, Shard):
            return value
        try:
            return Shard.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def audit_options(fn):
    """The audit's arguments and options, shared by `audit` and `gate` (a gate is an audit plus
    thresholds): one list, applied to both commands."""
    for option in reversed(_AUDIT_OPTIONS):
        fn = option(fn)
    return fn


_AUDIT_OPTIONS = [
    click.argument("dataset", default="humaneval"),
    click.option("--format", "format_", type=click.Choice(FORMAT_NAMES),
                  help="Dataset format (default: detected from the file; see docs/formats.md)."),
    click.option("--suite", type=click.Choice(SUITES), default="base", show_default=True,
                  help="EvalPlus: audit the original inputs (base) or base + plus_input (plus)."),
    click.option("--challenge", is_flag=True, help="MBPP: add challenge_test_list to the tests."),
    click.option("--tasks", "tasks", multiple=True, metavar="GLOB",
                  help="Only task ids matching this glob (repeatable), e.g. 'HumanEval/1*'."),
    click.option("--limit", type=click.IntRange(min=1), help="Keep the first N selected tasks."),
    click.option("--workers", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
                  show_default="CPU count", help="Worker processes."),
    click.option("--dask", "dask", metavar="ADDRESS",
                 help="Run the jobs on a Dask cluster: local:N (N workers here) or a scheduler's "
                      "tcp://HOST:PORT or tls://HOST:PORT (see docs/distributed.md)."),
    OUT_OPTION := click.option("--out", type=click.Path(path_type=Path),
                               help="Output folder [reports/<dataset>]."),
    RESUME_OPTION := click.option("--resume", is_flag=True,
                                  help="Continue an interrupted audit in the same --out."),
    SHARD_OPTION := click.option("--shard", type=_ShardType(),
                                 help="Audit only part K of N of the selected tasks, split by their "
                                      "mutant counts (a CI matrix); `testaudit merge` joins the parts "
                                      "(docs/shards.md)."),
    click.option("--operator", "operators", multiple=True, help="Only these operators (repeatable)."),
    click.option("--timeout-factor", type=click.FloatRange(min=1), default=10.0, show_default=True,
                  help="Mutant budget: this many times the reference's suite time..."),
    click.option("--timeout-constant", type=click.FloatRange(min=0.01), default=0.05,
                  show_default=True, help="...plus this many seconds (CPU time)."),
    click.option("--memory-cap", type=click.IntRange(min=64), default=1024, show_default=True,
                  help="Address-space cap per sandbox process, in MiB."),
    click.option("--no-isolation", is_flag=True,
                  help="Run sandboxes without Linux namespaces even where they are possible "
                       "(tests that need the network or write outside their folder)."),
    click.option("--seed", type=int, default=0, show_default=True,
                  help="Seed for `random` before every suite run, and for set order."),
    click.option("--no-html", is_flag=True, help="Skip the HTML report and mutation-report.json."),
    click.option("--cache-dir", type=click.Path(path_type=Path), default=Path(".testaudit-cache"),
                  show_default=True, help="Content-addressed cache of per-task results."),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache."),
    click.option("--no-triage", is_flag=True,
                  help="Skip survivor triage (witness inputs, suggested tests)."),
    click.option("--triage-inputs", type=click.IntRange(min=1), default=1000, show_default=True,
                  help="Triage budget: inputs per task (the suite's own plus generated)..."),
    click.option("--triage-seconds", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
                  help="...or this much CPU time per task to generate them, whichever comes first."),
    click.option("--atol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
                  help="Float tolerance when comparing a program's results with the reference's."),
    click.option("--repos", type=click.Path(path_type=Path, file_okay=False),
                 help="SWE-bench: the repositories: DIR/owner/name or DIR/owner__name (clones or mirrors)."),
    click.option("--source", type=click.Path(path_type=Path, file_okay=False),
                 help="SWE-bench: one instance's tree (a checkout or an unpacked sdist), taken as it is."),
    click.option("--env", "env", type=click.Choice(["current", "venv"]), default="current", show_default=True,
                 help="SWE-bench: run the tests with this interpreter, or in a venv built from --env-spec."),
    click.option("--env-spec", type=click.Path(path_type=Path, dir_okay=False),
                 help="SWE-bench: the environment specs (docs/swebench.md); default: testaudit's own."),
    click.option("--isolate", is_flag=True,
                 help="SWE-bench: a fresh pytest per mutant, never the warm forked session."),
    click.option("--candidates", type=click.Path(path_type=Path, dir_okay=False),
                  help="Also judge these model samples (.jsonl: task_id and completion, or task_id "
                       "and solution, a whole program as EvalPlus writes it)."),
    click.option("--preconditions", type=click.Path(path_type=Path, dir_okay=False),
                  help="JSON file: task id -> precondition on the arguments (see docs/triage.md)."),
    click.option("--contracts", type=click.Path(path_type=Path, dir_okay=False),
                  help="Borrow the input contracts of an EvalPlus file (HumanEval+ for HumanEval, "
                       "MBPP+ for MBPP) for the same tasks."),
]


@cli.command()
@audit_options
@_guard
def audit(**kw) -> None:
    """Mutate each task's reference solution and run its own tests against every mutant.

    DATASET is a benchmark file (.jsonl, .json, optionally .gz: HumanEval, MBPP, sanitized
    MBPP, EvalPlus HumanEval+/MBPP+, BigCodeBench, stdin/stdout or APPS tasks), or 'humaneval'
    (built in).
    """
    from testaudit.pipeline import executed, unrun

    summary = _run_audit(kw)
    if executed(summary) == 0 and not _empty_shard(summary):
        raise NothingTestedError("no mutant ran: nothing was tested (see the task messages)")
    missing = unrun(summary)
    if missing:
        raise TestauditError(f"{len(missing)} mutants were left without a verdict")


def _empty_shard(summary) -> bool:
    """A shard that got no task by construction (--shard K/N with N above the task count): not a
    run that tested nothing by accident, so it passes (the pipeline said so on stderr)."""
    return summary.shard is not None and not summary.shard.tasks


def _config(kw: dict):
    """The audit options (shared by `audit` and `gate`) as a RunConfig."""
    from testaudit.config import ExecSettings, RepoSettings, RunConfig, TriageSettings

    settings = ExecSettings(timeout_factor=kw["timeout_factor"],
                            timeout_constant_s=kw["timeout_constant"],
                            memory_cap_bytes=kw["memory_cap"] << 20, seed=kw["seed"],
                            isolate=not kw["no_isolation"])
    if kw.get("dask") is not None:
        from testaudit.run.dask import require

        require(kw["dask"])
    return RunConfig(dataset=kw["dataset"], format=kw["format_"], tasks=tuple(kw["tasks"]),
                     limit=kw["limit"], workers=kw["workers"], out=kw["out"], resume=kw["resume"],
                     operators=tuple(kw["operators"]), settings=settings, html=not kw["no_html"],
                     cache_dir=None if kw["no_cache"] else kw["cache_dir"], suite=kw["suite"],
                     challenge=kw["challenge"], triage=not kw["no_triage"],
                     triage_settings=TriageSettings(max_inputs=kw["triage_inputs"],
                                                    seconds=kw["triage_seconds"], atol=kw["atol"],
                                                    seed=kw["seed"]),
                     candidates=kw["candidates"], preconditions=kw["preconditions"],
                     contracts=kw["contracts"],
                     repo=RepoSettings(repos=kw["repos"], source=kw["source"], env=kw["env"],
                                       env_spec=kw["env_spec"], isolate=kw["isolate"]),
                     shard=kw.get("shard"),  # strengthen has no --shard
                     dask_address=kw.get("dask"))


def _run_audit(kw: dict):
    from testaudit.pipeline import out_dir, run
    from testaudit.report.terminal import TerminalProgress, print_summary

    config = _config(kw)
    summary = run(config, TerminalProgress())
    print_summary(summary, str(out_dir(config, summary.dataset)))
    return summary


@cli.command()
def operators() -> None:
    """List the mutation operators, each with an example."""
    from testaudit.mutate import OPERATORS

    for op in OPERATORS:
        before, after = (" ".join(s.split()) for s in op.example)
        click.echo(f"{op.name:<18} {op.description}")
        click.echo(f"{'':<18} e.g. {before}  ->  {after}")


@cli.command()
@click.argument("results_file", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for the pages [the results file's folder].")
@_guard
def report(results_file: Path, out: Path | None) -> None:
    """Render the HTML report and mutation-report.json from a stored results.json."""
    from testaudit.report.html import STRYKER_FILE, write_html
    from testaudit.report.stryker import write_stryker
    from testaudit.store import results_json

    summary = results_json.read(results_file)
    target = out or results_file.parent
    write_stryker(summary, target / STRYKER_FILE)
    index = write_html(summary, target)
    click.echo(f"report: {index}")


@cli.command()
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for the merged results.json, session.sqlite and report.")
@click.option("--no-html", is_flag=True, help="Skip the HTML report and mutation-report.json.")
@_guard
def merge(parts: tuple[Path, ...], out: Path, no_html: bool) -> None:
    """Join the output folders of `audit --shard K/N` (all N of them) into one run's outputs.

    Refuses parts of other data or settings, another N, a shard missing or given twice, and an
    interrupted shard (docs/shards.md).
    """
    from testaudit.pipeline import merge as run_merge
    from testaudit.report.terminal import print_summary

    summary = run_merge(list(parts), out, html=not no_html)
    print_summary(summary, str(out))


@cli.command()
@click.argument("results_file", type=click.Path(path_type=Path))
@click.option("--only", "kinds", type=click.Choice(["confirmed_wrong", "outside_domain"]), multiple=True,
              help="Only survivors of this kind (repeatable) [both].")
@click.option("--tasks", "task_globs", multiple=True, metavar="GLOB",
              help="Only task ids matching this glob (repeatable).")
@click.option("--memory-cap", type=click.IntRange(min=64), default=None,
              help="Address-space cap per sandbox process, in MiB [the audit's].")
@click.option("--no-isolation", is_flag=True, help="Run sandboxes without Linux namespaces.")
@_guard
def verify(results_file: Path, kinds: tuple[str, ...], task_globs: tuple[str, ...],
           memory_cap: int | None, no_isolation: bool) -> None:
    """Replay a results.json's evidence: every suggested test must pass on the reference and
    fail on its mutant, each program in a fresh sandbox. Exit 1 if one does not."""
    from testaudit.pipeline import verify_results

    verify_results(results_file, kinds, task_globs, memory_cap, not no_isolation, click.echo)


def main() -> None:
    cli(prog_name="testaudit")


def _strengthen_options(fn):
    """The audit's options but --out (here the file to write) and --shard (strengthen writes the
    whole dataset back: a part of it cannot be); --resume continues its first audit."""
    for option in reversed(_AUDIT_OPTIONS):
        if option is not OUT_OPTION and option is not SHARD_OPTION:
            fn = option(fn)
    return fn


@cli.command()
@_strengthen_options
@click.option("--out", "target", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The strengthened dataset file to write (gzip when the dataset is).")
@click.option("--max-tests", type=click.IntRange(min=0), default=10, show_default=True,
              help="Differential tests per task, besides the suggested tests that kill its "
                   "confirmed wrong programs.")
@click.option("--reports", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="Folder of the two audits' reports: <dataset> and <--out's name>.")
@_guard
def strengthen(**kw) -> None:
    """Write DATASET back in its own format with verified tests added, then re-audit it.

    The re-audit's report (REPORTS/<out name>/) holds strengthen-report.json: per task the tests
    added and why, the mutation score and confirmed wrong programs before and after.
    """
    from testaudit.pipeline import strengthen as run_strengthen
    from testaudit.report.terminal import TerminalProgress, print_strengthen

    target, max_tests, reports = kw.pop("target"), kw.pop("max_tests"), kw.pop("reports")
    done = run_strengthen(_config({**kw, "out": None}), target, max_tests, reports,
                          TerminalProgress)
    print_strengthen(done.report, str(done.after_out))


@cli.command()
@audit_options
@click.option("--min-score", type=click.FloatRange(0, 1), help="Per task: lowest mutation score.")
@click.option("--max-confirmed-wrong", type=click.IntRange(min=0),
              help="Per task: most survivors with a witness (wrong programs that pass).")
@click.option("--max-survivors", type=click.IntRange(min=0), help="Per task: most survivors.")
@click.option("--dataset-min-score", type=click.FloatRange(0, 1),
              help="Lowest mutation score of the whole dataset.")
@click.option("--dataset-max-confirmed-wrong", type=click.IntRange(min=0),
              help="Most confirmed wrong programs in the whole dataset.")
@click.option("--baseline", type=click.Path(path_type=Path),
              help="results.json of the base branch: its tasks fail only if they got weaker.")
@click.option("--junit", type=click.Path(path_type=Path), help="Write JUnit XML here.")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="pyproject.toml with [tool.testaudit] thresholds [nearest to the dataset].")
@_guard
def gate(**kw) -> None:
    """Audit DATASET and fail (exit 1) when a task's tests let wrong programs through.

    Exit codes: 0 all thresholds hold; 1 a threshold is violated (or nothing was tested);
    2 usage or input error; 3 internal error.
    """
    from testaudit.gate import ci_output
    from testaudit.gate import policy as gating
    from testaudit.pipeline import executed

    cli_policy = gating.GatePolicy(kw.pop("min_score"), kw.pop("max_confirmed_wrong"),
                                   kw.pop("max_survivors"), kw.pop("dataset_min_score"),
                                   kw.pop("dataset_max_confirmed_wrong"))
    baseline_file, junit, config_file = kw.pop("baseline"), kw.pop("junit"), kw.pop("config_file")
    start = Path(kw["dataset"]).resolve().parent if Path(kw["dataset"]).exists() else Path.cwd()
    config_file = config_file or gating.find_config(start) or gating.find_config(Path.cwd())
    policy = gating.policy_from_pyproject(config_file) if config_file else gating.GatePolicy()
    policy = policy.merged(cli_policy)
    if kw["shard"] is not None and (policy.dataset_min_score is not None
                                    or policy.dataset_max_confirmed_wrong is not None):
        # A shard's score is not the dataset's: per-task thresholds and --baseline hold shard by
        # shard (each task is in one shard), dataset ones do not.
        raise UsageError("gate --shard: dataset thresholds (--dataset-min-score, "
                         "--dataset-max-confirmed-wrong) judge the whole dataset, not one shard; "
                         "use per-task thresholds on shards")
    if not gating.has_thresholds(policy) and not baseline_file:
        # A gate without a threshold would pass any benchmark: that is a configuration error.
        raise UsageError("gate: no threshold set; give --min-score, --max-confirmed-wrong, "
                         "--max-survivors, --dataset-min-score or --dataset-max-confirmed-wrong, "
                         "a [tool.testaudit] table in pyproject.toml, or --baseline")
    baseline = gating.read_baseline(baseline_file) if baseline_file else None
    summary = _run_audit(kw)
    ran = None if _empty_shard(summary) else executed(summary)  # None: no "nothing was tested"
    violations = gating.should_fail(summary, policy, baseline, ran)
    ci_output.write_log(summary, violations, sys.stdout)
    ci_output.emit_github(summary, violations, sys.stdout)
    if junit:
        ci_output.write_junit(summary, violations, junit)
    if violations:
        sys.exit(ThresholdError.exit_code)
