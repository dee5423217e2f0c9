"""Near-duplicate documents across the corpus (pressroom.dedup).

The corpus under tests/corpus/dedup/ is one wire story (cleaned text) and:
- nestnews-...-copy: the same words, only case and whitespace differ (exact);
- courier-...-repost: the story with curly quotes and chrome remnants the
  cleaner left (a byline, a share line, a "Read more" link);
- ambit-...-edited: two sentences rewritten and one added;
- kestrel-...-analysis: another article on the same event, with the same
  names and a quote from the story: must NOT be clustered.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from pressroom import dedup

CORPUS = Path(__file__).resolve().parent / "corpus" / "dedup"
STORY = "wire-compact-summit"
EXACT = "nestnews-compact-summit-copy"
REPOST = "courier-compact-summit-repost"
EDITED = "ambit-compact-summit-edited"
OTHER = "kestrel-compact-analysis"


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, str]]:
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("*.txt"))]


def exact_jaccard(left: str, right: str) -> float:
    a = set(dedup.shingle_hashes(left).tolist())
    b = set(dedup.shingle_hashes(right).tolist())
    return len(a & b) / len(a | b)


def test_words_ignore_case_punctuation_and_whitespace():
    assert dedup.words("“Don’t  stop,” she SAID.\n\nNow") == ["dont", "stop", "she", "said", "now"]
    assert dedup.normalised_sha256("A  b, C.") == dedup.normalised_sha256("a b c")
    assert dedup.normalised_sha256("a b c") != dedup.normalised_sha256("a c b")


def test_signature_is_deterministic_and_compact():
    text = "The prime ministers signed a transit compact on Thursday in Brevik."
    first, second = dedup.signature(text), dedup.signature(text)
    assert first.dtype == np.uint32 and first.shape == (dedup.NUM_PERM,)
    assert np.array_equal(first, second)
    assert not np.array_equal(first, dedup.signature(text.replace("Thursday", "Friday")))
    # a text without words has the empty signature; a short one is one shingle
    assert (dedup.signature("  ... ") == 0xFFFFFFFF).all()
    assert (dedup.signature("Two words") != 0xFFFFFFFF).all()


def test_minhash_estimate_tracks_exact_jaccard(documents):
    texts = dict(documents)
    for other in (REPOST, EDITED, OTHER):
        estimate = dedup.estimated_jaccard(dedup.signature(texts[STORY]), dedup.signature(texts[other]))
        assert abs(estimate - exact_jaccard(texts[STORY], texts[other])) < 0.1, other


@pytest.mark.parametrize("length", [12, 40, 150, 600, 3000])
def test_signature_estimates_jaccard_without_bias_at_every_length(length):
    """One-permutation MinHash: a text of fewer shingles than bins fills its
    empty bins from others (densification); the estimate stays unbiased and
    as close as 128 hash functions' (~0.035 near 0.8)."""
    rng = random.Random(length)
    vocabulary = [f"w{i}" for i in range(5000)]
    errors = []
    for _ in range(60):
        left = [rng.choice(vocabulary) for _ in range(length)]
        changed = rng.choice([0.02, 0.05, 0.1, 0.3])
        right = [w if rng.random() > changed else rng.choice(vocabulary) for w in left]
        a, b = " ".join(left), " ".join(right)
        errors.append(dedup.estimated_jaccard(dedup.signature(a), dedup.signature(b)) - exact_jaccard(a, b))
    assert abs(np.mean(errors)) < 0.02 and np.mean(np.abs(errors)) < 0.05, (np.mean(errors), np.mean(np.abs(errors)))


def test_lsh_bands_fit_the_threshold():
    bands, rows = dedup.lsh_bands(0.8, 128)
    assert bands * rows <= 128
    # the S-curve's midpoint (1/b)^(1/r) sits near the threshold
    assert 0.7 < (1 / bands) ** (1 / rows) < 0.85


def test_reposts_exact_copies_and_edits_cluster_but_other_articles_do_not(documents):
    clusters = dedup.find_document_clusters(documents)
    assert set(clusters) == {doc_id for doc_id, _ in documents}
    family = {STORY, EXACT, REPOST, EDITED}
    cluster_ids = {clusters[d].cluster_id for d in family}
    assert len(cluster_ids) == 1
    assert all(clusters[d].size == 4 for d in family)
    assert clusters[OTHER].kind == dedup.KIND_UNIQUE
    assert clusters[OTHER].cluster_id == OTHER and clusters[OTHER].size == 1
    assert clusters[OTHER].cluster_id not in cluster_ids
    # exact copies are marked exact, with similarity 1
    canonical = clusters[STORY].canonical_doc_id
    assert canonical in {STORY, EXACT}
    kinds = {d: clusters[d].kind for d in family}
    assert kinds[REPOST] == kinds[EDITED] == dedup.KIND_NEAR
    assert sorted(kinds[d] for d in (STORY, EXACT)) == [dedup.KIND_CANONICAL, dedup.KIND_EXACT]
    assert 0.8 <= clusters[EDITED].similarity < 1.0
    assert 0.8 <= clusters[REPOST].similarity < 1.0


def test_canonical_is_the_medoid_not_the_longest(documents):
    """The repost is the longest text (chrome remnants), the story and its exact
    copy agree most with every member: one of them is canonical.  Between those
    two (same words) the smallest doc_id wins."""
    texts = dict(documents)
    assert max(texts, key=lambda d: len(texts[d])) == REPOST
    clusters = dedup.find_document_clusters(documents)
    assert clusters[REPOST].canonical_doc_id == min(STORY, EXACT) == EXACT
    assert clusters[REPOST].cluster_id == clusters[REPOST].canonical_doc_id


def test_canonical_ties_break_on_word_count_then_doc_id():
    sig = np.arange(8, dtype=np.uint32)
    short = dedup.DocumentSignature("a", "h1", 10, sig)
    long = dedup.DocumentSignature("b", "h2", 12, sig)
    twin = dedup.DocumentSignature("c", "h3", 12, sig)
    assert dedup.canonical_member([short, long, twin]).doc_id == "b"
    assert dedup.canonical_member([twin, short, long]).doc_id == "b"


@pytest.mark.parametrize("seed", range(5))
def test_same_result_whatever_the_input_order(documents, seed):
    expected = dedup.find_document_clusters(documents)
    shuffled = list(documents)
    random.Random(seed).shuffle(shuffled)
    assert dedup.find_document_clusters(shuffled) == expected
    assert dedup.cluster_rows(dedup.find_document_clusters(shuffled)) == dedup.cluster_rows(expected)


def test_signatures_merge_across_batches(documents):
    """Map/reduce: signatures computed in separate batches cluster like one run."""
    batches = [documents[:2], documents[2:]]
    signatures = [dedup.document_signature(d, t) for batch in batches for d, t in batch]
    assert dedup.cluster_signatures(reversed(signatures)) == dedup.find_document_clusters(documents)


def test_signature_records_round_trip_for_a_cache(documents):
    signatures = [dedup.document_signature(d, t) for d, t in documents]
    restored = [dedup.DocumentSignature.from_record(s.to_record()) for s in signatures]
    assert all(np.array_equal(a.minhash, b.minhash) and a.minhash.dtype == b.minhash.dtype
               for a, b in zip(signatures, restored))
    assert len(signatures[0].to_record()["minhash"]) == 4 * dedup.NUM_PERM
    assert dedup.cluster_signatures(restored) == dedup.cluster_signatures(signatures)


def test_duplicate_doc_ids_are_refused():
    with pytest.raises(ValueError, match="duplicate doc_id"):
        dedup.find_document_clusters([("a", "one text"), ("a", "another text")])
    assert dedup.find_document_clusters([]) == {}


def test_cluster_rows_carry_the_documents_columns(documents):
    rows = dedup.cluster_rows(dedup.find_document_clusters(documents))
    assert [r["doc_id"] for r in rows] == sorted(d for d, _ in documents)
    assert set(rows[0]) == {"doc_id", "cluster_id", "canonical_doc_id", "cluster_size",
                            "similarity_to_canonical", "duplicate_kind"}
    for row in rows:
        assert row["cluster_id"] == row["canonical_doc_id"]
        assert (row["doc_id"] == row["canonical_doc_id"]) == (row["duplicate_kind"] in {"canonical", "unique"})


def test_chained_members_report_their_own_similarity():
    """A~B and B~C link A and C even when A and C are further apart; the
    similarity to the canonical member says how far."""
    base = [f"w{i}" for i in range(400)]
    a = " ".join(base)
    b = " ".join(base[:300] + [f"x{i}" for i in range(20)] + base[300:])
    c = " ".join(base[:300] + [f"x{i}" for i in range(20)] + base[300:340] + [f"y{i}" for i in range(40)] + base[340:])
    clusters = dedup.find_document_clusters([("a", a), ("b", b), ("c", c)], threshold=0.8)
    assert len({cl.cluster_id for cl in clusters.values()}) == 1
    assert clusters["b"].kind == dedup.KIND_CANONICAL  # the middle one agrees most with both
    assert all(cl.similarity >= 0.75 for cl in clusters.values())


def test_seed_documents_are_all_unique():
    """The five seeds (a transcript, two articles, two commentaries quoting it)
    share quotes, not text: no cluster."""
    raw = Path(__file__).resolve().parent.parent / "raw"
    docs = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(raw.glob("*.txt"))]
    assert all(c.kind == dedup.KIND_UNIQUE for c in dedup.find_document_clusters(docs).values())


def test_candidate_pairs_are_the_documents_sharing_a_band():
    """The vectorised banding equals bucketing each band's bytes in a dict,
    on random signatures drawn from few values (many shared bands, buckets
    of every size, no documents, one document)."""
    import random
    from collections import defaultdict

    def bucketed(signatures, bands, rows):
        pairs = set()
        for band in range(bands):
            buckets = defaultdict(list)
            for doc_id, sig in signatures.items():
                buckets[sig[band * rows:(band + 1) * rows].tobytes()].append(doc_id)
            for members in buckets.values():
                members.sort()
                pairs.update((x, y) for i, x in enumerate(members) for y in members[i + 1:])
        return pairs

    rng = random.Random(3)
    found = 0
    for _ in range(300):
        bands, rows, values = rng.randint(1, 6), rng.randint(1, 4), rng.randint(1, 3)
        signatures = {f"d{rng.randint(0, 99):02d}": np.array([rng.randint(0, values) for _ in range(bands * rows)],
                                                             dtype=np.uint32)
                      for _ in range(rng.randint(0, 12))}
        expected = bucketed(signatures, bands, rows)
        assert dedup.candidate_pairs(signatures, bands, rows) == expected
        found += len(expected)
    assert found > 1000


def _reference_clusters(signatures, threshold=dedup.THRESHOLD):
    """Components of the same-hash and verified-band edges by a plain graph walk."""
    by_id = {s.doc_id: s for s in signatures}
    edges = defaultdict(set)
    for a in by_id:
        for b in by_id:
            if a < b and by_id[a].normalised_sha256 == by_id[b].normalised_sha256:
                edges[a].add(b), edges[b].add(a)
    bands, rows = dedup.lsh_bands(threshold)
    for a, b in dedup.candidate_pairs({d: s.minhash for d, s in by_id.items()}, bands, rows):
        if dedup.estimated_jaccard(by_id[a].minhash, by_id[b].minhash) >= threshold:
            edges[a].add(b), edges[b].add(a)
    clusters, seen = {}, set()
    for start in sorted(by_id):
        if start in seen:
            continue
        component, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node not in component:
                component.add(node)
                todo += edges[node]
        seen |= component
        clusters.update(dedup.assign_canonical([by_id[d] for d in sorted(component)]))
    return clusters


def test_signature_columns_cluster_as_the_graph_of_their_edges():
    """Planted exact copies, near copies and chains among random signatures:
    `duplicate_clusters` (columns, union-find) gives every document in a
    cluster of two or more the cluster a plain graph walk gives, and
    `cluster_signatures` every other document its own."""
    rng = np.random.default_rng(3)
    signatures = []
    for n in range(300):
        signatures.append(dedup.DocumentSignature(f"doc{rng.integers(10**6):06d}-{n}", f"{n:064x}",
                                                  int(rng.integers(50, 500)),
                                                  rng.integers(0, 2**32, dedup.NUM_PERM, dtype=np.uint32)))
    for n in range(120):  # copies of earlier documents: exact (same hash), near, or far
        source = signatures[int(rng.integers(len(signatures)))]
        minhash = source.minhash.copy()
        changed = rng.choice(dedup.NUM_PERM, int(rng.choice([0, 8, 20, 40, 90])), replace=False)
        minhash[changed] = rng.integers(0, 2**32, len(changed), dtype=np.uint32)
        sha = source.normalised_sha256 if not len(changed) and n % 2 else f"{1000 + n:064x}"
        signatures.append(dedup.DocumentSignature(f"copy{n:03d}", sha, int(rng.integers(50, 500)), minhash))
    expected = _reference_clusters(signatures)
    columns = dedup.SignatureColumns()
    for sig in reversed(signatures):
        columns.append(sig.doc_id, sig.to_record())
    shared = dedup.duplicate_clusters(columns)
    assert shared == {d: c for d, c in expected.items() if c.size > 1}
    assert {c.kind for c in shared.values()} >= {"canonical", "exact", "near"}
    assert max(c.size for c in shared.values()) >= 3
    assert dedup.cluster_signatures(signatures) == expected
