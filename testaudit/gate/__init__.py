"""The gate stage: thresholds on an audit (policy.py, a pure function) and CI output (ci_output.py)."""
