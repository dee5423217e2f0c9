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
from collections.abc import Sequence
from dataclasses import dataclass, field

LABEL = re.compile(r"^(?P<label>[^:\n]{1,100}?)\s?:\s+(?=\S)")
PARENTHETICAL = re.compile(r"\s*\(([^()]*)\)")
TRANSLATION_MARKER = re.compile(r"\b(?:re-?translated|translated|translation|interpret(?:ed|er|ation)|in [A-Z][a-z]+ through)\b", re.I)
CONNECTORS = frozenset("of the de la le du von van der den da di al bin ibn y e and".split())
MAX_LABEL_WORDS = 7

QUESTIONER_WORDS = frozenset(
    "question q journalist reporter questioner correspondent audience participant "
    "interviewer".split()
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
    r"President|Vice[- ]President|Prime Minister|Minister|Chancellor|Secretary(?:[- ]General)?|"
    r"Premier|King|Queen|Prince|Princess|Emir|Sultan|Ambassador|Spokes(?:man|woman|person)|"
    r"Governor|Senator|Mayor|Director|Chairman|Chairwoman|Chair|Speaker|Commissioner|General|"
    r"Admiral|Pope|Foreign Minister|Defen[cs]e Minister|Press Secretary"
)
TITLE_PREFIX = re.compile(
    rf"^(?P<title>(?:(?:Acting|Deputy|Vice|Former|First|Federal|Crown)\s+)*(?:{TITLE_WORDS}))\b\.?\s*(?P<rest>.*)$"
)
HONORIFIC = re.compile(r"^(?P<title>Mr|Mrs|Ms|Miss|Dr|Sir|Madam|Madame|Monsieur|Mme|M)\.?\s+(?P<rest>.+)$", re.I)

HEAD_OF_STATE = re.compile(r"\b(?:president|king|queen|emir|sultan|emperor|monarch)\b", re.I)
HEAD_OF_GOVERNMENT = re.compile(r"\b(?:prime minister|chancellor|premier)\b", re.I)
OFFICIAL = re.compile(
    r"\b(?:minister|secretary|ambassador|spokes\w+|governor|senator|mayor|director|"
    r"commissioner|general|admiral|official|chair\w*|speaker)\b",
    re.I,
)


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


def fold(text: str) -> str:
    """Case- and accent-insensitive key: 'François' and 'Francois' meet."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _is_label_core(core: str) -> bool:
    words = core.split()
    if not 1 <= len(words) <= MAX_LABEL_WORDS:
        return False
    lowered = core.casefold()
    if lowered in NOT_LABELS or words[0].casefold() in {"point", "part", "chapter", "section", "step", "update"}:
        return False
    if re.fullmatch(r"(?:question|q)\s*\d+", lowered):
        return True
    for word in words:
        if any(c.isdigit() for c in word):
            return False
        if not (word[0].isupper() or word.casefold() in CONNECTORS):
            return False
    return True


def parse_label(text: str) -> Label | None:
    """The speaker label opening `text`, or None when the colon is prose."""
    match = LABEL.match(text)
    if not match:
        return None
    printed = match.group("label").strip()
    notes = tuple(n.strip() for n in PARENTHETICAL.findall(printed))
    core = PARENTHETICAL.sub("", printed).replace("*", "").replace("_", "").strip(" .,-–—")
    if not core or not _is_label_core(core):
        return None
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


def split_title(core: str, known_names: Sequence[str] = ()) -> tuple[str | None, str | None]:
    """'President of Russia Vladimir Putin' -> ('President of Russia', 'Vladimir Putin').

    After 'of', the place may have several words; the split that leaves a
    known name wins, else the last two words are the name when at least one
    word is left for the place."""
    match = TITLE_PREFIX.match(core) or HONORIFIC.match(core)
    if not match:
        return None, core
    title, rest = match.group("title"), match.group("rest").strip()
    words = rest.split()
    if words and words[0] == "of":
        words = words[1:]
        lead = ["of"]
        if words and words[0] == "the":
            words, lead = words[1:], ["of", "the"]
        known = {fold(n) for n in known_names}
        split = next((s for s in range(1, len(words)) if fold(" ".join(words[s:])) in known), None)
        if split is None:
            split = len(words) - 2 if len(words) >= 3 else len(words)
        return " ".join([title, *lead, *words[:split]]), " ".join(words[split:]) or None
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


_NAME_AFTER = r"\s+((?:[A-Z][\w'’.-]+)(?:\s+(?:[A-Z][\w'’-]+|de|van|von|al|bin)){1,2})"


@dataclass
class SpeakerResolver:
    """Resolves the labels of one document against what the document says."""

    document_text: str
    labels: Sequence[Label]
    _names: dict[str, Counter[str]] = field(default_factory=dict)  # fold -> printed variants
    _titles: dict[str, str] = field(default_factory=dict)  # fold(name) -> title
    _questioners: int = 0

    def __post_init__(self) -> None:
        plain = [label.core for label in self.labels if not (TITLE_PREFIX.match(label.core) or HONORIFIC.match(label.core))]
        for label in self.labels:
            title, name = split_title(label.core, plain)
            if name and len(name.split()) >= 2 and not self._role_word(name):
                self._add_name(name)
                if title:
                    self._titles.setdefault(fold(name), title)
        for key in list(self._names):
            self._count_variants(key)

    def _add_name(self, name: str) -> None:
        self._names.setdefault(fold(name), Counter())[name] += 1

    def _count_variants(self, key: str) -> None:
        """Count every spelling of the name found in the text (accents differ)."""
        words = key.split()
        pattern = r"\b" + r"\s+".join(r"[\w'’-]{%d,%d}" % (max(1, len(w) - 1), len(w) + 1) for w in words) + r"\b"
        for match in re.finditer(pattern, self.document_text):
            if fold(match.group(0)) == key:
                self._names[key][match.group(0)] += 1

    @staticmethod
    def _role_word(text: str) -> str | None:
        words = set(fold(text).split())
        if words & QUESTIONER_WORDS:
            return "journalist"
        if words & MODERATOR_WORDS:
            return "moderator"
        if words & ANSWER_WORDS and len(words) == 1:
            return "answerer"
        if "interpreter" in words:
            return "interpreter"
        return None

    def display(self, key: str) -> str:
        """The spelling with the most accented letters, then the commonest."""
        variants = self._names[key]
        return max(variants, key=lambda v: (sum(not c.isascii() for c in v), variants[v], v))

    def _find_by_title(self, title: str) -> str | None:
        for key, known_title in self._titles.items():
            if fold(known_title) == fold(title):
                return key
        match = re.search(re.escape(title) + _NAME_AFTER, self.document_text)
        if match:
            key = fold(match.group(1))
            if key not in self._names:
                self._add_name(match.group(1))
                self._count_variants(key)
            self._titles.setdefault(key, title)
            return key
        return None

    def _find_by_surname(self, name: str) -> str | None:
        last = fold(name).split()[-1]
        matches = [k for k in self._names if k.split()[-1] == last]
        return matches[0] if len(matches) == 1 else None

    def _title_in_text(self, key: str) -> str | None:
        """A title the text puts before the name ('President Vladimir Putin')."""
        for variant in self._names[key]:
            match = re.search(rf"((?:[A-Z][\w'’-]+\s+){{0,3}}?(?:{TITLE_WORDS})(?:\s+of\s+(?:the\s+)?[A-Z][\w'’-]+)?)\s+{re.escape(variant)}", self.document_text)
            if match:
                return match.group(1)
        return None

    def resolve(self, label: Label) -> Speaker:
        role_word = self._role_word(label.core)
        if role_word == "journalist":
            self._questioners += 1
            return Speaker(f"Journalist {self._questioners}", "journalist", None, "unnamed")
        if role_word in {"moderator", "interpreter"}:
            return Speaker(label.core.title(), role_word, None, "title")
        title, name = split_title(label.core, [self.display(k) for k in self._names])
        key, resolution = None, "exact"
        if name and fold(name) in self._names:
            key = fold(name)
        elif name and len(name.split()) == 1:
            key, resolution = self._find_by_surname(name), "alias"
        elif name is None and title:
            key, resolution = self._find_by_title(title), "title"
        if key is None:
            shown = name or title or label.core
            return Speaker(shown, role_of(title), title, "unresolved")
        display = self.display(key)
        if resolution == "exact" and display != name:
            resolution = "alias"
        known_title = title or self._titles.get(key) or self._title_in_text(key)
        return Speaker(display, role_of(known_title), known_title, resolution)


# --- Q&A structure -----------------------------------------------------------


@dataclass
class TurnShape:
    turn_type: str
    question_index: int | None  # index of the turn it answers
    reply_to_index: int | None


def assign_turns(roles: Sequence[str]) -> list[TurnShape]:
    """Turn types and links from the speakers' roles, in order.

    Turns before the first question are statements; a journalist's turn is a
    question; a moderator's is moderation; every other turn after a question
    answers the latest question (several answers may share one).  For
    ConvoKit, the first turn is the root, an answer replies to its question
    and every other turn to the turn before it.
    """
    shapes: list[TurnShape] = []
    last_question: int | None = None
    for i, role in enumerate(roles):
        previous = i - 1 if i else None
        if role == "journalist":
            shapes.append(TurnShape("question", None, previous))
            last_question = i
        elif role == "moderator":
            shapes.append(TurnShape("moderation", None, previous))
        elif last_question is None:
            shapes.append(TurnShape("statement", None, previous))
        else:
            shapes.append(TurnShape("answer", last_question, last_question))
    return shapes
