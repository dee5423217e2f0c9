"""The shard tasks on Dask: a real `distributed` scheduler and two workers
started here on loopback, reporting to a real Prefect server; and the local
cluster option.  Either way the release has the bytes of a one-process build."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TABLES = ("documents", "segments", "turns", "speakers", "quotes", "rejects")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def cluster(tmp_path):
    """A Prefect server, a Dask scheduler and two single-thread workers, all
    on 127.0.0.1; the workers report to the server (PREFECT_API_URL)."""
    prefect_port, scheduler_port = _free_port(), _free_port()
    api = f"http://127.0.0.1:{prefect_port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
           "DASK_LOGGING__DISTRIBUTED": "warning"}
    processes = []
    log = open(tmp_path / "cluster.log", "w")

    def start(*command):
        processes.append(subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT))

    try:
        start(str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port))
        address = f"tcp://127.0.0.1:{scheduler_port}"
        start(str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(scheduler_port),
              "--no-dashboard")
        for n in range(2):
            start(str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                  "--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{n}")
        _wait(lambda: _healthy(api), 120, "the Prefect server")

        def workers_ready():
            from distributed import Client

            with Client(address, timeout=5) as client:
                return len(client.scheduler_info()["workers"]) == 2

        _wait(workers_ready, 60, "two Dask workers")
        yield address, env
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def _same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes(), name


def test_build_on_a_dask_cluster(cluster, seed_release, tmp_path):
    address, env = cluster
    releases = tmp_path / "releases"
    run = subprocess.run(
        [sys.executable, "-m", "pressroom.cli", "build", "--raw", str(ROOT / "raw"), "--releases", str(releases),
         "--dask-address", address, "--shard-size", "2", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert '"version": "1.0.0"' in run.stdout
    _same_tables(releases / "1.0.0", seed_release)
    # connecting to the cluster is start-up, reported apart from the build's phases
    summary = json.loads(run.stdout[run.stdout.index("{"):run.stdout.rindex("}") + 1])
    assert list(summary["startup"]) == ["dask workers"] and summary["startup"]["dask workers"] >= 0
    assert list(summary["timings"])[0] == "scan"
    # the shard tasks ran on the cluster's workers and reported to the server
    from prefect.client.orchestration import get_client

    async def task_names():
        async with get_client() as client:
            runs = await client.read_task_runs()
            return {r.name.rsplit("-", 1)[0] for r in runs if r.state and r.state.is_completed()}

    import asyncio

    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
        names = asyncio.run(task_names())
    assert {"prepare-shard", "clean-shard", "quote-index", "corpus-pass", "assemble-shard", "link-quotes"} <= names
    # an existing cluster's workers are not the build's to stop
    from distributed import Client

    with Client(address, timeout=5) as client:
        assert len(client.scheduler_info()["workers"]) == 2


def test_build_on_a_local_cluster(seed_release, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    releases = tmp_path / "releases"
    run = subprocess.run(
        [sys.executable, "-m", "pressroom.cli", "build", "--raw", str(ROOT / "raw"), "--releases", str(releases),
         "--local-cluster", "2", "--shard-size", "2", "--quiet"],
        capture_output=True, text=True, env={**env, "PREFECT_LOGGING_LEVEL": "WARNING"}, cwd=ROOT, timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    _same_tables(releases / "1.0.0", seed_release)


_WORKERS_AT_WRITE = """
import json, sys
from flows import build

seen = []
write = build.release.write_release

def spy(*args, **kwargs):
    seen.append(len(build._dask_runner().client.scheduler_info()["workers"]))
    return write(*args, **kwargs)

build.release.write_release = spy
summary = build.run_build(local_cluster=2, raw_dir=sys.argv[1], releases_dir=sys.argv[2], batch_size=2)
print(json.dumps({"version": summary["version"], "workers at write": seen}))
"""


def test_a_local_clusters_workers_stop_before_the_write(seed_release, tmp_path):
    """The local cluster's workers have no task after the link and assemble passes:
    they are stopped before the write phase, where the flow's process
    peaks (each held 0.47 GB at 1 GB of input)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    releases = tmp_path / "releases"
    run = subprocess.run([sys.executable, "-c", _WORKERS_AT_WRITE, str(ROOT / "raw"), str(releases)],
                         capture_output=True, text=True, env={**env, "PREFECT_LOGGING_LEVEL": "WARNING"}, cwd=ROOT,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {"version": "1.0.0", "workers at write": [0]}
    _same_tables(releases / "1.0.0", seed_release)


def test_local_cluster_workers_keep_glibc_malloc_thresholds():
    """Dask's MALLOC_TRIM_THRESHOLD_ turns off glibc's dynamic mmap threshold
    (every large block mapped and faulted in again): a local cluster's
    workers start without it, and with Dask's other variables."""
    import dask
    from distributed import Client, LocalCluster

    from flows.build import task_runner

    original = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    assert original.get("MALLOC_TRIM_THRESHOLD_") is not None  # what Dask does by default
    with dask.config.set({"distributed.nanny.pre-spawn-environ": original}):  # restored on exit
        assert task_runner(dask_address="tcp://127.0.0.1:1") is not None
        assert "MALLOC_TRIM_THRESHOLD_" in dask.config.get("distributed.nanny.pre-spawn-environ")
        assert task_runner(local_cluster=1) is not None
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
                Client(local) as client:
            environ = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
    assert [{"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}] == list(environ.values())
    assert dask.config.get("distributed.nanny.pre-spawn-environ") == original


def _messages_logged(payload: bytes) -> int:
    """Messages the client's and the scheduler's batched streams keep in
    their logs after a few tasks with `payload` as argument ran."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            Client(local) as client:
        assert client.gather([client.submit(len, payload + bytes([n])) for n in range(5)]) == [len(payload) + 1] * 5
        streams = [client.scheduler_comm, *local.scheduler.stream_comms.values()]
        return sum(len(stream.recent_message_log) for stream in streams)


def test_the_flow_keeps_no_log_of_the_task_arguments_it_sends():
    """Dask's batched streams keep their last 1,000 messages for debugging
    (every shard batch, ~60 MiB in the flow's process at 200 MB of input);
    the build's task runner turns that log off."""
    import dask

    from flows.build import task_runner

    with dask.config.set({"distributed.admin.low-level-log-length": 1000}):  # Dask's default, restored on exit
        assert _messages_logged(b"x" * 100_000) >= 5
        assert task_runner(local_cluster=1) is not None
        assert dask.config.get("distributed.admin.low-level-log-length") == 0
        assert _messages_logged(b"x" * 100_000) == 0


_PRIORITIES = """
import json, time
from prefect import flow, task
from flows import build


@task
def gate(batch: bytes) -> float:
    time.sleep(3)  # the worker's one thread is taken while the others are submitted
    return time.monotonic()


@task
def started(batch: bytes) -> float:
    return time.monotonic()


@flow
def submitted():
    first = build._submit(gate, [{"n": [0]}])
    low = build._submit(started, [{"n": [n]} for n in range(8)])
    high = build._submit(started, [{"n": [9]}], priority=1)
    return build._results(first, advance=False), build._results(low, advance=False), build._results(high, advance=False)


with build.prefect_api_for_workers():
    (gated,), low, (high,) = submitted.with_options(task_runner=build.task_runner(local_cluster=1))()
print(json.dumps({"low": low, "high": high, "gate": gated}))
"""


def test_on_dask_a_task_submitted_with_priority_runs_before_those_waiting():
    """The link tasks are submitted after the assembly's, once the quote
    index is made, with a higher priority: the one worker, busy when they
    were submitted, takes the later task of priority 1 before the earlier
    ones still waiting.  Two of those had been sent to it already (so it
    ran them first, every time); without the priority all eight ran first."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    run = subprocess.run([sys.executable, "-c", _PRIORITIES], capture_output=True, text=True,
                         env={**env, "PREFECT_LOGGING_LEVEL": "WARNING"}, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    times = json.loads(run.stdout.strip().splitlines()[-1])
    assert all(t >= times["gate"] for t in times["low"]) and times["high"] >= times["gate"]
    assert sum(t < times["high"] for t in times["low"]) <= 2, times
