"""Results do not depend on the platform's long double.

``np.longdouble`` is an 80-bit type on x86-64 Linux but plain float64 on macOS arm64 and on
Windows. nnmath promises the same results everywhere, so no float16, float32 or float64
computation may pass through long double. The check: make ``np.longdouble`` float64 (what
those platforms have) and compare every function on the accuracy grid, bit for bit, with
the results on this platform. Only longdouble *input* may use long double. (float16 is computed in float32.)
"""

import nnmath as nm
import nnmath.testing as nmt
import numpy as np
import pytest

ROW_FUNCTIONS = [nm.softmax, nm.log_softmax, nm.logsumexp]
ELEMENTWISE = [nm.sigmoid, nm.sigmoid_grad, nm.tanh, nm.tanh_grad, nm.softplus, nm.softplus_grad,
               nm.silu, nm.silu_grad, nm.gelu, nm.gelu_grad, nm.elu, nm.elu_grad]


def everything(dtype):
    """Every public numerical result on the accuracy grid of ``dtype``, as a list of arrays."""
    grid = nmt.accuracy_grid(dtype)
    x, targets = grid["x"], grid["targets"]
    results = [f(x) for f in ELEMENTWISE]
    results += [np.asarray(nm.binary_cross_entropy_with_logits(x, targets)),
                nm.binary_cross_entropy_with_logits_grad(x, targets)]
    for rows, labels, soft in zip(grid["rows"], grid["labels"], grid["soft_labels"]):
        results += [f(rows) for f in ROW_FUNCTIONS]
        for given in (labels, soft):
            results.append(np.asarray(nm.softmax_cross_entropy(rows, given)))
            results.append(nm.softmax_cross_entropy_grad(rows, given))
        probs = nm.softmax(rows)
        results += [np.asarray(nm.cross_entropy(probs, labels)), nm.cross_entropy_grad(probs, labels)]
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
def test_results_are_the_same_where_long_double_is_float64(dtype, monkeypatch):
    # Results are compared, not warnings: tiny probabilities make cross_entropy_grad warn.
    with np.errstate(all="ignore"):
        here = everything(dtype)
        monkeypatch.setattr(np, "longdouble", np.float64)
        there = everything(dtype)
    assert len(here) == len(there) > 20
    for index, (a, b) in enumerate(zip(here, there)):
        assert a.dtype == b.dtype == np.dtype(dtype), index
        np.testing.assert_array_equal(a, b, err_msg=f"result {index} depends on np.longdouble")
