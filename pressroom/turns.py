"""Speaker turns of transcripts: labels, canonical speakers, Q&A structure.

Three steps, each a plain function:

* `parse_label` finds a speaker label at the start of a paragraph
  ("President of France (*retranslated*): ...") and rejects the colons of
  prose, field names and headings;
* `SpeakerResolver` maps every label of one document to one canonical
  speaker (titles split off, title-only labels resolved to the person the
  document names with that title, spellings and accents unified) and a role;
* `assign_turns` gives each turn its type (statement, question, answer,
  moderation), the question each answer replies to, and the ConvoKit
  `reply_to` edge.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

LABEL = re.compile(r"^(?P<label>[^:\n]{1,100}?)\s?:(?:\s+(?=\S)|$)")
_LABEL_COLON_END = 102  # every match has a colon before: 1 to 100 characters of label, maybe one space
PARENTHETICAL = re.compile(r"\s*\(([^()]*)\)")
TRANSLATION_MARKER = re.compile(r"\b(?:re-?translated|translated|translation|interpret(?:ed|er|ation)|in [A-Z][a-z]+ through)\b", re.I)
CONNECTORS = frozenset("of the de la le du von van der den da di al bin ibn y e and".split())
MAX_LABEL_WORDS = 7

QUESTIONER_WORDS = frozenset(
    "question q journalist reporter questioner correspondent interviewer".split()
)
MODERATOR_WORDS = frozenset("moderator host presenter anchor facilitator".split())
ANSWER_WORDS = frozenset("answer a".split())

# Colons of field names, notes and headings: never speaker labels.
NOT_LABELS = frozenset(
    {
        "note", "nb", "n.b", "editor's note", "update", "updated", "region", "regions", "theme",
        "themes", "tags", "tag", "source", "sources", "disclaimer", "photo", "image", "video",
        "copyright", "caption", "credit", "credits", "warning", "summary", "subject", "date", "time",
        "location", "title", "headline", "read more", "related", "share", "print", "email", "e-mail",
        "tel", "phone", "fax", "address", "website", "url", "keywords", "category", "categories",
        "topics", "in-depth report", "comments", "reply", "quote", "p.s", "ps", "breaking",
        "exclusive", "analysis", "opinion", "watch", "listen", "transcript", "excerpt",
        "highlights", "background", "context", "solution", "key points", "bottom line",
        "translation", "filed under", "posted", "published", "via", "contact", "example",
        "examples", "for instance", "i.e", "e.g",
    }
)

TITLE_WORDS = (
    r"President|Vice[- ]President|Prime Minister|Deputy Prime Minister|Minister|Chancellor|"
    r"Secretary(?:[- ]General)?|Premier|King|Queen|Prince|Princess|Emir|Sultan|Ambassador|"
    r"Spokes(?:man|woman|person)|Governor|Senator|Mayor|Director|Chairman|Chairwoman|Chair|Speaker|"
    r"Commissioner|General|Admiral|Pope|Foreign Minister|Defen[cs]e Minister|Press Secretary|"
    r"Council(?:lor| Member| member)|Councillor|Advis[eo]r|National Security Advis[eo]r|"
    r"Deputy|Envoy|Representative|Senior Administration Official|Official|Opposition Leader|"
    r"Leader of the Opposition"
)
TITLE_PREFIX = re.compile(
    rf"^(?:the\s+)?(?P<title>(?:(?:Acting|Deputy|Vice|Former|First|Federal|Crown|Senior|Special)\s+)*"
    rf"(?:{TITLE_WORDS}))\b\.?\s*(?P<rest>.*)$",
    re.I,
)
HONORIFIC = re.compile(r"^(?P<title>Mr|Mrs|Ms|Miss|Dr|Sir|Madam|Madame|Monsieur|Mme|M)\.?\s+(?P<rest>.+)$", re.I)

HEAD_OF_STATE = re.compile(r"\b(?:president|king|queen|emir|sultan|emperor|monarch)\b", re.I)
HEAD_OF_GOVERNMENT = re.compile(r"\b(?:prime minister|chancellor|premier)\b", re.I)
OFFICIAL = re.compile(
    r"\b(?:minister|secretary|ambassador|spokes\w+|governor|senator|mayor|director|council\w*|"
    r"commissioner|general|admiral|official|chair\w*|speaker|advis[eo]r|envoy|deputy|representative)\b",
    re.I,
)
AUDIENCE_WORDS = frozenset("audience participant citizen resident attendee caller student".split())
PERSON_NOTE = re.compile(r"^([A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){1,2})(?:,.*)?$")
CLIP_NOTE = re.compile(r"\b(?:clip|video|recording|archive|file)\b", re.I)


@dataclass(frozen=True)
class Label:
    printed: str  # exactly as printed, parenthetical markers included
    core: str  # without parentheticals and emphasis marks
    notes: tuple[str, ...]  # parenthetical notes, e.g. ("*retranslated*",)
    text_offset: int  # where the turn's text starts in the paragraph

    @property
    def translation_marker(self) -> str | None:
        for note in self.notes:
            if TRANSLATION_MARKER.search(note):
                return f"({note})"
        return None

    @property
    def key(self) -> str:
        return fold(self.core)


STAGE_NOTE = re.compile(
    r"\((?:laughter|applause|inaudible|cross-?talk|as interpreted|laughs|off-?mic|pause|crosstalk|"
    r"interruption|audio (?:gap|lost)|technical (?:difficulties|problem)|in [A-Z][a-z]+)\.?\)",
    re.I,
)
TEXT_TRANSLATION = re.compile(r"\((?:as interpreted|through an interpreter|in [A-Z][a-z]+|translated)\.?\)", re.I)


SELF_INTRODUCTION = re.compile(r"\b(?i:I'm|I am|my name is|this is)\s+([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,2})")
INTERVIEWER = re.compile(r"\b(?i:interview(?:ed)?|questions?|conversation) by\s+([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,2})")
MODERATED_BY = re.compile(r"\b(?i:moderated by|hosted by|chaired by)\s+((?:[A-Z][\w'’-]+ ){1,5}[A-Z][\w'’-]+)")


MODERATED_BY_KEYWORDS = ("moderated by", "hosted by", "chaired by")  # one is in every match, in any case
# Characters outside ASCII that re.IGNORECASE matches to an ASCII letter,
# which str.lower() does not lower to it (as in boilerplate._keyword_text).
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")


def _may_hold(text: str, keywords: Sequence[str]) -> bool:
    """Whether `text` may match a case-insensitive pattern each match of
    which holds one of the lower-case `keywords`: a substring test rules out
    most texts faster than the search, which tries every position."""
    if not text.isascii() and _FOLDS_TO_ASCII.search(text):
        return True
    lowered = text.lower()
    return any(k in lowered for k in keywords)


def moderators_named(text: str) -> set[str]:
    """People the text says moderate: 'moderated by Deputy Spokesperson Steffen
    Hoffmann' -> {'steffen hoffmann'} (the last two words of the name run)."""
    if not _may_hold(text, MODERATED_BY_KEYWORDS):
        return set()
    return {fold(" ".join(m.group(1).split()[-2:])) for m in MODERATED_BY.finditer(text)}


RESUMPTION = re.compile(
    r"^(?:\(?cross-?talk\.?\)?\s*)?(?i:please let me finish|let me finish|as i was saying|if i (?:may|could) finish|"
    r"to finish my (?:answer|point)|--|—|…|\.\.\.)"
)


INTRODUCED_SPEAKER = re.compile(
    r"\b(?i:our speaker(?: today| tonight)? is|joining us(?: today)? is|we are joined by|we're joined by)\s+"
    r"((?:[A-Z][\w'’-]+ ){1,6}[A-Z][\w'’-]+)"
)


INTRODUCED_SPEAKER_KEYWORDS = ("our speaker", "joining us", "joined by")  # one is in every match, in any case


def introduced_speaker(text: str) -> str | None:
    """'our speaker today is Deputy National Security Advisor Mark Ellery'
    -> 'Mark Ellery' (the last two words of the name run)."""
    if not _may_hold(text, INTRODUCED_SPEAKER_KEYWORDS):
        return None
    match = INTRODUCED_SPEAKER.search(text)
    return " ".join(match.group(1).split()[-2:]) if match else None


def self_introduction(text: str) -> str | None:
    """'I'm Tom Baxter from Radio West' -> 'Tom Baxter'."""
    match = SELF_INTRODUCTION.search(text)
    return match.group(1) if match else None


def stage_notes(text: str) -> list[str]:
    """Stage notes in a turn, as printed: '(Laughter.)', '(Inaudible.)'."""
    return STAGE_NOTE.findall(text)


def text_translation_marker(text: str) -> str | None:
    """A translation marker in the turn's text: '(As interpreted.)', '(in French)'."""
    match = TEXT_TRANSLATION.search(text[:200])
    return match.group(0) if match else None


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and accent-insensitive key: 'François' and 'Francois' meet."""
    return _fold_unstripped(text).strip()


def _fold_unstripped(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_NUMBERED_QUESTION = re.compile(r"(?:question|q)\s*\d+")


def _is_label_core(core: str) -> bool:
    words = core.split()
    if not 1 <= len(words) <= MAX_LABEL_WORDS:
        return False
    lowered = core.casefold()
    if lowered in NOT_LABELS or words[0].casefold() in {"point", "part", "chapter", "section", "step", "update"}:
        return False
    if _NUMBERED_QUESTION.fullmatch(lowered):
        return True
    for word in words:
        if any(map(str.isdigit, word)):
            return False
        if not (word[0].isupper() or word.casefold() in CONNECTORS):
            return False
    return True


def parse_label(text: str) -> Label | None:
    """The speaker label opening `text`, or None when the colon is prose."""
    # most paragraphs have no colon near the start, where LABEL would try every label length for one
    match = LABEL.match(text) if ":" in text[:_LABEL_COLON_END] else None
    if not match:
        return None
    printed = match.group("label").strip()
    notes = tuple(n.strip() for n in PARENTHETICAL.findall(printed))
    core = PARENTHETICAL.sub("", printed).replace("*", "").replace("_", "").strip(" .,-–—")
    if not core or not _is_label_core(core):
        return None
    if (match.end() >= len(text.rstrip()) and len(core.split()) < 2 and not notes and not core.isupper()
            and not SpeakerResolver._role_word(core)):
        return None  # alone on its line, a label must name someone: 'June:' does not
    return Label(printed=printed, core=core, notes=notes, text_offset=match.end())


def looks_like_transcript(labels: Sequence[Label]) -> bool:
    """Enough labelled turns, at least two voices, and some speaker or the
    question/answer pattern coming back."""
    if len(labels) < 3:
        return False
    keys = Counter(label.key for label in labels)
    if len(keys) < 2:
        return False
    qa = any(set(k.split()) & (QUESTIONER_WORDS | ANSWER_WORDS) for k in keys)
    return qa or keys.most_common(1)[0][1] >= 2


# --- speakers ---------------------------------------------------------------


@dataclass
class Speaker:
    name: str  # canonical display name
    role: str
    title: str | None
    resolution: str  # exact, alias, title, unnamed, unresolved


def _title_case(text: str) -> str:
    return " ".join(w if not w.isupper() or len(w) <= 1 else w.capitalize() for w in text.split())


def split_title(core: str, known_names: Sequence[str] = (),
                known_keys: Collection[str] | None = None) -> tuple[str | None, str | None]:
    """'President of Russia Vladimir Putin' -> ('President of Russia', 'Vladimir Putin').

    Titles are matched in any case ('THE PRESIDENT', 'PRESIDENT NDIAYE').
    After 'of', the place may have several words; the split that leaves a
    known name wins, else the last two words are the name when at least one
    word is left for the place.  `known_keys`, when given, are the known
    names folded."""
    match = TITLE_PREFIX.match(core) or HONORIFIC.match(core)
    if not match:
        return None, core
    title, rest = _title_case(match.group("title")), match.group("rest").strip()
    words = rest.split()
    if words and words[0].lower() == "of":
        words = words[1:]
        lead = ["of"]
        if words and words[0].lower() == "the":
            words, lead = words[1:], ["of", "the"]
        known = {fold(n) for n in known_names} if known_keys is None else known_keys
        split = next((s for s in range(1, len(words)) if fold(" ".join(words[s:])) in known), None)
        if split is None:
            split = len(words) - 2 if len(words) >= 3 else len(words)
        return " ".join([title, *lead, *map(_title_case, words[:split])]), " ".join(words[split:]) or None
    return title, rest or None


def role_of(title: str | None) -> str:
    if not title:
        return "unknown"
    if HEAD_OF_GOVERNMENT.search(title):
        return "head_of_government"
    if HEAD_OF_STATE.search(title):
        return "head_of_state"
    if OFFICIAL.search(title):
        return "official"
    return "unknown"


NOT_FIRST_NAMES = frozenset("member members leader party minister council government office".split())
_NAME_AFTER = r",?\s+((?:[A-Z][\w'’.-]+)(?:\s+(?:[A-Z][\w'’-]+|de|van|von|al|bin)){1,2})"
_FIRST_NAME = r"([A-Z][\w'’-]+(?:\s+[A-Z]\.)?)"


# What the text says of a name depends on the text and the name only, and a
# document's two resolvers (and its many labels) ask the same questions:
# the answers are cached.


@lru_cache(maxsize=512)  # the entries of the documents being cleaned
def _spellings(document_text: str, key: str) -> Counter[str]:
    """Every spelling of the folded name `key` in the text (accents, case)."""
    words = key.split()
    pattern = r"\b" + r"\s+".join(r"[\w'’-]{%d,%d}" % (max(1, len(w) - 1), len(w) + 1) for w in words) + r"\b"
    found: Counter[str] = Counter()
    folded = _folded_in_place(document_text)
    if folded is not None:
        # a spelling folds to `key` only where the folded text holds `key`
        # (see _folded_in_place): the pattern is tried at those places only
        compiled = re.compile(pattern)
        at = folded.find(key)
        while at != -1:
            if (match := compiled.match(document_text, at)) and fold(match.group()) == key:
                found[match.group()] += 1
            at = folded.find(key, at + 1)
        return found
    for match in re.finditer(f"(?=({pattern}))", document_text):  # overlapping matches
        if fold(match.group(1)) == key:
            found[match.group(1)] += 1
    return found


_IN_SPELLING = re.compile(r"[\w'’-]|\s")  # the characters of a spelling of a name (see _spellings)


@lru_cache(maxsize=4)
def _folded_in_place(document_text: str) -> str | None:
    """The text with every character a spelling of a name may hold (word
    characters, apostrophes, hyphens, whitespace) folded, and every other
    one lowered, when each gives one character (a space only for a space);
    else None.  Folding goes character by character (NFKD reorders only the
    combining marks fold drops, casefold has no context) and the strip of
    `fold` takes nothing from a spelling, which starts and ends with no
    space: where a spelling folds to a key, the folded text holds the key."""
    lowered = document_text.lower()
    if document_text.isascii():
        return lowered  # ASCII folds as it lowers
    # str.lower keeps each character in its place if each lowers to one, but
    # for 'Σ' it looks at the context (σ or ς): where lower differs from fold,
    # and at every 'Σ', the fold replaces what lower gave
    fixes = {}
    for c in set(document_text):
        if c.isascii():
            continue
        if len(c.lower()) != 1:
            return None
        if _IN_SPELLING.match(c):
            folded = _fold_unstripped(c)
            if len(folded) != 1 or (folded.isspace() and not c.isspace()):
                return None
            if folded != c.lower() or c == "Σ":
                fixes[c] = folded
    if not fixes:
        return lowered
    pieces, last = [], 0
    for match in re.finditer("[" + "".join(map(re.escape, fixes)) + "]", document_text):
        pieces += lowered[last:match.start()], fixes[match.group()]
        last = match.end()
    pieces.append(lowered[last:])
    return "".join(pieces)


@lru_cache(maxsize=512)  # the entries of the documents being cleaned
def _full_names(document_text: str, surname: str) -> Counter[str]:
    """'First Surname' mentions of `surname` in the text, counted."""
    found: Counter[str] = Counter()
    for match in re.finditer(_FIRST_NAME + r"\s+((?i:" + re.escape(surname) + r"))\b", document_text):
        first, last_name = match.group(1), match.group(2)
        if (first.isupper() or TITLE_PREFIX.match(first) or HONORIFIC.match(first)
                or first.lower() in CONNECTORS or first.lower() in NOT_FIRST_NAMES):
            continue
        if last_name.isupper():
            continue
        found[f"{first} {last_name}"] += 1
    return found


_TITLE_JUST_BEFORE = re.compile(rf"(?:{TITLE_WORDS})(?:\s+of\s+(?:the\s+)?[A-Z][\w'’-]+)?\s+\Z")


def _titled_somewhere(document_text: str, name: str) -> bool:
    """Whether some occurrence of `name` follows a title and whitespace: what
    the search in `_title_before` needs, tested with one compiled pattern
    (that search compiles a pattern per name, ~3 ms with the title list)."""
    at = document_text.find(name)
    while at != -1:
        if _TITLE_JUST_BEFORE.search(document_text, 0, at):
            return True
        at = document_text.find(name, at + 1)
    return False


@lru_cache(maxsize=512)  # the entries of the documents being cleaned
def _title_before(document_text: str, name: str) -> str | None:
    """The first title the text puts before `name` ('President Vladimir Putin')."""
    if not _titled_somewhere(document_text, name):
        return None
    match = re.search(rf"((?:[A-Z][\w'’-]+\s+){{0,3}}?(?:{TITLE_WORDS})(?:\s+of\s+(?:the\s+)?[A-Z][\w'’-]+)?)\s+{re.escape(name)}",
                      document_text)
    return match.group(1) if match else None


@dataclass
class SpeakerResolver:
    """Resolves the labels of one document against what the document says:
    its title and text name the people the labels abbreviate."""

    document_text: str
    labels: Sequence[Label]
    _names: dict[str, Counter[str]] = field(default_factory=dict)  # fold -> printed variants
    _titles: dict[str, str] = field(default_factory=dict)  # fold(name) -> title
    _unnamed: Counter[str] = field(default_factory=Counter)
    _shown: dict[str, str] = field(default_factory=dict)  # fold(name) -> display(name)

    def __post_init__(self) -> None:
        # a label's title and name depend on its core only: each core is split
        # once, in the order the labels first print it (so the first title of a
        # name still wins), and its name counted as often as it is printed
        cores = Counter(label.core for label in self.labels)
        plain = [core for core in cores if not (TITLE_PREFIX.match(core) or HONORIFIC.match(core))]
        for core, count in cores.items():
            title, name = split_title(core, plain)
            if name and len(name.split()) >= 2 and not self._role_word(name):
                self._add_name(name, count)
                if title:
                    self._titles.setdefault(fold(name), title)
        for key in list(self._names):
            self._count_variants(key)

    def _add_name(self, name: str, count: int = 1) -> None:
        self._names.setdefault(fold(name), Counter())[name] += count

    def _count_variants(self, key: str) -> None:
        """Count every spelling of the name found in the text (accents, case)."""
        self._names[key].update(_spellings(self.document_text, key))

    @staticmethod
    def _role_word(text: str) -> str | None:
        words = set(fold(text).split())
        if words & QUESTIONER_WORDS - {"audience"}:
            return "journalist"
        if words & AUDIENCE_WORDS:
            return "audience"
        if words & MODERATOR_WORDS:
            return "moderator"
        if words & ANSWER_WORDS and len(words) == 1:
            return "answerer"
        if "interpreter" in words:
            return "interpreter"
        return None

    def display(self, key: str) -> str:
        """The spelling with the most accented letters, not in capitals, then
        the commonest.  (Once the labels are read, a name's spellings are
        all counted when it is added: its display never changes.)"""
        if (shown := self._shown.get(key)) is None:
            variants = self._names[key]
            shown = max(variants, key=lambda v: (sum(not c.isascii() for c in v), not v.isupper(), variants[v], v))
            self._shown[key] = shown
        return shown

    def _find_by_title(self, title: str, exclude: set[str]) -> str | None:
        for key, known_title in self._titles.items():
            if known_title and fold(known_title) == fold(title) and key not in exclude:
                return key
        for match in re.finditer(f"(?i:{re.escape(title)})" + _NAME_AFTER, self.document_text):
            name = match.group(1)
            if name.isupper() or fold(name) in exclude:
                continue
            key = fold(name)
            if key not in self._names:
                self._add_name(name)
                self._count_variants(key)
            self._titles.setdefault(key, title)
            return key
        return None

    def _find_by_surname(self, surname: str) -> str | None:
        last = fold(surname)
        matches = [k for k in self._names if k.split()[-1] == last]
        if len(matches) == 1:
            return matches[0]
        found = _full_names(self.document_text, surname)
        if not found:
            return None
        name = found.most_common(1)[0][0]
        key = fold(name)
        if key not in self._names:
            self._add_name(name)
            self._count_variants(key)
        return key

    def _title_in_text(self, key: str) -> str | None:
        """A title the text puts before the name ('President Vladimir Putin')."""
        for variant in self._names[key]:
            if title := _title_before(self.document_text, variant):
                return title
        return None

    def _unnamed_speaker(self, kind: str) -> Speaker:
        self._unnamed[kind] += 1
        return Speaker(f"{kind.capitalize()} {self._unnamed[kind]}", kind, None, "unnamed")

    def resolve(self, label: Label, titled: dict[str, str] | None = None) -> Speaker:
        """The speaker behind `label`.  `titled` maps the people whose own
        labels give title and name to that title: a title-only label with
        the same title ('THE PRESIDENT' beside 'PRESIDENT NDIAYE') is someone
        else."""
        role_word = self._role_word(label.core)
        if role_word in ("journalist", "audience"):
            person = next((m.group(1) for n in label.notes if (m := PERSON_NOTE.match(n.strip("* ")))
                           and not TRANSLATION_MARKER.search(n)), None)
            if person:
                return Speaker(person, role_word, None, "exact")
            return self._unnamed_speaker(role_word)
        if role_word in {"moderator", "interpreter"}:
            person = next((m.group(1) for n in label.notes if (m := PERSON_NOTE.match(n.strip("* ")))), None)
            return Speaker(person or _title_case(label.core), role_word, None, "exact" if person else "title")
        if role_word == "answerer":
            key = self._interviewee()
            if key:
                return Speaker(self.display(key), role_of(self._titles.get(key)), self._titles.get(key), "title")
            return Speaker("Interviewee", "unknown", None, "unresolved")
        # each spelling of a name folds to its key, the one displayed too
        title, name = split_title(label.core, known_keys=self._names)
        if name is None and title:  # "Spokesperson (Anna Kowal)"
            person = next((m.group(1) for n in label.notes if (m := PERSON_NOTE.match(n.strip("* ")))), None)
            if person:
                name = person
        key, resolution = None, "exact"
        if name and fold(name) in self._names:
            key = fold(name)
        elif name and len(name.split()) == 1:
            key, resolution = self._find_by_surname(name), "alias"
        elif name is None and title:
            # a bare title ("THE PRESIDENT") is not the person whose label gives
            # that title with a name; a specific one ("President of France") may be
            others = {k for k, t in (titled or {}).items() if fold(t) == fold(title)} if " of " not in title else set()
            key, resolution = self._find_by_title(title, others), "title"
        if key is None:
            shown = _title_case(name or title or label.core)
            return Speaker(shown, role_of(title) if title else role_of(label.core), title, "unresolved")
        display = self.display(key)
        if resolution == "exact" and display != name:
            resolution = "alias"
        known_title = title or self._titles.get(key) or self._title_in_text(key)
        return Speaker(display, role_of(known_title), known_title, resolution)

    def resolve_all(self, labels: Sequence[Label], titled: dict[str, str] | None = None) -> list[Speaker]:
        """`resolve` of each label in turn.  But for an unnamed speaker (whose
        number `resolve` counts), the speaker depends on the label's core and
        notes, on `titled` and on the names and titles the resolver knows,
        which are only ever added: a label met again while the resolver
        learned nothing since it last resolved it, without learning, gets the
        same speaker."""
        speakers = []
        known: dict[tuple[str, tuple[str, ...]], tuple[tuple[int, int], Speaker]] = {}
        for label in labels:
            learned = len(self._names), len(self._titles)
            if (seen := known.get((label.core, label.notes))) and seen[0] == learned:
                speakers.append(seen[1])
                continue
            speaker = self.resolve(label, titled)
            if speaker.resolution != "unnamed" and (len(self._names), len(self._titles)) == learned:
                known[label.core, label.notes] = (learned, speaker)
            speakers.append(speaker)
        return speakers

    def _interviewee(self) -> str | None:
        """For 'A:' labels: the first titled person the text names."""
        match = re.search(rf"(?:{TITLE_WORDS})" + _NAME_AFTER, self.document_text)
        if not match:
            return None
        key = fold(match.group(1))
        if key not in self._names:
            self._add_name(match.group(1))
            self._count_variants(key)
        title = re.match(rf"(?:{TITLE_WORDS})", match.group(0))
        self._titles.setdefault(key, title.group(0) if title else None)
        return key


# --- Q&A structure -----------------------------------------------------------


@dataclass
class TurnShape:
    turn_type: str
    question_index: int | None  # index of the turn it answers
    reply_to_index: int | None


QUESTIONING_ROLES = frozenset({"journalist", "audience"})
MODERATION = re.compile(
    r"\b(?:(?:next|last|one more|final|first) question(?:s)?(?:,? please|,? from\b| goes to\b|[.!]|$)|"
    r"(?:take|taking) (?:a few |some |two |three |one )?questions?\b|(?:you have|give|giving|take|have) the floor|"
    r"go ahead\b|we have time for\b|over to you\b|questions? from (?:the )?[A-Z]|"
    r"let'?s (?:move on|go to|take)\b|please(?:,)? (?:go ahead|keep (?:it|them) short)|thank you(?:,)? (?:all|everyone)\b|"
    r"(?:^|\. )(?:please|yes),? [A-Z][\w ]{0,30}\.$)",
    re.I,
)
MODERATION_MAX_WORDS = 45


def asks(text: str) -> bool:
    """Does the turn end on a question?"""
    tail = text.rstrip().rstrip(")").rstrip()
    return tail.endswith("?") or "?" in tail[-120:]


def is_moderation(text: str) -> bool:
    """A short turn that manages the floor ('Next question, please.')."""
    return len(text.split()) <= MODERATION_MAX_WORDS and bool(MODERATION.search(text))


def questioner_roles(speakers: Sequence[str], roles: Sequence[str], texts: Sequence[str]) -> list[str]:
    """Roles with interviewers found by behaviour: a named speaker of unknown
    role most of whose turns (two or more) ask questions is a journalist."""
    asked: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for speaker, role, text in zip(speakers, roles, texts):
        if role == "unknown":
            total[speaker] += 1
            asked[speaker] += asks(text)
    # with no questioner labels at all, the one asking most of the time is the interviewer
    share = 0.6 if any(r in QUESTIONING_ROLES for r in roles) else 0.4
    questioners = {s for s in total if total[s] >= 2 and asked[s] >= share * total[s]}
    return ["journalist" if s in questioners else r for s, r in zip(speakers, roles)]


def assign_turns(roles: Sequence[str], texts: Sequence[str] | None = None,
                 speakers: Sequence[str] | None = None, clips: Sequence[bool] | None = None) -> list[TurnShape]:
    """Turn types and links from the speakers' roles and words, in order.

    A journalist's or audience member's turn is a question; a moderator's
    turn is moderation unless it asks a question; any speaker's short turn
    that manages the floor is moderation; a played clip is a statement.
    Turns before the first question are statements; every other turn after
    a question answers the latest question (several answers may share one).
    An answer resumed after an interjection ('Please let me finish. --')
    answers the question its first part answered, and the interjection
    stays open for the next speaker.  For ConvoKit, the first turn is the
    root, an answer replies to its question and every other turn to the turn
    before it.
    """
    n = len(roles)
    texts = texts or [""] * n
    speakers = speakers or [str(i) for i in range(n)]
    clips = clips or [False] * n
    shapes: list[TurnShape] = []
    last_question: int | None = None
    for i, (role, text) in enumerate(zip(roles, texts)):
        previous = i - 1 if i else None
        if clips[i]:
            shapes.append(TurnShape("statement", None, previous))
        elif role in QUESTIONING_ROLES or (role == "moderator" and asks(text) and not is_moderation(text)):
            shapes.append(TurnShape("question", None, previous))
            last_question = i
        elif role == "moderator" or (text and is_moderation(text)):
            shapes.append(TurnShape("moderation", None, previous))
        elif last_question is None:
            shapes.append(TurnShape("statement", None, previous))
        else:
            target = last_question
            interrupted = last_question - 1
            if (RESUMPTION.match(text) and interrupted >= 0 and speakers[interrupted] == speakers[i]
                    and shapes[interrupted].turn_type == "answer"):
                target = shapes[interrupted].question_index
            shapes.append(TurnShape("answer", target, target))
    return shapes
