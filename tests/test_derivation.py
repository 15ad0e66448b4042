"""Tests of nnmath.derivation: Derivation and verify_equal.

True identities come from calculus (the product rule, tanh = 2 sigma(2x) - 1,
sigma' = sigma (1 - sigma), atan p + atan(1/p) = pi/2 for p > 0); the checker must accept
them and say how. It must also reject near misses, identities that are wrong by a tiny
or a local amount: a constant offset of e^-100 or 10^-40, Ramanujan's almost-integer
e^(pi sqrt 163), |x| for x, tanh(x) for tanh(x/2), sin(pi x) for 0.

The numeric fallback samples each symbol's own domain (complex, negative, integer, with 0
where allowed) at many seeded points and next to every branch threshold, and refuses any
nonzero polynomial difference; the false steps below were all accepted by the former check
(50 digits at five fixed real points), the true ones for negative symbols refused.
"""

import re

import pytest
import sympy as sp
from nnmath import Derivation, DerivationError, verify_equal

x = sp.Symbol("x", real=True)
p = sp.Symbol("p", positive=True)
t = sp.Symbol("t", real=True)
z = sp.Symbol("z")  # no assumptions: complex
n = sp.Symbol("n", integer=True)
c = sp.Symbol("c", nonnegative=True)
q = sp.Symbol("q", negative=True)
k = sp.Symbol("k", integer=True, negative=True)
r = sp.Symbol("r", positive=True)
HALF = sp.Rational(1, 2)
# vanishes at the former checker's five fixed points for a real symbol
FIVE_POINT_POLYNOMIAL = sp.Mul(*(x - v for v in (sp.Rational(-7, 2), sp.Rational(-4, 3), sp.Rational(-1, 5), sp.Rational(5, 7), sp.Rational(13, 5))))
# log(exp(z)) brings Im z back into (-pi, pi]
BRANCH = sp.ceiling((sp.im(z) - sp.pi) / (2 * sp.pi))
SIGMA = 1 / (1 + sp.exp(-x))
METHODS = {"identical", "simplify", "rewrite(exp)", "equals", "numeric"}
SYMBOLIC = METHODS - {"numeric"}


def _product_rule():
    return (
        Derivation(r"\frac{d}{dx} x e^{x}", sp.Derivative(x * sp.exp(x), x))
        .step(sp.exp(x) + x * sp.exp(x), "product rule")
        .step((1 + x) * sp.exp(x), "factor")
    )


def test_a_correct_chain_is_accepted_and_records_each_method():
    derivation = _product_rule()
    assert [step.why for step in derivation.steps] == ["definition", "product rule", "factor"]
    assert derivation.steps[0].method == "given"  # a string lhs is a label, not checked
    assert all(step.method in SYMBOLIC for step in derivation.steps[1:])
    assert sp.simplify(derivation.result - (1 + x) * sp.exp(x)) == 0


def test_an_expression_lhs_is_checked_against_the_first_step():
    derivation = Derivation(sp.Derivative(x**3, x), 3 * x**2, "power rule")
    assert derivation.steps[0].method in SYMBOLIC
    with pytest.raises(DerivationError, match=r"^step 1 \(power rule\) "):
        Derivation(sp.Derivative(x**3, x), 3 * x**3, "power rule")


def test_a_wrong_step_names_its_number_and_justification():
    derivation = _product_rule()
    with pytest.raises(DerivationError, match=r"^step 4 \(drop the exponential\) does not follow") as error:
        derivation.step(1 + x, "drop the exponential")
    assert isinstance(error.value, ValueError)  # documented: DerivationError is a ValueError
    assert len(derivation.steps) == 3  # the refused step was not appended
    derivation.step(sp.exp(x) * x + sp.exp(x), "expand")  # and the chain goes on from step 3
    assert len(derivation.steps) == 4


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (sp.tanh(x), 2 / (1 + sp.exp(-2 * x)) - 1),
        (sp.exp(-x) / (1 + sp.exp(-x)) ** 2, SIGMA * (1 - SIGMA)),
        (sp.Derivative(SIGMA, x), SIGMA * (1 - SIGMA)),
        (sp.cosh(x) ** 2 - sp.sinh(x) ** 2, 1),
        (sp.log(sp.exp(x)), x),
    ],
    ids=["tanh via sigmoid", "sigmoid grad identity", "sigmoid derivative", "cosh^2 - sinh^2", "log exp"],
)
def test_true_identities_settle_symbolically(a, b):
    assert verify_equal(a, b) in SYMBOLIC
    assert verify_equal(a, b, numeric_fallback=False) in SYMBOLIC


def test_definitions_give_an_undefined_function_its_meaning():
    sigma = sp.Function("sigma")
    definitions = {sigma: sp.Lambda(t, 1 / (1 + sp.exp(-t)))}
    derivation = Derivation(r"\sigma'(x)", sp.Derivative(sigma(x), x), definitions=definitions).step(
        sigma(x) * (1 - sigma(x)), "chain rule"
    )
    assert derivation.result == sigma(x) * (1 - sigma(x))  # displayed as written
    assert derivation.steps[1].method in SYMBOLIC
    assert verify_equal(sigma(x), SIGMA, definitions=definitions) in SYMBOLIC
    with pytest.raises(DerivationError):  # without the definition sigma means nothing
        verify_equal(sigma(x), SIGMA)
    with pytest.raises(DerivationError, match=r"^step 3 \(wrong\)"):
        derivation.step(sigma(x) * (1 + sigma(x)), "wrong")


def test_matrices_compare_elementwise():
    a = sp.Matrix([[sp.sinh(x), sp.cosh(x)], [sp.Derivative(SIGMA, x), 1]])
    b = sp.Matrix([[(sp.exp(x) - sp.exp(-x)) / 2, (sp.exp(x) + sp.exp(-x)) / 2], [SIGMA * (1 - SIGMA), 1]])
    assert verify_equal(a, b) in SYMBOLIC
    wrong = b.copy()
    wrong[1, 1] = 2
    with pytest.raises(DerivationError):
        verify_equal(a, wrong)
    with pytest.raises(DerivationError, match=r"shapes"):
        verify_equal(a, b[:, 0])


def test_matrices_with_definitions():
    sigma = sp.Function("sigma")
    definitions = {sigma: sp.Lambda(t, 1 / (1 + sp.exp(-t)))}
    assert (
        verify_equal(sp.Matrix([sigma(x), sigma(-x)]), sp.Matrix([SIGMA, 1 - SIGMA]), definitions=definitions)
        in SYMBOLIC
    )


def test_numeric_fallback_settles_what_sympy_cannot_and_can_be_refused():
    """atan p + atan(1/p) = pi/2 for p > 0 is true, but no symbolic check proves it."""
    a, b = sp.atan(p) + sp.atan(1 / p), sp.pi / 2
    assert verify_equal(a, b) == "numeric"
    with pytest.raises(DerivationError):
        verify_equal(a, b, numeric_fallback=False)
    derivation = Derivation("f", a).step(b, "atan identity")
    assert derivation.steps[1].method == "numeric"
    assert r"\checkmark_{\text{numeric}}" in derivation._repr_latex_()
    with pytest.raises(DerivationError, match=r"^step 2 \(atan identity\)"):
        Derivation("f", a, numeric_fallback=False).step(b, "atan identity")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (sp.Derivative(SIGMA, x), SIGMA * (1 - SIGMA) + sp.exp(-100)),
        ((x + 1) ** 2, x**2 + 2 * x + 1 + sp.Rational(1, 10**40)),
        (sp.exp(sp.pi * sp.sqrt(163)), 640320**3 + 744),
        (sp.sqrt(x**2), x),
        (sp.tanh(x), 2 / (1 + sp.exp(-x)) - 1),
        (sp.sin(sp.pi * x), 0),
    ],
    ids=["offset exp(-100)", "offset 1e-40", "exp(pi sqrt 163)", "sqrt(x^2)", "tanh(x/2)", "sin(pi x)"],
)
def test_near_misses_are_rejected(a, b):
    with pytest.raises(DerivationError, match=r"could not be shown equal"):
        verify_equal(a, b)


def test_repr_latex_has_one_aligned_line_per_step():
    derivation = _product_rule()
    latex = derivation._repr_latex_()
    body = re.search(r"\\begin\{aligned\}\n(.*)\n\\end\{aligned\}", latex, re.DOTALL)
    assert body is not None
    lines = body.group(1).split(" \\\\\n")
    assert len(lines) == len(derivation.steps)
    assert lines[0].startswith(r"\frac{d}{dx} x e^{x} &= ")
    assert all(r"\text{" + step.why + "}" in line for line, step in zip(lines, derivation.steps, strict=True))
    assert all(r"\checkmark" in line for line in lines[1:]) and r"\checkmark" not in lines[0]


def test_repr_is_deterministic_and_lists_every_step():
    text = repr(_product_rule())
    assert text == repr(_product_rule())
    assert not re.search(r"0x[0-9a-f]+", text)
    lines = text.splitlines()
    assert lines[0] == r"Derivation of \frac{d}{dx} x e^{x}: 3 expressions, 2 steps checked"
    assert len(lines) == 4
    assert lines[1].endswith("[definition; given]")
    assert "[product rule; " in lines[2] and "[factor; " in lines[3]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((x + 1) ** 2, x**2 + 2 * x + 1 + x / 10**40),
        ((x + 1) ** 2, (x + 1) ** 2 + FIVE_POINT_POLYNOMIAL),
        (sp.exp(x), sp.exp(x) * (1 + sp.sin(x) / 10**40)),
        (x, x + sp.exp(-(10**6) * x**2)),
        (sp.log(1 + sp.exp(10**6 * x)) / 10**6, sp.Max(x, 0)),
        (sp.Max(x, 0), sp.Max(x, -sp.Rational(1, 10**40))),
        (sp.log(sp.exp(z)), z),
        (sp.sqrt(sp.exp(z)), sp.exp(z / 2)),
        (sp.Abs(n), n),
        (sp.sign(n) ** 2, 1),
        (sp.sign(c), 1),
        (sp.ceiling(x), sp.floor(x) + 1),
        (sp.Piecewise((x, x > 1), (0, True)), sp.Piecewise((x, x > sp.Rational(11, 10)), (0, True))),
        (sp.Heaviside(x), sp.Heaviside(x - sp.Rational(1, 1000))),
        (sp.floor(x), sp.floor(x + sp.Rational(1, 10**6))),
        (sp.Abs(x - HALF) + sp.Abs(x - sp.Rational(3, 5)), sp.Abs(2 * x - sp.Rational(11, 10))),
        (
            sp.Max(x, sp.Rational(3, 5)) + sp.Min(x, sp.Rational(3, 5)),
            x + sp.Rational(3, 5) + sp.Max(0, sp.Rational(61, 100) - x) * sp.Max(0, x - sp.Rational(59, 100)),
        ),
        (sp.Piecewise((1, sp.Eq(p, r)), (0, True)), 0),
    ],
    ids=[
        "offset x/10^40",
        "polynomial vanishing at five points",
        "relative offset sin(x)/10^40",
        "offset exp(-10^6 x^2)",
        "sharp softplus is not ReLU near 0",
        "ReLU floored at -10^-40",
        "log(exp(z)) = z, complex z",
        "sqrt(exp(z)) = exp(z/2), complex z",
        "|n| = n, integer n",
        "sign(n)^2 = 1, integer n",
        "sign(c) = 1, c >= 0",
        "ceil = floor + 1 except at integers",
        "piecewise thresholds 1 and 11/10",
        "Heaviside thresholds 0 and 1/1000",
        "floor thresholds 10^-6 apart",
        "Abs kinks 1/10 apart",
        "Max/Min window of width 1/50",
        "condition met only where p = r",
    ],
)
def test_false_steps_the_numeric_check_must_catch(a, b):
    """Each was accepted as "numeric" by the five-point check; none may be accepted now."""
    with pytest.raises(DerivationError, match=r"could not be shown equal"):
        verify_equal(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (sp.atan(q) + sp.atan(1 / q), -sp.pi / 2),
        (sp.atan(k) + sp.atan(sp.Integer(1) / k), -sp.pi / 2),
        (sp.floor(n / 2) + sp.ceiling(n / 2), n),
        (c * sp.Heaviside(c), c),
        (sp.atan(c + 1) + sp.atan(1 / (c + 1)), sp.pi / 2),
        (sp.log(sp.exp(z)), z - 2 * sp.pi * sp.I * BRANCH),
        (sp.sqrt(sp.exp(z)), sp.exp(z / 2) * (-1) ** BRANCH),
        (sp.Max(x, 0), x * sp.Heaviside(x)),
        (sp.Piecewise((1, sp.exp(x) > 2), (0, True)), sp.Piecewise((1, x > sp.log(2)), (0, True))),
    ],
    ids=[
        "atan q + atan(1/q) = -pi/2, q < 0",
        "the same for a negative integer",
        "floor(n/2) + ceil(n/2) = n, integer n",
        "c H(c) = c, c >= 0",
        "atan identity at c + 1, c >= 0",
        "log(exp(z)) with its branch, complex z",
        "sqrt(exp(z)) with its branch, complex z",
        "ReLU = x H(x)",
        "the same threshold written two ways",
    ],
)
def test_true_identities_on_each_domain_are_accepted_numerically(a, b):
    """True, beyond SymPy's symbolic checks; the first two were refused by the former check."""
    assert verify_equal(a, b) == "numeric"


def test_a_derivation_refuses_a_false_step_and_marks_a_numeric_one():
    derivation = Derivation("f", sp.atan(q) + sp.atan(1 / q)).step(-sp.pi / 2, "q < 0")
    assert [step.method for step in derivation.steps] == ["given", "numeric"]
    assert r"\checkmark_{\text{numeric}}" in derivation._repr_latex_()
    with pytest.raises(DerivationError, match=r"^step 2 \(branch\) does not follow"):
        Derivation("f", sp.log(sp.exp(z))).step(z, "branch")


def test_a_nonzero_rational_difference_is_a_disproof():
    """A rational difference that does not cancel is a disproof, not something to spot-check."""
    with pytest.raises(DerivationError):
        verify_equal((x + 1) ** 2, x**2 + 2 * x + 1 + x / 10**40, numeric_fallback=False)
    y = sp.Symbol("y", real=True)
    with pytest.raises(DerivationError):
        verify_equal(x / y, x / y + (x - y) ** 3 / (10**60 * (1 + y**2)))
