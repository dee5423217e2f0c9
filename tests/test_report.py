"""The release report (pressroom/report.py).

The page of the seed release, built by the real flow, is opened in Debian's
headless chromium, driven over the Chrome DevTools Protocol: it must load
with no console error and no request but the file itself, its charts must
be drawn (checked on a screenshot, pixel by pixel), and every number it
carries in a `data-metric` attribute must equal the release's tables.  The
screenshot of the top of the page is the README's docs/report.png (written
when missing, or refreshed with PRESSROOM_UPDATE_SCREENSHOT=1).

Chromium is required, never skipped: CI installs it with
`apt-get install -y chromium` (see the module `CHROMIUM`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from websockets.sync.client import connect

from arrow_memory import arrow_high_water
from pressroom import report
from pressroom.report import (NO_REASON, NO_SITE, STATUS_COLOURS, count_by, highlight_examples, removed_by_reason,
                              removed_by_site, removed_lines_of, render_report, transcript_structure, write_report)
from schemas.contract import DOCUMENTS, REJECTS, SEGMENTS, TURNS

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "raw"
SEED_GOLD = ROOT / "tests" / "gold" / "seeds"
DOCS_SCREENSHOT = ROOT / "docs" / "report.png"

CHROMIUM = os.environ.get("PRESSROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--no-default-browser-check", "--mute-audio", "--hide-scrollbars",
    "--force-device-scale-factor=1", "--remote-debugging-port=0",
)
VIEWPORT = (1366, 900)  # a laptop screen


# --- a small Chrome DevTools Protocol client ----------------------------------------


class Browser:
    """Debian's chromium, headless, with a fresh profile, driven over CDP."""

    def __init__(self, executable: str, workdir: Path):
        self.profile = workdir / "profile"
        self.profile.mkdir()
        self.log = open(workdir / "chromium.log", "wb")
        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        port, path = self._devtools_address(timeout=60)
        self.socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []

    def _devtools_address(self, timeout: float) -> tuple[str, str]:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}: {self._log_tail()}")
            if active.is_file():
                lines = active.read_text().split()
                if len(lines) >= 2:
                    return lines[0], lines[1]
            time.sleep(0.05)
        raise RuntimeError(f"chromium gave no DevTools port within {timeout}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_bytes()[-2000:].decode(errors="replace")

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while time.monotonic() < deadline:
            event = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        raise TimeoutError(method)

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within `seconds` (late console messages, requests)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.socket.recv(timeout=left)))
            except TimeoutError:
                break

    def open(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False}, session)
        page.first_event = len(self.events)
        reply = self.send("Page.navigate", {"url": url}, session)
        assert "errorText" not in reply, reply
        self.wait_for("Page.loadEventFired", session)
        self.drain(0.5)
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.socket.close()
        finally:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this test started
                self.process.wait(timeout=10)
            self.log.close()


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session, self.first_event = browser, session, 0

    def events(self, *methods: str) -> list[dict]:
        return [e for e in self.browser.events[self.first_event:]
                if e.get("sessionId") == self.session and e.get("method") in methods]

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, browser log errors and warnings."""
        found = []
        for e in self.events("Runtime.consoleAPICalled"):
            if e["params"]["type"] in ("error", "warning", "assert"):
                found.append(f"console.{e['params']['type']}: {e['params']['args']}")
        for e in self.events("Runtime.exceptionThrown"):
            found.append(f"exception: {e['params']['exceptionDetails'].get('text')}")
        for e in self.events("Log.entryAdded"):
            entry = e["params"]["entry"]
            if entry["level"] in ("error", "warning"):
                found.append(f"log {entry['level']} ({entry['source']}): {entry['text']} {entry.get('url', '')}")
        for e in self.events("Network.loadingFailed"):
            found.append(f"failed load: {e['params'].get('errorText')}")
        return found

    def evaluate(self, expression: str):
        reply = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session)
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def full_screenshot(self) -> Image.Image:
        """The whole page as one image (the page is laid out at the laptop width)."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        self.browser.send("Emulation.setDeviceMetricsOverride",
                          {"width": VIEWPORT[0], "height": height, "deviceScaleFactor": 1, "mobile": False}, self.session)
        data = self.browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, self.session)
        self.browser.send("Emulation.setDeviceMetricsOverride",
                          {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False}, self.session)
        return Image.open(io.BytesIO(base64.b64decode(data["data"]))).convert("RGB")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Debian's chromium is required for the report test and was not found at {CHROMIUM}: "
                    "install it with `apt-get update && apt-get install -y chromium` "
                    "(or point PRESSROOM_CHROMIUM at a chromium binary)", pytrace=False)
    chromium = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium"))
    yield chromium
    chromium.close()


# --- what the page shows, and what the tables say ----------------------------------


def page_metrics(page: Page) -> dict[tuple[str, str | None], list[str]]:
    found = page.evaluate(
        "JSON.stringify([...document.querySelectorAll('[data-metric]')]"
        ".map(e => [e.dataset.metric, e.dataset.key ?? null, e.textContent.trim()]))")
    metrics: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for name, key, text in json.loads(found):
        metrics[(name, key)].append(text)
    return metrics


def number(text: str) -> int:
    assert re.fullmatch(r"[+-]?[\d,]+", text), text
    return int(text.replace(",", ""))


def shown(metrics, name: str) -> dict[str | None, int]:
    """Every value of one metric by key; a metric shown twice must show the same number."""
    out = {}
    for (metric, key), texts in metrics.items():
        if metric == name:
            values = {number(t) for t in texts}
            assert len(values) == 1, (name, key, texts)
            out[key] = values.pop()
    return out


def expected_figures(release: Path) -> dict[str, dict]:
    """The report's figures computed here from the tables, independently of report.py."""
    documents = pd.read_parquet(release / "documents.parquet")
    segments = pd.read_parquet(release / "segments.parquet")
    turns = pd.read_parquet(release / "turns.parquet")
    removed = segments[segments.status != "kept"].merge(documents[["doc_id", "site"]], on="doc_id")
    removed["site"] = removed["site"].fillna(NO_SITE)
    questions = turns[turns.turn_type == "question"].groupby("doc_id").size()
    linked = turns[turns.question_id.notna()].groupby("doc_id").size()
    transcripts = set(documents.doc_id[documents.doc_type == "transcript"]) | set(turns.doc_id)
    return {
        "rows": {name: pq.ParquetFile(release / f"{name}.parquet").metadata.num_rows
                 for name in ("documents", "segments", "turns", "speakers", "quotes", "rejects")},
        "turns-by-speaker": turns.groupby("speaker").size().to_dict(),
        "turns-by-role": turns.groupby("speaker_role").size().to_dict(),
        "turns-by-type": turns.groupby("turn_type").size().to_dict(),
        "removed-lines-by-reason": removed.groupby("reason").line_count.sum().to_dict(),
        "removed-segments-by-reason": removed.groupby("reason").size().to_dict(),
        "removed-lines-by-site": removed.groupby("site").line_count.sum().to_dict(),
        "removed-lines": {None: int(removed.line_count.sum())},
        "duplicate-segments": {None: int((segments.status == "duplicate").sum())},
        "duplicate-lines": {None: int(segments.line_count[segments.status == "duplicate"].sum())},
        "doc-chars": dict(zip(documents.doc_id, documents.text.str.len())),
        "qa-questions": {d: int(questions.get(d, 0)) for d in transcripts},
        "qa-answers-linked": {d: int(linked.get(d, 0)) for d in transcripts},
    }


def colours(image: Image.Image) -> list[tuple[int, tuple[int, int, int]]]:
    """(count, rgb) of every colour in the image."""
    return image.getcolors(maxcolors=image.width * image.height)


def coloured_pixels(image: Image.Image) -> int:
    """Pixels of a saturated colour (bars), not white, grey or black (background, grid, text)."""
    return sum(n for n, (r, g, b) in colours(image) if max(r, g, b) - min(r, g, b) > 60)


def has_colour(image: Image.Image, hex_colour: str, tolerance: int = 6, at_least: int = 20) -> bool:
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(n for n, rgb in colours(image)
               if all(abs(a - b) <= tolerance for a, b in zip(rgb, want))) >= at_least


# --- the browser tests ---------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_report(seed_release, tmp_path_factory) -> Path:
    """report.html written into a copy of the seed release (the shared one stays untouched)."""
    release = tmp_path_factory.mktemp("report") / "1.0.0"
    shutil.copytree(seed_release, release)
    path = write_report(release, gold_dir=SEED_GOLD, raw_dir=RAW)
    assert path == release / "report.html"
    return path


def test_report_in_headless_chromium(browser, seed_report, tmp_path):
    release = seed_report.parent
    url = seed_report.resolve().as_uri()
    started = time.monotonic()
    page = browser.open(url)

    # Loads cleanly and asks for nothing but itself.
    assert page.problems() == []
    assert page.requests() == [url]
    assert page.evaluate("document.title") == "pressroom release 1.0.0"
    assert page.evaluate("document.querySelectorAll('script, link, img, iframe, object, embed').length") == 0
    sections = page.evaluate("[...document.querySelectorAll('main > section')].map(s => s.id).join(' ')")
    assert sections == "rows documents removed highlights turns qa quotes quality rejects"

    # Readable on a laptop screen: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT[0]

    # The numbers on the page equal the tables.
    metrics = page_metrics(page)
    assert metrics[("version", None)] == ["1.0.0"]
    for name, want in expected_figures(release).items():
        assert shown(metrics, name) == {k: int(v) for k, v in want.items()}, name
    changes = json.loads((release / "changes.json").read_text())
    assert shown(metrics, "rows-delta") == {t: c["delta"] for t, c in changes["rows"].items()}
    assert shown(metrics, "rows-before") == {t: c["before"] for t, c in changes["rows"].items()}
    assert shown(metrics, "documents-added") == {None: len(changes["documents_added"])}
    assert shown(metrics, "turns-added") == {None: len(changes["turns_added"])}
    manifest = json.loads((release / "manifest.json").read_text())
    assert shown(metrics, "rows") == {t: e["rows"] for t, e in manifest["tables"].items()}

    # Quality figures, as the scorer computes them (the README's table for the seeds).
    from pressroom.scoring import score_release

    scores = score_release(release, SEED_GOLD, RAW)
    quality = {key: texts for (name, key), texts in metrics.items() if name == "quality"}
    assert quality == {n: [f"{f.passed}/{f.total}"] for n, f in scores.figures.items()}
    assert quality["turns_found"] == ["13/13"] and quality["highlights_removed"] == ["8/8"]
    assert shown(metrics, "quality-extra-turns") == {None: len(scores.extra_turns)}
    from pressroom.report import METRICS

    assert {name for name, _ in metrics} <= set(METRICS)  # every number on the page is documented

    # Charts: one bar per speaker, role, reason and document, as SVG in the DOM...
    bars = json.loads(page.evaluate(
        "JSON.stringify(Object.fromEntries([...document.querySelectorAll('svg[data-chart]')]"
        ".map(s => [s.dataset.chart, s.querySelectorAll('rect').length])))"))
    figures = expected_figures(release)
    assert bars["turns-by-speaker"] == len(figures["turns-by-speaker"])
    assert bars["turns-by-role"] == len(figures["turns-by-role"])
    assert bars["removed-by-reason"] == len(figures["removed-lines-by-reason"])
    assert bars["document-lengths"] == len(figures["doc-chars"])

    # ...and drawn: every chart's region of a screenshot holds coloured bars.
    image = page.full_screenshot()
    boxes = json.loads(page.evaluate(
        "JSON.stringify([...document.querySelectorAll('svg[data-chart]')].filter(s => s.getClientRects().length)"
        ".map(s => { const r = s.getBoundingClientRect();"
        " return [s.dataset.chart, r.left + scrollX, r.top + scrollY, r.width, r.height]; }))"))
    drawn = {name for name, *_ in boxes}
    assert {"document-lengths", "removed-by-reason", "removed-by-site", "turns-by-speaker", "turns-by-role",
            "turns-by-type", "quality", "qa-001_3bccebe78fcd7704"} <= drawn
    for name, x, y, w, h in boxes:
        assert w > 50 and h > 15, (name, w, h)
        region = image.crop((int(x), int(y), int(x + w), int(y + h)))
        assert len(colours(region)) >= 8, f"chart {name} looks blank"
        assert coloured_pixels(region) >= 150, f"chart {name} has no bars drawn"
    reason_box = next(b for b in boxes if b[0] == "removed-by-reason")
    reason_region = image.crop((int(reason_box[1]), int(reason_box[2]),
                                int(reason_box[1] + reason_box[3]), int(reason_box[2] + reason_box[4])))
    for status in ("boilerplate", "duplicate", "trimmed"):
        assert has_colour(reason_region, STATUS_COLOURS[status]), f"no {status} bar drawn"
    assert coloured_pixels(image) > 5000
    assert image.size[0] == VIEWPORT[0]

    # The screenshot of the README: the top of the page on a laptop-sized window.  Kept with the
    # test's files; docs/report.png is written when missing or with PRESSROOM_UPDATE_SCREENSHOT=1.
    top = image.crop((0, 0, VIEWPORT[0], min(image.size[1], 1500)))
    top.save(tmp_path / "report.png")
    if os.environ.get("PRESSROOM_UPDATE_SCREENSHOT") == "1" or not DOCS_SCREENSHOT.exists():
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        top.save(DOCS_SCREENSHOT, optimize=True)
    print(f"\nreport page checked in chromium in {time.monotonic() - started:.1f}s")


def test_quote_links_in_headless_chromium(browser, seed_report, tmp_path):
    release = tmp_path / "1.0.0"
    shutil.copytree(seed_report.parent, release)
    turns = pd.read_parquet(release / "turns.parquet")
    answer = turns[turns.turn_type == "answer"].iloc[0]
    quotes = pa.table({
        "doc_id": ["004_bba586f07c384d09", "004_bba586f07c384d09", "003_bfec764084003a05"],
        "quote_index": pa.array([0, 1, 0], pa.int32()),
        "kind": ["direct", "direct", "indirect"],
        "char_start": pa.array([10, 200, 40], pa.int64()), "char_end": pa.array([60, 260, 90], pa.int64()),
        "text": [answer.text[:50], "We must <b>act</b> & \"now\"", "something nobody said"],
        "matched_turn_id": [answer.id, None, None],
        "matched_speaker": [answer.speaker, None, None],
        "match_score": [0.97, None, None],
        "match_method": ["exact", None, None],
    })
    pq.write_table(quotes, release / "quotes.parquet")
    path = write_report(release)
    page = browser.open(path.resolve().as_uri())
    assert page.problems() == []
    assert page.requests() == [path.resolve().as_uri()]
    metrics = page_metrics(page)
    assert shown(metrics, "quotes") == {None: 3}
    assert shown(metrics, "quotes-matched") == {None: 1}
    assert shown(metrics, "quotes-by-method") == {"exact": 1, "(unmatched)": 2}
    assert shown(metrics, "rows")["quotes"] == 3
    # The link leads to the answer's turn in the Q&A section.
    target = page.evaluate(
        "(() => { const a = document.querySelector('#quotes a[href^=\"#turn-\"]');"
        " const t = document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1)));"
        " return t && t.closest('section').id + ' ' + t.querySelector('.who').textContent; })()")
    assert target == f"qa {answer.speaker}"
    assert page.evaluate("document.querySelector('#quotes').textContent.includes('We must <b>act</b> & \"now\"')")
    assert page.evaluate("document.querySelectorAll('#quotes b').length") == 2  # only the report's own


def test_the_harness_sees_requests_and_console_errors(browser, tmp_path):
    """A control: a page that loads something and logs an error is caught by the same checks."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                   '<img src="missing.png"><script>console.error("boom")</script></body></html>')
    page = browser.open(bad.resolve().as_uri())
    assert page.requests() == [bad.resolve().as_uri(), (tmp_path / "missing.png").resolve().as_uri()]
    problems = page.problems()
    assert any("boom" in p for p in problems) and any("missing.png" in p or "failed load" in p for p in problems)


# --- the page without a browser --------------------------------------------------------


def _with_defaults(table, row: dict) -> dict:
    """Columns a test row leaves out get a neutral value (later contract columns)."""
    defaults = {pa.string(): "", pa.int32(): 1, pa.int64(): 0, pa.float64(): 1.0, pa.bool_(): False}
    filled = dict(row)
    for column in table.columns:
        if column.name not in filled:
            filled[column.name] = None if column.nullable else ([] if pa.types.is_list(column.type) else defaults[column.type])
    return filled


def _release(path: Path, documents, segments, turns, changes=None, rejects=()) -> Path:
    """A tiny release folder: the contract's tables and a manifest."""
    path.mkdir(parents=True)
    tables = {"documents": (DOCUMENTS, documents), "segments": (SEGMENTS, segments),
              "turns": (TURNS, turns), "rejects": (REJECTS, list(rejects))}
    for name, (table, rows) in tables.items():
        rows = [_with_defaults(table, row) for row in rows]
        pq.write_table(pa.Table.from_pylist(rows, schema=table.arrow_schema), path / f"{name}.parquet")
    manifest = {"version": path.name, "created_at": "2026-01-01T00:00:00Z", "pipeline_version": "0.1.0",
                "contract_version": "1.0.0", "build_fingerprint": "f" * 64,
                "tables": {n: {"rows": len(r)} for n, (_, r) in tables.items()},
                "changes": {"previous_version": changes and changes["previous_version"], "bump": "minor"}}
    (path / "manifest.json").write_text(json.dumps(manifest))
    if changes:
        (path / "changes.json").write_text(json.dumps(changes))
    return path


def _document(doc_id, doc_type="transcript", title=None, site=None, text="Some text.", lines=3):
    return {"doc_id": doc_id, "source_path": f"{doc_id}.txt", "source_sha256": "0" * 64, "doc_type": doc_type,
            "title": title, "site": site, "published": None, "text": text, "raw_nonblank_lines": lines}


def _segment(doc_id, index, status="kept", reason=None, duplicate_of=None, text="A paragraph.", lines=1):
    return {"doc_id": doc_id, "segment_index": index, "line_start": index + 1, "line_end": index + lines,
            "status": status, "reason": reason, "duplicate_of": duplicate_of, "text": text, "line_count": lines,
            "similarity": 1.0 if status == "duplicate" else None, "removed_text": None}


def _turn(doc_id, index, speaker, turn_type, question=None, role="journalist", text="Words."):
    return {"id": f"{doc_id}:{index}", "doc_id": doc_id, "turn_index": index, "speaker": speaker,
            "speaker_label": speaker, "speaker_role": role, "turn_type": turn_type,
            "question_id": f"{doc_id}:{question}" if question is not None else None,
            "reply_to": f"{doc_id}:{index - 1}" if index else None, "translated": False, "text": text,
            "char_start": 0, "char_end": len(text), "speaker_title": None, "speaker_resolution": "exact",
            "translation_marker": None, "line_start": index + 1, "line_end": index + 1}


NASTY = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture
def nasty_release(tmp_path) -> Path:
    """Every text field a reader might see holds markup; the release changed against 1.0.0."""
    documents = [_document("t1", title=NASTY, site=NASTY, text="Q and A."), _document("a1", "article", site="news.example")]
    segments = [_segment("t1", 0, "boilerplate", NASTY), _segment("t1", 1, text=f"Kept {NASTY}. Second sentence here."),
                _segment("t1", 2, "duplicate", "repeated_highlight", 1, text=f"Kept {NASTY}."),
                _segment("a1", 0, "boilerplate", "byline", lines=2), _segment("a1", 2)]
    turns = [_turn("t1", 0, NASTY, "question"), _turn("t1", 1, "Leader", "answer", 0, "head_of_state", NASTY),
             _turn("t1", 2, "Leader", "answer", None, "head_of_state")]
    changes = {"previous_version": "1.0.0", "documents_added": ["a1"], "documents_removed": ["old1", "old2"],
               "documents_changed": [], "turns_added": [], "turns_removed": ["old1:0"], "turns_changed": [],
               "rows": {"documents": {"before": 3, "after": 2, "delta": -1}, "segments": {"before": 5, "after": 5, "delta": 0},
                        "turns": {"before": 1, "after": 3, "delta": 2}, "rejects": {"before": 0, "after": 0, "delta": 0}}}
    return _release(tmp_path / "1.1.0", documents, segments, turns, changes)


class _Tags(HTMLParser):
    """Every tag and attribute of a page, and the text of its <style>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.style, self._in_style = "", False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def test_every_text_is_escaped_and_nothing_is_loaded(nasty_release):
    page = render_report(nasty_release)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    parsed = _Tags()
    parsed.feed(page)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "img", "link", "iframe", "object", "embed", "image", "use", "foreignobject", "base"}
    # Nothing that could load a resource: no src, only in-page links, no CSS url() or @import.
    for tag, attrs in parsed.tags:
        assert "src" not in attrs and not any(a.startswith("on") for a in attrs), (tag, attrs)
        assert attrs.get("href", "#").startswith("#"), (tag, attrs)
        assert "url(" not in attrs.get("style", "")
    assert "url(" not in parsed.style and "@import" not in parsed.style and "@font-face" not in parsed.style
    csp = next(a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp.startswith("default-src 'none';")


def test_changes_against_the_previous_release(nasty_release):
    page = render_report(nasty_release)
    assert "Change against release 1.0.0" in page
    assert 'data-metric="rows-delta" data-key="documents">-1<' in page
    assert 'data-metric="rows-before" data-key="documents">3<' in page
    assert 'data-metric="documents-removed">2<' in page and 'data-metric="turns-removed">1<' in page
    assert 'data-metric="removed-lines-by-site" data-key="news.example">2<' in page
    assert 'data-metric="removed-lines-by-reason" data-key="byline">2<' in page
    assert 'data-metric="qa-answers-linked" data-key="t1">1<' in page
    assert "answers without a linked question" in page


def test_quotes_section_only_with_quotes_and_quality_needs_raw(nasty_release):
    page = render_report(nasty_release)
    assert 'id="quotes"' not in page and 'id="quality"' not in page
    with pytest.raises(ValueError, match="raw_dir"):
        render_report(nasty_release, gold_dir=SEED_GOLD)


def test_same_release_same_page_and_written_atomically(nasty_release):
    assert render_report(nasty_release) == render_report(nasty_release)
    path = write_report(nasty_release)
    assert path == nasty_release / "report.html"
    assert path.read_text(encoding="utf-8") == render_report(nasty_release)
    assert sorted(p.name for p in nasty_release.iterdir() if p.name.startswith(".")) == []


def test_transcript_structure_links_answers_to_their_question():
    turns = [_turn("d", 0, "Host", "statement", role="moderator"), _turn("d", 1, "Journalist 1", "question"),
             _turn("d", 2, "A", "answer", 1, "official"), _turn("d", 3, "B", "answer", 1, "official"),
             _turn("d", 4, "Journalist 2", "question"), _turn("d", 5, "A", "answer", None, "official"),
             _turn("d", 6, "Host", "moderation", role="moderator")]
    structure = transcript_structure("d", list(reversed(turns)))
    assert [t["turn_index"] for t in structure.opening] == [0]
    assert [(e.question["turn_index"], [a["turn_index"] for a in e.answers]) for e in structure.exchanges] == [(1, [2, 3]), (4, [])]
    assert [t["turn_index"] for t in structure.unlinked_answers] == [5]
    assert [t["turn_index"] for t in structure.other] == [6]
    assert structure.answers_linked == 2


# --- the figures, column-wise against row by row -------------------------------------------


def _rows_removed_by_reason(segments):
    out = {}
    for s in segments:
        if s["status"] != "kept":
            entry = out.setdefault(s["reason"] or NO_REASON, {"lines": 0, "segments": 0, "status": Counter()})
            entry["lines"] += s["line_count"]
            entry["segments"] += 1
            entry["status"][s["status"]] += s["line_count"]
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["lines"], kv[0])))


def _rows_removed_by_site(segments, documents):
    site_of = {d["doc_id"]: d.get("site") or NO_SITE for d in documents}
    out = {}
    for d in documents:
        entry = out.setdefault(site_of[d["doc_id"]], {"documents": 0, "raw_lines": 0, "lines": 0, "status": Counter()})
        entry["documents"] += 1
        entry["raw_lines"] += d.get("raw_nonblank_lines") or 0
    for s in segments:
        if s["status"] != "kept":
            entry = out.setdefault(site_of.get(s["doc_id"], NO_SITE), {"documents": 0, "raw_lines": 0, "lines": 0, "status": Counter()})
            entry["lines"] += s["line_count"]
            entry["status"][s["status"]] += s["line_count"]
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["lines"], kv[0])))


def _rows_highlight_examples(segments, limit):
    """Round robin over the documents in doc_id order, one duplicate of each per round."""
    per_doc = defaultdict(list)
    for s in sorted(segments, key=lambda s: (s["doc_id"], s["segment_index"])):
        if s["status"] == "duplicate":
            per_doc[s["doc_id"]].append((s["doc_id"], s["segment_index"]))
    picked, queues = [], [list(v) for _, v in sorted(per_doc.items())]
    while queues and len(picked) < limit:
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
        queues = [q for q in queues if q]
    return picked


def _rows_count_by(values, missing="(none)"):
    counts = Counter(v if v is not None else missing for v in values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def test_column_wise_figures_equal_row_by_row():
    """removed_by_reason/_by_site, highlight_examples and count_by (Arrow) give what a plain loop over
    the rows gives, with the same order and ties, on random small tables split into several chunks."""
    import random

    statuses = ["kept", "kept", "trimmed", "boilerplate", "duplicate", "zapped", "culled"]
    reasons = [None, "", "navigation", "byline", "repeated_highlight", NO_REASON]
    for seed in range(40):
        rng = random.Random(seed)
        doc_ids = [f"d{rng.randrange(12):02d}" for _ in range(rng.randrange(0, 8))]
        documents = [{"doc_id": d, "site": rng.choice([None, "", "a.example", "b.example"]),
                      "raw_nonblank_lines": rng.choice([None, 0, 5, 40])} for d in dict.fromkeys(doc_ids)]
        segments = [{"doc_id": f"d{rng.randrange(12):02d}", "segment_index": rng.randrange(30),
                     "status": rng.choice(statuses), "reason": rng.choice(reasons), "line_count": rng.randrange(0, 4)}
                    for _ in range(rng.randrange(0, 60))]
        schema = pa.schema([("doc_id", pa.string()), ("segment_index", pa.int32()), ("status", pa.string()),
                            ("reason", pa.string()), ("line_count", pa.int32())])
        cut = rng.randrange(len(segments) + 1)
        table = pa.concat_tables([pa.Table.from_pylist(segments[:cut], schema), pa.Table.from_pylist(segments[cut:], schema)])

        by_reason = removed_by_reason(table)
        want = _rows_removed_by_reason(segments)
        assert list(by_reason.items()) == list(want.items()), seed
        for reason in want:  # statuses in the order they first occur, as the page lists them
            assert list(by_reason[reason]["status"]) == list(want[reason]["status"]), seed
        document_table = pa.Table.from_pylist(documents, pa.schema([("doc_id", pa.string()), ("site", pa.string()),
                                                                    ("raw_nonblank_lines", pa.int32())]))
        by_site, want = removed_by_site(table, document_table), _rows_removed_by_site(segments, documents)
        assert list(by_site.items()) == list(want.items()), seed
        for site in want:  # Counters compare equal without their zero counts: the statuses present too
            assert sorted(by_site[site]["status"]) == sorted(want[site]["status"]), seed
        encoded = pa.table({name: (table.column(name).dictionary_encode() if name in ("doc_id", "status") else table.column(name))
                            for name in table.column_names})  # as load_release holds them
        assert list(removed_by_site(encoded, document_table).items()) == list(want.items()), seed
        some = sorted({s["doc_id"] for s in segments[::3]})  # removed lines of a few documents, as the table shows
        lines = Counter()
        for s in segments:
            if s["doc_id"] in some and s["status"] != "kept":  # not plainly kept, as the page counts them
                lines[s["doc_id"]] += s["line_count"]
        assert removed_lines_of(table, some) == removed_lines_of(encoded, some) == lines, seed
        for limit in (1, 6, 100):
            assert highlight_examples(table, limit) == _rows_highlight_examples(segments, limit), (seed, limit)
        for column in ("status", "reason"):
            got = count_by(table.column(column), missing="(gone)")
            assert list(got.items()) == list(_rows_count_by([s[column] for s in segments], "(gone)").items()), seed


def test_the_report_never_holds_every_text(seed_release, monkeypatch):
    """Texts are read a batch at a time (documents' lengths) or for the rows
    shown (turns and highlights, filtered), never a whole column."""
    whole_texts = []
    real_read = report.pq.read_table

    def read_table(path, columns=None, filters=None, **kwargs):
        if (columns is None or "text" in columns) and filters is None:
            whole_texts.append(Path(path).name)
        return real_read(path, columns=columns, filters=filters, **kwargs)

    monkeypatch.setattr(report.pq, "read_table", read_table)
    data = report.load_release(seed_release)
    page = report.render_report(seed_release)
    assert whole_texts == [] or set(whole_texts) <= {"quotes.parquet", "rejects.parquet"}
    texts = pq.read_table(seed_release / "documents.parquet", columns=["doc_id", "text"]).to_pylist()
    assert data.documents.column("chars").to_pylist() == [len(d["text"]) for d in texts]
    first_said = pq.read_table(seed_release / "turns.parquet", columns=["text"]).column("text")[0].as_py()
    assert html.escape(first_said.split("\n")[0][:30]) in page  # the turns shown have their text


def test_rows_of_a_few_documents_are_read_a_batch_at_a_time(tmp_path):
    """The rows the page shows (a few documents' segments or turns, texts and
    all) are the rows pyarrow's filtered read gives, in table order, read
    without decoding a whole row group's texts: Arrow's high-water mark stays
    a small part of the texts, where the filtered read holds them all."""
    import random

    rng = random.Random(7)
    n = 20_000  # rows of 2,000 characters: 40 MB of text in one row group
    doc_ids = [f"doc-{i // 10:04d}" for i in range(n)]
    bodies = ["".join(rng.choice("abcdefghij ") for _ in range(1_994)) for _ in range(50)]
    texts = [f"{i:06d}{bodies[i % 50]}" for i in range(n)]
    path = tmp_path / "segments.parquet"
    pq.write_table(pa.table({"doc_id": doc_ids, "segment_index": list(range(n)), "text": texts}), path,
                   row_group_size=n, compression="none", use_dictionary=["doc_id"])
    wanted = ["doc-1999", "doc-0007", "doc-1250", "absent"]
    text_bytes = sum(map(len, texts))

    def high_water(read):
        """The rows `read` gives and the most Arrow memory it held at once."""
        table, most = arrow_high_water(read)
        return table.column_names, table.to_pylist(), most

    names, got, streamed = high_water(lambda: report._read_matching(
        path, ("doc_id", "segment_index", "text", "none"), "doc_id", wanted))
    _, want, filtered = high_water(lambda: pq.read_table(path, filters=[("doc_id", "in", wanted)]))
    assert names == ["doc_id", "segment_index", "text"]
    assert got == want
    assert [row["segment_index"] for row in got] == [i for i in range(n) if doc_ids[i] in wanted]
    assert filtered > text_bytes
    assert streamed < text_bytes / 5  # a batch of 1,024 rows holds 2 MB of text


def test_the_report_holds_its_whole_table_columns_dictionary_encoded(seed_release):
    """The columns held for every turn and every segment not plainly kept
    (the only segments the page counts): strings repeated row after row
    (doc_id, status, reason, speaker, role, type) as one shared dictionary
    per column, the turns without their ids, links and texts: fewer bytes
    than the plain columns, the same values."""
    data = report.load_release(seed_release)
    segments = pq.read_table(seed_release / "segments.parquet", columns=list(report.SEGMENT_COLUMNS))
    removed = [s for s in segments.to_pylist() if s["status"] != "kept"]
    assert 0 < len(removed) < segments.num_rows / 2
    assert data.segments.to_pylist() == removed
    for held, name, columns in ((data.segments, "segments", report.SEGMENT_COLUMNS),
                                (data.turns, "turns", report.TURN_COLUMNS)):
        plain = pq.read_table(seed_release / f"{name}.parquet", columns=list(columns))
        if name == "segments":
            plain = report.removed_segments(plain)
        assert held.get_total_buffer_size() < plain.get_total_buffer_size() / 2, name
        for column in held.column_names:
            assert held.column(column).to_pylist() == plain.column(column).to_pylist(), (name, column)
            assert pa.types.is_dictionary(held.column(column).type) == (column in report.DICTIONARY_COLUMNS)
    assert set(data.turns.column_names) == set(report.TURN_COUNT_COLUMNS)


def test_the_page_a_build_writes_is_the_page_its_files_give(seed_release):
    """The build renders the page with the changes it holds in memory (not
    parsing changes.json again): the page is the one the release's files give."""
    assert (seed_release / "report.html").read_text(encoding="utf-8") == render_report(seed_release)


def test_a_matching_read_skips_the_row_groups_whose_statistics_rule_it_out(tmp_path, monkeypatch):
    """The tables are sorted by doc_id: `_read_matching` reads only the row
    groups whose doc_id statistics (min, max) span a wanted value, and the
    rows are those of a full read; without statistics every group is read."""
    doc_ids = [f"doc-{i // 3:03d}" for i in range(300)]  # 100 documents, 3 rows each
    table = pa.table({"doc_id": doc_ids, "segment_index": list(range(300)), "text": [f"t{i}" for i in range(300)]})
    with_stats, without = tmp_path / "stats.parquet", tmp_path / "none.parquet"
    pq.write_table(table, with_stats, row_group_size=30)  # 10 groups of 10 documents
    pq.write_table(table, without, row_group_size=30, write_statistics=False)
    wanted = ["doc-004", "doc-005", "doc-061", "doc-0615", "zzz"]  # groups 0 and 6; two that are nowhere
    assert report.row_groups_holding(pq.ParquetFile(with_stats).metadata, "doc_id", wanted) == [0, 6]
    assert report.row_groups_holding(pq.ParquetFile(without).metadata, "doc_id", wanted) == list(range(10))
    as_bytes = tmp_path / "bytes.parquet"  # statistics, but not as text: nothing is ruled out
    pq.write_table(table.set_column(0, "doc_id", table.column("doc_id").cast(pa.binary())), as_bytes,
                   row_group_size=30)
    assert report.row_groups_holding(pq.ParquetFile(as_bytes).metadata, "doc_id", wanted) == list(range(10))
    read_groups = []
    real = pq.ParquetFile.iter_batches

    def iter_batches(self, *args, **kwargs):
        read_groups.append(kwargs.get("row_groups"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", iter_batches)
    for path, groups in ((with_stats, [0, 6]), (without, list(range(10)))):
        rows = report._read_matching(path, ("doc_id", "segment_index"), "doc_id", wanted).to_pylist()
        assert [r["segment_index"] for r in rows] == [i for i in range(300) if doc_ids[i] in wanted]
        assert read_groups.pop() == groups
