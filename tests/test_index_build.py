"""The quote index built out of core (`index_build.build_index`) is the
index `quotes.TurnIndex` builds in memory, and holds one part at a time."""

import gc
import random
import weakref

import numpy as np
import pytest

from pressroom import cache, index_build, quotes

WORDS = ("peace war treaty minister question answer nation border sanctions talks élan naïve président "
         "we will never accept this — “quoted” 😀").split()


def random_turns(seed: int, documents: int = 60) -> list[dict]:
    rng = random.Random(seed)
    turns = []
    for d in range(documents):
        doc_id = f"doc{rng.randint(0, 10**6):07d}-{d}"
        for t in range(rng.randint(0, 6)):
            sentences = (" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14))) + rng.choice(".?!")
                         for _ in range(rng.randint(0, 7)))
            turns.append({"id": f"{doc_id}:{t:04d}", "doc_id": doc_id, "speaker": rng.choice([None, "A", "Bé"]),
                          "text": " ".join(sentences)})
    rng.shuffle(turns)
    return turns


def assert_same_index(built: quotes.TurnIndex, reference: quotes.TurnIndex) -> None:
    for name in quotes.INDEX_ARRAYS:
        mine, theirs = getattr(built, name), getattr(reference, name)
        assert mine.dtype == theirs.dtype, name
        assert np.array_equal(mine, theirs), name
    for name in quotes.TurnIndex._STRINGS:
        assert list(getattr(built, name)) == list(getattr(reference, name)), name
    assert (built.unknown_weight, built.idf_base, built.own_docs) == (reference.unknown_weight, reference.idf_base,
                                                                      reference.own_docs)


@pytest.mark.parametrize("budget", [150, 4000, 1 << 30])
@pytest.mark.parametrize("seed", [1, 2])
def test_out_of_core_build_is_the_index_built_in_memory(tmp_path, seed, budget):
    turns = random_turns(seed)
    parts = [quotes.TurnSketches.of_turns(turns[k:k + 29]) for k in range(0, len(turns), 29)]
    parts.insert(1, quotes.TurnSketches.of_turns([]))  # a pack whose documents have no turns
    index_build.build_index(iter(parts), tmp_path / "arrays", tmp_path / "strings", scratch=tmp_path, budget=budget)
    built = quotes.TurnIndex.load(tmp_path / "arrays", tmp_path / "strings")
    assert_same_index(built, quotes.TurnIndex(turns))
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob(".index-build-*"))
    # and it links as the index in memory does
    quote = {"doc_id": "elsewhere", "text": turns[3]["text"], "id": "q"}
    assert quotes.best_match(quote, built) == quotes.best_match(quote, quotes.TurnIndex(turns))


def test_a_small_budget_writes_the_index_in_many_chunks(tmp_path, monkeypatch):
    turns = random_turns(3)
    chunks = []
    real = index_build._chunk
    monkeypatch.setattr(index_build, "_chunk", lambda *a: chunks.append(real(*a)) or chunks[-1])
    index_build.build_index([quotes.TurnSketches.of_turns(turns)], tmp_path / "a", tmp_path / "s", budget=2000)
    assert len(chunks) > 5
    assert sum(len(c.ids) for c in chunks) == len(turns)
    ids = [t for c in chunks for t in c.ids]
    assert ids == sorted(t["id"] for t in turns)


def test_the_build_holds_one_part_at_a_time(tmp_path):
    turns = random_turns(4)
    alive = []

    def parts():
        for k in range(0, len(turns), 20):
            gc.collect()
            assert all(ref() is None for ref in alive), "an earlier part is still held"
            part = quotes.TurnSketches.of_turns(turns[k:k + 20])
            alive.append(weakref.ref(part))
            yield part
            del part  # this generator's own reference

    index_build.build_index(parts(), tmp_path / "a", tmp_path / "s")
    assert len(alive) > 3
    assert_same_index(quotes.TurnIndex.load(tmp_path / "a", tmp_path / "s"), quotes.TurnIndex(turns))


def test_an_index_of_no_turns(tmp_path):
    index_build.build_index([quotes.TurnSketches.of_turns([])], tmp_path / "a", tmp_path / "s")
    index = quotes.TurnIndex.load(tmp_path / "a", tmp_path / "s")
    assert len(index.turn_ids) == 0
    assert index.candidates({"peace", "treaty"}, exclude_doc="x") == []


def test_chunks_hold_what_the_budget_allows_and_never_nothing():
    cost = np.array([5, 5, 5, 50, 1, 1, 1, 1, 30])
    ends = index_build._chunk_ends(cost, 10).tolist()
    assert ends[-1] == len(cost) and ends == sorted(set(ends)) and ends[0] >= 1
    starts = [0] + ends[:-1]
    for start, end in zip(starts, ends):
        assert end > start
        assert cost[start:end].sum() <= 10 or end - start == 1
        assert end == len(cost) or cost[start:end + 1].sum() > 10  # no room for the next turn


def test_prune_removes_the_scratch_folder_a_crashed_build_left(tmp_path):
    store = cache.PackStore(tmp_path)
    scratch = store.folder("index") / ".index-build-crashed"
    scratch.mkdir(parents=True)
    (scratch / "part-0").write_bytes(b"x" * 10)
    store.prune({})
    assert not scratch.exists()


def test_turn_rows_are_found_by_binary_search_of_their_keys(tmp_path):
    turns = random_turns(5) + [{"id": "é:0001", "doc_id": "é", "speaker": None, "text": "Peace now. We agree."},
                               {"id": "a:0001", "doc_id": "a", "speaker": "A", "text": "Sanctions talks."}]
    index_build.build_index([quotes.TurnSketches.of_turns(turns)], tmp_path / "a", tmp_path / "s")
    for index in (quotes.TurnIndex(turns), quotes.TurnIndex.load(tmp_path / "a", tmp_path / "s")):
        ids = list(index.turn_ids)
        assert index.positions(ids[::-1]).tolist() == list(range(len(ids)))[::-1]
        longest = max(ids, key=lambda t: len(t.encode()))
        asked = ["", "a:000", "a:00010", longest + "0", "zzz", "é:0001"]
        at, found = index.find(asked)
        assert found.tolist() == [False, False, False, False, False, True]
        assert ids[int(at[-1])] == "é:0001"
        with pytest.raises(KeyError):
            index.positions(["a:0001", longest + "0"])


def mapped_rss_kib(path) -> int:
    """This process's resident KiB of the mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            if "-" in line.split(" ", 1)[0]:  # a mapping's header line
                inside = line.rstrip().endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


def test_release_pages_drops_the_index_from_resident_memory_and_it_still_answers(tmp_path):
    turns = random_turns(6, documents=400)
    arrays, strings = tmp_path / "arrays", tmp_path / "strings"
    index_build.build_index([quotes.TurnSketches.of_turns(turns)], arrays, strings)
    index = quotes.TurnIndex.load(arrays, strings)
    asked = [{"doc_id": "elsewhere", "text": t["text"], "id": f"q{k}"} for k, t in enumerate(turns[:40])]
    before = quotes.link_quotes(asked, index)
    for name in quotes.INDEX_ARRAYS:  # read every page
        bytes(getattr(index, name).data)
    list(index.texts)
    assert mapped_rss_kib(arrays) > 100 and mapped_rss_kib(strings) > 20
    index.release_pages()
    assert mapped_rss_kib(arrays) == 0 and mapped_rss_kib(strings) == 0
    assert quotes.link_quotes(asked, index) == before
    quotes.TurnIndex(turns).release_pages()  # an index in memory has nothing to release


def updated_and_built(tmp_path, turns: list[dict], removed: list[str], added: list[dict], budget: int = 4000):
    """The last index (of `turns`) updated, and the index built afresh from
    the turns it should hold."""
    index_build.build_index([quotes.TurnSketches.of_turns(turns)], tmp_path / "a", tmp_path / "s", budget=budget)
    old = quotes.TurnIndex.load(tmp_path / "a", tmp_path / "s")
    index_build.update_index(old, removed, quotes.TurnSketches.of_turns(added), tmp_path / "a2", tmp_path / "s2",
                             budget=budget)
    kept = [t for t in turns if t["doc_id"] not in set(removed)]
    index_build.build_index([quotes.TurnSketches.of_turns(kept + added)], tmp_path / "a3", tmp_path / "s3",
                            budget=budget)
    return (quotes.TurnIndex.load(tmp_path / "a2", tmp_path / "s2"),
            quotes.TurnIndex.load(tmp_path / "a3", tmp_path / "s3"))


@pytest.mark.parametrize("budget", [150, 4000, 1 << 30])
@pytest.mark.parametrize("seed", range(1, 9))
def test_an_updated_index_is_the_index_built_afresh(tmp_path, seed, budget):
    """Documents taken out, edited (new words: new stems, others gone) and
    added: the updated index is the one built from the turns it holds."""
    rng = random.Random(seed)
    turns = random_turns(seed, documents=80)
    documents = sorted({t["doc_id"] for t in turns})
    removed = rng.sample(documents, rng.randint(1, len(documents) // 3))
    edited = [dict(t, text=f"{t['text']} unheard{rng.randint(0, 9)} words.") for t in turns
              if t["doc_id"] in removed[:len(removed) // 2]]
    new = [t for t in random_turns(seed + 100, documents=10) if t["doc_id"] not in documents]
    updated, built = updated_and_built(tmp_path, turns, removed, edited + new, budget)
    assert_same_index(updated, built)
    assert len(updated.turn_keys) != len(turns)  # the case changed something
    quote = {"doc_id": "elsewhere", "text": (edited or new)[0]["text"], "id": "q"}
    assert quotes.best_match(quote, updated) == quotes.best_match(quote, built)


def test_updates_that_empty_fill_or_resize_the_index(tmp_path):
    turns = random_turns(5)
    documents = sorted({t["doc_id"] for t in turns})
    longest = [dict(t, doc_id="x" * 90, id="x" * 90 + t["id"]) for t in turns[:5]]
    cases = {"every document out": (turns, documents, []), "nothing changed": (turns, [], []),
             "from no turns": ([], [], turns), "an unknown document out": (turns, ["unknown"], []),
             "the longest ids out": (turns + longest, ["x" * 90], []), "longer ids in": (turns, [], longest),
             "turns without text": (turns, documents[:3], [dict(t, text="") for t in turns
                                                            if t["doc_id"] in documents[:3]])}
    for name, (before, removed, added) in cases.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        updated, built = updated_and_built(folder, before, removed, added)
        assert_same_index(updated, built)
        assert updated.turn_keys.dtype == built.turn_keys.dtype, name


def test_an_added_turn_may_not_be_a_kept_one(tmp_path):
    turns = random_turns(6)
    with pytest.raises(ValueError, match="both kept and added"):
        updated_and_built(tmp_path, turns, [], [turns[0]])


def test_an_update_writes_the_kept_turns_in_runs_of_the_budget(tmp_path, monkeypatch):
    """Kept turns are copied in runs of about `budget` bytes, and only the
    added ones are made from sketches (`quotes.index_arrays`)."""
    turns = random_turns(7, documents=120)
    documents = sorted({t["doc_id"] for t in turns})
    index_build.build_index([quotes.TurnSketches.of_turns(turns)], tmp_path / "a", tmp_path / "s", budget=3000)
    old = quotes.TurnIndex.load(tmp_path / "a", tmp_path / "s")
    edited = [dict(t, text=t["text"] + " again.") for t in turns if t["doc_id"] == documents[50]]
    made, copied = [], []
    index_arrays, old_arrays = quotes.index_arrays, index_build._UpdatePlan.old_arrays
    monkeypatch.setattr(quotes, "index_arrays", lambda s, *a, **k: made.append(len(s.ids)) or index_arrays(s, *a, **k))
    monkeypatch.setattr(index_build._UpdatePlan, "old_arrays",
                        lambda self, first, last, done: copied.append(last - first) or old_arrays(self, first, last,
                                                                                                   done))
    index_build.update_index(old, [documents[50]], quotes.TurnSketches.of_turns(edited), tmp_path / "a2",
                             tmp_path / "s2", budget=3000)
    monkeypatch.undo()
    assert made == [len(edited)] and len(edited) > 0  # the only turns made from sketches
    assert len(copied) > 5 and sum(copied) == len(turns) - len(edited)
    kept = [t for t in turns if t["doc_id"] != documents[50]]
    assert_same_index(quotes.TurnIndex.load(tmp_path / "a2", tmp_path / "s2"), quotes.TurnIndex(kept + edited))


def test_an_update_leaves_the_old_index_out_of_resident_memory(tmp_path):
    """Updating reads the whole old index (mapped): its pages are released
    as each run of kept turns is copied, as the link tasks release theirs,
    so they never add up to the index in the process's RSS."""
    turns = random_turns(8, documents=16000)
    arrays, strings = tmp_path / "a", tmp_path / "s"
    index_build.build_index([quotes.TurnSketches.of_turns(turns)], arrays, strings)
    old = quotes.TurnIndex.load(arrays, strings)
    resident, release = [], old.release_pages
    old.release_pages = lambda: resident.append(mapped_rss_kib(arrays)) or release()
    documents = sorted({t["doc_id"] for t in turns})
    index_build.update_index(old, documents[::1000], quotes.TurnSketches.of_turns([]), tmp_path / "a2",
                             tmp_path / "s2", budget=1 << 20)
    assert len(resident) > 10 and max(resident) > 0  # released run after run, each time something was read
    # the counts read every page once, at the start; then each run's pages (and the kernel's fault-around)
    assert max(resident[1:]) < arrays.stat().st_size / 1024 / 4
    assert mapped_rss_kib(arrays) == 0 and mapped_rss_kib(strings) == 0
