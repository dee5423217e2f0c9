"""Fast paths of the speaker turns against the plain computations they
replace (spellings of a name, the labels a resolver reads, repeated labels,
the sections and introductions of _turn_rows)."""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from collections import Counter
from functools import lru_cache

from test_fast_paths import ODD_TEXTS, corpus_texts, reference_spellings

from pressroom import clean, turns
from pressroom.ingest import RawDocument

# --- spellings: the text folded in place -------------------------------------------------

ODD_NAMES = [
    "François Hollande met FRANÇOIS HOLLANDE and Francois  Hollande.", "ΣΑΣ Σας met σας ΣΑΣΑ and ΣΑΣ’s office",
    "İlham Aliyev, ilham aliyev and İLHAM ALİYEV", "Straße Weiß and STRASSE WEISS, strasse weiss",
    "Kelvin Ǩ and ſam Smith, Sam Smith", "ﬁona ﬂynn and fiona flynn", "Ａｂｅ Ｓｈｉｎｚｏ and Abe Shinzo",
    "e\u0301mile Zola and Émile Zola and Emile Zola", "Jean\u00a0Dupont and Jean Dupont and JEAN\u2003DUPONT",
    "ǅemal Bijedić and Džemal Bijedic", "Olaf Scholz’ speech — Olaf Scholz…", "日本 首相 and 日本 首相",
    "ﻞ ﷺ Mohammed ﷺ", "Ⅻ Henry and XII Henry",
]


def test_per_character_fold_is_the_fold_of_a_spelling():
    """What _folded_in_place rests on: a spelling folds character by
    character (and `fold` only strips spaces off the ends)."""
    for text in [*corpus_texts()[:60], *ODD_TEXTS, *ODD_NAMES]:
        for word in re.findall(r"[\w'’-]+(?:\s+[\w'’-]+){0,2}", text):
            assert turns.fold(word) == "".join(map(turns._fold_unstripped, word)).strip(), word


def test_lower_keeps_every_character_but_dotted_capital_i_in_place():
    """_folded_in_place keeps lowered characters where no spelling can be:
    only 'İ' lowers to two characters (the text then takes the slow path)."""
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if len(c.lower()) != 1] == ["İ"]


def test_text_folded_in_place():
    texts = [*corpus_texts(), *ODD_TEXTS, *ODD_NAMES]
    texts += [t.replace("e", "é", 3).replace("a", "Á", 2) for t in corpus_texts()[:40]]
    folded_odd = 0
    for text in texts:
        turns._folded_in_place.cache_clear()
        folded = turns._folded_in_place(text)
        if folded is None:
            # some character of a spelling does not fold to one character
            assert any(turns._IN_SPELLING.match(c) and len(turns._fold_unstripped(c)) != 1 for c in text) or "İ" in text
            continue
        folded_odd += not text.isascii()
        assert len(folded) == len(text)
        for c, f in zip(text, folded):
            assert f == (turns._fold_unstripped(c) if turns._IN_SPELLING.match(c) else c.lower()), (c, f)
    assert folded_odd > 40


def test_spellings_in_odd_texts_equal_trying_every_position():
    rng = random.Random(4)
    texts = [t for t in corpus_texts() if len(t) < 200_000 and not t.isascii()][:30] + ODD_NAMES
    texts += [t.replace("o", "ö", 4).replace("S", "Σ", 2) for t in corpus_texts()[:20]]
    texts += ["\n".join(ODD_NAMES), " ".join(ODD_NAMES).replace(" ", "\u00a0", 9)]
    fast = 0
    for text in texts:
        names = re.findall(r"[^\W\d_][\w'’-]+(?:\s+[^\W\d_][\w'’-]+){1,2}", text)
        keys = {turns.fold(n) for n in rng.sample(names, min(len(names), 25))}
        keys |= {k[:-1] for k in list(keys)[:5] if len(k.split()[-1]) > 2}
        for key in keys:
            if not key.strip():
                continue
            turns._spellings.cache_clear()
            turns._folded_in_place.cache_clear()
            expected = reference_spellings(text, key)
            assert list(turns._spellings(text, key).items()) == list(expected.items()), (key, text[:60])
        fast += turns._folded_in_place(text) is not None
    assert fast > 30


def test_sigma_is_folded_whatever_lower_makes_of_it():
    text = "ΣΑΣ met ΣΑΣ."
    assert turns._spellings(text, turns.fold("ΣΑΣ")) == Counter({"ΣΑΣ": 2})
    assert text.lower().count(turns.fold("ΣΑΣ")) == 0  # lower ends the word on ς


# --- the resolver ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def transcript_labels() -> tuple[tuple[str, tuple[turns.Label, ...]], ...]:
    """(text, labels in order) of every transcript of the test corpora, and
    label runs made to repeat and mix titles, names and questioners."""
    found = []
    for n, text in enumerate(corpus_texts()):
        doc = clean.prepare(RawDocument(f"d{n}", f"d{n}.txt", "0" * 64, text))
        labels = list(doc.labels.values())
        if turns.looks_like_transcript(labels):
            found.append((text, tuple(labels)))
    assert len(found) > 20
    made = ["President of France Emmanuel Macron", "THE PRESIDENT", "Macron", "Question", "Q (Anna Berg, Reuters)",
            "Moderator", "A", "Prime Minister", "Prime Minister Jan Novak", "Mr Novak", "Novak", "Journalist",
            "Spokesperson (Anna Kowal)", "Emmanuel Macron", "Minister of the Interior Ana Paz", "Minister"]
    text = ("Talks of President of France Emmanuel Macron and Prime Minister Jan Novak, with Interior Minister "
            "Ana Paz; Prime Minister of Slovakia Robert Fico was not there.  Anna Kowal spoke.")
    rng = random.Random(2)
    for _ in range(20):
        picked = [turns.parse_label(f"{rng.choice(made)}: x") for _ in range(rng.randint(3, 40))]
        found.append((text, tuple(label for label in picked if label)))
    return tuple(found)


def reference_state(text: str, labels) -> tuple[dict, dict]:
    """The names and titles a resolver knows after reading its labels one by one."""
    names: dict[str, Counter] = {}
    titles: dict[str, str] = {}
    plain = [label.core for label in labels if not (turns.TITLE_PREFIX.match(label.core) or turns.HONORIFIC.match(label.core))]
    for label in labels:
        title, name = turns.split_title(label.core, plain)
        if name and len(name.split()) >= 2 and not turns.SpeakerResolver._role_word(name):
            names.setdefault(turns.fold(name), Counter())[name] += 1
            if title:
                titles.setdefault(turns.fold(name), title)
    for key in names:
        names[key].update(turns._spellings(text, key))
    return names, titles


def test_resolver_reads_each_label_core_once_and_knows_the_same():
    for text, labels in transcript_labels():
        resolver = turns.SpeakerResolver(text, labels)
        names, titles = reference_state(text, labels)
        assert list(resolver._names) == list(names) and list(resolver._titles.items()) == list(titles.items())
        for key, variants in names.items():
            assert list(resolver._names[key].items()) == list(variants.items())  # order: _title_in_text's first title


def reference_display(variants: Counter) -> str:
    return max(variants, key=lambda v: (sum(not c.isascii() for c in v), not v.isupper(), variants[v], v))


def test_known_keys_split_titles_as_the_displayed_names_do():
    for text, labels in transcript_labels():
        resolver = turns.SpeakerResolver(text, labels)
        [resolver.resolve(label) for label in labels]
        shown = [reference_display(variants) for variants in resolver._names.values()]
        assert [turns.fold(name) for name in shown] == list(resolver._names)
        for key in resolver._names:
            assert resolver.display(key) == reference_display(resolver._names[key])
        for label in labels:
            for core in (label.core, f"President of the Republic of {label.core}", f"Minister of {label.core}"):
                assert turns.split_title(core, known_keys=resolver._names) == turns.split_title(core, shown)


def test_resolve_all_equals_resolving_one_by_one():
    reused = 0
    for text, labels in transcript_labels():
        titled_runs = [None, {}]
        first = turns.SpeakerResolver(text, labels)
        titled_runs.append({turns.fold(first.resolve(label).name): title for label in labels
                            for title, name in [turns.split_title(label.core)] if title and name})
        for titled in titled_runs:
            one_by_one = turns.SpeakerResolver(text, labels)
            expected = [one_by_one.resolve(label, titled) for label in labels]
            resolver = turns.SpeakerResolver(text, labels)
            speakers = resolver.resolve_all(labels, titled)
            assert speakers == expected
            assert (resolver._names, resolver._titles, resolver._unnamed) == (
                one_by_one._names, one_by_one._titles, one_by_one._unnamed)
            reused += len(speakers) - len({id(s) for s in speakers})
    assert reused > 100


# --- turn rows -------------------------------------------------------------------------


def reference_introduced(texts):
    return next((who for text in texts if (who := turns.introduced_speaker(text))), None)


def test_turn_rows_sections_and_introductions_as_computed_for_every_turn(monkeypatch):
    introductions = []
    plain_named = clean._named_from_turns

    def named(speakers, cores, texts, interviewer):
        result = plain_named(speakers, cores, texts, interviewer)
        anonymous = {c for s, c in zip(speakers, cores) if s.resolution == "unresolved" and s.role in ("official", "unknown")}
        if len(anonymous) == 1 and (who := reference_introduced(texts)):
            introductions.append(who)
            assert [s.name for s, c in zip(result, cores) if c in anonymous] == [who] * sum(c in anonymous for c in cores)
        return result

    monkeypatch.setattr(clean, "_named_from_turns", named)
    texts = [*corpus_texts(), "Press briefing\n\nMODERATOR: Good morning, our speaker today is Deputy Advisor Mark "
             "Ellery.\n\nSENIOR OFFICIAL: Thanks.\n\nQ: Why?\n\nSENIOR OFFICIAL: Because.\n\nQ: When?"]
    rows_seen = 0
    for n, text in enumerate(texts):
        result = clean.clean(clean.prepare(RawDocument(f"d{n}", f"d{n}.txt", "0" * 64, text)))
        shapes = [row["turn_type"] for row in result.turns]
        for k, row in enumerate(result.turns):
            assert row["section"] == ("statements" if all(t != "question" for t in shapes[:k + 1]) else "questions")
        rows_seen += len(result.turns)
    assert rows_seen > 250 and "Mark Ellery" in introductions


def test_unicode_names_fold_as_nfkd_without_marks():
    # _fold_unstripped is fold's own computation, spelled out here once more
    for text in [*ODD_TEXTS, *ODD_NAMES]:
        decomposed = unicodedata.normalize("NFKD", text)
        assert turns.fold(text) == "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()
