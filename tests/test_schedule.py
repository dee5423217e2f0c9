"""A real Prefect server on loopback: the deployment registered by
`pressroom serve` (and by prefect.yaml), a triggered run, the release it
made and the artifact it left."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prefect_server(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)

    def healthy():
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    _wait(healthy, 120, "the Prefect server")
    yield api, env
    server.terminate()
    server.wait(timeout=30)
    log.close()


def _client_call(api: str, coroutine_factory):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def run():
        async with get_client() as client:
            return await coroutine_factory(client)

    with temporary_settings(updates={PREFECT_API_URL: api}):
        return asyncio.run(run())


def test_scheduled_deployment_builds_a_release(prefect_server, raw_copy, tmp_path):
    api, env = prefect_server
    releases, target = tmp_path / "releases", tmp_path / "published"
    serve = subprocess.Popen(
        [str(BIN / "pressroom"), "serve", "--cron", "0 6 * * *", "--raw", str(raw_copy), "--releases", str(releases),
         "--publish-to", f"file://{target}", "--gold", str(ROOT / "tests" / "gold" / "seeds")],
        env=env, cwd=ROOT, stdout=open(tmp_path / "serve.log", "w"), stderr=subprocess.STDOUT,
    )
    try:
        name = "pressroom-build/pressroom-scheduled"
        deployment = _wait(lambda: _try(lambda: _client_call(api, lambda c: c.read_deployment_by_name(name))),
                           90, "the deployment")
        assert [s.schedule.cron for s in deployment.schedules] == ["0 6 * * *"]
        assert deployment.global_concurrency_limit.limit == 1  # never two builds at once

        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api}):
            run = run_deployment(name, timeout=240, poll_interval=2)
        assert run.state.is_completed(), run.state
        assert (releases / "1.0.0" / "manifest.json").is_file()
        assert (target / "1.0.0" / "manifest.json").is_file() and (target / "catalog.json").is_file()

        artifacts = _client_call(api, lambda c: c.read_artifacts())
        summary = next(a for a in artifacts if a.key == "pressroom-release")
        assert "pressroom release 1.0.0" in summary.data
        assert "| turns_found | 13/13 |" in summary.data
        assert "| turns | 13 |" in summary.data
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def _try(call):
    try:
        return call()
    except Exception:
        return None


def test_prefect_yaml_registers_the_daily_deployment(prefect_server, tmp_path):
    api, env = prefect_server
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", "releases", ".git", "tests", "__pycache__"))
    subprocess.run([str(BIN / "prefect"), "work-pool", "create", "pressroom-pool", "--type", "process"],
                   env=env, cwd=project, check=True, capture_output=True, timeout=120)
    deploy = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
                            env={**env, "PRESSROOM_HOME": str(project)}, cwd=project,
                            capture_output=True, text=True, timeout=180)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    deployment = _client_call(api, lambda c: c.read_deployment_by_name("pressroom-build/pressroom-daily"))
    assert [s.schedule.cron for s in deployment.schedules] == ["0 6 * * *"]
    assert deployment.work_pool_name == "pressroom-pool"
