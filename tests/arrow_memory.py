"""Arrow's high-water mark over a piece of work, for the tests that bound it."""

import pyarrow as pa

_POOLS: list = []
"""Every proxy pool made: one must outlive every buffer allocated from it
(a pool freed before its buffers crashes the process)."""


def arrow_high_water(work):
    """(what `work()` returns, the most bytes Arrow held at once while it ran)."""
    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    _POOLS.append(pool)
    before = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        result = work()
    finally:
        pa.set_memory_pool(before)
    return result, pool.max_memory()
