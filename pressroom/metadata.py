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

# Opinion markers: the author speaking as "I", addressing the reader,
# exclaiming, asking rhetorical questions.
FIRST_PERSON = re.compile(r"(?:I(?<=\bI)(?:|'m|'ve|'d|'ll)|m(?<=\bm)(?:e|y|ine|yself))\b")
r"""\b(?:I|I'm|I've|I'd|I'll|me|my|mine|myself)\b, the same matches: spelt
to start with a letter (I or m), the regex engine skips the positions
where neither is in one test each instead of trying the word boundary and
every alternative there (2.5x faster); each alternative, in its order,
follows its first letter, and the boundary before it is looked behind."""
ATTRIBUTION = re.compile(r"\b(?:said|says|told|according to|stated|announced|reported|added)\b")
NEWS_ATTRIBUTION_RATE = 11.0
"""News reports attribute what they tell ("X said", "according to"): every
news article measured (seeds and tests/corpus/sites) has 11.5 to 41 such
verbs per 1,000 words outside quotations, commentary 0 to 12.4."""
OPINION_RATE = 10.0
"""First-person singular and exclamations per 1,000 words (outside
quotations) that make a text commentary whatever its attributions."""

_QUOTED = re.compile(r"[\"“][^\"“”]{0,2000}[\"”]")
_MONTH_NUMBER = {m.lower(): i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


TITLE_SEARCH_PARAGRAPHS = 14
BODY_WORDS = 40
"""A paragraph this long is body text: the headline, if any, came before."""
HEADLINE_FOLLOWERS = frozenset({"byline", "site_date_line", "byline_meta", "credits"})


def _fold(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def find_title_paragraph(paragraphs: Sequence, front_matter_title: str | None = None) -> int | None:
    """Index of the headline paragraph, or None.

    With a front-matter title, the body line that repeats it.  Otherwise the
    first Markdown heading near the top, or else the first stand-alone line
    (blank lines around it) of 3 to 40 words before the body starts that no
    boilerplate rule claims; one that ends like a sentence counts only when
    a byline or date line follows it.
    """
    from pressroom.boilerplate import form_rule

    top = paragraphs[:TITLE_SEARCH_PARAGRAPHS]
    if front_matter_title:
        key = _fold(front_matter_title)
        return next((p.index for p in top if p.kind != "front_matter" and _fold(p.text) == key), None)
    heading = next((p.index for p in top if p.kind == "heading"), None)
    for position, p in enumerate(top):
        words = len(p.text.split())
        if heading is not None and p.index == heading:
            return heading
        if words > BODY_WORDS and p.kind == "text":
            return heading
        if p.kind != "text" or p.joined or form_rule(p.text) or not 3 <= words <= TITLE_MAX_WORDS:
            continue
        if p.text.isupper() and words <= 4:  # a masthead ("THE WHITE HOUSE"), not a headline
            continue
        following = paragraphs[position + 1] if position + 1 < len(paragraphs) else None
        with_dek = (following is not None and p.blank_after == 0 and following.kind == "text"
                    and (following.blank_after > 0 and len(following.text.split()) <= BODY_WORDS
                         or form_rule(following.text) in HEADLINE_FOLLOWERS))
        standalone = (p.blank_after > 0 or with_dek) and (position == 0 or p.blank_before > 0)
        if not standalone or p.text.endswith((",", ";", ":")):
            continue
        if p.text.endswith(".") and not (following and form_rule(following.text) in HEADLINE_FOLLOWERS):
            continue
        return p.index
    return heading


COPYRIGHT_HOLDER = re.compile(
    r"(?:©|\(c\)|copyright)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*)?(?:by\s+)?"
    r"([A-Z][\w&.'’ -]{1,60}?)\s*(?:[|·,.]|\ball rights\b|$)",
    re.I,
)


def site_key(site: str | None) -> str | None:
    """Identity of a site for grouping: 'www.meridianwire.news', 'Meridian
    Wire' and 'MERIDIAN WIRE' share the key 'meridianwire'."""
    if not site:
        return None
    text = site.strip().casefold()
    if DOMAIN.fullmatch(text):
        text = text.removeprefix("www.").split(".")[0]
    text = re.sub(r"^the\s+", "", text)
    text = re.sub(r"\s+(?:services|publishing|media|group|co|ltd|inc|llc)\b.*$", "", text) or text
    return re.sub(r"[\W_]+", "", text) or None


def find_site_name(chrome: Iterable[str], masthead: str | None = None) -> str | None:
    """The site when its domain is not named: the copyright holder, else the
    masthead line above the headline."""
    for text in chrome:
        match = COPYRIGHT_HOLDER.search(text)
        if match and len(match.group(1).split()) <= 5:
            # "Copyright Northern Observer 2025": the year is not the name
            return re.sub(r"\s*[-–]?\s*\b\d{4}(?:\s*[-–]\s*\d{4})?$", "", match.group(1).strip()) or None
    return masthead


BYLINE_NAMES = re.compile(r"\bby\s+(.+)$", re.I)
_NAME = re.compile(r"^(?:[A-Z][\w.'’-]+)(?:\s+(?:[A-Z][\w.'’-]+|de|van|von|al|bin|da)){1,3}$")


def authors_from_byline(text: str) -> list[str]:
    """'By Hana Ruiz and Piet Galen' -> ['Hana Ruiz', 'Piet Galen']."""
    match = BYLINE_NAMES.search(text)
    if not match:
        return []
    names_part = re.split(r"\s+[|·•]\s+|\s+on\s+|,\s*(?=[A-Z][a-z]+ \d)|\s+-\s+", match.group(1))[0]
    names_part = DATE.sub("", names_part)
    candidates = re.split(r",\s*|\s+and\s+|\s+&\s+|\s+with\s+", names_part)
    return [c.strip() for c in candidates if _NAME.match(c.strip()) and not NOT_NAMES.search(c)]


NOT_NAMES = re.compile(
    r"\b(?:desk|staff|writers?|reporters?|editors?|correspondents?|bureau|team|wire|agency|news|"
    r"press|service|newsroom|"
    # mastheads: "By Marta Kowalczyk, Northern Observer, 14 March 2025"
    r"observer|times|post|herald|journal|tribune|gazette|guardian|telegraph|chronicle|monitor|courier|"
    r"standard|express|daily|weekly|dispatch|bulletin|review|magazine)\b",
    re.I,
)


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


def text_features(text: str) -> tuple[float, float]:
    """(opinion markers, attributions) per 1,000 words outside quotations."""
    prose = _QUOTED.sub(" ", text)
    words = max(1, len(prose.split()))
    opinion = len(FIRST_PERSON.findall(prose)) + prose.count("!")
    return 1000 * opinion / words, 1000 * len(ATTRIBUTION.findall(prose)) / words


def doc_type(is_transcript: bool, kept_text: str) -> str:
    """transcript, commentary, article, or other (nothing left to judge)."""
    if is_transcript:
        return "transcript"
    if len(kept_text.split(maxsplit=20)) < 20:  # the first 20 words say it, the text need not be split whole
        return "other"
    opinion, attribution = text_features(kept_text)
    return "commentary" if opinion >= OPINION_RATE or attribution < NEWS_ATTRIBUTION_RATE else "article"
