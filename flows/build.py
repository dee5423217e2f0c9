"""The build flow: raw/ in, one validated, versioned Parquet release out.

The flow only orchestrates; every step is a plain function of a stage module.
Documents travel in batches (one Prefect task per batch, never per document:
a task costs about 10 ms of bookkeeping).  The cross-document pass (site
boilerplate) sits between the two per-batch passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pressroom import release
from pressroom.card import release_documents
from pressroom.clean import CleanDocument, PreparedDocument, clean, learn_site_boilerplate, prepare
from pressroom.corpus import attach_clusters, build_quotes, build_speakers
from pressroom.ingest import RawDocument, ingest
from pressroom.tables import build_tables
from schemas.validation import ValidationReport, validate_release

BATCH_SIZE = 200


class ValidationFailed(release.ReleaseError):
    def __init__(self, report: ValidationReport):
        super().__init__(str(report))
        self.report = report


def batches(items: Sequence, size: int) -> list[list]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


@task(name="prepare-batch", cache_policy=NO_CACHE)
def prepare_batch(documents: list[RawDocument]) -> list[PreparedDocument]:
    return [prepare(d) for d in documents]


@task(name="clean-batch", cache_policy=NO_CACHE)
def clean_batch(documents: list[PreparedDocument], site_model) -> list[CleanDocument]:
    return [clean(d, site_model) for d in documents]


@task(name="corpus-pass", cache_policy=NO_CACHE)
def corpus_pass(documents: list[CleanDocument]) -> tuple[list[dict], list[dict]]:
    """Near-duplicate clusters, the speakers table and the quotes table."""
    attach_clusters(documents)
    return build_speakers(documents), build_quotes(documents)


@task(name="validate", cache_policy=NO_CACHE)
def validate(tables) -> None:
    report = validate_release(tables)
    if not report.ok:
        raise ValidationFailed(report)


@task(name="publish", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def publish_release(release_dir: str, target: str) -> str:
    from pressroom.publish import publish

    return publish(Path(release_dir), target).message


def summary_markdown(summary: dict, scores=None) -> str:
    """The release summary shown as a Prefect artifact."""
    lines = [f"# pressroom release {summary['latest']}", "", summary["message"], ""]
    if summary.get("rows"):
        lines += ["| table | rows | change |", "|---|---|---|"]
        delta = summary["changes"]["rows_delta"]
        lines += [f"| {k} | {v} | {delta.get(k, 0):+d} |" for k, v in summary["rows"].items()]
        changes = summary["changes"]
        lines += ["", f"Against {changes['previous_version'] or 'nothing (first release)'}: "
                  f"{changes['documents_added']} documents added, {changes['documents_removed']} removed, "
                  f"{changes['documents_changed']} changed; {changes['turns_added']} turns added, "
                  f"{changes['turns_removed']} removed.", ""]
    if scores is not None:
        lines += ["## Quality against gold", "", "| figure | passed/total |", "|---|---|"]
        lines += [f"| {name} | {f.passed}/{f.total} |" for name, f in scores.figures.items()]
    if summary.get("published"):
        lines += ["", f"Published: {summary['published']}"]
    if summary.get("path"):
        lines += ["", f"Report: [report.html]({(Path(summary['path']) / 'report.html').resolve().as_uri()})"]
    return "\n".join(lines)


@flow(name="pressroom-build", validate_parameters=False)
def build_release(
    raw_dir: str = "raw",
    releases_dir: str = "releases",
    batch_size: int = BATCH_SIZE,
    publish_to: str | None = None,
    gold_dir: str | None = None,
) -> dict:
    """Build a release from `raw_dir` into `releases_dir`; returns a summary.

    Makes no release when the latest one has the same inputs and code.  With
    `publish_to`, the latest release is then published there (a no-op when it
    already is).  With `gold_dir`, quality figures join the run's artifact.
    """
    summary = _build(raw_dir, releases_dir, batch_size, gold_dir)
    if publish_to and summary["latest"]:
        summary["published"] = publish_release(str(Path(releases_dir) / summary["latest"]), publish_to)
    scores = None
    if gold_dir and summary["latest"] and Path(gold_dir).is_dir():
        from pressroom.scoring import score_release

        scores = score_release(Path(releases_dir) / summary["latest"], Path(gold_dir), Path(raw_dir))
        summary["quality"] = {n: f"{f.passed}/{f.total}" for n, f in scores.figures.items()}
    create_markdown_artifact(key="pressroom-release", markdown=summary_markdown(summary, scores),
                             description=f"pressroom release {summary['latest']}")
    if summary["latest"]:
        report = (Path(releases_dir) / summary["latest"] / "report.html").resolve()
        if report.is_file():
            create_link_artifact(key="pressroom-report", link=report.as_uri(),
                                 link_text=f"release report {summary['latest']}")
    return summary


def _build(raw_dir: str, releases_dir: str, batch_size: int, gold_dir: str | None = None) -> dict:
    logger = get_run_logger()
    raw_root, releases_root = Path(raw_dir), Path(releases_dir)
    with release.build_lock(releases_root):
        stale = release.remove_stale_staging(releases_root)
        if stale:
            logger.warning("removed staging left by an interrupted build: %s", ", ".join(stale))
        documents, rejects = ingest(raw_root)
        for reject in rejects:
            logger.warning("rejected %s: %s", reject.source_path, reject.reason)
        fingerprints = {"input": release.input_fingerprint(documents, rejects), "code": release.code_fingerprint()}
        fingerprints["build"] = release.build_fingerprint(fingerprints["input"], fingerprints["code"])
        previous = release.latest_manifest(releases_root)
        if previous and previous.get("build_fingerprint") == fingerprints["build"]:
            message = f"up to date: release {previous['version']} has the same inputs and code"
            logger.info(message)
            return {"version": None, "latest": previous["version"], "message": message}

        prepared = [d for f in prepare_batch.map(batches(documents, batch_size)) for d in f.result()]
        site_model = learn_site_boilerplate(prepared)
        cleaned = [d for f in clean_batch.map(batches(prepared, batch_size), unmapped(site_model)) for d in f.result()]
        speakers, quotes = corpus_pass(cleaned)
        tables = build_tables(cleaned, rejects, speakers, quotes)
        validate(tables)
        gold = Path(gold_dir) if gold_dir and Path(gold_dir).is_dir() else None

        def describe(manifest: dict, staging: Path) -> dict[str, str]:
            return release_documents(manifest, staging, gold, raw_root)

        result = release.write_release(releases_root, tables, fingerprints, describe=describe)
        logger.info(result.message)
        rows = {name: t.num_rows for name, t in tables.items()}
        return {"version": result.version, "latest": result.manifest["version"], "path": str(result.path),
                "rows": rows, "changes": result.manifest["changes"], "message": result.message}
