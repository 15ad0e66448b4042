r"""Machine-checked derivations: a chain of SymPy expressions, each step verified.

A derivation is written the way it is printed in a textbook,

.. math:: \text{lhs} = e_0 = e_1 = \dots = e_n,

with a short justification for each step. :class:`Derivation` checks **every consecutive
pair** as it is added and refuses a step that does not follow, naming it; displayed in a
notebook it renders as an aligned LaTeX block with the justification and how the step was
settled.

How a step is settled (the first check that succeeds wins, in this order):

1. ``identical``: the difference is structurally 0 after evaluating derivatives,
   integrals, limits and sums (``doit``);
2. ``simplify``: ``sympy.simplify(a - b) == 0``;
3. ``rewrite(exp)``: the same after rewriting hyperbolic and trigonometric functions as
   exponentials (needed e.g. for :math:`\tanh x = 2\sigma(2x) - 1`);
4. ``equals``: ``(a - b).equals(0)`` is ``True``, with SymPy's random generator seeded,
   so that the result is the same on every run;
5. ``numeric`` (the fallback, shown as such), used only when no symbolic check could decide:
   a step whose difference simplifies to a nonzero constant is rejected outright, however small
   the constant. (``equals`` answering ``False`` is not taken as a disproof: it is wrong for
   :math:`\arctan p + \arctan(1/p) = \pi/2`, :math:`p > 0`.) The difference is evaluated with 50
   significant digits at five fixed points per free symbol (rationals spread over
   :math:`[-3.5, 3.5]`; positive ones for positive symbols, integers for integer symbols)
   and must be below :math:`10^{-30}` times the size of the expressions at every point
   where both are finite, with at least three such points. A numeric check can only
   fail to notice a difference that vanishes at all five points; it is never used
   where a symbolic check succeeds.

Undefined functions used for readability (``sigma = sympy.Function("sigma")``) can be
given meaning with ``definitions={sigma: sympy.Lambda(t, 1 / (1 + sympy.exp(-t)))}``:
steps are displayed as written and checked with the definitions substituted.
"""

from dataclasses import dataclass

import sympy as sp
import sympy.core.random

_SAMPLE_POINTS = (sp.Rational(-7, 2), sp.Rational(-4, 3), sp.Rational(-1, 5), sp.Rational(5, 7), sp.Rational(13, 5))
_POSITIVE_POINTS = (sp.Rational(1, 5), sp.Rational(5, 7), sp.Rational(4, 3), sp.Rational(13, 5), sp.Rational(7, 2))
_INTEGER_POINTS = (1, 2, 3, 5, 8)
_NUMERIC_DIGITS = 50
_NUMERIC_TOLERANCE = sp.Float(10) ** -30
_MIN_NUMERIC_POINTS = 3


class DerivationError(ValueError):
    """A step of a derivation does not follow from the previous one."""


@dataclass(frozen=True)
class Step:
    """One checked step: the expression, why it holds, and which check settled it."""

    expr: sp.Basic
    why: str
    method: str


def _apply_definitions(expr, definitions):
    for function, meaning in (definitions or {}).items():
        expr = expr.replace(function, meaning)
    return expr


def _is_zero_symbolically(difference):
    """How ``difference == 0`` was settled: a check's name, ``False`` if disproved, or ``None``."""
    if difference == 0:
        return "identical"
    simplified = sp.simplify(difference)
    if simplified == 0:
        return "simplify"
    if simplified.is_number and simplified.is_zero is False:
        return False  # a nonzero constant, however small: no numeric check may overrule it
    if sp.simplify(difference.rewrite(sp.exp)) == 0:
        return "rewrite(exp)"
    sympy.core.random.seed(2024)  # equals() tries random points; make it repeatable
    if difference.equals(0) is True:
        return "equals"
    return None  # equals() can also answer False wrongly (e.g. atan(p) + atan(1/p) - pi/2)


def _points_for(symbol):
    if symbol.is_integer:
        return _INTEGER_POINTS
    if symbol.is_positive or symbol.is_nonnegative:
        return _POSITIVE_POINTS
    return _SAMPLE_POINTS


def _is_zero_numerically(a, b):
    """Spot-check ``a == b`` at fixed points with 50 digits (the documented fallback)."""
    symbols = sorted((a - b).free_symbols, key=lambda s: s.name)
    valid_points = 0
    for i in range(len(_SAMPLE_POINTS)):
        values = {s: _points_for(s)[(i + k) % len(_SAMPLE_POINTS)] for k, s in enumerate(symbols)}
        left = sp.N(a.subs(values), _NUMERIC_DIGITS)
        right = sp.N(b.subs(values), _NUMERIC_DIGITS)
        if not (left.is_number and right.is_number and left.is_finite and right.is_finite):
            continue
        # Compare magnitudes as Python numbers: a 50-digit Float can come back with no
        # significant digits (e.g. 0.e-160), which SymPy refuses to order.
        scale = max(1.0, abs(complex(left)), abs(complex(right)))
        if abs(complex(sp.N(left - right, _NUMERIC_DIGITS))) > float(_NUMERIC_TOLERANCE) * scale:
            return False
        valid_points += 1
        if not symbols:
            return True
    return valid_points >= _MIN_NUMERIC_POINTS


def verify_equal(a, b, *, definitions=None, numeric_fallback=True):
    """Check that two SymPy expressions (or matrices) are equal; return how it was settled.

    Parameters
    ----------
    a, b : sympy expression or Matrix
        The two sides.
    definitions : dict, optional
        ``{undefined_function: Lambda}`` substituted before checking.
    numeric_fallback : bool, default True
        Allow the 50-digit spot check when no symbolic check settles the question.

    Returns
    -------
    str
        ``"identical"``, ``"simplify"``, ``"rewrite(exp)"``, ``"equals"`` or ``"numeric"``.

    Raises
    ------
    DerivationError
        If no check shows the two sides equal.
    """
    a = _apply_definitions(sp.sympify(a), definitions)
    b = _apply_definitions(sp.sympify(b), definitions)
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        if getattr(a, "shape", None) != getattr(b, "shape", None):
            raise DerivationError(f"cannot compare shapes {getattr(a, 'shape', ())} and {getattr(b, 'shape', ())}")
        methods = [verify_equal(x, y, numeric_fallback=numeric_fallback) for x, y in zip(a, b)]
        return max(methods, key=_METHOD_ORDER.index)
    a, b = a.doit(), b.doit()
    method = _is_zero_symbolically(a - b)
    if method:
        return method
    if method is None and numeric_fallback and _is_zero_numerically(a, b):
        return "numeric"
    raise DerivationError(f"{sp.sstr(a)} and {sp.sstr(b)} could not be shown equal")


_METHOD_ORDER = ["identical", "simplify", "rewrite(exp)", "equals", "numeric"]


class Derivation:
    r"""A chain of equal expressions, each step checked when it is added.

    Parameters
    ----------
    lhs : str or sympy expression
        What is being derived. A string is a LaTeX label (not checked); an expression is
        checked against the first step.
    expr : sympy expression
        The first expression of the chain.
    why : str, default "definition"
        Why the first expression equals ``lhs``.
    definitions : dict, optional
        ``{undefined_function: Lambda}`` used when checking (see the module docstring).
    numeric_fallback : bool, default True
        Allow the 50-digit numeric spot check as the last resort.

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> d = Derivation(r"\frac{d}{dx} x e^{x}", sp.Derivative(x * sp.exp(x), x))
    >>> d = d.step(sp.exp(x) + x * sp.exp(x), "product rule").step((1 + x) * sp.exp(x), "factor")
    >>> d.result
    (x + 1)*exp(x)
    """

    def __init__(self, lhs, expr, why="definition", *, definitions=None, numeric_fallback=True):
        self.lhs = lhs
        self.definitions = dict(definitions or {})
        self.numeric_fallback = numeric_fallback
        self.steps = []
        if isinstance(lhs, str):
            self.steps.append(Step(sp.sympify(expr), why, "given"))
        else:
            self.steps.append(Step(sp.sympify(expr), why, self._settle(lhs, expr, 1, why)))

    def _settle(self, previous, expr, number, why):
        try:
            return verify_equal(
                previous, expr, definitions=self.definitions, numeric_fallback=self.numeric_fallback
            )
        except DerivationError as error:
            raise DerivationError(f"step {number} ({why}) does not follow from the one before it: {error}") from None

    def step(self, expr, why):
        """Append ``= expr`` justified by ``why``; raise :class:`DerivationError` if it does not follow."""
        expr = sp.sympify(expr)
        method = self._settle(self.steps[-1].expr, expr, len(self.steps) + 1, why)
        self.steps.append(Step(expr, why, method))
        return self

    @property
    def result(self):
        """The last expression of the chain."""
        return self.steps[-1].expr

    def _lhs_latex(self):
        return self.lhs if isinstance(self.lhs, str) else sp.latex(self.lhs)

    def _repr_latex_(self):
        lines = []
        for i, step in enumerate(self.steps):
            left = self._lhs_latex() if i == 0 else ""
            mark = {"given": "", "numeric": r"\ \checkmark_{\text{numeric}}"}.get(step.method, r"\ \checkmark")
            lines.append(rf"{left} &= {sp.latex(step.expr)} && \text{{{step.why}}}{mark}")
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}\n$$"

    def __repr__(self):
        checked = sum(step.method != "given" for step in self.steps)
        lhs = self.lhs if isinstance(self.lhs, str) else sp.sstr(self.lhs)
        lines = [f"Derivation of {lhs}: {len(self.steps)} expressions, {checked} steps checked"]
        for step in self.steps:
            lines.append(f"  = {sp.sstr(step.expr)}    [{step.why}; {step.method}]")
        return "\n".join(lines)
