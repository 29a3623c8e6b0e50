"""The run stage: every task's mutants against its own suite, in parallel worker processes.

`job.py` runs one task (reference timing and coverage, budgets, retries) in sandbox children;
`pool.py` runs jobs on spawned workers (it is generic: triage's jobs run on it too).
"""
