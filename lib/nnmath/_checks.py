"""Input checking shared by every public function.

The rules, stated once:

* Floating inputs keep their dtype (float16, float32, float64, longdouble).
* Booleans, integers and Python lists/scalars of numbers become float64.
* Anything else (complex, strings, objects, datetimes) is a ``TypeError`` that names
  the argument, what was expected and what arrived.
* Masked arrays (``numpy.ma``) are a ``TypeError`` too: ``np.asarray`` would drop the mask
  and every masked entry would count as data. Fill or compress them first.

Inputs are never modified: functions compute into new arrays.
"""

import re

import numpy as np


def as_float_array(value, name):
    """Return ``value`` as a floating ndarray without copying more than needed.

    Parameters
    ----------
    value : array_like
        Real numbers: a NumPy array, a Python scalar or a (nested) list.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    numpy.ndarray
        ``value`` itself when it already is a floating ndarray, otherwise a float64
        array. Callers must not write into it.
    """
    reject_masked(value, name)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nested lists, for example
        raise TypeError(f"{name} must be an array of real numbers, got {_describe(value)}") from error
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "biu":
        return array.astype(np.float64)
    raise TypeError(
        f"{name} must be an array of real numbers, got {_describe(value)} of dtype {array.dtype}"
    )


def reject_masked(value, name):
    """Raise a ``TypeError`` naming ``name`` when ``value`` is a masked array.

    ``np.asarray`` returns a masked array's data without its mask, so the masked entries
    would silently count as data (``softmax`` of ``[1, 2, 1000]`` with 1000 masked puts all
    the probability on the masked entry).
    """
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{name} must be a plain array of real numbers, got a masked array of shape {np.shape(value)} "
            "(its mask would be ignored: use .filled() or .compressed() first)"
        )


def check_bool(value, name):
    """Return ``value`` as a Python bool, requiring a bool (or a NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool (True or False), got {_describe(value)}")
    return bool(value)


def check_axis(array, axis, name):
    """Normalise ``axis`` for ``array`` and require a non-empty axis."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {_describe(axis)}")
    if array.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    if not -array.ndim <= axis < array.ndim:
        raise ValueError(
            f"axis must be in [{-array.ndim}, {array.ndim}) for {name} of shape {array.shape}, got {axis}"
        )
    axis = int(axis) % array.ndim
    if array.shape[axis] == 0:
        raise ValueError(f"{name} must have at least one entry along axis {axis}, got shape {array.shape}")
    return axis


def check_real_parameter(value, name):
    """Return ``value`` as a Python float, requiring a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _describe(value):
    """A short, address-free description of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))  # reprs of objects carry addresses
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"
