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
from prefect.cache_policies import NO_CACHE

from pressroom import release
from pressroom.card import dataset_card
from pressroom.clean import CleanDocument, PreparedDocument, clean, learn_site_boilerplate, prepare
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


@task(name="validate", cache_policy=NO_CACHE)
def validate(tables) -> None:
    report = validate_release(tables)
    if not report.ok:
        raise ValidationFailed(report)


@flow(name="pressroom-build", validate_parameters=False)
def build_release(raw_dir: str = "raw", releases_dir: str = "releases", batch_size: int = BATCH_SIZE) -> dict:
    """Build a release from `raw_dir` into `releases_dir`; returns a summary.

    Makes no release when the latest one has the same inputs and code.
    """
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
        tables = build_tables(cleaned, rejects)
        validate(tables)
        result = release.write_release(releases_root, tables, fingerprints, dataset_card=dataset_card)
        logger.info(result.message)
        rows = {name: t.num_rows for name, t in tables.items()}
        return {"version": result.version, "latest": result.version, "path": str(result.path),
                "rows": rows, "changes": result.manifest["changes"], "message": result.message}
