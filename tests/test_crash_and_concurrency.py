"""kill -9 at the worst moments, and two builds or publishes at once: the
previous release and the catalog stay intact and valid, the next run cleans
up and succeeds, and nobody ever sees a half release."""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pressroom.publish import PublishError, publish
from pressroom.release import LOCK, list_releases, verify_release

ROOT = Path(__file__).resolve().parent.parent


def _run(args, crash_at=None, cwd=ROOT, timeout=300):
    env = {**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PRESSROOM_CRASH_AT", None)
    if crash_at:
        env["PRESSROOM_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "pressroom.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


@pytest.fixture
def published_once(seed_release, tmp_path):
    """A releases folder holding 1.0.0, and a raw folder with one more document."""
    releases = tmp_path / "releases"
    shutil.copytree(seed_release, releases / "1.0.0")
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "raw", raw)
    (raw / "new.txt").write_text("A new article about the talks, reported on Friday by our correspondent in Moscow.")
    return releases, raw


def _intact(releases: Path) -> None:
    assert list_releases(releases) == ["1.0.0"]
    assert verify_release(releases / "1.0.0") == []
    assert not (releases / "1.1.0").exists()


@pytest.mark.parametrize("point", ["processing", "writing-tables", "before-rename"])
def test_kill_9_during_a_build(published_once, point):
    releases, raw = published_once
    run = _run(["build", "--raw", str(raw), "--releases", str(releases)], crash_at=point)
    assert run.returncode == -signal.SIGKILL, run.stdout + run.stderr
    _intact(releases)
    again = _run(["build", "--raw", str(raw), "--releases", str(releases)])
    assert again.returncode == 0, again.stdout + again.stderr
    assert list_releases(releases) == ["1.0.0", "1.1.0"]
    assert not list(releases.glob(".staging-*"))
    assert verify_release(releases / "1.1.0") == []
    catalog = json.loads((releases / "catalog.json").read_text())
    assert [e["version"] for e in catalog["releases"]] == ["1.0.0", "1.1.0"]


def test_kill_9_during_a_publish(seed_release, tmp_path):
    releases = tmp_path / "releases"
    shutil.copytree(seed_release, releases / "1.0.0")
    target = tmp_path / "site"
    run = _run(["publish", "1.0.0", "--to", str(target), "--releases", str(releases)], crash_at="mid-upload")
    assert run.returncode == -signal.SIGKILL
    assert not (target / "1.0.0").exists() and not (target / "catalog.json").exists()  # nothing half-visible
    again = _run(["publish", "1.0.0", "--to", str(target), "--releases", str(releases)])
    assert again.returncode == 0, again.stderr
    assert not list(target.glob(".staging-*"))
    catalog = json.loads((target / "catalog.json").read_text())
    assert catalog["latest"] == "1.0.0"


def test_two_builds_at_once_the_second_fails_clearly(published_once):
    releases, raw = published_once
    with open(releases / LOCK, "a+") as held:  # a build in progress holds this lock
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = _run(["build", "--raw", str(raw), "--releases", str(releases)])
    assert run.returncode == 3
    assert "another build is writing to" in run.stderr and "Traceback" not in run.stderr
    _intact(releases)


def test_two_publishes_at_once_the_second_fails_clearly(seed_release, tmp_path):
    target = tmp_path / "site"
    target.mkdir()
    with open(target / ".publish.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(PublishError, match="another publish is writing"):
            publish(seed_release, str(target))
    assert not (target / "1.0.0").exists()


def test_publish_refuses_a_version_that_would_escape_the_target(seed_release, tmp_path):
    forged = tmp_path / "forged" / "1.0.0"
    shutil.copytree(seed_release, forged)
    manifest = json.loads((forged / "manifest.json").read_text())
    manifest["version"] = "../../escaped"
    (forged / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError):
        publish(forged, str(tmp_path / "site"))
    assert not (tmp_path / "escaped").exists()
