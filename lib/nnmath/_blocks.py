"""Evaluating a formula block by block, so that its temporaries stay in the CPU cache.

Why. NumPy evaluates ``numerator / (1 + np.exp(-np.abs(x)))`` one operation at a time:
each operation is a full pass over memory that allocates a fresh array. Once the array is
larger than the cache, a cheap operation such as ``+`` costs about as much as ``np.exp``
(the time goes into moving memory, not into arithmetic), so a formula of six operations
runs about six times slower than a single ``np.exp``. Applying the same operations to
blocks of :data:`BLOCK_BYTES` bytes, into scratch buffers allocated once (``out=``),
keeps every intermediate in the L2 cache: the input is read from memory once and the
result written once. The values do not change: the same operations run on the same
numbers; only the order in which blocks are visited is new.

The helpers here know nothing about the formulas; each public function of the library
writes its formula as a small *kernel* that works in place on one block.
"""

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
    numpy.ndarray
        A new C-ordered array of the inputs' shape.
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
    return out


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
