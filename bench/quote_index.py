"""Time and peak memory of building the quote index from a build's cache.

    .venv/bin/python bench/quote_index.py RELEASES/.cache [--in-memory] [--budget MB]

Reads the sketches of every document with turns from the clean stage of the
cache (as the corpus pass does) and builds the quote index out of core
(`index_build.build_index`, the build's way) or, with `--in-memory`, as
`quotes.TurnIndex` of all the sketches joined (the way before session 7),
then saves it to a temporary folder.  Prints the seconds, this process's
peak RSS (ru_maxrss) and its RSS before the build.  Run each way in its own
process: the peak is the process's.  Not a test.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import psutil

from pressroom import index_build, quotes
from pressroom.cache import PackStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path)
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--budget", type=float, default=index_build.BUDGET / 2**20, help="MiB of sketches a chunk")
    args = parser.parse_args(argv)
    store = PackStore(args.cache)
    spoken = []
    for pack in sorted(set(store.index("clean").values())):
        spoken += list(store.load("clean", pack, "sketch"))
    before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=store.folder("index")) as folder:
        arrays, strings = Path(folder) / "arrays", Path(folder) / "strings"
        if args.in_memory:
            sketches = quotes.TurnSketches.concat(store.load_many("clean", "sketch", spoken), consume=True)
            quotes.TurnIndex(sketches, consume=True).save(arrays, strings)
        else:
            index_build.build_index((quotes.TurnSketches.concat(s, consume=True)
                                     for s in store.load_by_pack("clean", "sketch", spoken)),
                                    arrays, strings, scratch=Path(folder), budget=int(args.budget * 2**20))
        seconds = time.perf_counter() - started
        size = arrays.stat().st_size + strings.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{'in memory' if args.in_memory else 'out of core'}: {len(spoken)} documents with turns, "
          f"{seconds:.1f} s, index {size / 2**20:.0f} MiB, peak RSS {peak / 2**20:.0f} MiB "
          f"(RSS before the build {before / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
