"""Inputs: a folder of text files, and shards of scraped records.

The raw root is a local folder or any fsspec URI (``file:///srv/raw``,
``s3://bucket/raw``, ``memory://raw``).  Under it:

* every ``.jsonl``, ``.ndjson`` (plain or ``.gz``) and ``.parquet`` file is a
  shard of scraped RECORDS: one document per record, with a text field
  (``text``, ``content`` or ``body``) and optionally ``id``, ``url``,
  ``title`` and a date (``date``, ``published``, ``published_at``);
* every other file is one text DOCUMENT, read exactly as `pressroom.ingest`
  reads it (same doc_id, same rejects).

Hidden files and folders are skipped, as by `ingest.discover`.

Record doc_ids are ``<doc_id of the file>#<key>``: the key is the record's
``id`` when it has one (stable when records are added or reordered), else its
1-based line number (JSON Lines) or row number (Parquet).  ':' and '%' in a
key are escaped as in `ingest.doc_id_for`, so a doc_id never holds ':'.  A
record's ``source_path`` is ``<file>#<key>`` (unique, as `rejects` needs) and
its ``source_sha256`` the sha256 of the record: the raw line for JSON Lines,
the canonical JSON of its fields for Parquet.

A rebuild need not read every file to know it is unchanged: given a
`ScanMemo`, `scan` takes a local file's fingerprint (or a record file's
planned records) from the last scan when the file's stat is the one that
scan saw (size, mtime, ctime, inode, device: what git's index compares).
A file changed shortly before or during a scan is hashed again next time
(`ScanMemo.RACY_NS`), as git does with "racily clean" entries.

Reading happens twice, on purpose: `scan` (the build's driver) reads every
file once to fingerprint it and plan the shards, keeping no text; `read_items`
(a shard task, possibly on another machine) reads the documents of one
shard.  Memory stays bounded by a shard, not the corpus, nor a record file:
the scan streams a JSON Lines file line by line, noting where each
record's line starts, and reads a Parquet file a row group at a time; a
shard reads its records at those offsets, and takes its rows of a Parquet
file from a copy decoded once per process into an Arrow file it maps (a
gzip file is decompressed once per process too: `_LocalCopies`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlparse

import fsspec
from fsspec.implementations.local import LocalFileSystem

from pressroom.frontmatter import FrontMatter
from pressroom.ingest import RawDocument, Reject, decode, doc_id_for, read_document, relative_files

RECORD_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".parquet")
TEXT_FIELDS = ("text", "content", "body")
ID_FIELDS = ("id", "doc_id", "record_id")
TITLE_FIELDS = ("title", "headline")
URL_FIELDS = ("url", "link", "source_url")
DATE_FIELDS = ("date", "published", "published_at", "publish_date")


@dataclass(frozen=True)
class RecordDocument(RawDocument):
    """A document read from a record, with the record's own metadata."""

    title: str | None = None
    url: str | None = None
    published: dt.date | None = None

    @property
    def front_matter(self) -> FrontMatter | None:
        """The record's metadata in the form `clean.prepare` reads from a
        front-matter block (the site from the url's host); None without any."""
        if not (self.title or self.url or self.published):
            return None
        host = urlparse(self.url).netloc.removeprefix("www.") if self.url else ""
        fields = {"title": self.title, "url": self.url, "date": self.published}
        return FrontMatter(title=self.title, published=self.published, url=self.url, site=host or None,
                           fields={k: v for k, v in fields.items() if v})


@dataclass(frozen=True, slots=True)
class Item:
    """One planned document: where it is and what its bytes hash to."""

    doc_id: str
    source_path: str  # relative path, with '#<key>' for a record
    file: str  # relative path of the file holding it
    record: int | None  # 1-based line or row number of a record; None for a text file
    sha256: str
    size: int  # bytes of the document (file or record)
    offset: int | None = None  # where a record's line starts in a JSON Lines file (decompressed)

    @property
    def order(self) -> tuple[str, int]:
        """The ingest order: files by relative path, records in file order."""
        return (self.file, self.record or 0)


def is_record_file(relative: str) -> bool:
    return relative.lower().endswith(RECORD_SUFFIXES)


def open_root(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and root path of a local folder or fsspec URI."""
    fs, root = fsspec.core.url_to_fs(str(uri))
    return fs, root.rstrip("/")


def root_exists(uri: str) -> bool:
    fs, root = open_root(uri)
    return fs.isdir(root)


def list_files(fs: fsspec.AbstractFileSystem, root: str) -> list[str]:
    """Relative POSIX paths of every file under root, hidden ones skipped, sorted."""
    found = []
    for path in fs.find(root, withdirs=False):
        relative = PurePosixPath(path).relative_to(PurePosixPath(root)).as_posix()
        if any(part.startswith(".") for part in PurePosixPath(relative).parts):
            continue
        found.append(relative)
    return sorted(found)


def _key(value: object) -> str:
    return str(value).replace("%", "%25").replace(":", "%3A")


def _first(record: dict, fields: Sequence[str]):
    return next((record[f] for f in fields if record.get(f) not in (None, "")), None)


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
        except ValueError:
            from pressroom.metadata import parse_date

            return parse_date(value)
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(fs, root: str, relative: str, local: bool) -> tuple[str | None, int, OSError | None]:
    """(sha256, size, None) of a text file, or (None, 0, the error)."""
    try:
        if local:  # without fsspec's file object: a third of the scan on 30,000 small files
            with open(os.path.join(root, relative), "rb") as handle:
                data = handle.read()
        else:
            with fs.open(f"{root}/{relative}", "rb") as handle:
                data = handle.read()
    except OSError as error:
        return None, 0, error
    return _sha256(data), len(data), None


class ScanMemo:
    """What a scan of a local root learnt of each file (a text file's
    planned item, a record file's planned items and rejects), keyed by its
    relative path and stat, for the next scan.

    A file is remembered only if its mtime and ctime are older than the
    scan's start by `RACY_NS`: a file written within the timestamp
    granularity of the scan, or during it, could change again and keep its
    stat, so it is read again.  Remote roots (fsspec) are always read."""

    RACY_NS = 2_000_000_000
    """Two seconds: the coarsest timestamps in use (FAT) and some clock skew."""

    def __init__(self, entries: dict | None = None):
        self.entries = entries or {}
        self.seen: dict[str, tuple] = {}
        self.started = time.time_ns()
        self.reused = 0

    @staticmethod
    def stat_key(stat: os.stat_result) -> tuple[int, ...]:
        return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev

    def get(self, relative: str, stat: os.stat_result):
        """The value remembered for the file at `relative` if its stat is the same; else None."""
        entry = self.entries.get(relative)
        if entry is None or entry[0] != self.stat_key(stat):
            return None
        self.seen[relative] = entry
        self.reused += 1
        return entry[1]

    def put(self, relative: str, stat: os.stat_result, value) -> None:
        """Remember `value`, learnt by reading the file after taking `stat`."""
        if max(stat.st_mtime_ns, stat.st_ctime_ns) < self.started - self.RACY_NS:
            self.seen[relative] = (self.stat_key(stat), value)


# --- reading record files ------------------------------------------------------


def _is_gzip(path: str) -> bool:
    return path.lower().endswith(".gz")


@contextmanager
def _record_stream(fs, path: str) -> Iterator[BinaryIO]:
    """The bytes of a JSON Lines file as a stream (decompressed as they are
    read for .gz): never the whole file in memory."""
    with fs.open(path, "rb") as handle:
        if _is_gzip(path):
            with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
                yield unzipped
        else:
            yield handle


def _jsonl_records(stream: BinaryIO, last: int | None = None) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, line bytes) of the non-blank lines of
    `stream`, from its start up to line `last`.  A line ends at b"\\n" (the
    "\\r"s before it are cut)."""
    number, offset = 1, 0
    while last is None or number <= last:
        line = stream.readline()
        if not line:
            return
        at, offset, current, number = offset, offset + len(line), number, number + 1
        line = line[:-1] if line.endswith(b"\n") else line
        line = line.rstrip(b"\r")
        if line.strip():
            yield current, at, line


class _LocalCopies:
    """Local copies of record files that this process's shards read, made
    once per file and version (size and time) by `make(fs, path, local)`,
    in temporary files.

    A shard's records are scattered over their file (shards follow doc_ids,
    not lines or rows).  A gzip stream cannot be entered in the middle, and
    a Parquet row group is decoded whole: each shard of a .jsonl.gz
    decompressed the file up to its last record, and each shard of a
    Parquet file decoded most of its row groups.  Now a process makes one
    copy, decompressed (gzip) or decoded (Parquet, into an Arrow file it
    maps), and its shards read their records in it.  The copies take disk,
    not memory: a build puts them in its cache folder (`/tmp` may be a
    tmpfs, in memory), named as scratch files `PackStore.prune` removes if
    a crash left them; `heap.forget_caches` deletes them between passes
    (`cache_clear`), and so does the process's exit."""

    KEEP = 2

    def __init__(self, make, suffix: str):
        self.make, self.suffix = make, suffix
        self.files: OrderedDict[tuple, str] = OrderedDict()
        self.lock = threading.Lock()

    def path(self, fs, path: str, scratch: str | Path | None = None) -> str:
        """The local path of the copy of `path`, made in folder `scratch`
        (default: the system's temporary folder) if there is none."""
        key = (fs.unstrip_protocol(path), _version(fs, path))
        with self.lock:
            if key in self.files and os.path.exists(self.files[key]):  # (a cache's prune may delete it)
                self.files.move_to_end(key)
                return self.files[key]
            self.files.pop(key, None)
        handle, local = tempfile.mkstemp(prefix=".records-", suffix=f"{self.suffix}.tmp", dir=scratch)
        os.close(handle)
        try:
            self.make(fs, path, local)
        except BaseException:
            _unlink(local)
            raise
        with self.lock:
            if key in self.files:  # another thread made it meanwhile
                _unlink(local)
                return self.files[key]
            self.files[key] = local
            while len(self.files) > self.KEEP:
                _unlink(self.files.popitem(last=False)[1])
        return local

    def cache_clear(self) -> None:
        with self.lock:
            while self.files:
                _unlink(self.files.popitem()[1])

    def cache_info(self) -> int:
        return len(self.files)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _version(fs, path: str) -> tuple:
    info = fs.info(path)
    return info.get("size"), info.get("mtime") or info.get("LastModified") or info.get("created")


def _gunzip(fs, path: str, local: str) -> None:
    with open(local, "wb") as out, _record_stream(fs, path) as stream:
        shutil.copyfileobj(stream, out, 1 << 20)


def _parquet_columns(parquet) -> list[str]:
    """The columns of a Parquet record file that a record is read from."""
    names = set(parquet.schema_arrow.names)
    return [c for c in (*TEXT_FIELDS, *ID_FIELDS, *TITLE_FIELDS, *URL_FIELDS, *DATE_FIELDS) if c in names]


def _decode_parquet(fs, path: str, local: str) -> None:
    """The record columns of a Parquet file as an Arrow file (uncompressed:
    mapped, a row is read where it lies), a row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with fs.open(path, "rb") as handle, pq.ParquetFile(handle) as parquet:
        columns = _parquet_columns(parquet)
        schema = pa.schema([parquet.schema_arrow.field(c) for c in columns])
        with pa.OSFile(local, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for group in range(parquet.num_row_groups):
                writer.write_table(parquet.read_row_group(group, columns=columns))


_GUNZIPPED = _LocalCopies(_gunzip, ".jsonl")
_DECODED_PARQUET = _LocalCopies(_decode_parquet, ".arrow")
atexit.register(_GUNZIPPED.cache_clear)
atexit.register(_DECODED_PARQUET.cache_clear)


def _parquet_records(fs, path: str, wanted: set[int], scratch=None) -> Iterator[tuple[int, dict]]:
    """(row number, row) of the rows `wanted` of a Parquet record file, taken
    from its decoded copy (`_LocalCopies`); rows past its end are left out."""
    import numpy as np
    import pyarrow as pa

    with pa.memory_map(_DECODED_PARQUET.path(fs, path, scratch), "r") as source:
        reader = pa.ipc.open_file(source)
        # batch by batch: a take over the whole table would join its batches first (a copy of the file)
        batches = [reader.get_batch(k) for k in range(reader.num_record_batches)]
        starts = np.cumsum([0] + [batch.num_rows for batch in batches])
        numbers = np.array(sorted(n for n in wanted if n <= starts[-1]), dtype=np.int64)
        at = np.searchsorted(starts, numbers - 1, side="right") - 1
        found = []
        for k in np.unique(at).tolist():
            mine = numbers[at == k]
            found += zip(mine.tolist(), batches[k].take(pa.array(mine - 1 - starts[k])).to_pylist())
    yield from found


def _jsonl_lines(fs, path: str, members: Sequence[Item], scratch=None) -> Iterator[tuple[int, bytes]]:
    """(line number, line bytes) of the records `members` of one JSON Lines
    file, each read at the byte offset the scan noted (a gzip file's
    offsets are in its decompressed copy: `_LocalCopies`).  If the byte before
    an offset no longer ends a line, the file changed since the scan: then
    the records are read by line number, the file from its start."""
    if _is_gzip(path):
        fs, path = fsspec.filesystem("file"), _GUNZIPPED.path(fs, path, scratch)
    ordered = sorted(members, key=lambda m: m.record)
    with fs.open(path, "rb") as handle:
        found = []
        for member in ordered:
            if member.offset is None:
                break
            handle.seek(max(member.offset - 1, 0))
            if member.offset and handle.read(1) != b"\n":
                break
            found.append((member.record, handle.readline().rstrip(b"\n").rstrip(b"\r")))
        else:
            yield from found
            return
        handle.seek(0)
        for number, _, line in _jsonl_records(handle, last=ordered[-1].record):
            yield number, line


def _parquet_rows(fs, path: str) -> Iterator[tuple[int, dict]]:
    """(row number, row) of every row of a Parquet record file, read a row
    group at a time."""
    import pyarrow.parquet as pq

    with fs.open(path, "rb") as handle, pq.ParquetFile(handle) as parquet:
        columns, number = _parquet_columns(parquet), 0
        for group in range(parquet.num_row_groups):
            for row in parquet.read_row_group(group, columns=columns).to_pylist():
                number += 1
                yield number, row


def _canonical(row: dict) -> bytes:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode()


def _parse_record(relative: str, number: int, raw: bytes | dict) -> tuple[str, dict | None, str | None]:
    """(key, record or None, reason when unusable)."""
    if isinstance(raw, dict):
        record = raw
    else:
        try:
            record = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return str(number), None, f"not valid JSON: {error}"
        if not isinstance(record, dict):
            return str(number), None, "not a JSON object"
    ident = _first(record, ID_FIELDS)
    key = _key(ident) if ident is not None else str(number)
    text = _first(record, TEXT_FIELDS)
    if not isinstance(text, str):
        return key, None, f"no text field ({', '.join(TEXT_FIELDS)})"
    if not text.strip():
        return key, None, "empty text" if not text else "whitespace only"
    return key, record, None


def _scanned_records(fs, path: str) -> Iterator[tuple[int, int | None, bytes | dict, bytes]]:
    """(number, byte offset of its line in a JSON Lines file, decompressed,
    or None in Parquet, the record as read, the bytes its sha256 is of) of
    every record of a record file."""
    if path.lower().endswith(".parquet"):
        for number, row in _parquet_rows(fs, path):
            yield number, None, row, _canonical(row)
        return
    with _record_stream(fs, path) as stream:
        for number, at, line in _jsonl_records(stream):
            yield number, at, line, line


def scan_records(fs, root: str, relative: str) -> tuple[list[Item], list[Reject]]:
    """Plan the records of one record file (driver side: keeps no text)."""
    path = f"{root}/{relative}"
    base = doc_id_for(relative)
    items, rejects = [], []
    try:
        for number, at, raw, data in _scanned_records(fs, path):
            key, record, reason = _parse_record(relative, number, raw)
            source = f"{relative}#{key}"
            if record is None:
                rejects.append(Reject(f"{base}#{key}", source, _sha256(data), reason or "unusable record"))
            else:
                items.append(Item(f"{base}#{key}", source, relative, number, _sha256(data), len(data), at))
    except (OSError, EOFError, ValueError) as error:  # unreadable, truncated gzip, broken Parquet
        rejects.append(Reject(base, relative, None, f"unreadable record file: {error}"))
        items = []
    return items, rejects


def scan(uri: str, memo: ScanMemo | None = None) -> tuple[list[Item], list[Reject]]:
    """Every document under the raw root, fingerprinted, sorted by doc_id;
    documents whose doc_id is taken by an earlier one (in ingest order) are
    rejected, as `ingest.ingest` does.  With a `memo` of the last scan of a
    local root, files whose stat it holds are not read; `memo.seen` is then
    what the next scan's memo holds."""
    fs, root = open_root(uri)
    if not fs.isdir(root):
        raise FileNotFoundError(f"raw folder not found: {uri}")
    items: list[Item] = []
    rejects: list[Reject] = []
    if isinstance(fs, LocalFileSystem):  # the same files as `ingest.discover`, symlinks included
        relatives = relative_files(root)
    else:
        relatives = list_files(fs, root)
    local = isinstance(fs, LocalFileSystem)
    for relative in relatives:
        stat = None
        if local and memo is not None:
            try:
                stat = os.stat(os.path.join(root, relative))
            except OSError:
                stat = None  # reading it says why
        known = memo.get(relative, stat) if stat is not None else None
        if is_record_file(relative):
            found, bad = known if known is not None else scan_records(fs, root, relative)
            if known is None and stat is not None and not any(r.source_path == relative for r in bad):
                memo.put(relative, stat, (found, bad))  # not a file that could not be read
            items += found
            rejects += bad
            continue
        if known is not None:
            items.append(known)
            continue
        sha256, size, error = _fingerprint(fs, root, relative, local)
        if error is not None:
            rejects.append(Reject(doc_id_for(relative), relative, None, f"unreadable: {error.strerror or error}"))
        else:
            items.append(Item(doc_id_for(relative), relative, relative, None, sha256, size))
            if stat is not None:
                memo.put(relative, stat, items[-1])
    owners: dict[str, str] = {}
    kept = []
    for item in sorted(items, key=lambda i: i.order):
        if item.doc_id in owners:
            rejects.append(Reject(item.doc_id, item.source_path, item.sha256,
                                  f"doc_id {item.doc_id!r} already taken by {owners[item.doc_id]}"))
        else:
            owners[item.doc_id] = item.source_path
            kept.append(item)
    kept.sort(key=lambda i: i.doc_id)
    return kept, sorted(rejects, key=lambda r: r.source_path)


# --- reading documents (shard side) ---------------------------------------------


def _record_document(item: Item, record: dict, sha256: str) -> RecordDocument:
    title = _first(record, TITLE_FIELDS)
    url = _first(record, URL_FIELDS)
    return RecordDocument(item.doc_id, item.source_path, sha256, _first(record, TEXT_FIELDS),
                          title=str(title).strip() if title else None, url=str(url) if url else None,
                          published=_date(_first(record, DATE_FIELDS)))


def _read_text_file(fs, root: str, relative: str) -> RawDocument | Reject:
    """One text file, exactly as `ingest` reads it: a local file through
    `ingest.read_document` (symlink checks included), a remote one through
    `ingest.decode`."""
    if isinstance(fs, LocalFileSystem):
        return read_document(Path(root), Path(root) / relative)
    doc_id = doc_id_for(relative)
    try:
        with fs.open(f"{root}/{relative}", "rb") as handle:
            data = handle.read()
    except OSError as error:
        return Reject(doc_id, relative, None, f"unreadable: {error.strerror or error}")
    sha256 = _sha256(data)
    text, repairs, reason = decode(data)
    if text is None:
        return Reject(doc_id, relative, sha256, reason or "unknown")
    return RawDocument(doc_id, relative, sha256, text, tuple(repairs))


def read_items(uri: str, items: Sequence[Item], scratch: str | Path | None = None) -> list[RawDocument | Reject]:
    """The documents of `items` (one shard), in the order given.

    A text file that is not UTF-8 text becomes a `Reject` (`ingest.decode`);
    a file or record that changed since the scan keeps its new content and
    hash (the build notices: the hash differs from the planned one).
    `scratch` is where a gzip or Parquet record file's local copy is made
    (`_LocalCopies`)."""
    fs, root = open_root(uri)
    found: dict[str, RawDocument | Reject] = {}
    by_file: dict[str, list[Item]] = {}
    for item in items:
        by_file.setdefault(item.file, []).append(item)
    for relative, members in by_file.items():
        path = f"{root}/{relative}"
        if members[0].record is None:
            found[members[0].doc_id] = _read_text_file(fs, root, relative)
            continue
        wanted = {m.record: m for m in members}
        try:
            if relative.lower().endswith(".parquet"):
                entries: Iterable = ((n, row, _canonical(row)) for n, row in _parquet_records(fs, path, set(wanted), scratch))
            else:
                entries = ((n, line, line) for n, line in _jsonl_lines(fs, path, members, scratch) if n in wanted)
            for number, raw, data in entries:
                item = wanted[number]
                _, record, reason = _parse_record(relative, number, raw)
                if record is None:
                    found[item.doc_id] = Reject(item.doc_id, item.source_path, _sha256(data), reason or "unusable")
                else:
                    found[item.doc_id] = _record_document(item, record, _sha256(data))
        except (OSError, EOFError, ValueError) as error:
            for item in members:
                found[item.doc_id] = Reject(item.doc_id, item.source_path, None, f"unreadable record file: {error}")
    return [found.get(i.doc_id) or Reject(i.doc_id, i.source_path, None, "record vanished since the scan")
            for i in items]
