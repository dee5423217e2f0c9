"""pressroom.heap: free heap pages go back to the operating system."""

from __future__ import annotations

import psutil
import pytest

from pressroom import heap


def test_trim_returns_the_pages_of_freed_blocks():
    """Blocks under glibc's mmap threshold stay in the heap when freed (a
    block allocated after them keeps the heap's top in use); `trim` gives
    their pages back."""
    process = psutil.Process()
    blocks = [bytes(100_000) for _ in range(2000)]  # ~200 MB of 100 kB blocks
    keeper = bytes(100_000)  # noqa: F841 - holds the top of the heap
    del blocks
    freed = process.memory_info().rss
    if not heap.trim():
        pytest.skip("no malloc_trim in this C library")
    assert freed - process.memory_info().rss > 100 * 2**20


def test_trim_releases_what_arrows_pool_keeps():
    """Arrow's default pool (mimalloc, jemalloc) keeps freed buffers for
    reuse; `trim` asks it to give them back."""
    import pyarrow as pa

    process = psutil.Process()
    buffers = [pa.allocate_buffer(100_000) for _ in range(2000)]  # ~200 MB of Arrow buffers
    keeper = pa.allocate_buffer(100_000)  # noqa: F841
    del buffers
    held = process.memory_info().rss
    heap.trim()
    assert held - process.memory_info().rss > 100 * 2**20
