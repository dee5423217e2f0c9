"""Python's cyclic garbage collector, paused while a batch builds objects
that all stay alive.

A shard's documents, their cleaned rows and summaries are millions of small
objects (strings, tuples, dicts) kept until the shard's pack is written.
The collector walks every live object again at each full collection, as
they pile up, and finds nothing to free (the stages make no reference
cycles: `gc.collect()` after a shard of the generated corpus frees none):
measured on 600 documents, cleaning took 4.5 s with the collector paused
and 7.4 s without.  Reference counting still frees everything as usual;
only the cycle search waits to the end of the batch.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    """No cyclic garbage collection inside the block (left as it was found)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
