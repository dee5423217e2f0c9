"""Duplicate documents across the corpus: exact reposts and near duplicates.

The same article is often reposted by several sites, each wrapping it in its
own chrome.  Once boilerplate is removed (run this on the CLEANED text,
`documents.text`), the copies are identical or nearly so.  This stage does
not drop anything: it marks every document with the cluster it belongs to,
the canonical member of that cluster and its similarity to it, so a user can
keep one copy per cluster, or all of them, and check why.

The algorithm, in three named steps (signatures can be computed per batch,
cached and merged later: the clustering needs only the signatures):

1. `document_signature(doc_id, text)` (map, per document)
   - `words(text)`: NFKC, casefold, curly quotes unified, words = `\\w+`
     runs (punctuation, case and whitespace do not count).
     `word_hashes(text)` finds the same words over the text's code points
     with numpy (no string per word): the words joined by one space and a
     64-bit hash of each word (each character mixed with its place in the
     word, splitmix64's finaliser, summed, mixed with the length).
   - `normalised_sha256`: sha256 of the words joined by one space; two
     documents with the same hash are EXACT duplicates.
   - `shingle_hashes`: every run of `SHINGLE_WORDS` consecutive words,
     hashed to 64 bits (a polynomial over its word hashes, mixed; a text
     shorter than a shingle is one shingle).
   - `signature`: one-permutation MinHash (Li, Owen and Zhang, "One
     Permutation Hashing", NIPS 2012) with optimal densification
     (Shrivastava, "Optimal Densification for Fast and Accurate Minwise
     Hashing", ICML 2017): each shingle is hashed once more with `SEED`;
     the high 32 bits pick one of `NUM_PERM` bins, the low 32 bits are its
     value, and a bin keeps its least value.  A bin no shingle fell in (a
     text of few shingles) takes the value of the first filled bin in a
     fixed order of its own (`_probes`, drawn with `SEED`).  The signature
     is uint32[NUM_PERM]; as for MinHash with NUM_PERM hash functions, the
     probability that two texts agree at a position is the Jaccard
     similarity of their shingle sets, and the share of equal positions
     estimates it.  One hash per shingle instead of NUM_PERM, and no
     string per word: on the generated corpus's cleaned texts the signature
     takes half the time (16.8 MB/s, was 8.1), and the estimate's error
     against the exact Jaccard is no larger (0.0064 mean over 766 pairs,
     0.0072 with 128 hash functions; `tests/test_dedup.py` bounds its bias
     and error from 12 to 3,000 words).
2. `duplicate_clusters(columns, threshold)` (reduce, whole corpus;
   `cluster_signatures` for a list of signatures)
   - `lsh_bands(threshold, num_perm)`: bands x rows that minimise the
     false positive + false negative probability mass around the threshold
     (the banding trade-off of Leskovec et al., "Mining of Massive Datasets",
     ch. 3; datasketch picks its parameters the same way).
   - `candidate_pairs`: documents sharing any band of their signature.
   - Each candidate pair is VERIFIED: it is linked only when the estimated
     Jaccard is >= threshold (LSH only proposes).  Exact duplicates (same
     `normalised_sha256`) are always linked.
   - Linked documents form clusters (connected components, union-find).
3. `assign_canonical` (per cluster)
   - CANONICAL RULE: the medoid, i.e. the member whose signature agrees
     most with those of all the other members (sum of equal positions, an
     integer: no float ties).  Chrome remnants or edits that only one copy
     carries count against it, so a repost with a leftover "Share this
     story" line does not win by being longest.  Ties: the most words (the
     most complete copy), then the smallest doc_id.  `cluster_id` is the
     canonical doc_id.  Neither depends on the order of the input; nor do
     the clusters (components of a graph whose edges depend only on pairs
     of signatures), so the output is the same whatever the input order.
   - Every member gets its similarity to the canonical member (1.0 for an
     exact copy) and a `duplicate_kind`: `unique` (a singleton: its own
     cluster), `canonical`, `exact` or `near`.  Because clusters are
     connected components, a member can be linked to the canonical one
     through a chain (A~B, B~C): its similarity to the canonical member may
     then be below the threshold; the value says so.

Limits: Jaccard over shingles is symmetric, so a repost truncated to half of
the article (containment, not similarity) is not clustered with the full
one.  With NUM_PERM = 128 the similarity estimate has a standard error of
about 0.035 near 0.8.

Wiring (for the flow, the contract and the lock):

    from pressroom import dedup
    clusters = dedup.find_document_clusters([(d["doc_id"], d["text"]) for d in documents])
    rows = dedup.cluster_rows(clusters)     # one dict per doc_id, the columns below
    # map/reduce form: per batch  sigs = [dedup.document_signature(i, t) for i, t in batch]
    #                  (cacheable: sig.to_record() / DocumentSignature.from_record(record),
    #                   valid while SEED, NUM_PERM and SHINGLE_WORDS hold)
    #                  whole corpus  dedup.cluster_signatures(all_sigs)
    #                  or, holding no object per document: columns = dedup.SignatureColumns();
    #                  columns.append(doc_id, record) for each; dedup.duplicate_clusters(columns)
    #                  (the documents with a duplicate; the others: dedup.unique_cluster)
    # The clustering needs the normalised hash and word count, not the MinHash
    # alone: exact copies and the canonical tie-break read them.

New `documents` columns (key doc_id):

    cluster_id               string   not null  doc_id of the canonical member of the
                                                document's duplicate cluster (its own doc_id
                                                when it has no duplicate)
    canonical_doc_id         string   not null  same value as cluster_id, named for joins
                                                ("keep rows where doc_id == canonical_doc_id")
    cluster_size             int32    not null  documents in the cluster (1 = unique)
    similarity_to_canonical  float64  not null  estimated Jaccard similarity (word
                                                5-shingles, MinHash) to the canonical
                                                member, 0..1; 1.0 for itself and exact copies
    duplicate_kind           string   not null  unique | canonical | exact | near

Dependencies: numpy only (already in the lock); no datasketch.
"""

from __future__ import annotations

import array
import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pressroom.cache import hash64

SHINGLE_WORDS = 5
"""Words per shingle.  Five words is the usual choice for news text: long
enough that two different articles on the same event share few shingles,
short enough that an edited sentence only spoils the shingles around it."""
NUM_PERM = 128
"""Bins of the signature (one-permutation MinHash); standard error of the Jaccard
estimate ~ sqrt(J(1-J)/128), as with 128 hash functions."""
SEED = 20151126
"""Seed of the hash functions: fixed, so signatures are comparable across runs
and releases (a signature cache stays valid while SEED, NUM_PERM and
SHINGLE_WORDS hold)."""
THRESHOLD = 0.8
"""Estimated Jaccard similarity from which two documents are near duplicates.
A repost with different chrome remnants or a few edited sentences stays
above 0.8; two articles on the same event written separately share almost
no 5-word shingles (< 0.1 in the tests)."""

_MAX_HASH_32 = np.uint64(0xFFFFFFFF)
_SHINGLE_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime, odd
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's multipliers
_MIX_2 = np.uint64(0x94D049BB133111EB)
_WORD = re.compile(r"\w+")
_NOT_WORD = re.compile(r"\W")
_QUOTES = (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"'), ("ʼ", "'"))
"""Curly quotes and the modifier apostrophe, unified.  Applied as a chain of
str.replace: each replacement's output is none of the replaced characters,
so the chain equals one str.translate, and each replace is a C scan where
translate looks every character up in a dict (the slow part of `words`)."""

KIND_UNIQUE = "unique"
KIND_CANONICAL = "canonical"
KIND_EXACT = "exact"
KIND_NEAR = "near"


@dataclass(frozen=True)
class DocumentSignature:
    """What the clustering needs of one document (small, cacheable)."""

    doc_id: str
    normalised_sha256: str  # equal hashes: exact duplicates
    word_count: int  # words of the cleaned text (canonical rule, ties)
    minhash: np.ndarray  # uint32[num_perm]

    def to_record(self) -> dict:
        """A flat record for a cache (Parquet/JSON): the minhash as bytes."""
        return {"doc_id": self.doc_id, "normalised_sha256": self.normalised_sha256,
                "word_count": self.word_count, "minhash": self.minhash.astype("<u4").tobytes()}

    @classmethod
    def from_record(cls, record: Mapping) -> "DocumentSignature":
        return cls(record["doc_id"], record["normalised_sha256"], int(record["word_count"]),
                   np.frombuffer(record["minhash"], dtype="<u4").astype(np.uint32))


@dataclass(frozen=True)
class DocumentCluster:
    """The duplicate cluster of one document."""

    cluster_id: str
    canonical_doc_id: str
    similarity: float  # to the canonical member, 0..1
    kind: str  # unique | canonical | exact | near
    size: int


# -- 1. signatures (per document) ------------------------------------------------


def words(text: str) -> list[str]:
    """The words of `text`: NFKC, casefolded, punctuation dropped (the
    definition; `word_hashes` finds the same words without a string each)."""
    return _WORD.findall(_prepared(text))


def _prepared(text: str) -> str:
    """`text` NFKC, curly quotes straightened, casefolded, apostrophes dropped:
    its words are then the `\\w+` runs."""
    if text.isascii():  # NFKC leaves ASCII as it is, and casefold is lower there
        return text.lower().replace("'", "")
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    for curly, straight in _QUOTES:
        text = text.replace(curly, straight)
    return text.casefold().replace("'", "")


def normalised_sha256(text: str) -> str:
    """Hash of the words only (sha256 of `words` joined by one space): equal
    for texts that differ in case, punctuation or whitespace alone."""
    return hashlib.sha256(word_hashes(text)[0]).hexdigest()


_WORD_HASHES: dict[str, int] = {}
_WORD_HASHES_MAX = 1 << 19  # about 60 MB of words and hashes; then it starts again


def token_hashes(tokens: Sequence[str]) -> np.ndarray:
    """A stable 64-bit hash per token (`cache.hash64`, computed once per
    distinct word and kept for the next documents: words repeat across a
    corpus).  The quote index hashes its words with it."""
    try:  # most texts have no new word: then skip the set of their words
        return np.fromiter(map(_WORD_HASHES.__getitem__, tokens), dtype=np.uint64, count=len(tokens))
    except KeyError:
        pass
    missing = set(tokens).difference(_WORD_HASHES)
    if len(_WORD_HASHES) + len(missing) > _WORD_HASHES_MAX:
        _WORD_HASHES.clear()
        missing = set(tokens)
    for w in missing:
        _WORD_HASHES[w] = hash64(w)
    return np.fromiter(map(_WORD_HASHES.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


@functools.lru_cache(maxsize=1)
def _word_characters() -> np.ndarray:
    """Whether each code point is a word character (`\\w`), by code point:
    the pattern itself run once over every code point."""
    table = np.zeros(0x110000, dtype=bool)
    for match in _WORD.finditer("".join(map(chr, range(0x110000)))):
        table[match.start():match.end()] = True
    return table


def _is_word_character(codes: np.ndarray) -> np.ndarray:
    """`_word_characters` of each code point: ASCII by comparisons, the table
    read for the others alone."""
    with np.errstate(over="ignore"):
        word = (codes - np.uint32(97)) < np.uint32(26)  # a-z; below 'a' wraps around to large
        word |= (codes - np.uint32(65)) < np.uint32(26)  # A-Z
        word |= (codes - np.uint32(48)) < np.uint32(10)  # 0-9
        word |= codes == np.uint32(95)  # _
    other = np.flatnonzero(codes >= np.uint32(128))
    if other.size:
        word[other] = _word_characters()[codes[other]]
    return word


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place: every input bit moves every output
    bit (a bijection of 64-bit values)."""
    with np.errstate(over="ignore"):
        values ^= values >> np.uint64(30)
        values *= _MIX_1
        values ^= values >> np.uint64(27)
        values *= _MIX_2
        values ^= values >> np.uint64(31)
    return values


def word_hashes(text: str) -> tuple[bytes, np.ndarray]:
    """The words of `text` (`words`) joined by one space, UTF-8, and a 64-bit
    hash of each word, found over the text's code points with numpy.

    A word's hash mixes each of its characters with its place in the word
    (`_mix`), sums those (mod 2^64) and mixes the sum with the length: it
    depends on the word alone.  A lone surrogate is not a word character,
    as in `words`.  A long text is taken `WORD_PIECE` characters at a time,
    cut after a character that is no part of a word: the arrays of a piece
    take ~40 bytes a character."""
    prepared = _prepared(text)
    pieces, start = [], 0
    while start < len(prepared):
        end = min(start + WORD_PIECE, len(prepared))
        codes, word = _code_points(prepared[start:end])
        if word[-1] and _WORD.match(prepared, end):  # a word goes on past the piece
            breaks = np.flatnonzero(~word)
            if breaks.size:  # the piece ends after its last character that is no part of a word
                codes, word = codes[:breaks[-1] + 1], word[:breaks[-1] + 1]
            else:  # one word fills the piece: to its end
                after = _NOT_WORD.search(prepared, end)
                codes, word = _code_points(prepared[start:after.start() if after else len(prepared)])
        pieces.append(_piece_word_hashes(codes, word))
        start += codes.size
    if len(pieces) == 1:
        return pieces[0]
    return (b" ".join(joined for joined, _ in pieces if joined),  # no piece: an empty text
            np.concatenate([np.zeros(0, dtype=np.uint64)] + [hashes for _, hashes in pieces]))


WORD_PIECE = 1 << 20
"""Characters of a text `word_hashes` turns into arrays at once."""


def _code_points(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The code points of `text` and which of them are word characters."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    return codes, _is_word_character(codes)


def _piece_word_hashes(codes: np.ndarray, is_word: np.ndarray) -> tuple[bytes, np.ndarray]:
    """`word_hashes` of a text's code points (`is_word`: which are word characters)."""
    at = np.flatnonzero(is_word)  # the word characters, in order
    if at.size == 0:
        return b"", np.zeros(0, dtype=np.uint64)
    begins = np.ones(at.size, dtype=bool)
    begins[1:] = at[1:] != at[:-1] + 1
    firsts = np.flatnonzero(begins)  # each word's first character, among `at`
    word = np.cumsum(begins) - 1  # the word of each character
    place = np.arange(at.size) - firsts[word]
    characters = codes[at]
    mixed = _mix(characters.astype(np.uint64) | (place.astype(np.uint64) << np.uint64(32)))
    lasts = np.append(firsts[1:], at.size) - 1
    with np.errstate(over="ignore"):
        sums = np.cumsum(mixed)[lasts]  # wraps around: each word's sum mod 2^64, from the differences
        sums[1:] -= sums[:-1].copy()
        hashes = _mix(sums ^ ((lasts - firsts + 1).astype(np.uint64) * _MIX_2))
    joined = np.full(at.size + firsts.size - 1, 32, dtype="<u4")  # one space between words
    joined[np.arange(at.size) + word] = characters
    text_bytes = joined.astype(np.uint8).tobytes() if characters.max() < 128 else \
        joined.tobytes().decode("utf-32-le").encode("utf-8")
    return text_bytes, hashes


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """The distinct 64-bit hashes of the word `size`-grams of `text`
    (sorted): the set whose Jaccard similarity the signature estimates."""
    return np.unique(_shingles(word_hashes(text)[1], size))


def _shingles(hashed: np.ndarray, size: int) -> np.ndarray:
    """The 64-bit hash of each run of `size` words, from their word hashes:
    a polynomial over them (mod 2^64), mixed.  Fewer words than `size`: the
    whole text is one shingle.  No words: no shingles."""
    if hashed.size == 0:
        return np.zeros(0, dtype=np.uint64)
    size = min(size, len(hashed))
    count = len(hashed) - size + 1
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(size):
            combined = combined * _SHINGLE_MULTIPLIER + hashed[offset: offset + count]
    return _mix(combined)


@functools.lru_cache(maxsize=8)
def _probes(num_perm: int, seed: int) -> np.ndarray:
    """For each bin, the order in which an empty bin looks for a filled one
    (a permutation of the bins of its own, drawn from a generator seeded
    with `seed`; the bin itself comes last, never needed)."""
    rng = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)
    probes = np.empty((num_perm, num_perm), dtype=np.int64)
    for b in range(num_perm):
        others = np.delete(np.arange(num_perm), b)
        probes[b] = np.append(rng.permutation(others), b)
    return probes


def _one_permutation(shingles: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """The signature of 64-bit shingle hashes (uint32[num_perm]): each
    shingle hashed once more with the seed, the high 32 bits choosing its
    bin, the low 32 its value; a bin holds its least value; an empty bin the
    value of the first filled bin in its `_probes` order."""
    signature = np.full(num_perm, 0xFFFFFFFF, dtype=np.uint64)
    if shingles.size == 0:
        return signature.astype(np.uint32)
    hashed = _mix(shingles ^ np.uint64(seed & 0xFFFFFFFFFFFFFFFF))
    bins = ((hashed >> np.uint64(32)) * np.uint64(num_perm)) >> np.uint64(32)  # < num_perm: no overflow
    bins = bins.astype(np.intp)
    np.minimum.at(signature, bins, hashed & _MAX_HASH_32)
    filled = np.zeros(num_perm, dtype=bool)
    filled[bins] = True
    if not filled.all():
        empty = np.flatnonzero(~filled)
        probes = _probes(num_perm, seed)[empty]
        donors = probes[np.arange(empty.size), filled[probes].argmax(axis=1)]
        signature[empty] = signature[donors]
    return signature.astype(np.uint32)


def signature(text: str, num_perm: int = NUM_PERM, seed: int = SEED,
              shingle_words: int = SHINGLE_WORDS) -> np.ndarray:
    """MinHash signature of `text` (uint32[num_perm]); all 0xFFFFFFFF for a text
    without words."""
    return _one_permutation(_shingles(word_hashes(text)[1], shingle_words), num_perm, seed)


def document_signature(doc_id: str, text: str, num_perm: int = NUM_PERM, seed: int = SEED,
                       shingle_words: int = SHINGLE_WORDS) -> DocumentSignature:
    joined, hashed = word_hashes(text)  # once: the three parts share them
    return DocumentSignature(doc_id, hashlib.sha256(joined).hexdigest(), len(hashed),
                             _one_permutation(_shingles(hashed, shingle_words), num_perm, seed))


def estimated_jaccard(left: np.ndarray, right: np.ndarray) -> float:
    """Share of equal signature positions: the MinHash estimate of Jaccard."""
    return float(np.count_nonzero(left == right)) / len(left)


# -- 2. clustering (whole corpus) ------------------------------------------------


def _probability_mass(threshold: float, bands: int, rows: int) -> tuple[float, float]:
    """(false positive, false negative) mass of a banding: the chance that a
    pair below the threshold shares a band, integrated over similarity, and the
    chance that a pair above it shares none."""
    def integrate(lo: float, hi: float, above: bool) -> float:
        s = np.linspace(lo, hi, 201)
        p = 1.0 - (1.0 - s ** rows) ** bands
        return float(np.trapezoid(1.0 - p if above else p, s))
    return integrate(0.0, threshold, False), integrate(threshold, 1.0, True)


@functools.lru_cache(maxsize=None)
def lsh_bands(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising the sum of the
    false positive and false negative mass around `threshold`."""
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp, fn = _probability_mass(threshold, bands, rows)
            if best is None or fp + fn < best[0] - 1e-12:
                best = (fp + fn, bands, rows)
    assert best is not None
    return best[1], best[2]


def candidate_pairs(signatures: Mapping[str, np.ndarray], bands: int, rows: int) -> set[tuple[str, str]]:
    """Pairs of doc_ids (sorted) whose signatures agree on at least one band."""
    if not signatures:
        return set()
    ids = sorted(signatures)
    return {(ids[a], ids[b]) for a, b in _band_pairs(np.stack([signatures[d] for d in ids]), bands, rows)}


def _band_pairs(matrix: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Pairs (a, b), a < b, of rows of `matrix` (one signature a row) that
    agree on at least one band.  A band's buckets are the distinct byte
    strings of that slice of the signatures (`np.unique` over them as opaque
    values): only rows in a bucket of two or more reach Python."""
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        block = np.ascontiguousarray(matrix[:, band * rows:(band + 1) * rows])
        keys = block.view(np.dtype((np.void, block.shape[1] * block.itemsize))).ravel()
        _, bucket, size = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(size[bucket.ravel()] > 1)
        if not len(shared):
            continue
        shared = shared[np.argsort(bucket.ravel()[shared], kind="stable")]  # by bucket, then row
        cuts = np.flatnonzero(np.diff(bucket.ravel()[shared])) + 1
        for group in np.split(shared, cuts):
            members = group.tolist()
            pairs.update((x, y) for i, x in enumerate(members) for y in members[i + 1:])
    return pairs


class SignatureColumns:
    """Many documents' signatures as columns, added one at a time
    (`append`, from `DocumentSignature.to_record` records): the doc_ids, and
    three contiguous buffers (hashes, word counts, MinHashes), not an object
    per document.  At 1 GB of input (150k documents) the signatures as
    dicts and then `DocumentSignature`s were ~400 MB of the corpus pass."""

    def __init__(self) -> None:
        self.doc_ids: list[str] = []
        self._sha = bytearray()
        self._words = array.array("q")
        self._minhash = bytearray()
        self._width: int | None = None

    def append(self, doc_id: str, record: Mapping) -> None:
        sha, minhash = record["normalised_sha256"].encode("ascii"), record["minhash"]
        if len(sha) != _SHA_WIDTH:
            raise ValueError(f"{doc_id!r}: normalised_sha256 is not a sha256 hex digest")
        if self._width is None:
            self._width = len(minhash)
        elif len(minhash) != self._width:
            raise ValueError("signatures of different lengths (NUM_PERM changed?)")
        self.doc_ids.append(doc_id)
        self._sha += sha
        self._words.append(int(record["word_count"]))
        self._minhash += minhash

    def __len__(self) -> int:
        return len(self.doc_ids)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hashes S64, word counts int64, MinHashes uint32 documents x NUM_PERM), views of the buffers."""
        width = (self._width or 0) // 4
        return (np.frombuffer(self._sha, dtype=f"S{_SHA_WIDTH}"), np.frombuffer(self._words, dtype=np.int64),
                np.frombuffer(self._minhash, dtype="<u4").reshape(len(self.doc_ids), width))


_SHA_WIDTH = 64


def duplicate_clusters(columns: SignatureColumns, threshold: float = THRESHOLD) -> dict[str, DocumentCluster]:
    """doc_id -> cluster of every document with a duplicate (clusters of two
    or more); every other document is its own cluster (`unique_cluster`).
    Edges: documents with the same normalised hash, and candidate pairs
    (`_band_pairs`) whose estimated Jaccard is >= threshold; clusters are
    the connected components, each given its canonical member
    (`assign_canonical`, members in doc_id order)."""
    if not len(columns):
        return {}
    ids = columns.doc_ids
    in_order = sorted(ids)
    for a, b in zip(in_order, in_order[1:]):
        if a == b:
            raise ValueError(f"duplicate doc_id {a!r}")
    del in_order
    # rows as appended: the edges, hence the components, do not depend on their order
    shas, words, minhashes = columns.arrays()
    parent: dict[int, int] = {}

    def find(row: int) -> int:
        root = row
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(row, row) != root:  # path compression
            parent[row], row = root, parent[row]
        return root

    def union(a: int, b: int) -> None:
        a, b = find(a), find(b)
        if a != b:
            low, high = min(a, b), max(a, b)
            parent.setdefault(low, low)
            parent[high] = low

    _, same_hash, counts = np.unique(shas, return_inverse=True, return_counts=True)
    first: dict[int, int] = {}
    for row in np.flatnonzero(counts[same_hash] > 1).tolist():
        union(first.setdefault(int(same_hash[row]), row), row)
    for a, b in _band_pairs(minhashes, *lsh_bands(threshold, minhashes.shape[1])):
        if shas[a] != shas[b] and estimated_jaccard(minhashes[a], minhashes[b]) >= threshold:
            union(a, b)
    components: dict[int, list[int]] = defaultdict(list)
    for row in list(parent):
        components[find(row)].append(row)
    clusters: dict[str, DocumentCluster] = {}
    for rows in components.values():
        if len(rows) > 1:
            members = sorted(rows, key=ids.__getitem__)  # in doc_id order
            clusters.update(assign_canonical([DocumentSignature(ids[r], shas[r].decode("ascii"), int(words[r]),
                                                                minhashes[r]) for r in members]))
    return clusters


def unique_cluster(doc_id: str) -> DocumentCluster:
    """The cluster of a document with no duplicate: itself."""
    return DocumentCluster(doc_id, doc_id, 1.0, KIND_UNIQUE, 1)


# -- 3. canonical member (per cluster) -------------------------------------------


def canonical_member(members: Sequence[DocumentSignature]) -> DocumentSignature:
    """The medoid (most signature positions shared with the other members);
    ties: the most words, then the smallest doc_id."""
    stacked = np.stack([m.minhash for m in members])  # members x num_perm
    agreement = [int(np.count_nonzero(stacked == row)) for row in stacked]  # O(n) memory
    return min(zip(agreement, members), key=lambda pair: (-pair[0], -pair[1].word_count, pair[1].doc_id))[1]


def assign_canonical(members: Sequence[DocumentSignature]) -> dict[str, DocumentCluster]:
    if len(members) == 1:  # most documents: no signature to compare
        return {members[0].doc_id: unique_cluster(members[0].doc_id)}
    canonical = canonical_member(members)
    result = {}
    for sig in members:
        if len(members) == 1:
            kind, similarity = KIND_UNIQUE, 1.0
        elif sig.doc_id == canonical.doc_id:
            kind, similarity = KIND_CANONICAL, 1.0
        elif sig.normalised_sha256 == canonical.normalised_sha256:
            kind, similarity = KIND_EXACT, 1.0
        else:
            kind, similarity = KIND_NEAR, round(estimated_jaccard(sig.minhash, canonical.minhash), 4)
        result[sig.doc_id] = DocumentCluster(canonical.doc_id, canonical.doc_id, similarity, kind, len(members))
    return result


def cluster_signatures(signatures: Iterable[DocumentSignature] | Mapping[str, DocumentSignature],
                       threshold: float = THRESHOLD) -> dict[str, DocumentCluster]:
    """Every doc_id -> its cluster, from signatures alone (the reduce step)."""
    items = list(signatures.values()) if isinstance(signatures, Mapping) else list(signatures)
    columns = SignatureColumns()
    for sig in items:
        columns.append(sig.doc_id, sig.to_record())
    shared = duplicate_clusters(columns, threshold)
    return {doc_id: shared.get(doc_id) or unique_cluster(doc_id) for doc_id in sorted(columns.doc_ids)}


def find_document_clusters(documents: Iterable[tuple[str, str]], threshold: float = THRESHOLD,
                           num_perm: int = NUM_PERM, seed: int = SEED,
                           shingle_words: int = SHINGLE_WORDS) -> dict[str, DocumentCluster]:
    """Every doc_id of `documents` ((doc_id, cleaned text) pairs) -> its cluster.

    Singletons are their own cluster (kind `unique`).  The result does not
    depend on the order of `documents`.
    """
    return cluster_signatures(
        [document_signature(doc_id, text, num_perm, seed, shingle_words) for doc_id, text in documents],
        threshold,
    )


def cluster_rows(clusters: Mapping[str, DocumentCluster]) -> list[dict]:
    """The new `documents` columns, one dict per doc_id (sorted by doc_id)."""
    return [
        {
            "doc_id": doc_id,
            "cluster_id": c.cluster_id,
            "canonical_doc_id": c.canonical_doc_id,
            "cluster_size": c.size,
            "similarity_to_canonical": c.similarity,
            "duplicate_kind": c.kind,
        }
        for doc_id, c in sorted(clusters.items())
    ]
