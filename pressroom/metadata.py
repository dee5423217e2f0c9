"""Document metadata: doc_type, title, site and publication date.

Everything here reads what the text itself says; nothing is looked up.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from pressroom.boilerplate import DATE, DOMAIN, EMAIL, MONTHS

TITLE_MAX_WORDS = 40
TITLE_MAX_LINE = 5
"""A headline sits in the first lines of the raw file."""

# Opinion markers: the author speaking as "I", addressing the reader,
# exclaiming, asking rhetorical questions.
FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine|myself)\b")
ATTRIBUTION = re.compile(r"\b(?:said|says|told|according to|stated|announced|reported|added)\b")
ATTRIBUTION_WEIGHT = 0.5
"""News reports attribute ("X said", "according to"); commentary speaks for
itself.  A non-transcript is commentary when its opinion markers per 1,000
words (outside quotations) outweigh half its attributions per 1,000 words."""

_QUOTED = re.compile(r"[\"“][^\"“”]{0,2000}[\"”]")
_MONTH_NUMBER = {m.lower(): i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


def find_title(paragraphs: Sequence[tuple[int, str]]) -> str | None:
    """The headline: the first kept paragraph, when it starts in the first
    lines, is short, and does not end like a sentence of body text.

    `paragraphs` are (first raw line, text) of the kept paragraphs in order.
    """
    if not paragraphs:
        return None
    line, text = paragraphs[0]
    if line > TITLE_MAX_LINE or len(text.split()) > TITLE_MAX_WORDS:
        return None
    if text.endswith((".", ",", ";", ":")):
        return None
    return text


def find_site(boilerplate_texts: Iterable[str]) -> str | None:
    """The publishing site: the domain its own page chrome names most often
    (contact addresses, copyright and membership lines).  Lines crediting an
    original source name someone else's site and are skipped by the caller."""
    counts: Counter[str] = Counter()
    for text in boilerplate_texts:
        for email in EMAIL.findall(text):
            counts[email.split("@", 1)[1].lower()] += 1
        for domain in DOMAIN.findall(EMAIL.sub(" ", text)):
            counts[domain.lower().removeprefix("www.")] += 1
    if not counts:
        return None
    (best, n), *rest = counts.most_common(2) + [("", 0)]
    return best if n > rest[0][1] else None


def parse_date(text: str) -> dt.date | None:
    """The first unambiguous date in `text` (month named, or ISO)."""
    for match in DATE.finditer(text):
        value = match.group(0)
        iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
        try:
            if iso:
                return dt.date(*map(int, iso.groups()))
            month = re.search(MONTHS, value)
            day_year = re.findall(r"\d+", value)
            if month and len(day_year) == 2:
                day, year = int(day_year[0]), int(day_year[1])
                return dt.date(year, _MONTH_NUMBER[month.group(0)[:3].lower()], day)
        except ValueError:
            continue
    return None


def opinion_score(text: str) -> float:
    """Opinion markers minus weighted attributions, per 1,000 words of the
    text outside quotations: above 0 reads as commentary."""
    prose = _QUOTED.sub(" ", text)
    words = max(1, len(prose.split()))
    markers = len(FIRST_PERSON.findall(prose)) + prose.count("!") + prose.count("?")
    attributions = len(ATTRIBUTION.findall(prose))
    return 1000 * (markers - ATTRIBUTION_WEIGHT * attributions) / words


def doc_type(is_transcript: bool, kept_text: str) -> str:
    """transcript, commentary, article, or other (nothing left to judge)."""
    if is_transcript:
        return "transcript"
    if len(kept_text.split()) < 20:
        return "other"
    return "commentary" if opinion_score(kept_text) > 0 else "article"
