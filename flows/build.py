"""The build flow: raw/ in, one validated, versioned Parquet release out.

The flow only orchestrates; every step is a plain function of a stage module
(`pressroom.shards` holds the per-shard and corpus passes).  Documents travel
in shards (one Prefect task per shard and pass, never per document: a task
costs 10 ms of bookkeeping in the thread pool, about 0.2 s in a Dask worker;
by default a pass has about eight shards of 50 to 1000 documents, see
`shards.shard_size`):

    scan                 driver: every input fingerprinted, shards planned (no text kept)
    prepare-shard        map:    read, normalise, paragraphs, labels; site signatures
    (site support)       reduce: lines repeated across a site's documents
    clean-shard          map:    boilerplate, highlights, metadata, turns; dedup
                                 signatures, quotations found, speaker turns
    quote-index          reduce: the quote index (a task, beside the next one)
    corpus-pass          reduce: near-duplicate clusters, speakers (driver)
    assemble-shard       map:    final rows of the shard, validated, Arrow parts (needs
                                 the clusters only: on Dask, runs while the index is made)
    link-quotes          map:    quotations linked to turns (batches of documents' quotations);
                                 on Dask ahead of the assembly's tasks still waiting
    (write)              driver: parts streamed into one Parquet file per table

Every map result is cached per shard (`pressroom.cache`), keyed by the
shard's input hashes, the code fingerprint, the configuration and, for the
later passes, what the shard sees of the corpus passes.  A rebuild runs only
the shards whose key changed; the reduce passes start again from the cached
signatures.  The result is the same as a full build, byte for byte.

Task runners: by default Prefect's thread pool (one process), running
`SHARD_THREADS` shard tasks at a time.  `dask_address`
runs the shard tasks on an existing Dask cluster, `local_cluster` on a new
local one of that many single-threaded worker processes (see README,
"Throughput and Dask").
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.settings import get_current_settings
from prefect.task_runners import ThreadPoolTaskRunner

from flows.prefect_clients import hydrate_settings_once, share_tls_contexts, submit_task_runs_cheaply
from pressroom import heap, progress, release, shards
from pressroom.cache import PackStore, key
from pressroom.card import release_documents
from pressroom.changes import ReleaseSummary
from pressroom.faults import checkpoint
from pressroom.sources import ScanMemo, scan
from pressroom.tables import build_tables, to_arrow
from schemas.contract import REJECTS, TABLES_BY_NAME
from schemas.validation import ValidationReport

heap.use_arrow_pool()  # in the flow's process and, as they import this module, in Dask workers
share_tls_contexts()  # there too: each task run's Prefect clients (flows.prefect_clients)
hydrate_settings_once()  # a worker rebuilt the settings for every task run (flows.prefect_clients)

CACHE_DIR = ".cache"
"""The per-shard cache, inside the releases folder unless told otherwise."""

WRITE_ORDER = ("segments", "documents", "turns", "quotes", "speakers", "rejects")
"""The release's tables, largest first (at 200 MB: 34, 26, 20, 1 MB ...):
the order two writer threads take them in on Dask."""

SHARD_THREADS = 1
"""Shard tasks run at once by the flow's own thread pool (no Dask).  Prefect's
pool is unbounded by default: every shard of a pass started at once, and
each held its documents to the end (at 1 GB of input, 150 threads and the
flow past 3.3 GB within three minutes).  The shard work is Python under
the GIL, so a second thread only adds memory and contention (8 shards of
1,000 documents: 22.4 s in one thread, 24.9 s in two).  Prefect's
`PREFECT_TASK_RUNNER_THREAD_POOL_MAX_WORKERS`, when set before the flow
is imported, wins (more threads can overlap reads from an object store)."""


def thread_pool() -> ThreadPoolTaskRunner:
    """The flow's default task runner: a thread pool of `SHARD_THREADS`, or
    as many threads as Prefect's setting says."""
    return ThreadPoolTaskRunner(max_workers=get_current_settings().tasks.runner.thread_pool_max_workers
                                or SHARD_THREADS)


class ValidationFailed(release.ReleaseError):
    def __init__(self, report: ValidationReport):
        super().__init__(str(report))
        self.report = report


# The shard tasks take their batch (items, keys, quotations: thousands of
# objects) pickled, as one bytes argument: Prefect walks every argument of a
# task run for futures (visit_collection) and Dask hashes it for the task's
# key, object by object, in the flow's process, which shares the machine's
# cores with the workers; bytes are walked and hashed at once.


def packed(batch) -> bytes:
    """A batch's arguments (or any bulky argument), as a task takes them (`unpacked`)."""
    return pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)


def unpacked(batch: bytes):
    return pickle.loads(batch)


@task(name="prepare-shard", cache_policy=NO_CACHE)
def prepare_shard(batch: bytes, raw_uri: str, cache_root: str) -> int:
    """A batch of `items` and their `keys`."""
    args = unpacked(batch)
    shards.prepare_batch(raw_uri, args["items"], args["keys"], PackStore(cache_root))
    heap.trim()  # the batch's objects are gone: their pages too, before the worker's next task
    return len(args["items"])


@task(name="clean-shard", cache_policy=NO_CACHE)
def clean_shard(batch: bytes, raw_uri: str, supported, cache_root: str) -> int:
    """A batch of `items`, their `first_keys` and `keys`."""
    args = unpacked(batch)
    shards.clean_batch(raw_uri, args["items"], args["first_keys"], args["keys"], supported, PackStore(cache_root))
    heap.trim()
    return len(args["items"])


@task(name="corpus-pass", cache_policy=NO_CACHE)
def corpus_pass(cache_root: str, documents: bytes) -> dict:
    """Near-duplicate clusters and the speakers table, from the cached
    summaries of `documents` (packed: (doc_id, ingest order, clean key) of
    every document; as a list, Prefect walked its 30,000 tuples twice
    before the task began, 5 s of a 200 MB rebuild's flow under cProfile)."""
    return shards.corpus_pass(PackStore(cache_root), unpacked(documents))


@task(name="quote-index", cache_policy=NO_CACHE)
def quote_index(cache_root: str, documents: bytes, previous: str | None) -> dict:
    """The quote index of `documents` (packed, as `corpus_pass`'s)."""
    made = shards.quote_index_pass(PackStore(cache_root), unpacked(documents), previous)
    heap.trim()  # the index build's free pages (pressroom.heap)
    return made


@task(name="link-quotes", cache_policy=NO_CACHE)
def link_quotes(batch: bytes, cache_root: str, index: str, relink: dict | None) -> shards.Linked:
    """A batch of documents' `keys`, their clean keys (`cleans`: the
    quotations are read from the cache) and their `previous_keys`."""
    args = unpacked(batch)
    return shards.link_batch(PackStore(cache_root), index, args["keys"], args["cleans"], args["previous_keys"], relink)


@task(name="assemble-shard", cache_policy=NO_CACHE)
def assemble_shard(batch: bytes, cache_root: str) -> shards.AssembleResult:
    """A batch of `documents` and their `clusters`."""
    args = unpacked(batch)
    result = shards.assemble_batch(PackStore(cache_root), args["documents"], args["clusters"], build_tables)
    heap.trim()
    return result


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


@flow(name="pressroom-build", validate_parameters=False, task_runner=thread_pool())
def build_release(
    raw_dir: str = "raw",
    releases_dir: str = "releases",
    batch_size: int | None = None,
    publish_to: str | None = None,
    gold_dir: str | None = None,
    cache_dir: str | None = None,
    use_cache: bool = True,
) -> dict:
    """Build a release from `raw_dir` (a folder or fsspec URI) into
    `releases_dir`; returns a summary.

    Makes no release when the latest one has the same inputs and code.  With
    `publish_to`, the latest release is then published there (a no-op when it
    already is).  With `gold_dir`, quality figures join the run's artifact.
    `batch_size` is the number of documents per shard (default: about eight
    shards per pass, `shards.shard_size`); `cache_dir` the
    per-shard cache (default `<releases_dir>/.cache`); `use_cache=False`
    builds everything again in a temporary folder.
    """
    summary = _build(raw_dir, releases_dir, batch_size, gold_dir, cache_dir, use_cache)
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


class _Clock:
    """Seconds spent per phase, for the summary (and the benchmark)."""

    def __init__(self):
        self.phases: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(self.phases.get(name, 0.0) + now - self.last, 3)
        self.last = now


def _kept_cache(releases_root: Path, cache_dir: str | None) -> Path:
    """The folder of the cache kept between builds."""
    return Path(cache_dir) if cache_dir else releases_root / CACHE_DIR


@contextlib.contextmanager
def _cache_root(releases_root: Path, cache_dir: str | None, use_cache: bool):
    if use_cache:
        root = _kept_cache(releases_root, cache_dir)
        root.mkdir(parents=True, exist_ok=True)
        yield root, True
    else:
        with tempfile.TemporaryDirectory(prefix=".work-", dir=cache_dir or releases_root) as work:
            yield Path(work), False


def _build(raw_dir: str, releases_dir: str, batch_size: int | None, gold_dir: str | None = None,
           cache_dir: str | None = None, use_cache: bool = True) -> dict:
    logger = get_run_logger()
    startup = _start_workers()
    clock = _Clock()
    releases_root = Path(releases_dir)
    with release.build_lock(releases_root):
        stale = release.remove_stale_staging(releases_root)
        if stale:
            logger.warning("removed staging left by an interrupted build: %s", ", ".join(stale))
        code = release.code_fingerprint()
        items, rejects = _scan(raw_dir, releases_root, cache_dir, use_cache, code)
        for reject in rejects:
            logger.warning("rejected %s: %s", reject.source_path, reject.reason)
        fingerprints = {"input": release.input_fingerprint(items, rejects), "code": code}
        fingerprints["build"] = release.build_fingerprint(fingerprints["input"], fingerprints["code"])
        clock.lap("scan")
        previous = release.latest_manifest(releases_root)
        if previous and previous.get("build_fingerprint") == fingerprints["build"]:
            message = f"up to date: release {previous['version']} has the same inputs and code"
            logger.info(message)
            return {"version": None, "latest": previous["version"], "message": message, "timings": clock.phases,
                    "startup": startup}
        with _cache_root(releases_root, cache_dir, use_cache) as (cache_root, keep):
            result = _build_shards(raw_dir, releases_root, str(cache_root), items, rejects, fingerprints,
                                   batch_size, gold_dir, clock, logger, keep)
        return {**result, "startup": startup}


def _scan(raw_dir: str, releases_root: Path, cache_dir: str | None, use_cache: bool, code: str):
    """`sources.scan`, with the last scan's memo kept in the cache (a file
    whose stat is unchanged is not read again).  The memo
    holds planned items, which the code makes (doc_ids, record keys): it is
    kept for one code fingerprint (`code`), as every other cached result is.  It is
    not tied to the root: a stat names the file (inode and device), so a
    folder of hard links to the same files is the same input."""
    if not use_cache:
        return scan(raw_dir)
    store = PackStore(_kept_cache(releases_root, cache_dir))
    name = "scan-memo"
    remembered = store.recall(name)
    entries = remembered[1] if isinstance(remembered, tuple) and remembered[0] == code else None
    memo = ScanMemo(entries)
    found = scan(raw_dir, memo)
    if memo.seen != memo.entries:
        store.remember(name, (code, memo.seen))
    return found


def _start_workers() -> dict[str, float]:
    """Start the flow's Dask cluster, or connect to it, before the build's
    clock runs: the task runner makes its client on the first task, so a new
    local cluster's workers (each importing Prefect and the stages) would
    otherwise start inside the first pass.  Returns the seconds it took,
    which the summary reports apart from the phases."""
    runner = _dask_runner()
    if runner is None:
        return {}
    started = time.perf_counter()
    client = runner.client  # a new local cluster returns once its workers run
    workers = (runner.cluster_kwargs or {}).get("n_workers")
    if workers:
        client.wait_for_workers(workers)
    return {"dask workers": round(time.perf_counter() - started, 3)}


def _task_slots() -> int | None:
    """How many shard tasks the flow's Dask cluster runs at once (its
    workers' threads); None on Prefect's thread pool, whose tasks cost
    10 ms (`shards.shard_size`)."""
    runner = _dask_runner()
    if runner is None:
        return None
    try:
        return sum(runner.client.nthreads().values()) or None
    except Exception:  # noqa: BLE001 - a size hint only: the default sizes serve
        return None


def _dask_runner():
    """The flow run's DaskTaskRunner, or None (not a Dask run)."""
    dask = sys.modules.get("prefect_dask")  # not imported: not a Dask run
    runner = getattr(FlowRunContext.get(), "task_runner", None)
    return runner if dask is not None and isinstance(runner, dask.DaskTaskRunner) else None


def _release_memory(logger, workers: bool = True) -> None:
    """After a map pass: every process (this one, each Dask worker) drops
    its mapping of the quote index and the stages' memos, and gives its
    free heap pages back (`shards.release_memory`): on 1 GB of input each
    worker held ~2 GB of the index's pages to the end of the build; the
    memos of the clean pass are of no use to the corpus pass, which runs
    in this process (and, without Dask, after the shards did).  Without
    `workers`, this process only (the local cluster's workers are gone)."""
    shards.release_memory()
    runner = _dask_runner()
    if runner is not None and workers:
        try:
            runner.client.run(shards.release_memory)
        except Exception as error:  # noqa: BLE001 - memory only: the build goes on
            logger.warning("could not release memory on the Dask workers: %s", error)


RETIRE_TIMEOUT = 30.0
"""Seconds `_retire_local_workers` waits for the workers to leave."""


def _retire_local_workers(logger) -> bool:
    """Stop the workers of a local cluster the build made (`--local-cluster`)
    once the last map pass is done: at 1 GB of input each held 0.47 GB
    through the write phase, when the flow's process peaks, and the tree's
    peak was then.  The workers of an existing cluster (`--dask-address`)
    are not ours to stop.  Returns whether they were stopped."""
    runner = _dask_runner()
    if runner is None or runner.address or not (runner.cluster_kwargs or {}).get("n_workers"):
        return False
    try:
        client = runner.client
        client.cluster.scale(0)
        deadline = time.monotonic() + RETIRE_TIMEOUT
        while client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.05)
        return not client.scheduler_info()["workers"]
    except Exception as error:  # noqa: BLE001 - memory only: the build goes on
        logger.warning("could not stop the local cluster's workers: %s", error)
        return False


def _build_shards(raw_dir, releases_root, cache_root, items, rejects, fingerprints, batch_size, gold_dir,
                  clock, logger, keep_cache) -> dict:
    store = PackStore(cache_root)
    workers = _task_slots()
    config = key(fingerprints["code"], json.dumps(release.configuration(), sort_keys=True))
    counts = {"documents": len(items), "batch_size": batch_size or "auto"}
    progress.start(2 * len(items), "documents")

    # pass 1: prepare the documents not in the cache, in shards
    first = [shards.prepare_key(config, item) for item in items]
    index = store.index("prepare")
    todo = [(item, k) for item, k in zip(items, first) if k not in index]
    counts["prepared"] = len(todo)
    progress.advance(len(items) - len(todo))
    _run(prepare_shard, [dict(items=[i for i, _ in b], keys=[k for _, k in b])
                         for b in shards.batches(todo, batch_size, workers)],
         raw_uri=raw_dir, cache_root=cache_root)
    clock.lap("prepare")
    store = PackStore(cache_root)  # the packs the tasks wrote
    site = shards.site_pass(store, first)
    rejects = rejects + [r for r in site.rejects if r is not None]
    supported = site.supported
    live = [(item, k) for item, k, r in zip(items, first, site.rejects) if r is None]
    second = [c for c in site.keys if c is not None]
    del site
    clock.lap("site support")
    checkpoint("processing")

    # pass 2: clean, with the site lines each document sees
    index = store.index("clean")
    todo = [(item, k, c) for (item, k), c in zip(live, second) if c not in index]
    counts["cleaned"] = len(todo)
    progress.advance(len(items) - len(todo))
    _run(clean_shard, [dict(items=[i for i, _, _ in b], first_keys=[k for _, k, _ in b], keys=[c for _, _, c in b])
                       for b in shards.batches(todo, batch_size, workers)],
         raw_uri=raw_dir, cache_root=cache_root, supported=supported)
    if todo:
        _release_memory(logger)  # before the corpus pass, this process's peak
    clock.lap("clean")

    # the corpus passes: on Dask, the quote index on a worker while this
    # process finds the clusters and speakers; then the assembly, which needs
    # only the clusters, runs while the index is made, and the links as soon
    # as it is (first: the longer tasks, the assembly's fill the pass's end)
    documents = packed([(item.doc_id, item.order, c) for (item, _), c in zip(live, second)])
    indexing = quote_index.submit(cache_root, documents, shards.latest_index(store))
    if workers is None:  # one process: one pass at a time (its memory peaks in these passes)
        indexing.wait()
    corpus = corpus_pass(cache_root, documents)
    del documents
    heap.trim()  # the clustering's free pages (pressroom.heap)
    clusters = corpus["clusters"]
    third = [shards.final_key(c, clusters[item.doc_id]) for (item, _), c in zip(live, second)]
    store = PackStore(cache_root)
    index = store.index("final")
    todo = [(item.doc_id, c, f) for (item, _), c, f in zip(live, second, third) if f not in index]
    counts["assembled"] = len(todo)

    def assembly() -> list[tuple]:
        return _submit(assemble_shard, [dict(documents=b, clusters={d: clusters[d] for d, _, _ in b})
                                        for b in shards.batches(todo, batch_size, workers)], cache_root=cache_root)

    # without Dask, one pass at a time as before: the assembly (which loads
    # pandas and pandera, ~0.1 GB for good) after the links and their index
    assembling = assembly() if workers is not None else None
    made = indexing.result()
    clock.lap("corpus")

    # quotes linked per document, cached under the index and the document's clean key; after
    # transcripts changed, the links made against the last build's index are kept where they
    # read nothing that changed (shards.relink_plan)
    quoting, relink = corpus.pop("quoting"), made["relink"]
    counts["quote_index"] = made["index_made"]
    links = [shards.links_key(made["index_key"], k) for k, _ in quoting]
    known = PackStore(cache_root).index("links")

    def before(clean: str) -> str | None:
        old = shards.links_key(relink["key"], clean) if relink else None
        return old if old in known else None

    linking_todo = [(k, c, n, before(c)) for k, (c, n) in zip(links, quoting) if k not in known]
    counts["quotes_checked"] = sum(n for _, _, n, old in linking_todo if old)
    linking = _submit(link_quotes, [dict(keys=[k for k, _, _, _ in b], cleans=[c for _, c, _, _ in b],
                                         previous_keys=[old for _, _, _, old in b])
                                    for b in shards.batches(linking_todo, -(-len(linking_todo) // shards.SHARD_TASKS))],
                      priority=1, cache_root=cache_root, index=made["index"], relink=relink)
    linked = _results(linking, advance=False)
    if assembling is None:
        _release_memory(logger)  # the quote index is not read again, nor kept for the next build
        assembling = assembly()
    assembled = _results(assembling, advance=False)
    del assembling, linking
    counts["quotes_linked"] = sum(batch.linked for batch in linked)
    counts["fuzzy_scores_read_back"] = sum(batch.read_back for batch in linked)
    counts["links_copied"] = sum(batch.copied for batch in linked)  # same text, another document (per worker)
    quotes_table = shards.quotes_table(PackStore(cache_root), links)
    del quoting, todo, linking_todo, relink
    # no task follows: what the workers hold would sit through the write; the
    # quote index is not read again, nor kept for the next build
    _release_memory(logger, workers=not _retire_local_workers(logger))
    clock.lap("link and assemble")

    report = ValidationReport([failure for a in assembled for failure in a.failures])
    whole = {"speakers": corpus["speakers"], "quotes": quotes_table,
             "rejects": to_arrow(REJECTS, (vars(r) for r in rejects))}
    corpus_index_key, speakers_key = made["index_key"], corpus["speakers_key"]
    del corpus, clusters, live, assembled, quotes_table, index, made  # not read again: the write holds less
    store = PackStore(cache_root)
    # a batch that failed its checks wrote no pack: then the links and speakers are not checked
    parts = shards.release_summary(store, third) if report.ok else None
    report.failures += shards.validate_corpus(whole, parts).failures
    clock.lap("validate")
    if not report.ok:
        raise ValidationFailed(report)

    documents, turns, rows = parts.documents, parts.turns, parts.rows
    del parts
    rows.update({name: table.num_rows for name, table in whole.items()})
    schemas = {name: TABLES_BY_NAME[name].arrow_schema
               for name in ("speakers", "quotes", "documents", "segments", "turns", "rejects")}

    def write_table(name: str, staging: Path) -> int:
        writer = release.TableWriter(staging / f"{name}.parquet", schemas[name],
                                     release.ROW_GROUP_ROWS.get(name, release.DEFAULT_ROW_GROUP_ROWS))
        # a whole table is dropped once written: the report, made next, reads the files
        parts = [whole.pop(name)] if name in whole else shards.document_slices(store, third, name)
        for part in parts:
            checkpoint("writing-tables")
            writer.write(part)
        return writer.close()

    def write(staging: Path) -> dict[str, int]:
        heap.trim()  # what comparing with the last release freed
        # Without Dask one table at a time, the whole ones first (dropped once
        # written): each writer holds a row group's rows, its copy and a few
        # packs (~100 MB at most), and side by side they were the top of the
        # 1 GB build, for ~1 s gained.  On Dask the workers are done (a local
        # cluster's are gone) and the cores idle: two writers at once, the
        # largest tables first (Parquet encodes without the GIL).
        threads, order = (1, list(schemas)) if workers is None else (2, sorted(schemas, key=WRITE_ORDER.index))
        with ThreadPoolExecutor(threads, thread_name_prefix="write-table") as pool:
            running = {name: pool.submit(write_table, name, staging) for name in order}
        written = {name: running[name].result() for name in schemas}
        heap.trim()  # the writers' buffers, before the report reads the tables back
        return written

    gold = Path(gold_dir) if gold_dir and Path(gold_dir).is_dir() else None

    def describe(manifest: dict, staging: Path, changes: dict) -> dict[str, str]:
        return release_documents(manifest, staging, gold, Path(raw_dir), changes)

    streamed = release.StreamedTables(write, ReleaseSummary(None, documents, turns, rows), schemas)
    result = release.write_release(releases_root, streamed, fingerprints, describe=describe,
                                   cache=Path(cache_root) if keep_cache else None)
    clock.lap("write")
    if keep_cache:
        store.prune({"prepare": first, "clean": second, "speakers": [speakers_key], "index": [corpus_index_key],
                     "links": links, "final": third})
        shards.remember_index(store, corpus_index_key)
    logger.info(result.message)
    table_rows = {name: result.manifest["tables"][name]["rows"] for name in schemas}
    return {"version": result.version, "latest": result.manifest["version"], "path": str(result.path),
            "rows": table_rows, "changes": result.manifest["changes"], "message": result.message,
            "timings": clock.phases, "work": counts}


def _run(task_, batches: list[dict], advance: bool = True, **shared) -> list:
    """One task run per batch, the results in order (`_submit`, `_results`)."""
    return _results(_submit(task_, batches, **shared), advance)


def _submit(task_, batches: list[dict], priority: int = 0, **shared) -> list[tuple]:
    """One task run per batch (`packed`), the shared arguments unmapped:
    (future, the batch's size) pairs, for `_results`; the batches are not
    kept (the assembly's hold a dict of cluster columns per document).  On
    Dask, a worker takes the ready task of highest `priority` first (the
    first submitted among equals); Prefect's thread pool runs them as
    submitted."""
    if not batches:
        return []
    sizes = [len(next(iter(b.values()))) for b in batches]
    with _dask_priority(priority):
        futures = task_.map(batch=[packed(b) for b in batches],
                            **{name: unmapped(value) for name, value in shared.items()})
    return list(zip(futures, sizes))


@contextlib.contextmanager
def _dask_priority(priority: int):
    """Tasks submitted within have Dask priority `priority`
    (`dask.annotate`, which `Client.submit` reads); nothing without Dask."""
    if not priority or _dask_runner() is None:
        yield
        return
    import dask

    with dask.annotate(priority=priority):
        yield


def _results(submitted: list[tuple], advance: bool = True) -> list:
    """The results of `_submit`'s runs, in order.  With `advance`, the
    progress bar moves by each batch's size."""
    results = []
    for future, size in submitted:
        results.append(future.result())
        if advance:
            progress.advance(size)
    return results


# --- task runners --------------------------------------------------------------


def task_runner(dask_address: str | None = None, local_cluster: int | None = None):
    """The task runner for the shard tasks: an existing Dask cluster
    (`tcp://HOST:PORT`), a new local cluster of `local_cluster` worker
    processes of one thread each, or None (Prefect's default thread pool)."""
    if not dask_address and not local_cluster:
        return None
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # no INFO line per worker start
    # the workers' statistical profiler samples the task thread every 10 ms
    # (it takes the GIL from the work); a local cluster's workers go without
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")
    _keep_no_message_log()
    submit_task_runs_cheaply()  # the settings dumped once, no hashing of each task run's arguments
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address)
    _keep_glibc_malloc_thresholds()
    # each worker imports the flow's modules (Prefect, the stages) as it starts,
    # with the cluster, not in its first task
    return DaskTaskRunner(cluster_kwargs={"n_workers": int(local_cluster), "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None,
                                          "preload": ["flows.build"]})


def _keep_no_message_log() -> None:
    """Dask's batched streams (client to scheduler, scheduler to workers)
    keep the last `distributed.admin.low-level-log-length` messages they
    sent, 1,000 by default, for debugging: every shard task's batch with
    them.  In the flow's process (the client, and a local cluster's
    scheduler) that held ~60 MiB of the tasks' arguments on 200 MB of input
    by the end of a build.  Keep none, unless the environment asks for a
    length (DASK_DISTRIBUTED__ADMIN__LOW_LEVEL_LOG_LENGTH)."""
    import dask

    length = os.environ.get("DASK_DISTRIBUTED__ADMIN__LOW_LEVEL_LOG_LENGTH", "0")
    dask.config.set({"distributed.admin.low-level-log-length": int(length)})


def _keep_glibc_malloc_thresholds() -> None:
    """Start a local cluster's workers without Dask's MALLOC_TRIM_THRESHOLD_.

    Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in each worker's
    environment (`distributed.nanny.pre-spawn-environ`) so that freed memory
    goes back to the OS.  Setting any glibc malloc threshold also turns off
    glibc's dynamic mmap threshold: every block of more than 128 KiB (a page
    of strings, a pickled pack) is then mmapped and unmapped each time, and
    faulted in again page by page.  Measured on a 50 MB corpus with two
    workers: 26 s of kernel time instead of 7, clean 52 -> 35 s.  The other
    variables (one BLAS/OpenMP thread) stay."""
    import dask
    import distributed  # noqa: F401  (loads the distributed.* defaults)

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    dask.config.set({"distributed.nanny.pre-spawn-environ": environ})


def _die_with_parent() -> None:
    """In a child process: SIGTERM when the parent dies (Linux), so that a
    build killed with kill -9 leaves no temporary server behind."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _temporary_server():
    """Prefect's temporary API server, as Prefect starts it, but quiet and
    ended with this process even when it is killed."""
    import subprocess

    from prefect.server.api.server import SubprocessASGIServer

    class TemporaryServer(SubprocessASGIServer):
        _instances: dict = {}

        def _run_uvicorn_command(self):
            process = super()._run_uvicorn_command  # the command Prefect runs, with our process options
            original = subprocess.Popen

            def popen(*args, **kwargs):
                kwargs.update(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
                return original(*args, **kwargs)

            subprocess.Popen = popen
            try:
                return process()
            finally:
                subprocess.Popen = original

    return TemporaryServer()


@contextlib.contextmanager
def prefect_api_for_workers(needed: bool = True):
    """Task runs report to a Prefect API.  Without PREFECT_API_URL every
    worker process would start a temporary server of its own (8-15 s each,
    and SQLite lock contention): start one here, on loopback, and hand its
    address to this process and to the workers (through the environment,
    which the local cluster's processes inherit).  The server ends with this
    process, even on kill -9."""
    if not needed or os.environ.get("PREFECT_API_URL"):
        yield os.environ.get("PREFECT_API_URL")
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = _temporary_server()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        _drain_prefect_workers()  # send the run's last logs and events while the server still listens
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def _drain_prefect_workers() -> None:
    """Flush Prefect's log and event workers (bounded): otherwise they retry
    against the stopped server for a minute and print 'Error logging to API'."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)
        EventsWorker.drain_all(timeout=5)
    except Exception:  # a best effort at shutdown: never fail a finished build
        pass


def run_build(dask_address: str | None = None, local_cluster: int | None = None, **parameters) -> dict:
    """`build_release` on the task runner asked for (see `task_runner`)."""
    runner = task_runner(dask_address, local_cluster)
    with prefect_api_for_workers(not dask_address):
        if runner is None:
            return build_release(**parameters)
        return build_release.with_options(task_runner=runner)(**parameters)
