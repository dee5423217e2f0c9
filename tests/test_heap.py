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
    """Arrow's pools (mimalloc, jemalloc) keep freed buffers for reuse;
    `trim` asks the default one to give them back."""
    import pyarrow as pa

    import numpy as np

    process = psutil.Process()
    # ~200 MB of Arrow buffers, written to (a pool may map pages it never touches)
    buffers = [pa.array(np.full(12_500, n, dtype=np.int64)) for n in range(2000)]
    keeper = pa.array(np.zeros(12_500, dtype=np.int64))  # noqa: F841
    del buffers
    held = process.memory_info().rss
    heap.trim()
    assert held - process.memory_info().rss > 100 * 2**20


@pytest.mark.parametrize("chosen", [None, "system"])
def test_the_build_uses_jemalloc_for_arrow_unless_told_otherwise(chosen):
    """Importing the flow makes jemalloc Arrow's default pool (in the flow's
    process and in Dask workers, which import it); a pool the user chose
    with ARROW_DEFAULT_MEMORY_POOL wins."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    probe = "import flows.build, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()[-1]
    assert out == (chosen or heap.ARROW_POOL)


def test_release_memory_clears_the_memos_of_the_stages():
    """Between passes `shards.release_memory` empties every memo of the
    pressroom modules (a pass's caches are of no use to the next), and the
    stages still give the same answers after."""
    from pressroom import dedup, quotes, shards

    words = [f"reporters{n}" for n in range(50)]
    before = [quotes.stem(w) for w in words]
    dedup.lsh_bands(0.8)
    assert quotes.stem.cache_info().currsize >= 50 and dedup.lsh_bands.cache_info().currsize >= 1
    assert heap.forget_caches() >= 10  # every lru_cache of the package, not a list kept by hand
    assert quotes.stem.cache_info().currsize == 0 == dedup.lsh_bands.cache_info().currsize
    [quotes.stem(w) for w in words]
    shards.release_memory()
    assert quotes.stem.cache_info().currsize == 0
    assert [quotes.stem(w) for w in words] == before


def test_mapped_pages_are_released_as_they_pass_the_budget(tmp_path):
    """A map read page by page: `MappedPages.check` after each read calls
    `release` once the process's resident file pages grew by the budget,
    so they never grow much past it; without a budget they all stay."""
    import mmap

    if heap.resident_file_bytes() is None:
        pytest.skip("no /proc/self/statm")
    path = tmp_path / "mapped"
    path.write_bytes(bytes(range(256)) * (64 * 2**20 // 256))  # 64 MiB
    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    budget, grown = 8 * 2**20, []
    pages = heap.MappedPages(lambda: mapped.madvise(mmap.MADV_DONTNEED), budget)
    start = heap.resident_file_bytes()
    for offset in range(0, len(mapped), 4096):
        assert mapped[offset] == offset % 256
        pages.check()
        grown.append(heap.resident_file_bytes() - start)
    assert pages.releases >= 5  # 64 MiB read with a budget of 8
    assert max(grown) <= budget + 2**20  # a check per page: at most the last read's fault past it
    unbounded = heap.MappedPages(lambda: None, 1 << 40)
    mapped.madvise(mmap.MADV_DONTNEED)
    start = heap.resident_file_bytes()
    for offset in range(0, len(mapped), 4096):
        assert mapped[offset] == offset % 256
        unbounded.check()
    assert heap.resident_file_bytes() - start > 48 * 2**20 and unbounded.releases == 0
    mapped.close()


def test_mapped_pages_release_every_so_many_checks_without_proc(monkeypatch):
    monkeypatch.setattr(heap, "resident_file_bytes", lambda: None)
    released = []
    pages = heap.MappedPages(lambda: released.append(1), budget=1, every=3)
    for _ in range(10):
        pages.check()
    assert len(released) == pages.releases == 3
    pages.release_now()
    assert len(released) == 4
