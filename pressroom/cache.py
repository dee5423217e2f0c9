"""The per-document cache of a build, stored in packs.

Every pass caches its result PER DOCUMENT, under a key that is a sha256
over everything the result depends on: the document (doc_id, source path,
sha256 of its bytes), the code fingerprint (`release.code_fingerprint`),
the configuration (`release.configuration`) and, for the later passes,
what the document sees of the corpus passes (the site lines it shares with
other documents of its site; its duplicate cluster).  A rebuild after 1% of
the documents changed redoes 1% of the per-document work, wherever those
documents are.

A task handles a batch of documents and writes one PACK per pass: a few
files named by the sha256 of the pack's keys, written under a temporary
name and renamed into place (a crashed build leaves no half pack; the
`<pack>.keys` file is written last and is what makes a pack visible).  The
store's index (key -> pack) is read from the `.keys` files when a build
starts.

Pickles are trusted here: the cache lives beside the releases and only the
build writes it.  With a Dask cluster on several machines the cache folder
must be shared by them (the same path everywhere, or a network mount).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

STAGES = ("prepare", "clean", "speakers", "index", "links", "final")


def key(*parts: object) -> str:
    """sha256 over the parts' text, separated so that ('ab', 'c') != ('a', 'bc')."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def hash64(text: str) -> int:
    """A 64-bit hash of `text` (blake2b), the same in every process and run:
    Python's hash() is salted per process, and signatures made in several
    worker processes are merged."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class KeyedPart(dict):
    """A pack part (key -> value) stored value by value: each value pickled
    on its own, so a reader that takes a few keys of a large pack unpickles
    only theirs (`PackStore.load` gives a `LazyPart`).  For the parts a
    rebuild reads a few documents of (a pack of the clean stage holds
    ~1,000 documents, ~20 MB).  Read whole, such a part loads about as
    fast as one pickle of it (0.09-0.21 s against 0.07-0.18 for the 200 MB
    corpus's packs of 20 MB)."""


class _PickledValues(dict):
    """How a `KeyedPart` is stored: key -> the value's pickle."""


class LazyPart(Mapping):
    """A `KeyedPart` read back: each value unpickled when it is taken (every
    time: take a value once)."""

    def __init__(self, pickled: Mapping[str, bytes]):
        self._pickled = pickled

    def __getitem__(self, k: str):
        return pickle.loads(self._pickled[k])

    def __iter__(self) -> Iterator[str]:
        return iter(self._pickled)

    def __len__(self) -> int:
        return len(self._pickled)

    def __contains__(self, k: object) -> bool:
        return k in self._pickled


def _write_atomic(path: Path, value) -> None:
    if isinstance(value, KeyedPart):
        value = _PickledValues({k: pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL) for k, v in value.items()})
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(temporary, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


class PackStore:
    """Packs at `<root>/<stage>/<pack>.<part>` (part: keys, data, rows, ...)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._index: dict[str, dict[str, str]] = {}

    def folder(self, stage: str) -> Path:
        path = self.root / stage
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, stage: str, pack: str, part: str) -> Path:
        return self.root / stage / f"{pack}.{part}"

    def index(self, stage: str) -> dict[str, str]:
        """key -> pack of every complete pack of the stage (read once)."""
        if stage not in self._index:
            found: dict[str, str] = {}
            for keys_file in sorted(self.folder(stage).glob("*.keys")):
                try:
                    with open(keys_file, "rb") as handle:
                        keys = pickle.load(handle)
                except (OSError, EOFError, pickle.UnpicklingError):
                    continue
                found.update(dict.fromkeys(keys, keys_file.name[:-len(".keys")]))
            self._index[stage] = found
        return self._index[stage]

    def write(self, stage: str, keys: Iterable[str], parts: Mapping[str, object]) -> str:
        """Write a pack: each part pickled (bytes written as they are), then
        the keys; returns the pack's name."""
        keys = list(keys)
        pack = key(stage, *sorted(keys))[:32]
        folder = self.folder(stage)
        for part, value in parts.items():
            target = folder / f"{pack}.{part}"
            if isinstance(value, Path):  # a file the caller wrote: move it into place
                os.replace(value, target)
            else:
                _write_atomic(target, value)
        _write_atomic(folder / f"{pack}.keys", keys)
        if stage in self._index:
            self._index[stage].update(dict.fromkeys(keys, pack))
        return pack

    def remember(self, name: str, value) -> None:
        """Keep a small value at the cache root under `name` (not a pack:
        `prune` leaves it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.root / name, value)

    def recall(self, name: str):
        """The value `remember` kept under `name`; None if there is none (or
        it cannot be read)."""
        try:
            with open(self.root / name, "rb") as handle:
                return pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
            return None

    def temporary(self, stage: str, name: str) -> Path:
        return self.folder(stage) / f".{name}.{uuid.uuid4().hex}.tmp"

    def load(self, stage: str, pack: str, part: str):
        """A part of a pack: what was written (a `KeyedPart` as a `LazyPart`)."""
        with open(self.path(stage, pack, part), "rb") as handle:
            value = pickle.load(handle)
        return LazyPart(value) if isinstance(value, _PickledValues) else value

    def load_many(self, stage: str, part: str, keys: Sequence[str]) -> list:
        """The values of `keys` in part `part` of the stage's packs, in the
        order of `keys` (each pack read once, kept only while needed)."""
        values: list = [None] * len(keys)
        for positions, loaded in self.by_pack(stage, part, keys):
            for position, value in zip(positions, loaded):
                values[position] = value
        return values

    def load_by_pack(self, stage: str, part: str, keys: Sequence[str]) -> Iterator[list]:
        """The values of `keys` in part `part`, a list per pack (packs in
        name order, each read once): only one pack's are held at a time."""
        for _, values in self.by_pack(stage, part, keys):
            yield values

    def by_pack(self, stage: str, part: str, keys: Sequence[str]) -> Iterator[tuple[list[int], list]]:
        """(positions in `keys`, their values) for each pack in name order,
        each read once: only one pack's values are held at a time."""
        index = self.index(stage)
        by_pack: dict[str, list[int]] = {}
        for position, k in enumerate(keys):
            by_pack.setdefault(index[k], []).append(position)
        for pack, positions in sorted(by_pack.items()):
            loaded = self.load(stage, pack, part)
            values = [loaded[keys[position]] for position in positions]
            del loaded
            yield positions, values

    def prune(self, used: Mapping[str, Iterable[str]]) -> int:
        """Delete the packs of which no key is in `used[stage]`, and stray
        temporary files; returns how many packs went."""
        removed = 0
        for stage in STAGES:
            index = self.index(stage)
            keep = {index[k] for k in used.get(stage, ()) if k in index}
            folder = self.folder(stage)
            for path in folder.iterdir():
                pack = path.name.split(".")[0]
                if path.name.startswith(".") and path.is_dir():  # a crashed build's scratch folder
                    shutil.rmtree(path, ignore_errors=True)
                elif path.name.startswith("."):
                    path.unlink(missing_ok=True)
                elif pack not in keep:
                    removed += path.name.endswith(".keys")
                    path.unlink(missing_ok=True)
            self._index.pop(stage, None)
        return removed

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
