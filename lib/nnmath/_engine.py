r"""The engine under the library's array functions: evaluation block by block, and along rows.

Private: ``nnmath.softmax``, ``nnmath.losses`` and the activations use it; nothing here is
public API, and no public module imports a private name from another public module.

Blocks. NumPy evaluates ``numerator / (1 + np.exp(-np.abs(x)))`` one operation at a time:
each operation is a full pass over memory that allocates a fresh array. Once the array is
larger than the cache, a cheap operation such as ``+`` costs about as much as ``np.exp``, so
a formula of six operations runs about six times slower than a single ``np.exp``. Applying
the same operations to blocks of :data:`BLOCK_BYTES` bytes, into scratch buffers allocated
once (``out=``), keeps every intermediate in the L2 cache. The values do not change: the
same operations run on the same numbers; only the order in which blocks are visited is new.
The one exception is :func:`elementwise_sum`: it sums each block pairwise and adds the blocks'
sums in float64, a grouping that depends on :data:`BLOCK_BYTES`, so a sum's last bit may
move with the block size (never by more than the sum's error bound).

Rows. Softmax, its logarithms and the cross-entropy on logits work along the last axis of
an ``(N, n)`` array. Each is written as a *row kernel*; :func:`sweep_rows` runs it.

The row-kernel contract
-----------------------
``kernel(x, out, scratch, shift, *row_args) -> totals``

* ``x``: a block of whole rows, shape ``(k, n)``, read only.
* ``out``: where the kernel writes the block's result, ``(k, n)`` or ``(k,)`` (its rows of
  the caller's output).
* ``scratch``: an array of ``scratch`` buffers, each of ``x``'s shape, to use as it likes.
* ``shift``: the block's :class:`Shift`, the per-row constant :math:`c` the kernel must
  subtract before exponentiating: :func:`shifted_exp` computes :math:`e^{x - c}`, and
  :func:`minus_shift` subtracts :math:`c` from one value per row.
* ``row_args``: the matching rows of each extra per-row argument (labels, targets, indices).
* It **returns** each row's sum :math:`S = \sum_j e^{x_j - c}` (shape ``(k,)``), by which
  :func:`sweep_rows` decides whether the row must be run again.

:func:`sweep_rows` first runs every block with :data:`NO_SHIFT` (:math:`c = 0`, nothing
subtracted, so nothing rounded). A row is re-run, alone with the others that need it, with
the shift of :func:`exact_shift` unless :math:`1 \le S \le` ``bound``; the kernel's second
result overwrites the first. So a kernel must be correct for any shift it is given, and must
write every entry of its ``out`` rows each time.
"""

from typing import NamedTuple

import numpy as np

BLOCK_BYTES = 1 << 18  # 256 KiB per block: the input block and a few buffers fit in L2
# Row-wise functions pay a fixed cost per block (a dozen small per-row operations), so
# their blocks are larger; they still fit in L3.
ROW_BLOCK_BYTES = 1 << 20


def _flat(array):
    """``array`` as a 1-D C-ordered array (a view when possible, otherwise a copy)."""
    return array.reshape(-1)


def elementwise(kernel, *inputs, scratch=0, dtype=None):
    """Apply ``kernel(*input_blocks, out_block, *scratch_blocks)`` block by block.

    Parameters
    ----------
    kernel : callable
        Writes the result for one block of the (flattened) inputs into ``out_block``,
        using the ``scratch`` buffers of the same length as it likes.
    *inputs : numpy.ndarray
        Arrays of one shape; never written to.
    scratch : int
        How many scratch buffers the kernel needs.
    dtype : numpy.dtype, optional
        The result's dtype, by default the first input's.

    Returns
    -------
    numpy.ndarray or numpy.floating
        A new C-ordered array of the inputs' shape; a NumPy scalar for 0-d inputs.
    """
    shape = inputs[0].shape
    dtype = inputs[0].dtype if dtype is None else np.dtype(dtype)
    out = np.empty(shape, dtype)
    flat_inputs = [_flat(array) for array in inputs]
    flat_out = _flat(out)
    size = flat_out.size
    block = BLOCK_BYTES // dtype.itemsize
    buffers = [np.empty(min(size, block), dtype) for _ in range(scratch)]
    for start in range(0, size, block):
        stop = min(start + block, size)
        length = stop - start
        kernel(
            *(array[start:stop] for array in flat_inputs),
            flat_out[start:stop],
            *(buffer[:length] for buffer in buffers),
        )
    return out[()]  # 0-d input gives a NumPy scalar, as NumPy's ufuncs do


def elementwise_sum(kernel, *inputs, scratch=0):
    """The sum over all blocks of what ``kernel`` returns, without storing a whole result.

    ``kernel(*input_blocks, *scratch_blocks)`` returns the sum of its block (summed
    pairwise in the block's dtype); the blocks' sums are added in float64 (or longdouble
    for longdouble input).
    """
    dtype = inputs[0].dtype
    flat_inputs = [_flat(array) for array in inputs]
    size = flat_inputs[0].size
    block = BLOCK_BYTES // dtype.itemsize
    buffers = [np.empty(min(size, block), dtype) for _ in range(scratch)]
    total = np.result_type(dtype, np.float64).type(0)
    for start in range(0, size, block):
        stop = min(start + block, size)
        length = stop - start
        blocks = [array[start:stop] for array in flat_inputs] + [buffer[:length] for buffer in buffers]
        total += kernel(*blocks)
    return total


def row_blocks(n_rows, row_length, itemsize):
    """Slices of whole rows holding about :data:`ROW_BLOCK_BYTES` each (at least one row)."""
    rows_per_block = max(1, ROW_BLOCK_BYTES // (itemsize * max(row_length, 1)))
    for start in range(0, n_rows, rows_per_block):
        yield slice(start, min(start + rows_per_block, n_rows))


# Rows. ------------------------------------------------------------------------------------


class Shift(NamedTuple):
    """The per-row constant :math:`c` a row kernel subtracts before exponentiating.

    ``c`` has shape ``(k, 1)``, or is ``None`` for :math:`c = 0` (nothing is subtracted);
    ``big`` (bool, ``(k, 1)``) marks the rows shifted by their own maximum, whose rounding
    :func:`shifted_exp` puts back (see :func:`exact_shift`).
    """

    c: np.ndarray | None
    big: np.ndarray | None


#: No shift at all: the first pass of :func:`sweep_rows` over every row.
NO_SHIFT = Shift(None, None)


def sum_dtype(dtype, normalising=False):
    """The dtype in which sums along a row accumulate.

    NumPy sums pairwise, so the sum of n positive terms is off by at most about
    log2(n) / 2 ulp, usually far less. Inside a logarithm (log-sum-exp, log-softmax, the
    loss) that is harmless, and the input's own dtype is used. A sum that divides the
    output (softmax, the gradient) adds its error to every entry, so float32 input is
    summed in float64 there, which costs about 0.3 times one ``np.exp``.
    """
    return np.result_type(dtype, np.float64) if normalising else np.dtype(dtype)


def wide_dtype(dtype):
    """The dtype of per-row arithmetic (the largest term, logarithms, reciprocals).

    There is one value per row, so extra precision costs nothing: float64 for float16 and
    float32 input. float64 input stays in float64, deliberately not in ``np.longdouble``:
    that is 80-bit on x86-64 Linux but plain float64 on macOS arm64 and Windows, and the
    results must be the same on every platform. The accuracy bounds hold without it
    (``tests/test_accuracy.py``); longdouble input is computed in longdouble.
    """
    return np.result_type(dtype, np.float64)


def sum_bound(dtype, factor=1):
    """The largest sum of a row's exponentials accepted without a shift.

    Up to it the sum, times ``factor`` (the batch size, for a gradient that divides by
    it), has a normal reciprocal: about 4.5e307 in float64 and 8.5e37 in float32.
    """
    return 1 / (np.finfo(dtype).tiny * factor)


def exact_shift(row_max, limit):
    r"""Per-row shift :math:`c` that makes :math:`x - c` exact wherever it matters.

    For rows whose exponentials, unshifted, overflow or sum to less than 1. ``row_max``
    is the row maximum :math:`m`, shape ``(rows, 1)``; ``limit`` the largest :math:`m`
    for which the row's exponentials cannot overflow. Returns ``(shift, big)``, ``big``
    marking the rows shifted by their maximum.

    * :math:`m < 0`: :math:`c = \lfloor m \rfloor`, an integer. For :math:`x \le c`,
      :math:`x - c` is a multiple of the ulp of :math:`x` no larger than :math:`|x|`, hence
      exact; for :math:`c < x \le m` the two are within a factor 2 (Sterbenz's lemma),
      except for :math:`c = -1, |x| < 1/2`, where the error is below :math:`2^{-54}`.
      The largest term :math:`e^{m - c}` is in :math:`[1, e)`.
    * :math:`m >` ``limit``: :math:`c = m`, and :func:`_exp_minus_exact_shift` corrects the rounding.
    * otherwise (only infinite or NaN rows come here) :math:`c = 0`, so that the shift
      makes no ``inf - inf``.
    """
    shift = np.minimum(np.floor(row_max), 0)
    big = row_max > limit
    shift[big] = row_max[big]
    infinite = ~np.isfinite(row_max)
    shift[infinite] = 0
    big[infinite] = False  # no Fast2Sum correction either: inf - (inf + 0) would be NaN
    return Shift(shift, big)


def _exp_minus_exact_shift(x, shift, big, out):
    """``out = exp(x - shift)`` for a block of rows, with the shift made exact (see above)."""
    np.subtract(x, shift, out=out)  # far below a huge max this may be -inf: exp(-inf) = 0 is right
    if not big.any():
        return np.exp(out, out=out)
    # Rows shifted by their maximum m, beyond the overflow limit (> 370 in float64, > 52
    # in float32): every entry x with exp(x - m) > 0 lies within 745 (104) of m, hence
    # |x| <= m, so Fast2Sum gives the rounding error of d = x - m exactly,
    # r = x - (d + m), and exp(x - m) = exp(d + r) = exp(d) * (1 + r) to within r**2.
    # In the other rows of the block r is 0 wherever exp(d) is not. Clipping r to [-1, 1]
    # (fmax and fmin also turn NaN into a bound) only tames entries where exp(d) = 0:
    # far below the max, or -inf, where d = -inf gives r = inf or NaN.
    error = np.subtract(x, np.add(out, shift))
    np.fmin(np.fmax(error, -1, out=error), 1, out=error)
    np.exp(out, out=out)
    out *= np.add(error, 1, out=error)
    return out


def shifted_exp(x, shift, out):
    """``out = exp(x - c)`` for the rows ``x`` of a block and their :class:`Shift`."""
    if shift.c is None:
        return np.exp(x, out=out)
    return _exp_minus_exact_shift(x, shift.c, shift.big, out=out)


def minus_shift(values, shift, dtype):
    """Per-row ``values - c`` in ``dtype``, for one value per row and the rows' :class:`Shift`."""
    values = values.astype(dtype)
    return values if shift.c is None else values - shift.c[:, 0]


def sum_rows(e, normalising=False):
    """Row sums of a block in :func:`sum_dtype`.

    In the block's own dtype the sum is pairwise (``np.add.reduce``). Accumulated in a
    wider dtype (float32 rows in float64) it is ``np.einsum``, which converts as it goes,
    about a fifth faster than ``np.add.reduce`` with a ``dtype``. Its order of addition is
    not pairwise, but in float64 the sum of n float32 terms is off by at most about
    n * 2**-53 relative: for n = 1000, a millionth of a float32 ulp.
    """
    dtype = sum_dtype(e.dtype, normalising)
    if dtype == e.dtype:
        return np.add.reduce(e, axis=1)
    return np.einsum("ij->i", e, dtype=dtype)


def log1p_tail(row_max, top, rest):
    r""":math:`\log \sum_j e^{a_j - m} = \log(1 + s/t)`, 0 for rows whose max is not finite."""
    tail = np.log1p(rest / top)
    finite = np.isfinite(row_max)
    if not finite.all():
        tail[~finite] = 0
    return tail


def row_formulas_errstate():
    """The floating-point state in which row formulas run: rows holding an infinity or a NaN
    give the infinities and NaN of the formulas, without floating-point warnings."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def sweep_rows(kernel, rows, out, bound, *row_args, scratch=1):
    r"""Run ``kernel`` over blocks of ``rows``, unshifted, then shifted on the rows that need it.

    ``kernel(x, out, scratch, shift, *args)`` computes one block of rows ``x`` (shape
    ``(k, n)``) into ``out`` (its rows), with ``scratch`` buffers of the block's shape
    and ``args``, the matching rows of each of ``row_args``; it returns each row's sum
    :math:`S` of the exponentials :math:`e^{x - c}`.

    Every row is first computed with :math:`c = 0`: nothing is subtracted, so nothing is
    rounded. That is right when :math:`1 \le S \le` ``bound``: nothing overflowed,
    :math:`1/S` is a normal number, and a term that underflowed is off by less than the
    spacing of subnormals, which dividing by :math:`S \ge 1` cannot magnify. The other
    rows (a negative maximum with a small sum, an overflow, an infinity or a NaN) are
    computed again with the shift of :func:`exact_shift`. Rows holding an infinity or a
    NaN give the infinities and NaN of the formulas, without floating-point warnings.
    """
    totals = np.empty(rows.shape[0], sum_dtype(rows.dtype, normalising=True))
    buffers = None
    with row_formulas_errstate():
        for block in row_blocks(*rows.shape, rows.itemsize):
            x = rows[block]
            if buffers is None:
                buffers = np.empty((scratch,) + x.shape, x.dtype)
            args = [arg[block] for arg in row_args]
            totals[block] = kernel(x, out[block], buffers[:, : x.shape[0]], NO_SHIFT, *args)
        redo = ~((totals >= 1) & (totals <= bound))  # NaN fails both tests
        if redo.any():
            again, out_again = rows[redo], out[redo]
            limit = np.log(bound) - np.log(rows.shape[1]) - 1
            shift = exact_shift(np.max(again, axis=1, keepdims=True), limit)
            buffers = np.empty((scratch,) + again.shape, again.dtype)
            kernel(again, out_again, buffers, shift, *[arg[redo] for arg in row_args])
            out[redo] = out_again


def along_axis(kernel, x, axis, reduce=False):
    """Apply a row kernel (see :func:`sweep_rows`) along ``axis`` of ``x``.

    The axis is moved last and the array seen as ``(rows, n)``; the result has that shape
    (or ``(rows,)`` when ``reduce``) and is given back in the input's layout and dtype.
    float16 is computed in float32 and rounded once at the end.
    """
    work = x.astype(np.float32) if x.dtype == np.float16 else x
    moved = np.moveaxis(work, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.empty(rows.shape[:1] if reduce else rows.shape, work.dtype)
    sweep_rows(kernel, rows, out, sum_bound(work.dtype))
    result = out.reshape(moved.shape[:-1]) if reduce else np.moveaxis(out.reshape(moved.shape), -1, axis)
    with np.errstate(over="ignore"):  # float16: a result beyond its range is the infinity it rounds to
        return result.astype(x.dtype, copy=False)[()]  # a reduction to 0-d gives a NumPy scalar


def max_and_rest(x, e, shift):
    r"""For a block of rows: ``(rows, top_at, row_max, top, rest)``.

    ``e`` is filled with :math:`e^{x - c}` except at each row's (first) maximum ``top_at``,
    where it holds 0; ``top`` is that largest term :math:`t = e^{m - c}`, recomputed in the
    wide dtype, and ``rest`` the sum :math:`s` of all the other terms. Leaving :math:`t`
    out of :math:`s` keeps the digits of :math:`s/t` when it is far below 1.
    """
    rows = np.arange(x.shape[0])
    top_at = np.argmax(x, axis=1)
    row_max = x[rows, top_at]
    shifted_exp(x, shift, e)
    e[rows, top_at] = 0
    wide = wide_dtype(x.dtype)
    top = np.exp(minus_shift(row_max, shift, wide))
    return rows, top_at, row_max, top, sum_rows(e).astype(wide)
