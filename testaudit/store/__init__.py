"""Persistence: the session store (all SQL), the result cache, results.json, and file I/O.

Imports nothing of the stages: `import testaudit.store` loads only records and this package.
"""

from testaudit.store.session import FILENAME, Store

__all__ = ["FILENAME", "Store"]
