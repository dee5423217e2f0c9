"""A seeded generator of a realistic scraped corpus of any size.

    python bench/generate.py OUT --mb 200 [--seed 7] [--format txt|jsonl|jsonl.gz|parquet] [--open-vocabulary]
    python bench/generate.py OUT --mutate 0.01 [--seed 7] [--open-vocabulary]      # edit 1% of the documents in place

What it writes (each document is a function of the seed and its number
alone, so a 20 MB corpus is the first tenth of a 200 MB one):

* transcripts (~35%) of press conferences, briefings and interviews in the
  label styles the pipeline meets: "President Putin:", "Q:", "Q    text",
  "MR. EARNEST:", "Question:", a label alone on its line, "President of
  France (retranslated):", with hard-wrapped and soft-wrapped layouts;
* articles and commentary (~50%) of about forty sites, each site with its own
  chrome (skip links, menus, bylines, date lines, share widgets, related
  links, newsletter boxes, copyright lines, captions), some quoting the
  transcripts word for word or shortened;
* repeated highlights (a shortened copy of a paragraph set into the text),
  mojibake (UTF-8 read as cp1252) on some lines, Markdown link residue;
* reposts (~15%): an earlier article copied by another site, in that site's
  chrome, sometimes with a sentence edited.

Prose comes from a word-level Markov chain over the repository's own test
texts (raw/ and tests/corpus/), so it reads like news English with real
punctuation, names and numbers, without copying whole documents.  Its
vocabulary is theirs: it stops growing at a few thousand stems.  With
`--open-vocabulary`, some words are drawn from an open lexicon instead, so
that the vocabulary grows with the corpus as a real one does (`RARE_SHARE`).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAINING = [ROOT / "raw", ROOT / "tests" / "corpus"]
_NOT_PROSE = re.compile(
    r"\]\(|&#?\w+;|^>|@|©|copyright|subscri|sign up|newsletter|reply|email|comment|sponsor|cookie|"
    r"advertis|share|follow us|read more|related|click|http|www\.|\*|\||#", re.I)

FIRST = ["Anna", "Piet", "Hana", "Jonas", "Maria", "Teodor", "Ilse", "Roel", "Sofia", "Marek", "Lena", "Tomas",
         "Elena", "Arvid", "Nadia", "Karel", "Irene", "Viktor", "Greta", "Omar", "Ines", "Pavel", "Clara", "Dmitri"]
LAST = ["Marwood", "Vass", "Dansker", "Galen", "Ruiz", "Albrecht", "Holm", "Varga", "Haile", "Ostrowski", "Dahl",
        "Petrescu", "Keller", "Novak", "Lindqvist", "Moreau", "Brandt", "Sato", "Okafor", "Castell", "Berg", "Ferreira"]
TITLES = ["President", "Prime Minister", "Foreign Minister", "Chancellor", "Press Secretary", "Spokesperson",
          "Defence Minister", "Secretary of State"]
COUNTRIES = ["Valdoria", "Kessaly", "Mirenia", "Sardia", "Norland", "Estova", "Brevik", "Aurelia", "Tavros",
             "Lunaria", "Ostrana", "Calder"]
OUTLETS = ["Wire", "Courier", "Herald", "Observer", "Gazette", "Post", "Report", "Monitor", "Ledger", "Dispatch"]
PREFIXES = ["Meridian", "Northern", "Global", "Capital", "Atlas", "Harbor", "Summit", "Pioneer", "Civic",
            "Beacon", "Crown", "Delta"]
SECTIONS = ["World", "Politics", "Business", "Climate", "Opinion", "Europe", "Asia", "Markets", "Fact Check",
            "Video", "Podcasts", "Analysis"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
MOJIBAKE = {"’": "â€™", "“": "â€œ", "”": "â€\x9d", "—": "â€”", "é": "Ã©", "ç": "Ã§", "ö": "Ã¶"}


def training_paragraphs() -> list[list[str]]:
    """Content paragraphs (12+ words, no label) of the repository's texts."""
    paragraphs = []
    for root in TRAINING:
        for path in sorted(root.rglob("*")):
            if path.suffix not in (".txt", ".md") or path.name == "README.md":
                continue
            for block in path.read_text(encoding="utf-8", errors="replace").split("\n\n"):
                text = " ".join(block.split())
                words = text.split()
                if len(words) >= 12 and not _NOT_PROSE.search(text) and not re.match(r"^[\w .'()*-]{1,40}:", text):
                    paragraphs.append(words)
    return paragraphs


RARE_SHARE = 0.15
"""With the open vocabulary (`Prose(open_vocabulary=True)`): the share of
the prose's words of four letters or more replaced by a word of an open
lexicon (`lexicon_word`)."""
RARE_EXPONENT = 1.2
"""The lexicon's words are drawn by rank r with P(R >= r) = r^(1 - this)
(a Zipf tail), so most draws repeat a few common words and the rest keep
adding new ones, as the names, places and rare words of news do.
Measured (distinct content stems, as `quotes` stems them, in the first n
content words of a corpus):

    n                      10,000   30,000   1,000,000
    closed vocabulary       2,149    2,803       3,271   (3,533 at 3 million)
    open vocabulary         2,600    4,120      27,880
    the repository's texts  2,578    4,052 in all 22,811: n^0.55 (Heaps' law), ~32,000 at a million
"""
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def lexicon_word(rank: int) -> str:
    """The open lexicon's word of `rank`: the rank's digits in base 70 as
    consonant-vowel syllables, at least two (distinct ranks, distinct words)."""
    syllables = []
    while True:
        rank, digit = divmod(rank, len(_SYLLABLES))
        syllables.append(_SYLLABLES[digit])
        if rank == 0 and len(syllables) >= 2:
            return "".join(syllables)


_REPLACEABLE = re.compile(r"([A-Za-z]{4,})([.,;:?!]?)")


class Prose:
    """A second-order word Markov chain: sentences that read like news.

    Its words are those of the repository's texts, about 3,500 distinct
    content stems however much it writes; with `open_vocabulary`, some are
    replaced by words of an open lexicon (`RARE_SHARE`), so that the
    vocabulary keeps growing with the corpus as a real one does."""

    def __init__(self, paragraphs: list[list[str]], open_vocabulary: bool = False):
        self.open_vocabulary = open_vocabulary
        self.next: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.starts: list[tuple[str, str]] = []
        for words in paragraphs:
            words = ["<s>", "<s>"] + words
            for a, b, c in zip(words, words[1:], words[2:]):
                self.next[(a, b)].append(c)
                if a == "<s>" or a.endswith((".", "?", "!")):
                    if b != "<s>" and b[:1].isupper():
                        self.starts.append((a, b))
        self.starts = sorted(set(self.starts))

    def sentence(self, rng: random.Random, min_words: int = 8, max_words: int = 40) -> str:
        a, b = rng.choice(self.starts)
        words = [b]
        while len(words) < max_words:
            options = self.next.get((a, b))
            if not options:
                break
            c = rng.choice(options)
            words.append(self._rare(rng, c) if self.open_vocabulary else c)
            a, b = b, c
            if c.endswith((".", "?", "!")) and len(words) >= min_words:
                break
        text = " ".join(words)
        if not text.endswith((".", "?", "!")):
            text = text.rstrip(",;:") + "."
        return text

    @staticmethod
    def _rare(rng: random.Random, word: str) -> str:
        """`word`, or now and then (`RARE_SHARE`) a lexicon word in its place,
        capitalised as it was, with its punctuation."""
        found = _REPLACEABLE.fullmatch(word)
        if found is None or rng.random() >= RARE_SHARE:
            return word
        rare = lexicon_word(int(rng.random() ** (-1 / (RARE_EXPONENT - 1))))
        return (rare.capitalize() if word[0].isupper() else rare) + found.group(2)

    def paragraph(self, rng: random.Random, sentences: tuple[int, int] = (2, 5)) -> str:
        return " ".join(self.sentence(rng) for _ in range(rng.randint(*sentences)))


class Site:
    def __init__(self, number: int):
        rng = random.Random(f"site-{number}")
        self.name = f"{PREFIXES[number % len(PREFIXES)]} {OUTLETS[(number * 7) % len(OUTLETS)]}"
        if number >= len(PREFIXES):
            self.name += f" {COUNTRIES[number % len(COUNTRIES)]}"
        self.domain = re.sub(r"[^a-z]", "", self.name.lower()) + rng.choice([".com", ".org", ".net", ".news"])
        self.menu = " | ".join(rng.sample(SECTIONS, 5))
        self.newsletter = rng.choice([
            "Sign up for our daily briefing and get the news that matters in your inbox.",
            "Get the morning newsletter: the five stories you need to know, every weekday.",
            "Support independent journalism. Become a member today.",
        ])
        self.related = [f"{rng.choice(COUNTRIES)} {rng.choice(['talks', 'vote', 'budget', 'summit', 'sanctions'])} "
                        f"{rng.choice(['explained', 'stall', 'resume', 'in pictures', 'what we know'])}" for _ in range(6)]
        self.style = number % 4


def _date(rng: random.Random) -> tuple[str, str]:
    year, month, day = rng.randint(2014, 2025), rng.randint(1, 12), rng.randint(1, 28)
    return f"{MONTHS[month - 1]} {day}, {year}", f"{year}-{month:02d}-{day:02d}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([line] if line else [])


def _mojibake(text: str) -> str:
    return "".join(MOJIBAKE.get(c, c) for c in text)


class Generator:
    def __init__(self, seed: int = 7, sites: int = 40, open_vocabulary: bool = False):
        self.seed = seed
        self.prose = Prose(training_paragraphs(), open_vocabulary)
        self.sites = [Site(n) for n in range(sites)]

    def rng(self, number: int, salt: str = "") -> random.Random:
        return random.Random(f"{self.seed}-{number}-{salt}")

    def kind(self, number: int) -> str:
        r = self.rng(number, "kind").random()
        return "transcript" if r < 0.35 else "repost" if r < 0.50 and number > 20 else "commentary" if r < 0.60 else "article"

    # -- transcripts --------------------------------------------------------------

    def transcript_turns(self, number: int) -> list[tuple[str, str]]:
        """(label, text) pairs; the same for a given number (articles quote them)."""
        rng = self.rng(number, "turns")
        style = rng.randrange(6)
        leader = (rng.choice(TITLES[:3]), _person(rng))
        guest = (rng.choice(TITLES[:4]), _person(rng))
        moderator = _person(rng)
        turns = [(self._label(style, "moderator", moderator, None), "Good afternoon, everyone. " + self.prose.sentence(rng))]
        turns.append((self._label(style, "leader", leader[1], leader[0]), self.prose.paragraph(rng, (3, 6))))
        for _ in range(rng.randint(4, 14)):
            asker = _person(rng)
            question = f"{rng.choice(['Thank you.', 'Mr President,', 'A question for both leaders.', ''])} {self.prose.sentence(rng)} " \
                       f"{rng.choice(['Will you', 'Do you', 'Can you', 'How will you'])} {self.prose.sentence(rng, 5, 14).rstrip('.')}?"
            turns.append((self._label(style, "question", asker, None), question.strip()))
            answerer = rng.choice([leader, guest])
            turns.append((self._label(style, "answer", answerer[1], answerer[0]),
                           "\n\n".join(self.prose.paragraph(rng) for _ in range(rng.randint(1, 3)))))
        turns.append((self._label(style, "moderator", moderator, None), "Thank you all very much."))
        return turns

    @staticmethod
    def _label(style: int, role: str, name: str, title: str | None) -> str:
        surname = name.split()[-1]
        if role == "question":
            return ["Q", "Question", f"QUESTION", "Q", f"Journalist", "Q"][style]
        if role == "moderator":
            return ["MODERATOR", f"{name}", f"MR. {surname.upper()}", "Moderator", f"{name}", f"MS. {surname.upper()}"][style]
        if style == 0:
            return f"{title.upper()} {surname.upper()}"
        if style == 1:
            return f"{title} {name}"
        if style == 2:
            return f"{title.upper()} {surname.upper()}"
        if style == 3:
            return f"{title} of {COUNTRIES[len(surname) % len(COUNTRIES)]} (retranslated)"
        return name if style == 4 else f"{title} {surname}"

    def transcript(self, number: int) -> str:
        rng = self.rng(number)
        site = self.sites[rng.randrange(len(self.sites))]
        date, _ = _date(rng)
        place = rng.choice(COUNTRIES)
        lines = [site.name, site.menu, "",
                 f"Press conference following talks in {place}", "", f"{site.name}, {date}", ""]
        if rng.random() < 0.3:
            lines += ["COMPLETE VIDEO, WITH ENGLISH VOICE OVER", ""]
        wrap = rng.random() < 0.25
        alone = rng.random() < 0.15
        for label, text in self.transcript_turns(number):
            paragraphs = text.split("\n\n")
            if label in ("Q", "QUESTION") and rng.random() < 0.3:
                first = f"{label}    {paragraphs[0]}"
            elif alone:
                lines += [f"{label}:", ""]
                first = paragraphs[0]
            else:
                first = f"{label}: {paragraphs[0]}"
            for paragraph in [first] + paragraphs[1:]:
                lines += (_wrap(paragraph, 72) if wrap else [paragraph]) + [""]
        lines += ["END", "", f"© {date[-4:]} {site.name}. All rights reserved."]
        text = "\n".join(lines)
        return _mojibake(text) if rng.random() < 0.08 else text

    # -- articles -------------------------------------------------------------------

    def article_body(self, number: int, commentary: bool) -> tuple[str, list[str]]:
        """(headline, paragraphs) of an article; the same for a given number."""
        rng = self.rng(number, "body")
        headline = f"{rng.choice(COUNTRIES)} and {rng.choice(COUNTRIES)} {rng.choice(['agree', 'clash over', 'resume talks on', 'sign', 'delay'])} " \
                   f"{rng.choice(['water deal', 'border framework', 'trade pact', 'sanctions plan', 'election monitoring'])}"
        paragraphs = [self.prose.paragraph(rng) for _ in range(rng.randint(5, 14))]
        if commentary:
            paragraphs.insert(1, f"In my view, {self.prose.sentence(rng)[0].lower()}{self.prose.sentence(rng)[1:]} I think we should be honest about it.")
        source = number - 1 - rng.randrange(min(number, 30)) if number else 0
        if number and self.kind(source) == "transcript" and rng.random() < 0.8:
            quoted = [t for label, t in self.transcript_turns(source)[1:] if len(t.split()) > 12]
            for _ in range(rng.randint(1, 3)):
                turn = rng.choice(quoted).split("\n\n")[0]
                sentence = re.split(r"(?<=[.!?]) ", turn)[0]
                speaker = _person(rng)
                at = rng.randint(1, len(paragraphs))
                if rng.random() < 0.5:
                    paragraphs.insert(at, f"“{sentence}” {speaker} told reporters.")
                else:
                    paragraphs.insert(at, f"{speaker} said:")
                    paragraphs.insert(at + 1, f"“{sentence}”")
        if rng.random() < 0.3 and len(paragraphs) > 4:  # a repeated highlight
            original = rng.choice(paragraphs[2:])
            first = re.split(r"(?<=[.!?]) ", original)[0]
            if len(first.split()) >= 10:
                paragraphs.insert(1, first)
        return headline, paragraphs

    def article(self, number: int, site: Site | None = None, source: int | None = None) -> str:
        rng = self.rng(number)
        site = site or self.sites[rng.randrange(len(self.sites))]
        body_number = number if source is None else source
        headline, paragraphs = self.article_body(body_number, self.kind(body_number) == "commentary")
        if source is not None and rng.random() < 0.4:  # an edited repost
            paragraphs = list(paragraphs)
            k = rng.randrange(len(paragraphs))
            paragraphs[k] = paragraphs[k] + " " + self.prose.sentence(rng)
        date, _ = _date(rng)
        author = _person(rng)
        lines = []
        if site.style in (0, 2):
            lines += ["Skip to main content", site.name, site.menu, "Sign in", ""]
        else:
            lines += [f"[{site.name}](https://{site.domain}/)", "", site.menu, ""]
        lines += [headline, "", f"By {author}", f"{date} {rng.randint(1, 12)}:{rng.randint(10, 59)} AM GMT", ""]
        if rng.random() < 0.4:
            lines += [f"{author} (R) greets officials in {rng.choice(COUNTRIES)}, {date}. {site.name}/{_person(rng)}", ""]
        if site.style == 3:
            lines += ["Share this article: [Facebook](#) [Twitter](#) [Email](#)", ""]
        wrap = rng.random() < 0.2
        for k, paragraph in enumerate(paragraphs):
            if k == 3 and rng.random() < 0.5:
                lines += ["Advertisement · Scroll to continue", ""]
            if rng.random() < 0.05:
                paragraph = _mojibake(paragraph.replace("'", "’"))
            lines += (_wrap(paragraph, 76) if wrap else [paragraph]) + [""]
        if source is not None:
            lines += [f"This article was originally published by {self.sites[source % len(self.sites)].name}.", ""]
        lines += ["Related", ""] + [f"- {r}" for r in site.related[:rng.randint(3, 6)]] + [""]
        lines += [site.newsletter, "", "Leave a comment", "Your email address will not be published.", "",
                  f"Copyright © {date[-4:]} {site.name}. All rights reserved.",
                  f"Contact us: editors@{site.domain}"]
        return "\n".join(lines)

    def document(self, number: int) -> str:
        kind = self.kind(number)
        if kind == "transcript":
            return self.transcript(number)
        if kind == "repost":
            rng = self.rng(number, "repost")
            source = next((n for n in (number - 1 - rng.randrange(min(number, 50)) for _ in range(20))
                           if self.kind(n) in ("article", "commentary")), None)
            if source is not None:
                return self.article(number, self.sites[rng.randrange(len(self.sites))], source)
        return self.article(number)

    def record(self, number: int) -> dict:
        """A scraped record: text with the page chrome, url, title, date."""
        rng = self.rng(number, "record")
        site = self.sites[rng.randrange(len(self.sites))]
        _, iso = _date(rng)
        return {"id": f"r{number:08d}", "url": f"https://{site.domain}/news/{number}", "title": None,
                "date": iso, "text": self.document(number)}


def file_name(number: int) -> str:
    digest = hashlib.sha1(f"doc-{number}".encode()).hexdigest()[:12]
    return f"{number // 1000:04d}/{number:08d}_{digest}.txt"


def generate(out: Path, megabytes: float, seed: int = 7, fmt: str = "txt", records_per_file: int = 2000,
             open_vocabulary: bool = False) -> dict:
    """Write documents until `megabytes` of text are written; returns counts."""
    generator = Generator(seed, open_vocabulary=open_vocabulary)
    out.mkdir(parents=True, exist_ok=True)
    target, written, number = int(megabytes * 1_000_000), 0, 0
    batch: list[dict] = []

    def flush_records():
        if not batch:
            return
        name = out / f"records-{number // records_per_file - (0 if number % records_per_file else 1):05d}"
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(batch), f"{name}.parquet")
        else:
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch).encode()
            if fmt == "jsonl.gz":
                Path(f"{name}.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
            else:
                Path(f"{name}.jsonl").write_bytes(data)
        batch.clear()

    while written < target:
        if fmt == "txt":
            data = generator.document(number).encode()
            path = out / file_name(number)
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            written += len(data)
        else:
            record = generator.record(number)
            batch.append(record)
            written += len(record["text"].encode())
        number += 1
        if fmt != "txt" and number % records_per_file == 0:
            flush_records()
    flush_records()
    return {"documents": number, "bytes": written}


def mutate(out: Path, share: float, seed: int = 7, eligible: set[str] | None = None,
           open_vocabulary: bool = False) -> list[str]:
    """Edit `share` of the .txt documents (a sentence added to one
    paragraph, written as the corpus was: `open_vocabulary`; each edited
    file replaced by a new one), chosen among the `eligible` relative paths
    if given; returns the files changed."""
    files = sorted(p for p in out.rglob("*.txt"))
    pool = files if eligible is None else [p for p in files if p.relative_to(out).as_posix() in eligible]
    rng = random.Random(f"mutate-{seed}")
    chosen = rng.sample(pool, min(len(pool), max(1, round(len(files) * share))))
    prose = Prose(training_paragraphs(), open_vocabulary)
    for path in chosen:
        text = path.read_text()
        parts = text.split("\n\n")
        k = rng.randrange(len(parts) // 2, len(parts))
        parts[k] = parts[k] + " " + prose.sentence(rng)
        # a new file in its place, as a scraper or rsync writes one: a hard-linked copy's
        # original keeps its bytes
        fresh = path.with_name(f".{path.name}.new")
        fresh.write_text("\n\n".join(parts))
        os.replace(fresh, path)
    return [p.relative_to(out).as_posix() for p in sorted(chosen)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=20.0, help="megabytes of text to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", default="txt", choices=("txt", "jsonl", "jsonl.gz", "parquet"))
    parser.add_argument("--mutate", type=float, help="edit this share of the existing .txt documents instead")
    parser.add_argument("--open-vocabulary", action="store_true",
                        help="words of an open lexicon among the prose's (RARE_SHARE): a vocabulary that grows")
    args = parser.parse_args(argv)
    if args.mutate:
        changed = mutate(args.out, args.mutate, args.seed, open_vocabulary=args.open_vocabulary)
        print(f"{len(changed)} documents edited in {args.out}")
    else:
        counts = generate(args.out, args.mb, args.seed, args.format, open_vocabulary=args.open_vocabulary)
        print(f"{counts['documents']} documents, {counts['bytes'] / 1e6:.1f} MB written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
