"""Publishing to a folder and to a real S3-compatible server (moto's server
mode on loopback), verified by checksum."""

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time

import pyarrow.fs as pafs
import pytest

from pressroom.publish import PublishError, publish


def test_publish_to_a_folder(seed_release, tmp_path):
    target = tmp_path / "site"
    result = publish(seed_release, f"file://{target}")
    assert result.version == "1.0.0" and "manifest.json" in result.uploaded
    manifest = json.loads((target / "1.0.0" / "manifest.json").read_text())
    for entry in manifest["tables"].values():
        file = entry["files"][0]
        assert hashlib.sha256((target / "1.0.0" / file["path"]).read_bytes()).hexdigest() == file["sha256"]
    catalog = json.loads((target / "catalog.json").read_text())
    assert catalog["latest"] == "1.0.0" and [e["version"] for e in catalog["releases"]] == ["1.0.0"]
    assert not list(target.glob(".staging-*"))

    again = publish(seed_release, str(target))
    assert again.uploaded == [] and "already published" in again.message


def test_a_different_release_under_the_same_version_is_refused(seed_release, tmp_path):
    target = tmp_path / "site"
    publish(seed_release, str(target))
    other = tmp_path / "other" / "1.0.0"
    shutil.copytree(seed_release, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["build_fingerprint"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    before = (target / "1.0.0" / "manifest.json").read_bytes()
    with pytest.raises(PublishError, match="already holds a different release 1.0.0"):
        publish(other, str(target))
    assert (target / "1.0.0" / "manifest.json").read_bytes() == before


def test_a_damaged_release_is_not_published(seed_release, tmp_path):
    damaged = tmp_path / "damaged" / "1.0.0"
    shutil.copytree(seed_release, damaged)
    (damaged / "turns.parquet").write_bytes(b"not parquet")
    with pytest.raises(PublishError, match="damaged"):
        publish(damaged, str(tmp_path / "site"))
    assert not (tmp_path / "site" / "1.0.0").exists()


def test_unsupported_target_is_a_clear_error(seed_release):
    with pytest.raises(PublishError, match="unsupported target"):
        publish(seed_release, "ftp://example.org/x")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server(monkeypatch):
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-value")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    fs = pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1",
                           access_key="testing-key-id", secret_key="testing-secret-value",
                           allow_bucket_creation=True)
    fs.create_dir("datasets")
    yield fs
    process.terminate()
    process.wait(timeout=10)


def test_publish_to_s3(seed_release, s3_server):
    result = publish(seed_release, "s3://datasets/pressroom")
    assert len(result.uploaded) >= 6
    manifest = json.loads((seed_release / "manifest.json").read_text())
    for entry in manifest["tables"].values():
        file = entry["files"][0]
        with s3_server.open_input_stream(f"datasets/pressroom/1.0.0/{file['path']}") as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == file["sha256"]
    with s3_server.open_input_stream("datasets/pressroom/catalog.json") as stream:
        catalog = json.loads(stream.read())
    assert catalog["latest"] == "1.0.0"
    # credentials never land in what was published
    for info in s3_server.get_file_info(pafs.FileSelector("datasets/pressroom", recursive=True)):
        if info.type == pafs.FileType.File:
            with s3_server.open_input_stream(info.path) as stream:
                data = stream.read()
            assert b"testing-secret-value" not in data and b"testing-key-id" not in data
    assert publish(seed_release, "s3://datasets/pressroom").uploaded == []


def test_credentials_never_reach_output_manifests_or_catalogs(seed_release, s3_server, tmp_path):
    releases = tmp_path / "releases"
    import shutil as _shutil

    _shutil.copytree(seed_release, releases / "1.0.0")
    run = subprocess.run([sys.executable, "-m", "pressroom.cli", "publish", "1.0.0", "--to", "s3://datasets/creds",
                          "--releases", str(releases)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    output = run.stdout + run.stderr
    assert "testing-secret-value" not in output and "testing-key-id" not in output
    for path in (releases / "1.0.0").iterdir():
        assert b"testing-secret-value" not in path.read_bytes()
    with s3_server.open_input_stream("datasets/creds/catalog.json") as stream:
        assert b"testing-secret-value" not in stream.read()
