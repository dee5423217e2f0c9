"""Test set-up: a private Prefect home, no analytics, and one seed release
built by the real flow, shared by the tests that only read it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_PREFECT_HOME = tempfile.mkdtemp(prefix="pressroom-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# as the CLI sets it: Prefect's 20 s is short on a busy machine (pressroom.cli imports no Prefect)
from pressroom.cli import EPHEMERAL_STARTUP_SECONDS  # noqa: E402

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_SECONDS)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "raw"
SEED_GOLD = ROOT / "tests" / "gold" / "seeds"


@pytest.fixture(scope="session")
def seed_release(tmp_path_factory) -> Path:
    """The seed corpus built once by the real Prefect flow."""
    from flows.build import build_release

    releases = tmp_path_factory.mktemp("releases")
    summary = build_release(raw_dir=str(RAW), releases_dir=str(releases))
    assert summary["version"] == "1.0.0"
    return releases / "1.0.0"


def first_release(raw: Path, tmp_path_factory, name: str) -> Path:
    """Build the first release of a raw folder with the real flow."""
    from flows.build import build_release

    releases = tmp_path_factory.mktemp(name)
    assert build_release(raw_dir=str(raw), releases_dir=str(releases))["version"] == "1.0.0"
    return releases / "1.0.0"


@pytest.fixture
def raw_copy(tmp_path) -> Path:
    """A writable copy of the seed corpus."""
    target = tmp_path / "raw"
    shutil.copytree(RAW, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
