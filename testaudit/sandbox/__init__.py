"""Containment: the only place that forks, hardens and reads children that run task code.

`child.py` forks a hardened child (memory and file caps, no terminal, a private cwd, no
inherited descriptors, death with its parent), and reads the frames it sends over a pipe under
CPU-time budgets; `fingerprint.py` notices process state a candidate damaged. The run stage
(mutants against suites) and triage (differential runs, verification) both use it.
"""
