"""Text from an HTML page that was saved instead of its text.

A small extractor on the standard library's parser: the page's title, then
the text of its block elements one per line (paragraphs separated by blank
lines), without scripts, styles, navigation, forms or the head.  Site chrome
that survives (footers, share lines) is the boilerplate stage's job.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HTML_START = re.compile(r"^\s*(?:<!doctype html|<html\b|<head\b|<body\b)", re.I)
SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "nav", "form", "head", "iframe", "button", "select"})
BLOCKS = frozenset({
    "p", "div", "section", "article", "header", "footer", "main", "aside", "blockquote", "li", "ul", "ol",
    "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "table", "pre", "figure", "figcaption", "dt", "dd", "hr",
})


def looks_like_html(text: str) -> bool:
    """A whole HTML document, not prose with a stray tag."""
    return bool(_HTML_START.match(text[:1000]))


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.in_title = False
        self.title: list[str] = []
        self.blocks: list[str] = []
        self.current: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.blocks.append(text)
        self.current = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "title":
            self.in_title = True
        elif tag in SKIPPED:
            self.skip += 1
        elif tag in BLOCKS:
            self._flush()

    def handle_endtag(self, tag) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCKS:
            self._flush()

    def handle_data(self, data) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skip:
            self.current.append(data)


def html_to_text(page: str) -> str:
    """The page's text: title first, one block per paragraph."""
    parser = _Extractor()
    parser.feed(page)
    parser.close()
    parser._flush()
    title = " ".join("".join(parser.title).split())
    blocks = parser.blocks
    if title and (not blocks or blocks[0] != title):
        blocks = [title, *blocks]
    return "\n\n".join(blocks)
