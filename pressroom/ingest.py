"""Ingest: read every file under the raw root, fingerprint it, decode it.

A file that cannot be read as UTF-8 text is not an error of the build: it
becomes a `Reject` with its reason, and the build goes on with the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TEXT_SUFFIX = ".txt"


@dataclass(frozen=True)
class RawDocument:
    doc_id: str
    source_path: str  # relative to the raw root, POSIX separators
    source_sha256: str
    text: str


@dataclass(frozen=True)
class Reject:
    doc_id: str
    source_path: str
    source_sha256: str | None
    reason: str


def doc_id_for(relative_path: str) -> str:
    """A stable id from the path relative to the raw root.

    The `.txt` suffix is dropped ("000_cb61.txt" -> "000_cb61"); other
    suffixes stay so that "a.md" and "a.txt" never share an id.  ':' is the
    separator of turn ids, so it is escaped.
    """
    path = PurePosixPath(relative_path)
    stem = str(path.with_suffix("")) if path.suffix == TEXT_SUFFIX else str(path)
    return stem.replace("%", "%25").replace(":", "%3A")


def discover(raw_root: Path) -> list[Path]:
    """Every regular file under the root, hidden files and folders excepted,
    in a stable order."""
    files = []
    for path in raw_root.rglob("*"):
        relative = path.relative_to(raw_root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(raw_root).as_posix())


def decode(data: bytes) -> tuple[str | None, str | None]:
    """(text, None) for UTF-8 text, else (None, reason)."""
    if not data.strip():
        return None, "empty file" if not data else "whitespace only"
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, f"binary data: NUL byte at offset {nul}"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return None, f"not valid UTF-8: byte 0x{data[error.start]:02x} at offset {error.start}"
    return text, None


def read_document(raw_root: Path, path: Path) -> RawDocument | Reject:
    relative = path.relative_to(raw_root).as_posix()
    doc_id = doc_id_for(relative)
    try:
        data = path.read_bytes()
    except OSError as error:
        return Reject(doc_id, relative, None, f"unreadable: {error.strerror or error}")
    sha256 = hashlib.sha256(data).hexdigest()
    text, reason = decode(data)
    if text is None:
        return Reject(doc_id, relative, sha256, reason or "unknown")
    return RawDocument(doc_id, relative, sha256, text)


def ingest(raw_root: Path) -> tuple[list[RawDocument], list[Reject]]:
    """Read the raw root.  Raises FileNotFoundError when it does not exist."""
    raw_root = Path(raw_root)
    if not raw_root.is_dir():
        raise FileNotFoundError(f"raw folder not found: {raw_root}")
    documents: list[RawDocument] = []
    rejects: list[Reject] = []
    seen: dict[str, str] = {}
    for path in discover(raw_root):
        item = read_document(raw_root, path)
        if item.doc_id in seen:
            item = Reject(item.doc_id, item.source_path, item.source_sha256,
                          f"doc_id {item.doc_id!r} already taken by {seen[item.doc_id]}")
        else:
            seen[item.doc_id] = item.source_path
        (documents if isinstance(item, RawDocument) else rejects).append(item)
    return documents, rejects
