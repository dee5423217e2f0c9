"""Front matter of static-site exports: YAML between `---` lines, TOML
between `+++` lines, at the very top of the file.

The block becomes document metadata (title, published, authors, url, site)
and leaves the text; its lines are recorded as boilerplate `front_matter`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlparse

import yaml

MAX_LINES = 80
DELIMITERS = {"---": "yaml", "+++": "toml"}
TITLE_KEYS = ("title", "headline")
DATE_KEYS = ("date", "published", "publishdate", "pubdate", "publish_date", "date_published")
AUTHOR_KEYS = ("authors", "author", "byline", "creator")
URL_KEYS = ("url", "canonical_url", "canonical", "permalink", "link", "source_url")
SITE_KEYS = ("site", "site_name", "publisher", "source")


@dataclass(frozen=True)
class FrontMatter:
    title: str | None = None
    published: dt.date | None = None
    authors: tuple[str, ...] = ()
    url: str | None = None
    site: str | None = None
    fields: dict = field(default_factory=dict)


def front_matter_span(lines: Sequence[str]) -> tuple[int, int] | None:
    """(first, last) 0-based line indexes of a parseable front-matter block."""
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or lines[start].strip() not in DELIMITERS:
        return None
    delimiter = lines[start].strip()
    for end in range(start + 1, min(len(lines), start + MAX_LINES)):
        if lines[end].strip() == delimiter:
            return (start, end) if parse_block(delimiter, lines[start + 1:end]) is not None else None
    return None


def parse_block(delimiter: str, lines: Sequence[str]) -> dict | None:
    text = "\n".join(lines)
    try:
        data = yaml.safe_load(text) if DELIMITERS[delimiter] == "yaml" else tomllib.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _first(data: dict, keys: Sequence[str]):
    lowered = {str(k).lower(): v for k, v in data.items()}
    return next((lowered[k] for k in keys if lowered.get(k) not in (None, "", [])), None)


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
        except ValueError:
            from pressroom.metadata import parse_date

            return parse_date(value)
    return None


def _as_authors(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(a.strip() for a in value.replace(" and ", ",").split(",") if a.strip())
    if isinstance(value, list):
        names = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("name") or item.get("display_name")
            if isinstance(item, str) and item.strip():
                names.append(item.strip())
        return tuple(names)
    if isinstance(value, dict) and value.get("name"):
        return (str(value["name"]),)
    return ()


def read_front_matter(lines: Sequence[str]) -> FrontMatter | None:
    span = front_matter_span(lines)
    if span is None:
        return None
    first, last = span
    data = parse_block(lines[first].strip(), lines[first + 1:last]) or {}
    url = _first(data, URL_KEYS)
    site = _first(data, SITE_KEYS)
    if site is None and isinstance(url, str) and urlparse(url).netloc:
        site = urlparse(url).netloc.removeprefix("www.")
    title = _first(data, TITLE_KEYS)
    return FrontMatter(
        title=str(title).strip() if title else None,
        published=_as_date(_first(data, DATE_KEYS)),
        authors=_as_authors(_first(data, AUTHOR_KEYS)),
        url=str(url) if url else None,
        site=str(site) if isinstance(site, str) else None,
        fields=data,
    )
