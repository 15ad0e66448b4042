"""Tests of nnmath.derivation: Derivation and verify_equal.

True identities come from calculus (the product rule, tanh = 2 sigma(2x) - 1,
sigma' = sigma (1 - sigma), atan p + atan(1/p) = pi/2 for p > 0); the checker must accept
them and say how. It must also reject near misses, identities that are wrong by a tiny
or a local amount: a constant offset of e^-100 or 10^-40, Ramanujan's almost-integer
e^(pi sqrt 163), |x| for x, tanh(x) for tanh(x/2), sin(pi x) for 0.
"""

import re

import pytest
import sympy as sp

from nnmath import Derivation, DerivationError, verify_equal

x = sp.Symbol("x", real=True)
p = sp.Symbol("p", positive=True)
t = sp.Symbol("t", real=True)
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
    body = re.search(r"\\begin\{aligned\}\n(.*)\n\\end\{aligned\}", latex, re.S)
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
