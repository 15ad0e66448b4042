"""Renamed :mod:`nnmath.testing`; this alias goes once no chapter imports it."""

from .testing import *
from .testing import _NEGLIGIBLE, accuracy_grid, ulp, ulp_error, worst_errors  # noqa: F401
