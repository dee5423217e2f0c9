"""Publish a release to a target: a folder (`file://` or a path) or an object
store (`s3://bucket/prefix`, through pyarrow.fs).

Order of work, so that a reader never sees half a release:
1. refuse when the target already holds a *different* release under the
   same version; do nothing when it holds this one (and it verifies);
2. upload the data files, then the manifest (on a folder target into a
   staging folder renamed into place);
3. read every file back and check its sha256 against the manifest;
4. write the target's `catalog.json` last.

S3 endpoint and credentials come from the environment only
(`AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3`, `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_REGION`) and are never written or logged.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from pressroom.faults import checkpoint
from pressroom.release import (
    CATALOG, MANIFEST, catalog_entry, parse_version, read_manifest, release_files, verify_release,
)


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class Target:
    fs: pafs.FileSystem
    base: str  # path inside `fs`, no trailing slash
    uri: str  # as the user gave it (no credentials in it)
    atomic_rename: bool

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])


def open_target(uri: str) -> Target:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme else uri).resolve()
        return Target(pafs.LocalFileSystem(), str(path), uri, True)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise PublishError(f"no bucket in {uri!r} (expected s3://bucket/prefix)")
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        options: dict = {"region": os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))}
        if endpoint:
            endpoint_url = urlparse(endpoint)
            options.update(endpoint_override=endpoint_url.netloc or endpoint_url.path,
                           scheme=endpoint_url.scheme or "https")
        base = f"{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")
        return Target(pafs.S3FileSystem(**options), base, uri, False)
    raise PublishError(f"unsupported target {uri!r}: use file://PATH, a folder path or s3://bucket/prefix")


def _read(target: Target, path: str) -> bytes | None:
    try:
        with target.fs.open_input_stream(path) as stream:
            return stream.read()
    except (FileNotFoundError, OSError) as error:
        if isinstance(error, FileNotFoundError) or "does not exist" in str(error).lower() or "not found" in str(error).lower():
            return None
        raise


def _write(target: Target, path: str, data: bytes) -> None:
    with target.fs.open_output_stream(path) as stream:
        stream.write(data)


def _verify_at_target(target: Target, folder: str, release_dir: Path) -> list[str]:
    problems = []
    for file in release_files(read_manifest(release_dir)):
        data = _read(target, f"{folder}/{file['path']}")
        if data is None:
            problems.append(f"{file['path']} is missing at the target")
        elif hashlib.sha256(data).hexdigest() != file["sha256"]:
            problems.append(f"{file['path']} differs from its sha256 at the target")
    return problems


@dataclass
class PublishResult:
    version: str
    uri: str
    uploaded: list[str]
    message: str


def publish(release_dir: Path, uri: str) -> PublishResult:
    release_dir = Path(release_dir)
    if not (release_dir / MANIFEST).is_file():
        raise PublishError(f"no release at {release_dir}")
    problems = verify_release(release_dir)
    if problems:
        raise PublishError(f"release {release_dir.name} is damaged, not publishing: " + "; ".join(problems))
    manifest = read_manifest(release_dir)
    version = manifest["version"]
    if parse_version(str(version)) is None:  # a version is also a path at the target: no '..', no '/'
        raise PublishError(f"release at {release_dir} has an invalid version {version!r}")
    local_manifest = (release_dir / MANIFEST).read_bytes()
    target = open_target(uri)
    target.fs.create_dir(target.base, recursive=True)

    with _publish_lock(target):
        return _publish(release_dir, target, uri, version, manifest, local_manifest)


@contextlib.contextmanager
def _publish_lock(target: Target):
    """One publish at a time into a folder target (a second fails at once);
    staging left by an interrupted publish is removed under the lock.  An
    object store has no lock: there the catalog, written last, is what
    readers trust."""
    if not target.atomic_rename:
        yield
        return
    lock_path = Path(target.base) / ".publish.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishError(f"another publish is writing to {target.uri}; wait for it to finish") from None
        for stale in Path(target.base).glob(".staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _publish(release_dir: Path, target: Target, uri: str, version: str, manifest: dict,
             local_manifest: bytes) -> PublishResult:
    existing = _read(target, target.path(version, MANIFEST))
    if existing is not None:
        if existing != local_manifest:
            theirs = json.loads(existing).get("build_fingerprint", "?")
            raise PublishError(
                f"{uri} already holds a different release {version} (build {theirs[:12]}); "
                "a published version is never replaced"
            )
        problems = _verify_at_target(target, target.path(version), release_dir)
        if problems:
            raise PublishError(f"{uri} holds release {version} but it does not verify: " + "; ".join(problems))
        _update_catalog(target, version, manifest, local_manifest)
        return PublishResult(version, uri, [], f"release {version} is already published at {uri}")

    folder = target.path(f".staging-{version}-{os.getpid()}") if target.atomic_rename else target.path(version)
    files = sorted(p.name for p in release_dir.iterdir()
                   if p.is_file() and not p.is_symlink() and p.name != MANIFEST)
    target.fs.create_dir(folder, recursive=True)
    for n, name in enumerate(files + [MANIFEST]):  # the manifest last: it marks the upload complete
        if n == len(files) // 2:
            checkpoint("mid-upload")
        _write(target, f"{folder}/{name}", (release_dir / name).read_bytes())
    problems = _verify_at_target(target, folder, release_dir)
    if _read(target, f"{folder}/{MANIFEST}") != local_manifest:
        problems.append(f"{MANIFEST} differs at the target")
    if problems:
        raise PublishError(f"upload of {version} to {uri} did not verify: " + "; ".join(problems))
    if target.atomic_rename:
        target.fs.move(folder, target.path(version))
    _update_catalog(target, version, manifest, local_manifest)
    return PublishResult(version, uri, files + [MANIFEST], f"release {version} published to {uri} ({len(files) + 1} files verified)")


def _update_catalog(target: Target, version: str, manifest: dict, manifest_bytes: bytes) -> None:
    raw = _read(target, target.path(CATALOG))
    catalog = json.loads(raw) if raw else {"latest": None, "releases": []}
    entries = {e["version"]: e for e in catalog["releases"]}
    entries[version] = catalog_entry(version, manifest, hashlib.sha256(manifest_bytes).hexdigest())
    ordered = sorted(entries.values(), key=lambda e: tuple(map(int, e["version"].split("."))))
    catalog = {"latest": ordered[-1]["version"], "releases": ordered}
    data = (json.dumps(catalog, indent=2, sort_keys=True) + "\n").encode()
    if target.atomic_rename:
        temporary = target.path(f".{CATALOG}.{os.getpid()}.tmp")
        _write(target, temporary, data)
        target.fs.move(temporary, target.path(CATALOG))
    else:
        _write(target, target.path(CATALOG), data)

