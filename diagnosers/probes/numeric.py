"""Small numeric helpers the probes call thousands of times a clip, with numpy's results and less overhead."""

from __future__ import annotations

import numpy as np


def median(values: np.ndarray) -> np.floating:
    """`np.median` of a small array (flattened), the same value and type, at a fifth of its per-call cost.

    np.median partitions and takes `np.mean` of the middle one or two values; a sort puts the same
    values in the middle, and the same `mean` runs on them. NaN anywhere gives NaN, as in np.median.
    """
    v = np.sort(values, axis=None)
    n = len(v)
    if n and v.dtype.kind == "f" and np.isnan(v[-1]):
        return v[-1]
    return v[(n - 1) // 2: n // 2 + 1].mean()
