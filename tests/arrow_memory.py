"""The high-water marks of Arrow's and Python's memory over a piece of
work, for the tests that bound them."""

import tracemalloc

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


def python_high_water(work):
    """(what `work()` returns, the most bytes Python's allocator held at once
    while it ran, over what it held before: `tracemalloc`, numpy included)."""
    tracemalloc.start()
    try:
        return work(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
