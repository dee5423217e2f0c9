"""Free heap memory handed back to the operating system.

glibc's malloc keeps the pages of freed small blocks (under its mmap
threshold: numpy's per-document arrays, Python's larger strings and lists)
in the process's heap, and gives back only a free run at the heap's very
top. After a pass that built and dropped millions of them, the process
keeps its high-water mark for the rest of the build: measured on the
200 MB generated corpus, the corpus pass leaves the flow's process at
810 MiB, 431 MiB after `trim()`; on 1 GB, 4.7 GB held through the link,
assemble and write phases. `malloc_trim(0)` returns every free page,
wherever it is in the heap (it takes milliseconds).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Callable


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        return None


def trim() -> bool:
    """Give the heap's free pages back to the OS, and Arrow's memory pool
    its unused memory (`release_unused`: its default allocator, mimalloc,
    keeps freed buffers for reuse; ~100 MB after the corpus pass on 1 GB
    of input).  False where the C library has no `malloc_trim` (then only
    Arrow's pool is released)."""
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:  # not imported: it holds nothing
        pyarrow.default_memory_pool().release_unused()
    function = _malloc_trim()
    if function is None:
        return False
    function(0)
    return True


ARROW_POOL = "jemalloc"
"""Arrow's default memory pool for the build.  pyarrow's default, mimalloc,
keeps freed buffers for reuse: measured at 1 GB of input, the report read
back from the written tables peaked at 763 MB with it, 624 with jemalloc
(whose decay returns freed pages), and the flow's process on a rebuild
from the cache at 1,320 MB against 1,102."""


def use_arrow_pool(name: str = ARROW_POOL) -> str:
    """Make `name` Arrow's default memory pool, unless the user chose one
    (`ARROW_DEFAULT_MEMORY_POOL`) or this pyarrow lacks it; returns the
    pool in use."""
    import pyarrow

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pyarrow.set_memory_pool(getattr(pyarrow, f"{name}_memory_pool")())
        except (NotImplementedError, AttributeError):  # not built with it (Windows has no jemalloc)
            pass
    return pyarrow.default_memory_pool().backend_name


def forget_caches(package: str = "pressroom") -> int:
    """Clear the memos (`functools.lru_cache`, `functools.cache`, or any
    module-level object with their `cache_clear` and `cache_info`) of the
    package's loaded modules: what a map pass keeps for its next shard
    (rules by line, words' stems and hashes, a document's paragraphs, the
    local copies of gzip and Parquet record files), of no use to the next
    pass.  Returns how many were cleared.  Measured in one process after
    cleaning 12,000 documents: 57 MB given back, and the corpus pass's peak
    after it 47 MB lower."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, type):
                continue  # a class with such methods: its instances are the memos
            if callable(getattr(value, "cache_clear", None)) and callable(getattr(value, "cache_info", None)):
                value.cache_clear()
                cleared += 1
    return cleared


def resident_file_bytes() -> int | None:
    """The bytes of file-backed pages this process has mapped and resident
    (the "shared" field of /proc/self/statm: file pages and shared memory),
    or None where /proc is not there."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[2]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class MappedPages:
    """Calls `release` (`quotes.TurnIndex.release_pages` of the indexes a
    task maps) whenever the file pages resident in this process grew by
    `budget` bytes since the last call: `check()` after each unit of work.

    Linking a quotation reads its 25 candidate turns' rows of a dozen
    arrays, scattered over the index, and the kernel maps 64 KiB around
    each page a read faults in (fault-around, which madvise cannot turn
    off): on the 1 GB generated corpus's index (2.1 GB of files) one
    process grew by ~10 MB of mapped pages per quotation, 1.26 GB over
    1,000.  Releasing costs the pages read again after it, so the budget
    is a trade: 256 MiB kept one process at 0.58 GB over 3,000 quotations
    (1.8 GB without) for up to ~20% more time per quotation (runs of the
    same work varied by as much); 64 MiB, 0.40 GB for ~50% more.  Where
    /proc is not there, `release` is called every `every` checks."""

    def __init__(self, release: Callable[[], object], budget: int, every: int = 1000):
        self.release, self.budget, self.every = release, budget, every
        self.checks, self.releases = 0, 0
        self.mark = resident_file_bytes()

    def check(self) -> None:
        self.checks += 1
        if self.mark is None:  # no /proc: by count
            due = self.checks % self.every == 0
        else:
            now = resident_file_bytes()
            due = now is None or now - self.mark > self.budget
        if due:
            self.release_now()

    def release_now(self) -> None:
        """Release, whatever the budget: at the end of a task, so that the
        next one a worker runs starts from none of these pages."""
        self.release()
        self.releases += 1
        self.mark = resident_file_bytes()
