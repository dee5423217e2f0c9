"""End-to-end throughput of `pressroom build` on a generated corpus.

    .venv/bin/python bench/benchmark.py --mb 200 [--workers 1 2] [--work /tmp/pressroom-bench]

Prints, for each number of workers (a local Dask cluster of single-thread
worker processes, `--local-cluster N`; 0 is no cluster: the flow's own
thread pool, as `make release` builds, in one process on one core):

* MB/s per core end to end: input megabytes / (build seconds x workers),
  (0 workers: one core), where build seconds run from the flow's start to the release on disk;
  Prefect's start-up (its temporary API server, the cluster) is measured
  apart and reported beside it;
* the seconds of each phase (scan, prepare, clean, corpus, assemble, write);
* peak RSS of the whole process tree (driver, workers, Prefect server),
  sampled every 0.2 s, and peak PSS (shared pages counted once; every 2 s);

then the speed-up of N workers over one, and an incremental rebuild after
`--changed` (default 1%) of the documents were edited, against the
full build with the same workers (with `--articles`, also after as many
articles, no transcript, were edited), and whether its tables are
byte-identical to a full build of the edited corpus (`--check-identical`,
one more full build each).  The edited corpus is a folder of hard links to
the corpus's files in which the edited files are replaced, as in a folder
updated in place: the rebuild's scan reads only the files whose stat
changed (`sources.ScanMemo`).  `--no-rebuild` stops after the full builds.
`--repeat N` builds each worker count N times, the order reversed every
round, and compares the median builds: the same build on this machine
took 327 s and 444 s twenty minutes apart (session 20).  Not a test: it takes minutes, and the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate, mutate  # noqa: E402

from pressroom.sources import ScanMemo  # noqa: E402

TABLES = ("documents", "segments", "turns", "speakers", "quotes", "rejects")


def process_role(p: psutil.Process) -> str:
    """What a process of a build's tree is, by its command line: the Prefect
    server, a Dask worker, or other."""
    command = " ".join(p.cmdline())
    return "prefect server" if "uvicorn" in command else "workers" if "spawn_main" in command else "other"


class PeakRSS:
    """Peak of the summed RSS of a process and all its descendants, and of
    their summed PSS (proportional set size: a page mapped by two processes,
    such as the quote index the workers map, counts half in each, so the
    sum is the memory the tree really holds; RSS counts it twice).  PSS is
    sampled every `pss_every` samples only: the kernel walks a process's
    page tables to add it up, which on a 2-core machine takes CPU from the
    build (measured: ~16% of a core when sampled as often as RSS).

    It also keeps the last CPU time (user + system) seen of each process,
    by role (`cpu_by_role`): where the cores went besides the workers; and,
    sample by sample, the workers' CPU time, from which `workers_busy`
    says for how long how many of them ran."""

    def __init__(self, pid: int, every: float = 0.2, pss_every: int = 10):
        self.process, self.every, self.peak, self.peak_pss = psutil.Process(pid), every, 0, 0
        self.pss_every, self.samples = pss_every, 0
        self.cpu: dict[int, tuple[str, float]] = {}
        self.worker_cpu: list[tuple[float, float]] = []  # (time, the workers' CPU seconds so far)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                tree = [self.process] + self.process.children(recursive=True)
                total = proportional = 0
                with_pss = self.samples % self.pss_every == 0
                self.samples += 1
                for p in tree:
                    try:
                        if with_pss:
                            memory = p.memory_full_info()
                            proportional += memory.pss
                        else:
                            memory = p.memory_info()
                        total += memory.rss
                        times = p.cpu_times()
                        role = self.cpu[p.pid][0] if p.pid in self.cpu else self._role(p)
                        self.cpu[p.pid] = (role, times.user + times.system)
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
                self.peak_pss = max(self.peak_pss, proportional)
                self.worker_cpu.append((time.perf_counter(), self.cpu_by_role().get("workers", 0.0)))
            except psutil.Error:
                pass
            self.done.wait(self.every)

    def _role(self, p: psutil.Process) -> str:
        return "flow" if p.pid == self.process.pid else process_role(p)

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds by role (flow process, workers, Prefect server), as last sampled."""
        roles: dict[str, float] = {}
        for role, seconds in self.cpu.values():
            roles[role] = roles.get(role, 0.0) + seconds
        return roles

    def workers_busy(self, workers: int) -> dict[int, float]:
        """Seconds during which 0, 1, ... `workers` cores ran worker code
        (the workers' CPU time between two samples over the time between
        them, rounded): with two workers, the seconds at 1 are those when
        one waited, for the flow's own passes or the last task of a pass."""
        busy = dict.fromkeys(range(workers + 1), 0.0)
        for (t0, c0), (t1, c1) in zip(self.worker_cpu, self.worker_cpu[1:]):
            if t1 > t0:  # (a worker gone keeps its last CPU time in `cpu`)
                busy[min(workers, max(0, round((c1 - c0) / (t1 - t0))))] += t1 - t0
        return busy

    def stop(self) -> tuple[int, int]:
        self.done.set()
        self.thread.join()
        return self.peak, self.peak_pss


def build(raw: Path, releases: Path, workers: int, cache: bool = True, shard_size: int | None = None) -> dict:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    command = [str(ROOT / ".venv" / "bin" / "pressroom"), "build", "--raw", str(raw), "--releases", str(releases),
               "--json"] + (["--local-cluster", str(workers)] if workers else []) \
        + (["--shard-size", str(shard_size)] if shard_size else [])
    if not cache:
        command.append("--no-cache")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = PeakRSS(process.pid)
    out, err = process.communicate()
    wall = time.perf_counter() - started
    peak, peak_pss = sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"build failed ({process.returncode}):\n{err[-4000:]}")
    summary = json.loads(out)
    build_seconds = sum(summary.get("timings", {}).values())
    return {"wall": wall, "build": build_seconds, "startup": wall - build_seconds, "peak_rss": peak, "peak_pss": peak_pss,
            "cpu": sampler.cpu_by_role(), "workers_busy": sampler.workers_busy(workers),
            "timings": summary.get("timings"), "work": summary.get("work"), "version": summary.get("version"),
            "path": summary.get("path")}


def rounds(workers: list[int], repeat: int) -> list[int]:
    """The worker counts to build, in order: `workers`, then reversed, and
    so on, `repeat` times (a drift of the machine's speed then falls on
    both sides)."""
    order: list[int] = []
    for round_ in range(repeat):
        order += workers if round_ % 2 == 0 else workers[::-1]
    return order


def median_run(runs: list[dict]) -> dict:
    """The run of median build time (the lower of the middle two)."""
    return sorted(runs, key=lambda r: r["build"])[(len(runs) - 1) // 2]


def _label(workers: int) -> str:
    return f"{workers} worker(s)" if workers else "no cluster (one process)"


def megabytes(raw: Path) -> float:
    return sum(p.stat().st_size for p in raw.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=200.0, help="size of the generated corpus")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="local Dask workers of each full build; 0: no cluster (the flow's thread pool)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="build each worker count this many times, the order reversed every round "
                             "(1 2, 2 1, ...), and compare the medians: this machine's speed moves by "
                             "10-35%% within an hour")
    parser.add_argument("--changed", type=float, default=0.01, help="share of documents edited for the rebuild")
    parser.add_argument("--shard-size", type=int, help="documents per shard (default: the build's automatic size)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pressroom-bench"))
    parser.add_argument("--articles", action="store_true",
                        help="also time a rebuild after the same share of documents, all articles, were edited "
                             "(the quote index is then reused)")
    parser.add_argument("--no-rebuild", action="store_true",
                        help="only the full builds (for the memory of a large corpus)")
    parser.add_argument("--open-vocabulary", action="store_true",
                        help="generate the corpus with an open vocabulary (generate.RARE_SHARE): one that keeps "
                             "growing with its size, as real text's does")
    parser.add_argument("--check-identical", action="store_true",
                        help="also build the edited corpus from scratch and compare the bytes")
    args = parser.parse_args(argv)

    vocabulary = "-open" if args.open_vocabulary else ""
    raw = args.work / f"raw-{args.mb:g}mb-seed{args.seed}{vocabulary}"
    if not raw.is_dir():
        started = time.perf_counter()
        counts = generate(raw, args.mb, args.seed, open_vocabulary=args.open_vocabulary)
        print(f"generated {counts['documents']} documents, {counts['bytes'] / 1e6:.1f} MB in "
              f"{time.perf_counter() - started:.0f} s: {raw}")
    size = megabytes(raw)
    print(f"corpus: {raw} ({size:.1f} MB, {sum(1 for _ in raw.rglob('*.txt'))} documents); "
          f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")

    # The corpora to edit for the rebuilds: hard links to the corpus's files, made before the
    # full builds (a new link changes a file's ctime), so that a rebuild finds the files it did
    # not edit as the full build's scan saw them, as in a corpus folder updated in place; the
    # edits replace files (`mutate`).  A plain copy would be every file new to the scan.
    runs = [] if args.no_rebuild else [("", None)] + ([("articles-", "articles")] if args.articles else [])
    edited_roots = {prefix: args.work / f"edited-{prefix}{args.mb:g}mb{vocabulary}" for prefix, _ in runs}
    for folder in edited_roots.values():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(raw, folder, copy_function=os.link)
    if runs:
        time.sleep(ScanMemo.RACY_NS / 1e9)  # the links are older than the scan's racy window

    runs_by_workers: dict[int, list[dict]] = {workers: [] for workers in args.workers}
    for workers in rounds(args.workers, args.repeat):
        releases = args.work / f"releases-{workers}w"
        shutil.rmtree(releases, ignore_errors=True)
        result = build(raw, releases, workers, shard_size=args.shard_size)
        runs_by_workers[workers].append(result)
        per_core = size / result["build"] / max(workers, 1)
        print(f"\n{_label(workers)}: {result['build']:.1f} s build + {result['startup']:.1f} s Prefect/cluster "
              f"start-up; {size / result['build']:.2f} MB/s, {per_core:.2f} MB/s per core; "
              f"peak RSS {result['peak_rss'] / 2**30:.2f} GiB (PSS {result['peak_pss'] / 2**30:.2f} GiB)")
        print("  phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result["timings"].items()))
        print("  CPU seconds, start-up included: " + ", ".join(f"{k} {v:.1f}" for k, v in result["cpu"].items()))
        if workers:
            print("  seconds with 0, 1, ... workers running, start-up included: "
                  + ", ".join(f"{n}: {s:.1f}" for n, s in result["workers_busy"].items()))
    full = {workers: median_run(runs) for workers, runs in runs_by_workers.items()}
    if args.repeat > 1:
        for workers, runs in runs_by_workers.items():
            print(f"\n{_label(workers)}, {len(runs)} builds: "
                  + ", ".join(f"{r['build']:.1f}" for r in runs) + f" s; median {full[workers]['build']:.1f} s")
    if 1 in full and max(full) > 1:
        best = max(full)
        what = "medians" if args.repeat > 1 else "one build each"
        print(f"\nspeed-up of {best} workers over 1 ({what}): {full[1]['build'] / full[best]['build']:.2f}x")

    workers = max(full)
    articles = {row["source_path"] for row in pq.read_table(
        Path(full[workers]["path"]) / "documents.parquet", columns=["source_path", "doc_type"]).to_pylist()
        if row["doc_type"] != "transcript"}
    for prefix, which in runs:
        eligible = articles if which == "articles" else None
        edited = edited_roots[prefix]
        releases = args.work / f"releases-{prefix}incremental"
        shutil.rmtree(releases, ignore_errors=True)
        shutil.copytree(args.work / f"releases-{workers}w", releases)
        changed = mutate(edited, args.changed, args.seed, eligible, open_vocabulary=args.open_vocabulary)
        result = build(edited, releases, workers, shard_size=args.shard_size)
        share = result["build"] / full[workers]["build"]
        which = "documents" if eligible is None else "articles (no transcript)"
        print(f"\nincremental rebuild after {len(changed)} {which} ({args.changed:.0%} of the documents) edited, "
              f"{_label(workers)}: {result['build']:.1f} s = {share:.1%} of the full build "
              f"(+{result['startup']:.1f} s start-up); peak RSS {result['peak_rss'] / 2**30:.2f} GiB "
              f"(PSS {result['peak_pss'] / 2**30:.2f} GiB)")
        print("  phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result["timings"].items()))
        print("  work: " + json.dumps(result["work"]))
        if args.check_identical:
            scratch = args.work / f"releases-{prefix}scratch"
            shutil.rmtree(scratch, ignore_errors=True)
            again = build(edited, scratch, workers, cache=False, shard_size=args.shard_size)
            same = all((Path(result["path"]) / f"{t}.parquet").read_bytes()
                       == (Path(again["path"]) / f"{t}.parquet").read_bytes() for t in TABLES)
            print(f"  identical to a full build of the edited corpus: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
