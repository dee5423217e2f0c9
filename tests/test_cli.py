"""The release commands at the terminal: releases, show, diff, publish, export."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pressroom.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_releases(seed_release, tmp_path):
    """1.0.0 (the seed release) and a 1.1.0 made by adding a document."""
    from flows.build import build_release

    releases = tmp_path / "releases"
    shutil.copytree(seed_release, releases / "1.0.0")
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "raw", raw)
    (raw / "extra.txt").write_text("A short extra article about the talks, reported on Friday by our desk.")
    assert build_release(str(raw), str(releases))["version"] == "1.1.0"
    return releases


def test_releases_show_diff(two_releases, capsys):
    assert main(["releases", "--releases", str(two_releases)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("1.0.0") and listing[1].startswith("1.1.0") and listing[1].endswith("(latest)")

    assert main(["show", "1.1.0", "--releases", str(two_releases)]) == 0
    shown = capsys.readouterr().out
    assert "## 1.1.0 (minor release against 1.0.0)" in shown and "`extra`" in shown

    assert main(["diff", "1.0.0", "1.1.0", "--releases", str(two_releases), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["documents_added"] == ["extra"] and diff["rows"]["documents"] == {"before": 5, "after": 6, "delta": 1}


def test_unknown_version_is_one_line_with_a_hint(two_releases, capsys):
    assert main(["show", "9.9.9", "--releases", str(two_releases)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"pressroom: no release 9.9.9 in {two_releases} (releases: 1.0.0, 1.1.0)"


def test_publish_and_export_commands(two_releases, tmp_path, capsys):
    target = tmp_path / "pub"
    assert main(["publish", "1.1.0", "--to", f"file://{target}", "--releases", str(two_releases)]) == 0
    assert "published" in capsys.readouterr().out
    assert main(["publish", "1.1.0", "--to", "ftp://x/y", "--releases", str(two_releases)]) == 2
    assert capsys.readouterr().err.startswith("pressroom: unsupported target")
    out = tmp_path / "ck"
    assert main(["export", "convokit", "1.1.0", "--out", str(out), "--releases", str(two_releases)]) == 0
    assert (out / "utterances.jsonl").is_file()


def test_help_shows_examples():
    run = subprocess.run([sys.executable, "-m", "pressroom.cli", "publish", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0 and "example: pressroom publish" in run.stdout


def test_serve_without_a_server_explains_what_to_do(monkeypatch, capsys):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve"]) == 2
    assert "prefect server start" in capsys.readouterr().err


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "pressroom.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_every_command_help_has_an_example():
    commands = ["build", "releases", "show", "diff", "publish", "export", "serve", "score", "validate",
                "report", "inspect"]
    for command in commands:
        run = _cli(command, "--help")
        assert run.returncode == 0 and "example: pressroom" in run.stdout, command
    assert "exit codes:" in _cli("--help").stdout


def test_quiet_and_json_builds(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "raw", raw)
    quiet = _cli("build", "--raw", str(raw), "--releases", str(tmp_path / "r"), "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and "Traceback" not in quiet.stderr
    assert (tmp_path / "r" / "1.0.0" / "manifest.json").is_file()
    (raw / "more.txt").write_text("Another article about the summit, with enough words to be an article.")
    as_json = _cli("build", "--raw", str(raw), "--releases", str(tmp_path / "r"), "--json")
    summary = json.loads(as_json.stdout)
    assert summary["version"] == "1.1.0" and summary["rows"]["documents"] == 6


@pytest.mark.parametrize(
    "args, message",
    [
        (["validate", "9.9.9", "--releases", "nowhere"], "pressroom: no release 9.9.9 in nowhere"),
        (["report", "--releases", "nowhere"], "pressroom: no releases in nowhere (hint: run pressroom build)"),
        (["releases", "--releases", "nowhere"], "pressroom: no releases folder nowhere (hint: run pressroom build)"),
        (["score", "--gold", "nowhere"], "pressroom: gold folder not found: nowhere (hint: pass --gold DIR)"),
    ],
)
def test_user_errors_are_one_readable_line(args, message, tmp_path):
    run = _cli(*args, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().startswith(message) and len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_progress_bar_at_a_terminal(tmp_path):
    """At a terminal (a pty here) a build shows documents per second; --quiet shows nothing."""
    import pty

    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "tests" / "corpus" / "sites" / "raw", raw)
    output = bytearray()

    def read(fd):
        data = os.read(fd, 4096)
        output.extend(data)
        return data

    env_cmd = [sys.executable, "-m", "pressroom.cli", "build", "--raw", str(raw), "--releases", str(tmp_path / "r")]
    status = pty.spawn(env_cmd, read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"docs/s" in output
