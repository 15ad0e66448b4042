"""Shared test configuration: one deterministic Hypothesis profile for every run.

CI and a developer's machine must see the same examples, so the profile derandomizes
generation and keeps no example database; ``deadline=None`` because mpmath and SymPy
calls have no stable timing on a loaded CI runner.
"""

import os
import tempfile

from hypothesis import settings

# pyproject.toml's norecursedirs replaces pytest's defaults without listing .hypothesis, so a
# .hypothesis/ directory in the project (Hypothesis caches constants there even without an
# example database) makes every later run fail on Hypothesis's collection warning, which
# filterwarnings=error turns into an error. Keep Hypothesis's files outside the tree.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "nnmath-hypothesis")
)

settings.register_profile("nnmath", derandomize=True, deadline=None, database=None, max_examples=60)
settings.load_profile("nnmath")
