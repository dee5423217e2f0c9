"""CPU one Prefect task run costs on a local Dask cluster, by process.

    PREFECT_HOME=/tmp/ph-bench .venv/bin/python bench/task_overhead.py [--tasks 100] [--workers 1]

Runs `--tasks` no-op tasks (each takes one bytes argument, as the shard
tasks do) through the build's task runner (`flows.build.task_runner`, a
local cluster of single-thread workers, reporting to a temporary Prefect
server) and prints, per task run, the wall time and the CPU milliseconds
of the flow's process (Prefect's submission, Dask's client and
scheduler), of the workers and of the Prefect server.  A few task runs
first start the workers and warm the server up; they are not counted.
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from benchmark import process_role  # noqa: E402
from flows.build import packed, prefect_api_for_workers, task_runner  # noqa: E402

WARM_UP = 4


@task(name="no-op", cache_policy=NO_CACHE)
def no_op(batch: bytes) -> int:
    return len(batch)


def _cpu(processes) -> float:
    total = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


@flow(name="task-overhead")
def measure(tasks: int) -> dict[str, float]:
    me = psutil.Process()
    no_op.map(batch=[packed({"items": list(range(1000)), "n": n}) for n in range(WARM_UP)]).result()
    children = me.children(recursive=True)  # the workers exist once the first tasks ran
    roles = {"flow": [me], "workers": [p for p in children if process_role(p) == "workers"],
             "server": [p for p in children if process_role(p) == "prefect server"]}
    before = {role: _cpu(processes) for role, processes in roles.items()}
    started = time.perf_counter()
    for future in no_op.map(batch=[packed({"items": list(range(1000)), "n": n}) for n in range(tasks)]):
        future.result()
    per_task = {"wall": (time.perf_counter() - started) / tasks * 1000}
    per_task.update({role: (_cpu(processes) - before[role]) / tasks * 1000 for role, processes in roles.items()})
    return per_task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    runner = task_runner(local_cluster=args.workers)
    with prefect_api_for_workers():
        per_task = measure.with_options(task_runner=runner)(args.tasks)
    print(f"{args.tasks} task runs, {args.workers} worker(s); per task run (ms): "
          + ", ".join(f"{role} {value:.0f}" + (" CPU" if role != "wall" else "") for role, value in per_task.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
