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
5. ``numeric`` (the fallback, shown as such), used only when no symbolic check could decide.
   A step is rejected outright, however small the difference, if it simplifies to a nonzero
   constant or to a polynomial or rational function of the symbols that does not cancel to 0
   (``x/10**40``). (``equals`` answering ``False`` is not taken as a disproof: it is wrong for
   :math:`\arctan p + \arctan(1/p) = \pi/2`, :math:`p > 0`.) Otherwise both sides are evaluated
   with mpmath at 60 significant digits at seeded points of each symbol's domain, read from its
   SymPy assumptions: complex points for a symbol not known to be real, negative ones for a
   negative symbol, integers for an integer symbol, 0 wherever it is allowed; 32 random points
   of magnitude :math:`10^{-3}` to :math:`10^{3}`, simple ones (0, ±1, ±1/2, ..., all symbols
   equal), and points at and on both sides of every threshold of a ``Piecewise``,
   ``Heaviside``, ``sign``, ``Abs``, ``Max``/``Min``, ``floor``/``ceiling`` or ``Mod``
   (solved for each symbol by SymPy). The sides must agree to :math:`10^{-45}` relative to the
   larger, at every point where both are defined and at least eight of them. A discrepancy is
   re-evaluated at 120 digits, then certified with SymPy's ``evalf`` (which raises its precision
   through cancellation) before it rejects the step; since no symbolic check can prove a false
   step, such a disproof is looked for before the two slowest checks (3 and 4). A numeric check
   can only miss a difference that vanishes at every sample point.

Undefined functions used for readability (``sigma = sympy.Function("sigma")``) can be
given meaning with ``definitions={sigma: sympy.Lambda(t, 1 / (1 + sympy.exp(-t)))}``:
steps are displayed as written and checked with the definitions substituted.
"""

import functools
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp
import sympy.core.random
from sympy.core.function import AppliedUndef

_SEED = 2024  # the numeric check's points are pseudo-random but the same on every run
_RANDOM_POINTS = 32
_PRECISIONS = (60, 120)  # significant digits: first try, then a re-check of a discrepancy
_MAX_DIGITS = 2000  # how far evalf may raise its precision to certify a remaining discrepancy
_NUMERIC_TOLERANCE = mpmath.mpf(10) ** -45  # relative to the larger side
_MIN_NUMERIC_POINTS = 8
_NEAR_THRESHOLD = (sp.Rational(1, 10**30), sp.Rational(1, 10**6))  # relative offsets on both sides
_MAX_SWITCHES = 24
_MAX_SOLVE_OPS = 40


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


def _is_nonzero_rational_function(difference):
    """True if ``difference`` is a rational function of its symbols that is not identically 0.

    A polynomial or rational function that does not cancel to 0 is nonzero almost everywhere,
    however small its coefficients (``x/10**40``) and wherever it happens to vanish.
    """
    symbols = sorted(difference.free_symbols, key=lambda s: s.name)
    if not symbols or not difference.is_rational_function(*symbols):
        return False
    try:
        numerator, _ = sp.fraction(sp.cancel(sp.together(difference)))
        if numerator == 0:
            return False
        coefficients = sp.Poly(numerator, *symbols).coeffs()
    except (sp.PolynomialError, sp.GeneratorsNeeded, TypeError, ValueError):
        return False
    # a coefficient SymPy cannot decide (atan 2 + atan(1/2) - pi/2) is left to the other checks
    return any(coefficient.is_zero is False for coefficient in coefficients)


def _is_zero_symbolically(difference, numeric_verdict=None):
    """How ``difference == 0`` was settled: a check's name, ``False`` if disproved, or ``None``.

    ``numeric_verdict``, if given, is a callable returning the numeric check's verdict; a
    definite difference it finds at a sample point is a disproof, asked for before the two
    slowest checks (which cannot prove a false step).
    """
    if difference == 0:
        return "identical"
    simplified = sp.simplify(difference)
    if simplified == 0:
        return "simplify"
    if simplified.is_number and simplified.is_zero is False:
        return False  # a nonzero constant, however small: no numeric check may overrule it
    if _is_nonzero_rational_function(simplified) or _is_nonzero_rational_function(difference):
        return False  # a nonzero polynomial or rational function, however small its coefficients
    if numeric_verdict is not None and numeric_verdict() is False:
        return False
    if sp.simplify(difference.rewrite(sp.exp)) == 0:
        return "rewrite(exp)"
    sympy.core.random.seed(2024)  # equals() tries random points; make it repeatable
    if difference.equals(0) is True:
        return "equals"
    return None  # equals() can also answer False wrongly (e.g. atan(p) + atan(1/p) - pi/2)


# --- the numeric fallback -------------------------------------------------------------------


@dataclass(frozen=True)
class _Domain:
    """Where a symbol's values lie, read from its SymPy assumptions."""

    kind: str  # "integer", "real", "imaginary" or "complex"
    sign: int  # +1: only >= 0, -1: only <= 0, 0: both
    zero: bool  # whether 0 is allowed
    parity: int | None  # 0 even, 1 odd, None either

    def contains(self, value):
        if value == 0:
            return self.zero
        if self.kind in ("integer", "real"):
            if not value.is_real or (self.kind == "integer" and not value.is_integer):
                return False
            if self.parity is not None and value % 2 != self.parity:
                return False
            return self.sign == 0 or (value > 0) == (self.sign > 0)
        return True


def _domain(symbol):
    if symbol.is_integer:
        kind = "integer"
    elif symbol.is_real:
        kind = "real"
    elif symbol.is_imaginary:
        kind = "imaginary"
    else:
        kind = "complex"  # no assumption: SymPy treats the symbol as complex, and so do we
    sign = 1 if symbol.is_nonnegative else -1 if symbol.is_nonpositive else 0
    zero = symbol.is_zero is not False and kind != "imaginary"
    parity = 0 if symbol.is_even else 1 if symbol.is_odd else None
    return _Domain(kind, sign, zero, parity)


_STRUCTURED_MAGNITUDES = (1, sp.Rational(1, 2), 2, 3, sp.Rational(1, 3), 10, sp.Rational(7, 4))
_STRUCTURED_COMPLEX = (sp.I, 1 + sp.I, -1 - sp.I, sp.Rational(1, 2) - 2 * sp.I, -3 + 4 * sp.I, 2 - 5 * sp.I, -1, 1)


def _structured_values(domain):
    """Simple values of the domain: 0 where allowed, small integers and fractions, both signs."""
    values = [sp.Integer(0)] if domain.zero else []
    if domain.kind == "complex":
        return values + list(_STRUCTURED_COMPLEX)
    if domain.kind == "imaginary":
        return [sp.I * m for m in (1, -2, sp.Rational(1, 2), -5)]
    signs = (1, -1) if domain.sign == 0 else (domain.sign,)
    for magnitude in _STRUCTURED_MAGNITUDES:
        for sign in signs:
            value = sp.Integer(sign) * magnitude
            if domain.kind == "integer":
                value = sp.Integer(sign * int(sp.ceiling(magnitude)))
                if domain.parity is not None and value % 2 != domain.parity:
                    value += sign
            if value not in values and domain.contains(value):
                values.append(value)
    return values


def _random_real(rng, sign):
    """A rational of random magnitude in [1e-3, 1e3] (log-uniform), of the given or a random sign."""
    magnitude = 10 ** rng.uniform(-3, 3)
    value = sp.Rational(round(magnitude * 10**9) or 1, 10**9)
    sign = sign or (1 if rng.random() < 0.5 else -1)
    return sign * value


def _random_value(rng, domain):
    if domain.kind == "complex":
        return _random_real(rng, 0) + sp.I * _random_real(rng, 0)
    if domain.kind == "imaginary":
        return sp.I * _random_real(rng, 0)
    if domain.kind == "real":
        return _random_real(rng, domain.sign)
    magnitude = round(10 ** rng.uniform(0, 3))
    sign = domain.sign or (1 if rng.random() < 0.5 else -1)
    value = sign * magnitude
    if domain.parity is not None and value % 2 != domain.parity:
        value += sign
    return sp.Integer(value)


def _switches(expr):
    """Expressions whose sign change switches a branch: Piecewise conditions, Heaviside, sign, Abs,
    Max/Min and KroneckerDelta arguments (``("zero", g)``), and the arguments of floor, ceiling,
    frac and Mod, which switch at every integer (``("integer", g)``)."""
    found = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Rel) and not isinstance(node.lhs, sp.Rel):
            found.append(("zero", node.lhs - node.rhs))
        elif isinstance(node, (sp.Heaviside, sp.sign, sp.Abs, sp.DiracDelta)):
            found.append(("zero", node.args[0]))
        elif isinstance(node, (sp.Max, sp.Min)):
            found += [("zero", p - q) for i, p in enumerate(node.args) for q in node.args[i + 1 :]]
        elif isinstance(node, sp.KroneckerDelta):
            found.append(("zero", node.args[0] - node.args[1]))
        elif isinstance(node, (sp.floor, sp.ceiling, sp.frac)):
            found.append(("integer", node.args[0]))
        elif isinstance(node, sp.Mod):
            found.append(("integer", node.args[0] / node.args[1]))
    unique = []
    for kind, g in found:
        if g.free_symbols and (kind, g) not in unique:
            unique.append((kind, g))
    return unique[:_MAX_SWITCHES]


def _solve_for(g, symbol):
    """Exact roots of ``g = 0`` for ``symbol`` (in terms of the other symbols), or ``[]``."""
    if sp.count_ops(g) > _MAX_SOLVE_OPS:
        return []
    try:
        return [root for root in sp.solve(g, symbol) if isinstance(root, sp.Expr)]
    except Exception:  # noqa: BLE001 -- solve raises many kinds of NotImplementedError/ValueError
        return []


def _points_near(value, domain):
    """Points at (if exactly representable) and on both sides of a threshold ``value``."""
    if domain.kind == "integer":
        below, above = int(sp.floor(value)), int(sp.ceiling(value))
        candidates = [sp.Integer(k) for k in {below - 1, below, above, above + 1}]
    else:
        candidates = []
        if value.is_Rational and value.q & (value.q - 1) == 0:  # a dyadic rational is exact in binary
            candidates.append(value)
        else:
            value = sp.Rational(sp.re(sp.N(value, 50)))
        size = max(1, abs(value))
        candidates += [value + sign * offset * size for offset in _NEAR_THRESHOLD for sign in (1, -1)]
    return [c for c in candidates if domain.contains(c)]


def _threshold_points(symbols, domains, expressions, bases):
    """Points at and next to every threshold of a branch, solved for each symbol at base points."""
    points = []
    switches = [switch for expr in expressions for switch in _switches(expr)]
    integer_dummy = sp.Dummy("k")
    for kind, g in dict.fromkeys(switches):
        for index, symbol in enumerate(symbols):
            domain = domains[index]
            if symbol not in g.free_symbols or domain.kind not in ("real", "integer"):
                continue
            roots = _solve_for(g - integer_dummy if kind == "integer" else g, symbol)
            for base in bases:
                others = {s: v for s, v in zip(symbols, base) if s != symbol}
                levels = [None]
                if kind == "integer":
                    at_base = sp.N(g.subs(dict(zip(symbols, base))), 30)
                    if not at_base.is_real:
                        continue
                    levels = [int(sp.floor(at_base)) + k for k in (-1, 0, 1, 2)]
                for level in levels:
                    for root in roots:
                        value = root.subs(others).subs(integer_dummy, level if level is not None else 0)
                        if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                            continue
                        if not value.is_Rational:
                            numeric = sp.N(value, 50)
                            if not numeric.is_real:
                                continue
                        for near in _points_near(value, domain):
                            point = list(base)
                            point[index] = near
                            points.append(tuple(point))
    return points


def _sample_points(symbols, expressions):
    """Seeded points of each symbol's domain, structured ones, and points around every threshold."""
    if not symbols:
        return [()]
    rng = np.random.default_rng(_SEED)
    domains = [_domain(s) for s in symbols]
    structured = [_structured_values(d) for d in domains]
    longest = max(len(values) for values in structured)
    points = []
    for j in range(longest):  # equal indices: symbols of the same domain coincide (x = y)
        points.append(tuple(values[j % len(values)] for values in structured))
    for j in range(longest):  # shifted: they differ
        points.append(tuple(values[(j + k + 1) % len(values)] for k, values in enumerate(structured)))
    random_points = [tuple(_random_value(rng, d) for d in domains) for _ in range(_RANDOM_POINTS)]
    points += random_points
    points += _threshold_points(symbols, domains, expressions, random_points[:3] + points[:2])
    return list(dict.fromkeys(points))


def _to_mpmath(value):
    real, imaginary = value.as_real_imag()
    real = mpmath.mpf(real.p) / real.q
    if imaginary == 0:
        return real
    return mpmath.mpc(real, mpmath.mpf(imaginary.p) / imaginary.q)


def _evaluator(symbols, expr):
    """``evaluate(point, digits)``: the value of ``expr`` at an exact point, or None where undefined."""
    try:
        function = sp.lambdify(symbols, expr, modules="mpmath", dummify=True)
    except Exception:  # noqa: BLE001 -- a function lambdify cannot print: use evalf instead
        function = None

    def by_evalf(point, digits):
        value = sp.N(expr.subs(dict(zip(symbols, point))), digits)
        if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo, sp.AccumBounds):
            return None
        real, imaginary = value.as_real_imag()
        if not (real.is_Float or real == 0) or not (imaginary.is_Float or imaginary == 0):
            return None
        return mpmath.mpc(mpmath.mpf(sp.Float(real, digits)._mpf_), mpmath.mpf(sp.Float(imaginary, digits)._mpf_))

    def evaluate(point, digits):
        with mpmath.workdps(digits):  # every conversion below must keep the working precision
            try:
                if function is not None:
                    try:
                        value = mpmath.mpmathify(function(*[_to_mpmath(v) for v in point]))
                    except (NameError, AttributeError, TypeError):
                        value = by_evalf(point, digits)  # a function mpmath lacks, or a Sum over a symbol
                else:
                    value = by_evalf(point, digits)
            except (ArithmeticError, ValueError, TypeError, RecursionError):
                return None  # undefined here (a pole, log 0, a complex value in a comparison)
            if value is None or not mpmath.isfinite(value):
                return None
            return mpmath.mpc(value)

    return evaluate


def _exact_value(expr, symbols, point):
    """``expr`` at ``point`` to 60 certified digits (SymPy's evalf raises its precision as far as
    needed to overcome cancellation), as an mpmath number; None if that cannot be had."""
    try:
        value = sp.N(expr.subs(dict(zip(symbols, point))), _PRECISIONS[0], strict=True, maxn=_MAX_DIGITS)
    except Exception:  # noqa: BLE001 -- PrecisionExhausted (e.g. an exact 0), or no numeric value
        return None
    if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo, sp.AccumBounds):
        return None
    real, imaginary = value.as_real_imag()
    if not (real.is_Float or real == 0) or not (imaginary.is_Float or imaginary == 0):
        return None
    with mpmath.workdps(_PRECISIONS[0]):
        return mpmath.mpc(mpmath.mpf(sp.Float(real, _PRECISIONS[0])._mpf_), mpmath.mpf(sp.Float(imaginary, _PRECISIONS[0])._mpf_))


def _close(left, right):
    return abs(left - right) <= _NUMERIC_TOLERANCE * max(abs(left), abs(right))


def _agree_at(a, b, symbols, evaluate_a, evaluate_b, point):
    """True if both sides agree at ``point``, False if they differ, None if it cannot be told.

    The sides are evaluated fast with mpmath, again at higher precision if they differ (rounding
    error shrinks as the precision grows, a real difference does not). A difference that remains
    is confirmed with SymPy's evalf, which certifies its digits: mpmath can lose all of them to
    cancellation, at any fixed precision, and return a stable but wrong value (``1 + tanh(-714)``
    is 0 at 240 digits).
    """
    for digits in _PRECISIONS:
        left, right = evaluate_a(point, digits), evaluate_b(point, digits)
        if left is None or right is None:
            return None
        with mpmath.workdps(digits):
            if _close(left, right):
                return True
    left, right = _exact_value(a, symbols, point), _exact_value(b, symbols, point)
    if left is None or right is None:
        return None
    with mpmath.workdps(_PRECISIONS[0]):
        return _close(left, right)


def _is_zero_numerically(a, b):
    """The numeric check of ``a == b``: True if the two sides agree at enough sample points,
    False if they differ at one, None if too few points could be evaluated."""
    difference = a - b
    if difference.atoms(AppliedUndef):
        return None  # a function without a definition has no values
    if _is_nonzero_rational_function(difference):
        return False
    symbols = sorted(difference.free_symbols, key=lambda s: (s.name, str(s.assumptions0)))
    evaluate_a, evaluate_b = _evaluator(symbols, a), _evaluator(symbols, b)
    valid_points = 0
    for point in _sample_points(symbols, (a, b)):
        verdict = _agree_at(a, b, symbols, evaluate_a, evaluate_b, point)
        if verdict is False:
            return False
        valid_points += verdict is True
    return True if valid_points >= (_MIN_NUMERIC_POINTS if symbols else 1) else None


def verify_equal(a, b, *, definitions=None, numeric_fallback=True):
    """Check that two SymPy expressions (or matrices) are equal; return how it was settled.

    Parameters
    ----------
    a, b : sympy expression or Matrix
        The two sides.
    definitions : dict, optional
        ``{undefined_function: Lambda}`` substituted before checking.
    numeric_fallback : bool, default True
        Allow the numeric check (see the module docstring) when no symbolic check settles the
        question.

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
    numeric_verdict = functools.cache(lambda: _is_zero_numerically(a, b)) if numeric_fallback else None
    method = _is_zero_symbolically(a - b, numeric_verdict)
    if method:
        return method
    if method is None and numeric_fallback and numeric_verdict() is True:
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
        Allow the numeric check as the last resort.

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
