"""The command line: turns options into a RunConfig and calls the core. Nothing else lives here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from testaudit import __version__
from testaudit.errors import NothingTestedError, TestauditError
from testaudit.loaders import FORMAT_NAMES, SUITES

EXIT_OK, EXIT_THRESHOLD, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Failure(click.ClickException):
    """A one-line error with our exit code (click prints 'Error: ...')."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def _guard(fn):
    """Run a command body: domain errors become one line and an exit code, never a traceback."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TestauditError as exc:
            raise _Failure(str(exc), exc.exit_code) from exc
        except KeyboardInterrupt:
            click.echo("\ninterrupted: results so far are in the session store; "
                       "rerun with --resume to continue", err=True)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("TESTAUDIT_DEBUG"):
                raise
            raise _Failure(f"internal error: {type(exc).__name__}: {exc} "
                           "(set TESTAUDIT_DEBUG=1 for the traceback)", EXIT_INTERNAL) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="testaudit")
def cli() -> None:
    """Audit benchmark test suites: how many wrong programs do they let through?"""


@cli.command()
@click.argument("dataset", default="humaneval")
@click.option("--format", "format_", type=click.Choice(FORMAT_NAMES),
              help="Dataset format (default: detected from the file; see docs/formats.md).")
@click.option("--suite", type=click.Choice(SUITES), default="base", show_default=True,
              help="EvalPlus: audit the original inputs (base) or base + plus_input (plus).")
@click.option("--challenge", is_flag=True, help="MBPP: add challenge_test_list to the tests.")
@click.option("--tasks", "tasks", multiple=True, metavar="GLOB",
              help="Only task ids matching this glob (repeatable), e.g. 'HumanEval/1*'.")
@click.option("--limit", type=click.IntRange(min=1), help="Keep the first N selected tasks.")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="CPU count", help="Worker processes.")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder [reports/<dataset>].")
@click.option("--resume", is_flag=True, help="Continue an interrupted audit in the same --out.")
@click.option("--operator", "operators", multiple=True, help="Only these operators (repeatable).")
@click.option("--timeout-factor", type=click.FloatRange(min=1), default=10.0, show_default=True,
              help="Mutant budget: this many times the reference's suite time...")
@click.option("--timeout-constant", type=click.FloatRange(min=0.01), default=0.1,
              show_default=True, help="...plus this many seconds (CPU time).")
@click.option("--memory-cap", type=click.IntRange(min=64), default=1024, show_default=True,
              help="Address-space cap per sandbox process, in MiB.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for `random` before every suite run, and for set order.")
@click.option("--no-html", is_flag=True, help="Skip the HTML report and mutation-report.json.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=Path(".testaudit-cache"),
              show_default=True, help="Content-addressed cache of per-task results.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@_guard
def audit(dataset, format_, suite, challenge, tasks, limit, workers, out, resume, operators,
          timeout_factor, timeout_constant, memory_cap, seed, no_html, cache_dir, no_cache) -> None:
    """Mutate each task's reference solution and run its own tests against every mutant.

    DATASET is a benchmark file (.jsonl, .json, optionally .gz: HumanEval, MBPP, sanitized
    MBPP, EvalPlus HumanEval+/MBPP+, BigCodeBench, stdin/stdout or APPS tasks), or 'humaneval'
    (built in).
    """
    from testaudit.execute import ExecSettings
    from testaudit.pipeline import RunConfig, executed, out_dir, run, unrun
    from testaudit.terminal import TerminalProgress, print_summary

    settings = ExecSettings(timeout_factor=timeout_factor, timeout_constant_s=timeout_constant,
                            memory_cap_bytes=memory_cap << 20, seed=seed)
    config = RunConfig(dataset=dataset, format=format_, tasks=tuple(tasks), limit=limit,
                       workers=workers, out=out, resume=resume, operators=tuple(operators),
                       settings=settings, html=not no_html,
                       cache_dir=None if no_cache else cache_dir, suite=suite,
                       challenge=challenge)
    summary = run(config, TerminalProgress())
    print_summary(summary, str(out_dir(config, summary.dataset)))
    if executed(summary) == 0:
        raise NothingTestedError("no mutant ran: nothing was tested (see the task messages)")
    missing = unrun(summary)
    if missing:
        raise TestauditError(f"{len(missing)} mutants were left without a verdict")


@cli.command()
def operators() -> None:
    """List the mutation operators, each with an example."""
    from testaudit.operators import OPERATORS

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
    from testaudit import results
    from testaudit.report.html import STRYKER_FILE, write_html
    from testaudit.report.stryker import write_stryker

    summary = results.read(results_file)
    target = out or results_file.parent
    write_stryker(summary, target / STRYKER_FILE)
    index = write_html(summary, target)
    click.echo(f"report: {index}")


def main() -> None:
    cli(prog_name="testaudit")
