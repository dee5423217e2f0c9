"""Site boilerplate: decide, paragraph by paragraph, what is not authored text.

Every decision names the rule that made it; the name goes to
`segments.reason`.  Three kinds of evidence, applied in this order:

1. **form**: the paragraph's own wording (`FORM_RULES`): bylines, site/date
   lines, region/theme lines, editor's notes, copyright, comment forms, ...
2. **layout**: its place among its neighbours (`LAYOUT_RULES`): a caption
   glued to the paragraph under an image, alt text above a photo credit, a
   caption standing alone between image gaps, a page header repeated
   mid-text, the author box and bio at the bottom, short leftovers inside the
   closing boilerplate run.
3. **site**: lines repeated across documents of the same site
   (`SiteBoilerplate`, learned from the corpus, order-independent, with a
   minimum support).

Inline boilerplate glued to content (an "[emphasis added]" note) is trimmed
from the paragraph by `trim_inline_notes`, which also names its rule.
"""

from __future__ import annotations

import functools
import re
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pressroom.paragraphs import Paragraph

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
)
DATE = re.compile(
    rf"\b(?:(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS})\.?,?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})\b"
)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
DOMAIN = re.compile(r"\b(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:[a-z]{2,6})\b", re.I)
SENTENCE_FINAL = tuple(".!?…\"”’»")
NAME_CONNECTORS = frozenset(
    "and & of de la le du von van der den da di al bin ibn y e the with".split()
)
SEPARATORS = re.compile(r"\s+[|·•›»/>]\s+|\s+[-–—]{1,2}\s+")
SEPARATOR_CHAR = re.compile("[|·•›»/>\\-–—]")  # one is in every match of SEPARATORS

# --- 1. form ---------------------------------------------------------------

# (rule name, pattern, maximum words for the rule to apply, keywords)
#
# Keywords are a cheap gate in front of a pattern that may match anywhere in
# the paragraph: lower-case literals taken from the pattern, one of which
# every match contains, looked for in the lowered text (`_keyword_text`).
# Most paragraphs are content, and a substring test rules them out far
# faster than a case-insensitive search tried at every position.  Patterns
# anchored at the start fail within a few characters and have no gate: (),
# but for those that backtrack over many first (`editors_note`,
# `site_description`, `translation_link`: a run of words or characters
# before their literal part).
FORM_RULES: tuple[tuple[str, re.Pattern[str], int, tuple[str, ...]], ...] = tuple(
    (name, re.compile(pattern, re.I), max_words, keywords)
    for name, pattern, max_words, keywords in (
        ("field_line", r"^(?:regions?|themes?|topics?|tags?|categor(?:y|ies)|filed under|"
         r"keywords|in-depth reports?|subjects?|sections?|permalink|direct link|publication status)\s*:", 40, ()),
        ("field_line", r"^(?:tagged|posted in|filed under)\b", 12, ()),
        ("time_line", r"^(?:end\s+)?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?(?:\s+[a-z]{2,4})?$", 6, ()),
        ("release_marker", r"^(?:for immediate release|e\s?&\s?oe|\[?ends?\]?|[-–—]\s?30\s?[-–—]|#{3}|"
         r"check against delivery|\[?provisional translation\]?|\[?unofficial translation\]?|"
         r"office of the press secretary|embargoed until\b.*)$", 8, ()),
        ("transcript_note", r"\bthis (?:interview|transcript|conversation) (?:has been|was) (?:edited|condensed|"
         r"lightly edited|prepared)|^note:.{0,60}\b(?:transcript|interview|recording|interpretation)\b|"
         r"^note for editors\b|\bthe following (?:is a|transcript)\b.{0,80}\b(?:translation|transcript|prepared)\b|"
         r"only the spoken word is authoritative|\bprovided for information purposes\b|"
         r"^video of the .{0,60}\bis available\b", 60,
         ("this interview", "this transcript", "this conversation", "note", "the following", "spoken word",
          "information purposes", "video of the")),
        ("editors_note", r"^(?:\S+\s+){0,3}editor'?s'?\s+note\b|^\[?note from the editors?\b", 80, ("editor",)),
        ("editorial_marker", r"^[(\[][^()\[\]]*\b(?:transcript|continued|cont'd|excerpts?|"
         r"end of|begin(?:s|ning)?)\b[^()\[\]]*[)\]]$", 12, ()),
        ("video_notice", r"^(?:you can |click (?:here )?to |please )?(?:watch|view|see|listen to)\b.{0,60}?"
         r"\b(?:video|press conference|interview|speech|clip|broadcast|recording|footage)\b", 25, ()),
        ("video_notice", r"^(?:video|watch|embedded (?:video|content))\s*[:\-–—]\s*\S", 25, ()),
        ("photo_credit", r"^(?:photo|image|picture|credit|photograph|illustration)s?"
         r"(?:\s+credits?)?\s*[:\-–—]|^©|^\(c\)\s|^photo by\b", 12, ()),
        ("copyright", r"©|^copyright\b|\ball rights reserved\b|\bcontains copyrighted material\b|"
         r"^\(c\)\s*\d{4}", 120,
         ("©", "copyright", "all rights reserved", "(c)")),
        ("disclaimer", r"^disclaimer\b|\bof sole responsibility of the author|"
         r"^the (?:views|opinions) expressed\b|\breflects? the views of (?:their|its|the) authors?\b|"
         r"\bdo(?:es)? not necessarily (?:endorse|reflect) (?:the )?(?:views|opinions|position)", 150,
         ("disclaimer", "of sole responsibility of the author", "views expressed", "opinions expressed", "the views of",
          "not necessarily")),
        ("disclaimer", r"\b(?:written|writing|notes are written|expressed) in a personal capacity\b", 40,
         ("in a personal capacity",)),
        ("comment_form", r"^(?:leave a (?:reply|comment)|post a comment|add a comment|"
         r"your email address will not be published|required fields are marked|"
         r"this site uses akismet|you must be logged in|log in to (?:reply|comment)|"
         r"\d+\s+comments?$|comments?(?:\s*\(\d+\))?$|notify me of (?:follow-up|new)\b|"
         r"(?:comment|name|email|website)\s*\*?$|post comment$|save my name, email|"
         r"\d+ (?:thoughts?|responses?|replies|repl(?:y)|comments?) (?:on|to)\b|"
         r"log in or register to (?:post )?comment)", 40, ()),
        ("site_widget", r"^(?:become a (?:member|patron|subscriber)|support (?:us|our work|independent)|"
         r"subscribe\b|sign up (?:for|to)\b|join our\b|follow us\b|like us on\b|share (?:this|on)\b|"
         r"comment on .{0,80}\b(?:facebook|twitter|page)\b|click (?:here )?to (?:share|email|print)\b|"
         r"print this (?:article|page)|email this\b|like this:?$|like loading|tweet this\b)", 25, ()),
        ("source_line", r"^(?:the )?original source of this article is\b|^(?:source|sources|via)\s*:|"
         r"^archive notice\b|"
         r"^(?:originally|first) published\b|^this article (?:was )?(?:originally |first )?"
         r"(?:appeared|published)\b", 30, ()),
        ("author_list", r"^(?:articles?|posts?|stories) by\s*:|^more (?:articles|posts|stories) "
         r"(?:by|from)\b|^about the authors?\b", 30, ()),
        ("contact_line", r"^for (?:media |press )?(?:inquiries|enquiries|questions)\b|^reply by e-?mail\b|"
         r"\bletters? to the editor\b.{0,40}@|"
         r"^(?:contact|e-?mail)(?: us)?\s*:", 20,
         ("inquiries", "enquiries", "questions", "mail", "@", "contact")),
        ("related_links", r"^(?:read more|also read|related(?: articles| posts| stories| content| coverage)?|"
         r"recommended(?: for you)?|you may also like|trending(?: now)?|most (?:read|popular))\b\s*:?|"
         r"^(?:see also|more from|more on this)\b.{0,40}:|^(?:see also|more from .{1,30}|more on this)$", 15, ()),
        ("navigation", r"^(?:skip to (?:main )?content|menu|main menu|sign in|log in|search|home|"
         r"back to top|print(?: this)?(?: article| page| story)?|advertisement\b.*|sponsored(?: content)?|"
         r"accept(?: all)?(?: \| .*)?|purchase licensing rights|open in the .{1,30} app\b.*|"
         r"download the .{1,30} app\b.*|view (?:this email |it )?in (?:your |a )?browser\b.*|"
         r"page \d+ of \d+|« ?previous.*|previous (?:post|article|story)\b.*|next (?:post|article|story)\b.*|"
         r"return to (?:the )?(?:top|index|home|homepage|front page|list|archive|main page|.{0,40}\bindex)\b.*|"
         r"reposted with permission\.?|archived\b.{0,30}\d{4}\.?|\[embedded content\]|"
         r"continue reading\b.*|scroll to continue|listen to this article\b.*|listen on\b.*|"
         r"(?:← ?)?(?:older|newer) (?:post|entries)\b.*)$", 14, ()),
        ("embed_notice", r"\bif the (?:map|video|embed|player|content|audio) does(?:n't| not) (?:load|play|display)\b|"
         r"\b(?:video|audio|media) player is loading\b|^\d{1,2}:\d{2}$", 40,
         ("doesn't load", "doesn't play", "doesn't display", "does not load", "does not play", "does not display",
          "player is loading", ":")),
        ("site_description", r"^(?:the )?[A-Z][\w .'’-]{2,40} is (?:an? )?(?:independent|non-?profit|one-person|"
         r"reader-(?:supported|funded)|nonpartisan)\b.{0,60}\b(?:newsroom|publication|blog|site|magazine|"
         r"outlet|media|journal|newsletter|organi[sz]ation|think tank|news)\b", 60,
         ("independent", "profit", "one-person", "reader-", "nonpartisan")),
        ("byline_meta", r"^\d+ min(?:ute)?s? read\b|^(?:\d+ (?:comments?|shares|views)\b[ ·|]*)+$|"
         r"^comments? \(\d+\)$", 10, ()),
        ("byline", r"^(?:posted|published|written|updated)(?: on)?\b.{0,60}\bby [A-Z]|^posted by [A-Z]|"
         r"^[A-Z][\w ]{1,40} staff(?: writers?| reporters?)?$|^(?:interview|interviewed|questions|text|photos?) by [A-Z]|"
         r"^via [A-Z][^.]{0,60}[·|]|\bfrom (?:the )?[A-Z][\w .&'-]{1,50} website\b", 25,
         ("by ", " staff", "via ", " website")),
        ("credits", r"^(?:additional )?(?:reporting|writing|editing|compiled|produced|translated) by\b|"
         r"^our standards\b|\bcontributed (?:reporting )?to this (?:report|story|article)\b|^authori[sz]ed by\b", 40,
         (" by", "our standards", "contributed ")),
        ("translation_link", r"^read (?:this )?(?:article |story |post )?in\b.{0,60}$|"
         r"^.{0,40}\b(?:en español|en français|auf deutsch|in english|em português|in italiano)$|"
         r"^this (?:post|article|page|story) is (?:also )?available in\b|"
         r"^(?:lire|leer|lesen|leggi) (?:en|auf|in)\b", 14,
         ("read ", "en español", "en français", "auf deutsch", "in english", "em português", "in italiano",
          "available in", "lire ", "leer ", "lesen ", "leggi ")),
        ("cookie_notice", r"\bwe use cookies\b|\bby continuing,? you agree\b|\bcookie (?:policy|settings)\b", 40,
         ("we use cookies", "by continuing", "cookie ")),
        ("newsletter", r"\byou are receiving (?:this|the)\b|\bunsubscribe\b|^(?:our )?mailing address\b|"
         r"^get (?:the|our) .{0,40}\b(?:in your inbox|newsletter)\b|\bsign up\b.{0,40}\bnewsletter\b|"
         r"\bnewsletter\b.{0,40}\bsign up\b|^subscribe to\b", 40,
         ("you are receiving", "subscribe", "mailing address", "in your inbox", "newsletter")),
        ("donation_prompt", r"\breader-(?:supported|funded)\b|\bplease consider (?:a )?donat|"
         r"^buy me a coffee\b|^donate\b|\bneeds (?:local |your )?support\b.{0,40}\bdonate\b|"
         r"\bchip in (?:at|here|today|now)\b|"
         r"\bfunded by (?:readers|listeners|members)\b|\bsubscribe today\b", 40,
         ("reader-", "donat", "buy me a coffee", "chip in ", "funded by ", "subscribe today")),
        ("license", r"^republish this (?:article|story)\b|\bcreative commons licen[cs]e\b|"
         r"\blicensed under (?:a |the )?creative commons\b|"
         r"\bcc by(?:-(?:nd|sa|nc))+\b", 60,
         ("republish this", "creative commons", "cc by-")),
        ("mailing_list", r"^(?:previous|next) message\b|^messages sorted by\b|\bmailing list\b|"
         r"^an html attachment was scrubbed|^-+ ?next part ?-+$|^url: <https?://|"
         r"^\[[\w-]+\] .{0,80}$", 25,
         ("message", "mailing list", "attachment was scrubbed", "next part", "url: <http", "] ")),
        ("image_caption", r"^\[caption\b|\((?:photo:? ?)?[A-Z][^()/]{1,60}/[^()]{1,60}\)$|"
         r"\bphoto(?:graph)?s?: [A-Z]|\((?:[LRC]|left|right|center|centre)\) (?:greets|meets|shakes|speaks|talks|"
         r"walks|arrives|listens|attends|waves|poses|looks|gestures|holds|signs|chats|welcomes)\b|"
         r",\s*(?:left|right|center|centre),|\bpool photo\b|\(photo[^)]*\)|"
         r"\bphoto(?:graph)? (?:by|courtesy)\b|^<figcaption|"
         r"\. [A-Z][\w ]{1,40}/[A-Z][\w .]{1,40}$", 60,
         ("[caption", "/", "photo", ") ", "left,", "right,", "center,", "centre,", "<figcaption")),
    )
)


def _anchored(pattern: str) -> bool:
    """Whether every top-level alternative of `pattern` starts with '^': it
    can only match at the start, so `search` and `match` agree."""
    alternatives, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":  # a ']' first in a class is a literal
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
        i += 1
    alternatives.append(pattern[start:])
    return all(a.startswith("^") for a in alternatives)


_JOINED = tuple(pattern for _, pattern, _, keywords in FORM_RULES if not keywords and _anchored(pattern.pattern))
_ANY_JOINED = re.compile("|".join(f"(?:{p.pattern})" for p in _JOINED), re.I)
"""The form rules anchored at the start (`_anchored`) that have no keywords,
joined in one pattern: when it does not match at the start, none of them
matches, whatever the paragraph's length."""


@dataclass(frozen=True)
class _RuleSet:
    """The form rules that apply to a paragraph of some length, in order,
    with what lets `form_rule` rule most of them out at once: all their
    keywords (looked up once per paragraph, not rule by rule), whether one
    of them is in `_ANY_JOINED`, and whether each has a keyword or is in
    `_ANY_JOINED` (then a paragraph with no keyword that `_ANY_JOINED`
    does not match matches none of them)."""

    rules: tuple[tuple[str, re.Pattern[str], tuple[str, ...], bool], ...]  # name, pattern, keywords, in _JOINED
    keywords: tuple[str, ...]
    joined: bool
    gated: bool

    @classmethod
    def of(cls, rules) -> _RuleSet:
        rules = tuple((name, pattern, keywords, pattern in _JOINED) for name, pattern, _, keywords in rules)
        return cls(rules, tuple(sorted({k for _, _, keywords, _ in rules for k in keywords})),
                   any(joined for *_, joined in rules), all(keywords or joined for _, _, keywords, joined in rules))


_LONGEST_RULE = max(max_words for _, _, max_words, _ in FORM_RULES)


@functools.cache
def _rule_set(n_words: int) -> _RuleSet:
    """The rules for paragraphs of `n_words` words (at most _LONGEST_RULE + 1)."""
    return _RuleSet.of(tuple(rule for rule in FORM_RULES if n_words <= rule[2]))


def _words(text: str) -> list[str]:
    return text.split()


# Characters outside ASCII that re.IGNORECASE matches to an ASCII letter
# ('İ' and 'ı' to 'i', 'ſ' to 's', the Kelvin sign to 'k'): str.lower() does
# not always turn them into that letter.
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")


def _keyword_text(text: str) -> str | None:
    """The text to look for form-rule keywords in: lower case, or None (try
    every pattern) when a character could match a keyword's letter under
    re.IGNORECASE without lowering to it."""
    if not text.isascii() and _FOLDS_TO_ASCII.search(text):
        return None
    return text.lower()


_BYLINE = re.compile(r"^(?:by|written by|posted by)\s+(.*)$", re.I)


def is_byline(text: str) -> bool:
    """'By Name and Name', possibly with a date: names only, no sentence."""
    match = _BYLINE.match(text)
    if not match:
        return False
    rest = SEPARATORS.split(DATE.sub("", match.group(1)))[0]
    words = re.findall(r"[\w.'’-]+", rest)
    if not words or len(words) > 12:
        return False
    return all(w[0].isupper() or w.lower() in NAME_CONNECTORS or w.isdigit() for w in words)


DATE_WORDS = frozenset(
    "published posted updated last date on at ago hours hour minutes minute days day am pm a.m. p.m. "
    "gmt utc est edt cet cest bst pst pdt issue no. sent archived min read".split()
)
TIMESTAMP = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_DIGIT = re.compile(r"\d")
_YEAR = re.compile(r"\b\d{4}\b")


def is_site_date_line(text: str) -> bool:
    """'Global Research, November 29, 2015' or 'Kremlin.ru 26 November 2015':
    a date with nothing around it but a site name, times and date words."""
    return _is_site_date_line(text, len(_words(text)))


def _is_site_date_line(text: str, n_words: int) -> bool:
    # the cheap tests first: every date and every time has a digit
    if n_words > 20 or not _DIGIT.search(text):
        return False
    if not DATE.search(text) and not (TIMESTAMP.search(text) and _YEAR.search(text)):
        return False
    rest = TIMESTAMP.sub(" ", DATE.sub(" ", text))
    words = re.findall(r"[^\s,;|·•–—()-]+", rest)
    return all(
        w[0].isupper() or w[0].isdigit() or DOMAIN.fullmatch(w) or w.lower() in NAME_CONNECTORS
        or w.lower() in DATE_WORDS
        for w in words
    )


def is_menu(text: str) -> bool:
    """'World | Politics | Business' or 'Home / About / Donate': short items
    between separators."""
    return _is_menu(text, len(_words(text)))


def _is_menu(text: str, n_words: int) -> bool:
    if n_words > 16 or not SEPARATOR_CHAR.search(text):
        return False
    parts = [p for p in SEPARATORS.split(text) if p.strip()]
    return len(parts) >= 3 and all(len(p.split()) <= 3 for p in parts)


def is_event_header(text: str) -> bool:
    """A place or occasion line above a transcript's first turn ('East Room',
    'Ottawa, Ontario', 'Via Teleconference'): a few words, all capitalised,
    no sentence."""
    words = re.findall(r"[^\W\d_][\w.'’-]*", text)
    if not words or len(text.split()) > 6 or ends_sentence(text) or text.endswith(":") or HEADING_PREFIX.match(text):
        return False
    return all(w[0].isupper() or w.lower() in NAME_CONNECTORS for w in words)


_WORD = re.compile(r"[^\W\d_]{2,}")


def has_no_words(text: str) -> bool:
    """Punctuation, separators or a stray symbol: no word of two letters."""
    return not _WORD.search(text)


_MEDIA_WORD = re.compile(r"\b(?:VIDEO|AUDIO|WATCH|LIVE ?STREAM|PODCAST)\b")
_MEDIA_WORDS = re.compile("VIDEO|AUDIO|WATCH|STREAM|PODCAST")  # one is in every match of _MEDIA_WORD


def is_media_banner(text: str) -> bool:
    """'COMPLETE VIDEO, WITH ENGLISH VOICE OVER': a mostly upper-case line
    announcing an embedded video or audio player."""
    # the capitalised word first (a substring test): counting letters is the slow part
    if len(text) > 200 or not _MEDIA_WORDS.search(text) or len(text.split()) > 20:
        return False
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 5:
        return False
    upper = sum(c.isupper() for c in letters) / len(letters)
    return upper >= 0.6 and bool(_MEDIA_WORD.search(text))


@functools.lru_cache(maxsize=1 << 16)
def form_rule(text: str) -> str | None:
    """The name of the first form rule the paragraph matches, if any.

    Cached: the paragraph builder, the site guess and the classifier ask
    about the same lines, and chrome lines repeat across a site's pages."""
    if is_byline(text):
        return "byline"
    n_words = len(_words(text))  # once: three tests need it
    if _is_site_date_line(text, n_words):
        return "site_date_line"
    if is_media_banner(text):
        return "video_notice"
    if _is_menu(text, n_words):
        return "navigation"
    if has_no_words(text) and not _DIGIT.search(text):
        return "separator"
    rule_set = _rule_set(min(n_words, _LONGEST_RULE + 1))
    folded = _keyword_text(text)
    # the keywords in the text, or None: try every pattern (see _keyword_text)
    found = None if folded is None else {k for k in rule_set.keywords if k in folded}
    anchored = rule_set.joined and _ANY_JOINED.match(text) is not None
    if not found and found is not None and not anchored and rule_set.gated:
        return None  # most paragraphs: no rule left to try
    for name, pattern, keywords, joined in rule_set.rules:
        if joined and not anchored:
            continue
        if (not keywords or found is None or not found.isdisjoint(keywords)) and pattern.search(text):
            return name
    return None


# --- 2. layout -------------------------------------------------------------

CAPTION_CUES = re.compile(
    r"\b(?:photo|photograph|picture|pictured|image|file photo|screenshot|video|clip|footage|"
    r"TV|left side|right side|courtesy of)\b",
    re.I,
)
HEADING_PREFIX = re.compile(r"^(?:point|part|chapter|section|step|update)\s+[\dIVX]+\b", re.I)
CAPTION_MAX_WORDS = 60
CAPTION_MIN_WORDS = 7
GLUED_CAPTION_MAX_WORDS = 8


def is_heading_like(text: str) -> bool:
    """A heading: numbered ('Point 3: ...') or in title case."""
    if HEADING_PREFIX.match(text):
        return True
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text) if len(w) > 3]
    if len(words) < 2:
        return False
    capitalised = sum(w[0].isupper() for w in words)
    return capitalised / len(words) >= 0.75


def ends_sentence(text: str) -> bool:
    return text.endswith(SENTENCE_FINAL)


@dataclass
class DocumentLayout:
    """What the layout rules may look at: all paragraphs of one document and
    the decisions taken so far (index -> reason)."""

    paragraphs: Sequence[Paragraph]
    decided: dict[int, str] = field(default_factory=dict)

    def text(self, i: int) -> str:
        return self.paragraphs[i].text

    def words(self, i: int) -> int:
        return len(self.paragraphs[i].text.split())

    @functools.cached_property
    def earlier_copies(self) -> list[int]:
        """For each paragraph, how many earlier paragraphs have the same text."""
        seen: Counter[str] = Counter()
        counts = []
        for p in self.paragraphs:
            key = p.text.casefold()
            counts.append(seen[key])
            seen[key] += 1
        return counts

    @functools.cached_property
    def mostly_blank_separated(self) -> bool:
        gaps = [p.blank_before for p in self.paragraphs[1:]]
        return bool(gaps) and sum(g > 0 for g in gaps) >= 0.7 * len(gaps)


def caption_above_credit(layout: DocumentLayout, i: int) -> bool:
    """Image alt text or caption directly above a photo credit line."""
    paragraphs = layout.paragraphs
    return (
        i + 1 < len(paragraphs)
        and paragraphs[i].blank_after == 0
        and layout.decided.get(i + 1) == "photo_credit"
        and layout.words(i) <= 15
    )


def caption_glued_to_text(layout: DocumentLayout, i: int) -> bool:
    """A short line glued on top of a long paragraph, where the page
    otherwise separates paragraphs by blank lines: the caption of an image
    that stood there."""
    paragraphs = layout.paragraphs
    if i + 1 >= len(paragraphs) or i == 0:
        return False
    here = paragraphs[i]
    return (
        here.blank_after == 0
        and here.blank_before > 0
        and layout.words(i) <= GLUED_CAPTION_MAX_WORDS
        and layout.words(i + 1) >= 3 * layout.words(i)
        and layout.mostly_blank_separated
        and not here.text.endswith(":")
    )


def caption_between_gaps(layout: DocumentLayout, i: int) -> bool:
    """A caption left alone where an image was: a wider gap (two or more
    blank lines) on one side, and either no sentence end or a caption cue
    word; headings are not captions."""
    here = layout.paragraphs[i]
    if i == 0 or max(here.blank_before, here.blank_after) < 2:
        return False
    if layout.words(i) > CAPTION_MAX_WORDS or is_heading_like(here.text):
        return False
    if layout.words(i) < CAPTION_MIN_WORDS and not CAPTION_CUES.search(here.text):
        return False  # a short line between gaps is a subheading ("What comes next")
    if here.text.endswith(":"):
        return False
    return not ends_sentence(here.text) or bool(CAPTION_CUES.search(here.text))


def author_box(layout: DocumentLayout, i: int) -> bool:
    """The author's name line and bio at the bottom: 'Jane Doe, PhD' then
    'Jane Doe is a ...' (the bio names the same person)."""
    paragraphs = layout.paragraphs
    if i < len(paragraphs) * 0.6:
        return False
    text = layout.text(i)
    bio = re.match(r"^((?:[A-Z][\w.'’-]+\s){1,3}[A-Z][\w.'’-]+) (?:is|was|has been|writes)\b", text)
    if bio:
        name = bio.group(1)
        return any(
            paragraphs[j].text.startswith(name) and layout.words(j) <= 8
            for j in range(max(0, i - 3), i)
        ) or layout.decided.get(i - 1) == "author_box"
    name_line = re.match(r"^((?:[A-Z][\w.'’-]+\s){1,3}[A-Z][\w.'’-]+)(?:,\s*[A-Z][\w.]*)*$", text)
    if name_line and layout.words(i) <= 8:
        name = name_line.group(1)
        return any(paragraphs[j].text.startswith(name + " ") for j in range(i + 1, min(len(paragraphs), i + 3)))
    return False


def repeated_page_header(layout: DocumentLayout, i: int) -> bool:
    """A later verbatim copy of a heading-sized line (a page header printed
    again at each page break): it follows a page gap of two or more blank
    lines, or the line occurs three times or more."""
    if not 5 <= layout.words(i) <= 25:
        return False
    earlier = layout.earlier_copies[i]
    return earlier >= 2 or (earlier >= 1 and layout.paragraphs[i].blank_before >= 2)


LayoutRule = Callable[[DocumentLayout, int], bool]
LAYOUT_RULES: tuple[tuple[str, LayoutRule], ...] = (
    ("repeated_page_header", repeated_page_header),
    ("image_caption", caption_above_credit),
    ("author_box", author_box),
    ("image_caption", caption_glued_to_text),
    ("image_caption", caption_between_gaps),
)

BOTTOM_RUN_MAX_WORDS = 25


def in_closing_run(layout: DocumentLayout, i: int) -> bool:
    """A short paragraph with boilerplate on both sides in the last third of
    the document: a leftover of the closing page chrome."""
    n = len(layout.paragraphs)
    if i < n * 2 / 3 or layout.words(i) > BOTTOM_RUN_MAX_WORDS:
        return False
    before = i > 0 and (i - 1) in layout.decided
    after = i + 1 >= n or (i + 1) in layout.decided
    return before and after and i + 1 < n


# --- 3. site ---------------------------------------------------------------

_DIGITS = re.compile(r"\d+")


@functools.lru_cache(maxsize=1 << 12)  # a document's paragraphs: each pass asks about them twice
def line_key(text: str) -> str:
    """A line's identity for cross-document counting: case and numbers
    (dates, counts) do not matter."""
    folded = text.casefold()
    # most lines: ASCII (where \d is 0-9) without a digit, which the bytes' translate finds in C far
    # faster than the regex's Unicode test of every character
    if folded.isascii() and len(encoded := folded.encode()) == len(encoded.translate(None, b"0123456789")):
        return folded
    return _DIGITS.sub("0", folded)


@dataclass(frozen=True)
class SiteBoilerplate:
    """Lines seen in at least `min_support` documents of one site."""

    lines_by_site: dict[str, frozenset[str]]
    min_support: int

    @classmethod
    def learn(
        cls,
        documents: Iterable[tuple[str | None, Iterable[str]]],
        min_support: int = 3,
        max_words: int = 40,
    ) -> SiteBoilerplate:
        """Count each short line once per document, per site; keep the lines
        with enough support.  The result does not depend on document order."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for site, lines in documents:
            if site is None:
                continue
            keys = {line_key(t) for t in lines if t and len(t.split()) <= max_words}
            for key in keys:
                counts[site][key] += 1
        learned = {
            site: frozenset(k for k, n in keys.items() if n >= min_support)
            for site, keys in counts.items()
        }
        return cls({s: ks for s, ks in learned.items() if ks}, min_support)

    def is_boilerplate(self, site: str | None, text: str) -> bool:
        return site is not None and line_key(text) in self.lines_by_site.get(site, frozenset())


# --- inline notes ------------------------------------------------------------

INLINE_NOTE = re.compile(
    r"\s*[\[(](?:(?:emphasis|bold|italics?|underlin\w*|highlight\w*)\b[^\[\]()]{0,40}"
    r"\b(?:added|mine|original|ours)\b[^\[\]()]{0,30}|my emphasis|emphasis mine)[\])]\s*$",
    re.I,
)


# Image alt text or a caption glued to the first word of the paragraph by the
# extractor: "... with Kessaly port officialsThe memorandum, signed ...".
GLUED_CAPTION = re.compile(
    r"^(?P<caption>[A-Z][^.!?]{10,240}?(?P<left>\b[\w’'-]*[a-z]))(?P<right>[A-Z][a-z’'-]{2,})(?= )"
)
CAMEL_CASE_WORDS = frozenset(
    """wordpress javascript powerpoint youtube linkedin iphone ipad mcdonald macbook paypal fedex github
    tiktok whatsapp blackberry spacex openai deepmind biontech astrazeneca exxonmobil playstation
    facebook smartphone""".split()
)
GLUED_MIN_CAPTION_WORDS = 5
GLUED_MIN_REST_WORDS = 8
_GLUE_CLASSES = bytes.maketrans(f"{string.ascii_lowercase}{string.ascii_uppercase}!?".encode(),
                                b"a" * 26 + b"A" * 26 + b"..")
"""UTF-8 bytes to classes: 'a' stands for a-z, 'A' for A-Z, '.' for . ! ?
(other bytes are left as they are: none of them is one of these three)."""


def _may_glue(text: str) -> bool:
    """Whether `GLUED_CAPTION` can match: `text` starts with A-Z and, before
    its first . ! or ? (neither the caption nor the glued word holds one),
    has an a-z directly followed by an A-Z.  Found by a translate and a find
    in C, where the pattern's lazy part tries its backtracking tail at every
    position of the first sentence; [a-z] and [A-Z] (no re.IGNORECASE) take
    only ASCII letters, one byte each in UTF-8."""
    classes = text.encode("utf-8", "surrogatepass").translate(_GLUE_CLASSES)
    end = classes.find(b".")
    return classes.startswith(b"A") and classes.find(b"aA", 0, end if end >= 0 else len(classes)) >= 0


def trim_glued_caption(text: str) -> tuple[str, str | None]:
    """Split off a caption glued to the paragraph's first sentence (a lower
    case letter directly followed by a capitalised word, no space)."""
    match = GLUED_CAPTION.match(text) if _may_glue(text) else None
    if not match:
        return text, None
    left, right = match.group("left").split()[-1], match.group("right")
    glued = (left + right).casefold()
    if glued in CAMEL_CASE_WORDS or any(glued.startswith(w) for w in CAMEL_CASE_WORDS):
        return text, None
    if left[:1].isupper() and len(left) < 4:
        return text, None
    caption = match.group("caption")
    rest = text[match.end("caption"):]
    if len(caption.split()) < GLUED_MIN_CAPTION_WORDS or len(rest.split()) < GLUED_MIN_REST_WORDS:
        return text, None
    return rest, caption


def trim_inline_notes(text: str) -> tuple[str, str | None, str | None]:
    """Remove boilerplate glued to content: a caption glued to the start of
    the paragraph, an editor's formatting note at its end.

    Returns (kept text, removed text, rule name)."""
    kept, caption = trim_glued_caption(text)
    # the note ends the paragraph: look for it only behind a closing bracket (few paragraphs end in one)
    match = INLINE_NOTE.search(kept) if kept.rstrip().endswith((")", "]")) else None
    if match and match.start() > 0:
        note = match.group(0).strip()
        kept = kept[: match.start()].rstrip()
        if caption:
            return kept, f"{caption} … {note}", "glued_caption+inline_editorial_note"
        return kept, note, "inline_editorial_note"
    if caption:
        return kept, caption, "glued_caption"
    return text, None, None


# --- all together ------------------------------------------------------------


KIND_RULES = {"front_matter": "front_matter", "image": "image", "embed": "embed", "markup": "markup",
              "rule": "separator"}
BLOCK_OWNERS = frozenset({
    "video_notice", "embed_notice",
    "related_links", "site_widget", "comment_form", "author_list", "navigation", "mailing_list",
    "newsletter", "donation_prompt", "cookie_notice", "license",
})
"""Rules whose line heads a block of page chrome: the short lines glued
under it (no blank line between) belong to the same widget."""
BLOCK_MAX_WORDS = 40
HEADER_MAX_WORDS = 20
BIO_WORDS = re.compile(
    r"\b(?:fellow|editor|correspondent|reporter|professor|analyst|author of|former|contributing|"
    r"research(?:er)?|director|columnist|journalist|writes|teaches|lecturer|associate)\b",
    re.I,
)
_BIO_START = re.compile(
    r"^((?:[A-Z][\w.'’-]+\s){1,3}[A-Z][\w.'’-]+),? (?:is|was|has been|writes|teaches|covers|reports on)\b"
)


def author_bio(layout: DocumentLayout, i: int, authors: Sequence[str]) -> bool:
    """'Jane Doe is a senior fellow at ...' in the last part of the page: a
    sentence about one of the authors, or about anyone in bio words."""
    if i < len(layout.paragraphs) * 0.6 or layout.words(i) > 80:
        return False
    match = _BIO_START.match(layout.text(i))
    if not match:
        return False
    name = match.group(1)
    if any(name in a or a in name for a in authors):
        return True
    # someone else's bio only inside the closing chrome: next to boilerplate or last
    n = len(layout.paragraphs)
    beside_chrome = (i + 1 >= n or (i + 1) in layout.decided or (i - 1) in layout.decided)
    return beside_chrome and bool(BIO_WORDS.search(layout.text(i)))


def classify(
    paragraphs: Sequence[Paragraph],
    site: str | None = None,
    site_boilerplate: SiteBoilerplate | None = None,
    protected: frozenset[int] = frozenset(),
    title_index: int | None = None,
    authors: Sequence[str] = (),
    form_reasons: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """Map paragraph index -> rule name for every boilerplate paragraph.

    `protected` paragraphs (speaker turns, the title) are judged by their
    form only: layout guesses never remove them.  Paragraphs above the title
    `title_index` that are short are the page header.  `form_reasons`, when
    given, is `form_rule` of every paragraph already (index -> rule, the
    paragraphs without one left out: `clean.PreparedDocument.form_reasons`),
    not asked again: the second pass runs where the first pass's cache is
    gone.
    """
    layout = DocumentLayout(paragraphs)
    decided = layout.decided
    for p in paragraphs:
        reason = KIND_RULES.get(p.kind)
        if reason is None and p.index != title_index and p.kind != "table":
            reason = form_rule(p.text) if form_reasons is None else form_reasons.get(p.index)
        if reason is None and site_boilerplate is not None and site_boilerplate.is_boilerplate(site, p.text):
            reason = "site_repeated_line"
        if reason:
            decided[p.index] = reason
    if title_index is not None:
        for p in paragraphs[:title_index]:
            if p.index not in decided and len(p.text.split()) <= HEADER_MAX_WORDS:
                decided[p.index] = "page_header"
    for p in paragraphs:
        owner = decided.get(p.index)
        if owner not in BLOCK_OWNERS:
            continue
        for q in paragraphs[p.index + 1:]:
            if q.blank_before or q.index in protected or q.index == title_index or len(q.text.split()) > BLOCK_MAX_WORDS:
                break
            decided.setdefault(q.index, owner)
    first_turn = min(protected) if protected else None
    if first_turn is not None:
        for p in paragraphs[(title_index + 1 if title_index is not None else 0):first_turn]:
            if p.index not in decided and is_event_header(p.text):
                decided[p.index] = "event_header"
    if title_index is not None:
        title = paragraphs[title_index].text.casefold()
        for p in paragraphs[title_index + 1:]:
            if p.index not in decided and p.text.casefold() == title:
                decided[p.index] = "repeated_title"
    keep = protected | ({title_index} if title_index is not None else set())
    for p in paragraphs:
        if p.index in decided or p.index in keep or p.kind == "heading":
            continue
        if author_bio(layout, p.index, authors):
            decided[p.index] = "author_bio"
            continue
        for name, rule in LAYOUT_RULES:
            if rule(layout, p.index):
                decided[p.index] = name
                break
    for p in paragraphs:
        if p.index not in decided and p.index not in keep and in_closing_run(layout, p.index):
            decided[p.index] = "closing_run"
    return dict(decided)
