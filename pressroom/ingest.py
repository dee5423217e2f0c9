"""Ingest: read every file under the raw root, fingerprint it, decode it.

Every file gets a clear outcome, and the build goes on with the others:

* a `RawDocument`, possibly with `repairs` saying what was done to read it
  (decoded as UTF-16 or cp1252, NUL bytes dropped, text extracted from HTML);
* or a `Reject` with its reason (empty, whitespace only, binary, a line too
  long to be text, unreadable, a symlink out of the raw root, ...).

The sha256 is always that of the bytes read, once: a file that changes while
the build runs is used as it was when read.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pressroom.html_text import looks_like_html, html_to_text

TEXT_SUFFIX = ".txt"
MAX_LINE_BYTES = 1_000_000
"""A 'line' longer than this is not text from a page (minified data, a dump)."""
MAX_CONTROL_SHARE = 0.01
"""Share of control characters (other than tab, CR, LF) above which bytes are binary."""
MAX_NUL_SHARE = 0.001
"""A few stray NUL bytes in text are dropped; more make the file binary."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RawDocument:
    doc_id: str
    source_path: str  # relative to the raw root, POSIX separators
    source_sha256: str
    text: str
    repairs: tuple[str, ...] = field(default=())


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
    """Every file under the root, hidden files and folders excepted, in a
    stable order (symlinks included: `read_document` checks where they go)."""
    return [raw_root / relative for relative in relative_files(raw_root)]


def relative_files(raw_root: Path | str) -> list[str]:
    """The relative POSIX paths of `discover`'s files, sorted: what
    ``Path.rglob("*")`` finds (symlinked folders listed, not entered;
    unreadable folders skipped), hidden ones left out, keeping files and
    symlinks only.  `os.scandir` reads each entry's type with the folder,
    where pathlib would stat every path again."""
    found: list[str] = []
    stack = [("", os.fspath(raw_root))]
    while stack:
        prefix, folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except (PermissionError, FileNotFoundError, NotADirectoryError):
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            relative = prefix + entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir and not entry.is_symlink():
                stack.append((relative + "/", entry.path))
            elif entry.is_symlink() or entry.is_file():
                found.append(relative)
    found.sort()
    return found


def _decode_text(data: bytes) -> tuple[str | None, list[str], str | None]:
    """(text, repairs, None) or (None, [], reason)."""
    repairs: list[str] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), ["decoded as UTF-16 (byte order mark)"], None
        except UnicodeDecodeError as error:
            return None, [], f"broken UTF-16: {error.reason} at offset {error.start}"
    nul = data.count(b"\x00")
    if nul:
        if nul > MAX_NUL_SHARE * len(data):
            first = data.index(b"\x00")
            return None, [], f"binary data: {nul} NUL bytes (first at offset {first})"
        data = data.replace(b"\x00", b"")
        repairs.append(f"dropped {nul} NUL byte{'s' if nul > 1 else ''}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        text = _legacy_decode(data)
        if text is None:
            return None, [], f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}) nor cp1252 text"
        repairs.append(f"decoded as cp1252: not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})")
    controls = len(_CONTROL.findall(text))
    if controls > MAX_CONTROL_SHARE * len(text):
        return None, [], f"binary data: {controls} control characters in {len(text)}"
    return text, repairs, None


def _legacy_decode(data: bytes) -> str | None:
    """Latin-1/cp1252 text (the usual non-UTF-8 text on the web), or None
    when the bytes do not read as such text."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = sum(c.isalpha() or c.isspace() for c in text)
    return text if letters >= 0.6 * len(text) else None


def decode(data: bytes) -> tuple[str | None, list[str], str | None]:
    """Bytes to text: (text, repairs, None) or (None, [], reason)."""
    if not data:
        return None, [], "empty file"
    if not data.strip():
        return None, [], "whitespace only"
    longest = max((len(line) for line in data.splitlines()), default=0)
    if longest > MAX_LINE_BYTES:
        return None, [], f"a line of {longest:,} bytes: not page text (limit {MAX_LINE_BYTES:,} bytes per line)"
    text, repairs, reason = _decode_text(data)
    if text is None:
        return None, [], reason
    if looks_like_html(text):
        extracted = html_to_text(text)
        if not extracted.strip():
            return None, [], "HTML page with no text"
        text = extracted
        repairs.append("extracted the text from HTML")
    if "\r" in text:
        repairs.append("line endings normalised (CR or CRLF)")
    if not text.strip():
        return None, [], "whitespace only"
    return text, repairs, None


def read_document(raw_root: Path, path: Path) -> RawDocument | Reject:
    relative = path.relative_to(raw_root).as_posix()
    doc_id = doc_id_for(relative)
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(raw_root.resolve()):
            return Reject(doc_id, relative, None, f"symlink to {target}, outside the raw folder: not followed")
    try:
        data = path.read_bytes()
    except OSError as error:
        return Reject(doc_id, relative, None, f"unreadable: {error.strerror or error}")
    sha256 = hashlib.sha256(data).hexdigest()
    text, repairs, reason = decode(data)
    if text is None:
        return Reject(doc_id, relative, sha256, reason or "unknown")
    return RawDocument(doc_id, relative, sha256, text, tuple(repairs))


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

