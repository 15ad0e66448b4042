"""Shared test configuration: one deterministic Hypothesis profile for every run.

CI and a developer's machine must see the same examples, so the profile derandomizes
generation and keeps no example database; ``deadline=None`` because mpmath and SymPy
calls have no stable timing on a loaded CI runner.
"""

import os
import tempfile

from hypothesis import settings

# Hypothesis caches files in .hypothesis/ even without an example database; keep them out of
# the work tree (pyproject.toml's norecursedirs also skips .hypothesis, in case one exists).
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "nnmath-hypothesis")
)

settings.register_profile("nnmath", derandomize=True, deadline=None, database=None, max_examples=60)
settings.load_profile("nnmath")
