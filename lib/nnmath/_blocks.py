"""Evaluating a formula block by block, so that its temporaries stay in the CPU cache.

Why. NumPy evaluates ``numerator / (1 + np.exp(-np.abs(x)))`` one operation at a time:
each operation is a full pass over memory that allocates a fresh array. Once the array is
larger than the cache, a cheap operation such as ``+`` costs about as much as ``np.exp``
(the time goes into moving memory, not into arithmetic), so a formula of six operations
runs about six times slower than a single ``np.exp``. Applying the same operations to
blocks of :data:`BLOCK_SIZE` elements, into scratch buffers allocated once (``out=``),
keeps every intermediate in the L2 cache: the input is read from memory once and the
result written once. The values do not change: the same operations run on the same
numbers; only the order in which blocks are visited is new.

The helpers here know nothing about the formulas; each public function of the library
writes its formula as a small *kernel* that works in place on one block.
"""

import numpy as np

BLOCK_SIZE = 1 << 14  # elements per block: 128 KiB of float64, a few buffers fit in L2


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
    dtype = inputs[0].dtype if dtype is None else dtype
    out = np.empty(shape, dtype)
    flat_inputs = [_flat(array) for array in inputs]
    flat_out = _flat(out)
    size = flat_out.size
    buffers = [np.empty(min(size, BLOCK_SIZE), dtype) for _ in range(scratch)]
    for start in range(0, size, BLOCK_SIZE):
        stop = min(start + BLOCK_SIZE, size)
        length = stop - start
        kernel(
            *(array[start:stop] for array in flat_inputs),
            flat_out[start:stop],
            *(buffer[:length] for buffer in buffers),
        )
    return out


def elementwise_sum(kernel, *inputs, scratch=0, accumulate=np.float64):
    """Sum over all elements of what ``kernel`` writes, without storing the whole result.

    ``kernel(*input_blocks, out_block, *scratch_blocks)`` as in :func:`elementwise`; the
    blocks' sums are accumulated in ``accumulate`` precision (at least float64).
    """
    dtype = inputs[0].dtype
    flat_inputs = [_flat(array) for array in inputs]
    size = flat_inputs[0].size
    buffers = [np.empty(min(size, BLOCK_SIZE), dtype) for _ in range(scratch + 1)]
    total = accumulate(0)
    for start in range(0, size, BLOCK_SIZE):
        stop = min(start + BLOCK_SIZE, size)
        length = stop - start
        out_block, *scratch_blocks = (buffer[:length] for buffer in buffers)
        kernel(*(array[start:stop] for array in flat_inputs), out_block, *scratch_blocks)
        total += np.sum(out_block, dtype=accumulate)
    return total


def row_blocks(n_rows, row_length):
    """Slices of whole rows holding about :data:`BLOCK_SIZE` elements each (at least one row)."""
    rows_per_block = max(1, BLOCK_SIZE // max(row_length, 1))
    for start in range(0, n_rows, rows_per_block):
        yield slice(start, min(start + rows_per_block, n_rows))
