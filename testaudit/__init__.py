"""testaudit: measure how many wrong programs a benchmark's tests let through."""

__version__ = "0.1.0"
