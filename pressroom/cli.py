"""The `pressroom` command.

Exit codes: 0 success (also "up to date, no new release"), 1 validation
failed (nothing published), 2 usage or input error, 3 another build holds
the releases folder, 4 quality bars not met (`score --check`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_LOCKED, EXIT_BARS = 0, 1, 2, 3, 4

# The seed bars of the foundation issue, as minimum passed/total rates.
SEED_BARS = {
    "content_kept": 203 / 204, "boilerplate_removed": 37 / 39, "highlights_removed": 1.0,
    "broken_joined": 1.0, "doc_type": 1.0, "turns_found": 1.0, "speaker_correct": 1.0,
    "answers_linked": 1.0,
}


EPHEMERAL_STARTUP_SECONDS = "90"
"""How long a build waits for Prefect's temporary server to start.
Prefect's default, 20 s, is what the server takes here on a busy machine
(8-15 s when idle): four test builds failed so, while a 1 GB build ran."""


def _prefect_defaults(quiet: bool = False) -> None:
    """No analytics (there may be no internet), time for the temporary
    server to start on a busy machine; with --quiet, Prefect's own INFO
    lines go too.  Set before prefect is imported (the user's settings win)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_SECONDS)
    if quiet:
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"


def cmd_build(args: argparse.Namespace) -> int:
    _prefect_defaults(args.quiet or args.json)
    from flows.build import ValidationFailed, run_build
    from pressroom import progress
    from pressroom.release import BuildLocked, build_lock

    raw = args.raw if "://" in str(args.raw) else Path(args.raw)
    if isinstance(raw, Path) and not raw.is_dir():
        print(f"pressroom: raw folder not found: {raw} (hint: pass --raw DIR)", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(raw, str):
        from pressroom.sources import root_exists

        try:
            found = root_exists(raw)
        except (ImportError, ValueError, OSError) as error:
            print(f"pressroom: cannot open {raw}: {error}", file=sys.stderr)
            return EXIT_USAGE
        if not found:
            print(f"pressroom: raw folder not found: {raw} (hint: pass --raw DIR or URI)", file=sys.stderr)
            return EXIT_USAGE
    try:
        with build_lock(Path(args.releases)):  # fail fast, before Prefect starts: another build runs
            pass
    except BuildLocked as locked:
        print(f"pressroom: {locked}", file=sys.stderr)
        return EXIT_LOCKED
    try:
        with progress.shown(not (args.quiet or args.json)):
            summary = run_build(dask_address=args.dask_address, local_cluster=args.local_cluster,
                                raw_dir=str(raw), releases_dir=str(args.releases),
                                publish_to=args.publish_to, gold_dir=args.gold, batch_size=args.shard_size,
                                cache_dir=args.cache_dir, use_cache=not args.no_cache)
    except ValidationFailed as failure:
        print(f"pressroom: no release written, {failure.report}", file=sys.stderr)
        return EXIT_INVALID
    except BuildLocked as locked:
        print(f"pressroom: {locked}", file=sys.stderr)
        return EXIT_LOCKED
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    elif not args.quiet:
        print(summary["message"])
    return EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    from pressroom.release import list_releases
    from pressroom.scoring import score_release

    for folder, what in ((args.gold, "gold"), (args.raw, "raw")):
        if not Path(folder).is_dir():
            print(f"pressroom: {what} folder not found: {folder} (hint: pass --{what} DIR)", file=sys.stderr)
            return EXIT_USAGE
    releases = Path(args.releases)
    version = args.version or (list_releases(releases) or [None])[-1]
    if version is None or not (releases / version).is_dir():
        print(f"pressroom: no release {version or ''} in {releases} (hint: run pressroom build)", file=sys.stderr)
        return EXIT_USAGE
    scores = score_release(releases / version, Path(args.gold), Path(args.raw))
    if args.json:
        print(json.dumps(scores.as_dict(), indent=2))
    else:
        print(f"release {version} against {args.gold}")
        print(scores)
    if args.check:
        failed = [n for n, bar in SEED_BARS.items() if scores.figures[n].rate < bar]
        if failed or scores.extra_turns:
            print("bars not met: " + ", ".join(failed + (["extra turns"] if scores.extra_turns else [])), file=sys.stderr)
            return EXIT_BARS
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from pressroom.release import verify_release
    from schemas.contract import TABLES_BY_NAME
    from schemas.validation import validate_release

    release_dir = Path(args.releases) / args.version
    if not (release_dir / "manifest.json").is_file():
        print(f"pressroom: no release {args.version} in {args.releases}", file=sys.stderr)
        return EXIT_USAGE
    problems = verify_release(release_dir)
    tables = {n: pq.read_table(release_dir / f"{n}.parquet", schema=t.arrow_schema) for n, t in TABLES_BY_NAME.items()}
    report = validate_release(tables)
    for problem in problems:
        print(f"checksum: {problem}")
    print(report)
    return EXIT_OK if report.ok and not problems else EXIT_INVALID


def _release_dir(args: argparse.Namespace, version: str) -> Path | None:
    release_dir = Path(args.releases) / version
    if not (release_dir / "manifest.json").is_file():
        from pressroom.release import list_releases

        known = ", ".join(list_releases(Path(args.releases))) or "none"
        print(f"pressroom: no release {version} in {args.releases} (releases: {known})", file=sys.stderr)
        return None
    return release_dir


def cmd_releases(args: argparse.Namespace) -> int:
    from pressroom.release import refresh_catalog

    releases = Path(args.releases)
    if not releases.is_dir():
        print(f"pressroom: no releases folder {releases} (hint: run pressroom build)", file=sys.stderr)
        return EXIT_USAGE
    catalog = refresh_catalog(releases)
    if args.json:
        print(json.dumps(catalog, indent=2))
        return EXIT_OK
    for entry in catalog["releases"]:
        rows = ", ".join(f"{k} {v}" for k, v in entry["rows"].items())
        latest = "  (latest)" if entry["version"] == catalog["latest"] else ""
        print(f"{entry['version']:<10} {entry['created_at']}  {rows}{latest}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    release_dir = _release_dir(args, args.version)
    if release_dir is None:
        return EXIT_USAGE
    if args.json:
        print((release_dir / "manifest.json").read_text(), end="")
    else:
        print((release_dir / "CHANGELOG.md").read_text())
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from pressroom.changes import changelog, compare, read_summary, to_json

    dirs = [_release_dir(args, v) for v in (args.a, args.b)]
    if None in dirs:
        return EXIT_USAGE
    changes = compare(read_summary(dirs[0]), read_summary(dirs[1]))
    print(to_json(changes, indent=2) if args.json else changelog(changes))
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    from pressroom.publish import PublishError, publish

    release_dir = _release_dir(args, args.version)
    if release_dir is None:
        return EXIT_USAGE
    try:
        result = publish(release_dir, args.to)
    except PublishError as error:
        print(f"pressroom: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"pressroom: cannot publish to {args.to}: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(result.message)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from pressroom.convokit_export import export_convokit

    release_dir = _release_dir(args, args.version)
    if release_dir is None:
        return EXIT_USAGE
    out = Path(args.out or f"convokit-{args.version}")
    counts = export_convokit(release_dir, out)
    print(f"ConvoKit corpus written to {out}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from pressroom.release import list_releases
    from pressroom.report import render_report

    version = args.version or (list_releases(Path(args.releases)) or [None])[-1]
    release_dir = _release_dir(args, version) if version else None
    if release_dir is None:
        if not version:
            print(f"pressroom: no releases in {args.releases} (hint: run pressroom build)", file=sys.stderr)
        return EXIT_USAGE
    path = release_dir / "report.html"
    if args.gold or args.out or not path.is_file():
        # a release is never modified: a new rendering goes elsewhere
        path = Path(args.out or f"report-{version}.html")
        path.write_text(render_report(release_dir, Path(args.gold) if args.gold else None,
                                      Path(args.raw) if args.gold else None))
    print(path)
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    """Show a document's segments with their fate and reason: from a release
    (by doc_id), or straight from a raw file (cleaned on the spot)."""
    target = Path(args.doc)
    if target.is_file():
        from pressroom.clean import clean, prepare
        from pressroom.ingest import read_document

        item = read_document(target.parent, target)
        if not hasattr(item, "text"):
            print(f"pressroom: {target}: {item.reason}", file=sys.stderr)
            return EXIT_USAGE
        result = clean(prepare(item))
        document, segments = result.document, result.segments
    else:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from pressroom.release import list_releases

        version = args.version or (list_releases(Path(args.releases)) or [None])[-1]
        release_dir = _release_dir(args, version) if version else None
        if release_dir is None:
            return EXIT_USAGE
        where = pc.field("doc_id") == args.doc
        docs = pq.read_table(release_dir / "documents.parquet", filters=where).to_pylist()
        if not docs:
            print(f"pressroom: no document {args.doc!r} in release {version} (hint: doc ids are paths "
                  "relative to the raw folder, without .txt)", file=sys.stderr)
            return EXIT_USAGE
        document = docs[0]
        segments = sorted(pq.read_table(release_dir / "segments.parquet", filters=where).to_pylist(),
                          key=lambda s: s["segment_index"])
    if args.json:
        print(json.dumps({"document": document, "segments": segments}, indent=2, default=str, ensure_ascii=False))
        return EXIT_OK
    print(f"{document['doc_id']}  {document['doc_type']}  title={document['title']!r}  site={document['site']!r}  "
          f"published={document['published']}")
    for s in segments:
        lines = f"{s['line_start']}" + (f"-{s['line_end']}" if s["line_end"] != s["line_start"] else "")
        fate = s["status"] + (f" ({s['reason']})" if s["reason"] else "")
        if s["duplicate_of"] is not None:
            fate += f" of #{s['duplicate_of']}"
        text = s["text"] if args.full else (s["text"][:90] + ("…" if len(s["text"]) > 90 else ""))
        print(f"#{s['segment_index']:<4} {lines:<9} {fate:<34} {text}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    _prefect_defaults()
    if not os.environ.get("PREFECT_API_URL"):
        print("pressroom: serve needs a Prefect server for its schedule: start one with "
              "'prefect server start' and set PREFECT_API_URL=http://127.0.0.1:4200/api", file=sys.stderr)
        return EXIT_USAGE
    from flows.build import build_release

    parameters = {"raw_dir": str(Path(args.raw).resolve()), "releases_dir": str(Path(args.releases).resolve()),
                  "publish_to": args.publish_to, "gold_dir": args.gold}
    build_release.serve(name=args.name, cron=args.cron, parameters=parameters, limit=1, global_limit=1,
                        description="Scheduled pressroom build: a new release only when inputs or code changed.")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="pressroom",
        description="Turn scraped transcripts and news text into a clean, versioned Parquet dataset.",
        epilog="example: pressroom build --raw raw --releases releases\n\n"
               "exit codes: 0 success (also 'up to date'), 1 validation failed (no release written),\n"
               "2 usage or input error, 3 another build holds the releases folder, 4 quality bars not met",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = main.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build a new release from raw texts",
                                epilog="example: pressroom build --raw raw --releases releases")
    build.add_argument("--raw", default="raw",
                       help="folder or fsspec URI of raw texts and record shards (.jsonl[.gz], .parquet) (default: raw)")
    build.add_argument("--releases", default="releases", help="releases folder (default: releases)")
    build.add_argument("--json", action="store_true", help="print the build summary as JSON (nothing else)")
    build.add_argument("--quiet", action="store_true", help="print nothing on success (for schedules and cron)")
    build.add_argument("--publish-to", metavar="URI", help="then publish the latest release there")
    build.add_argument("--gold", metavar="DIR", help="gold labels: quality figures in the run's artifact")
    scale = build.add_argument_group("throughput (see README, 'Throughput and Dask')")
    runner = scale.add_mutually_exclusive_group()
    runner.add_argument("--dask-address", metavar="tcp://HOST:PORT",
                        help="run the shard tasks on this Dask scheduler (its workers need PREFECT_API_URL)")
    runner.add_argument("--local-cluster", metavar="N", type=int,
                        help="run the shard tasks on a local Dask cluster of N worker processes")
    scale.add_argument("--shard-size", metavar="DOCS", type=int,
                       help="documents per shard task (default: about 8 tasks per pass, 50-1000 documents each)")
    scale.add_argument("--cache-dir", metavar="DIR", help="per-document cache (default: RELEASES/.cache)")
    scale.add_argument("--no-cache", action="store_true", help="rebuild every document, keep no cache")
    build.set_defaults(run=cmd_build)

    score = commands.add_parser("score", help="score a release against gold labels",
                                epilog="example: pressroom score --gold tests/gold/seeds --check")
    score.add_argument("version", nargs="?", help="release version (default: the latest)")
    score.add_argument("--releases", default="releases")
    score.add_argument("--gold", default="tests/gold/seeds", help="folder of gold JSON files")
    score.add_argument("--raw", default="raw", help="raw folder the gold line numbers refer to")
    score.add_argument("--json", action="store_true")
    score.add_argument("--check", action="store_true", help="exit 4 unless the seed bars are met")
    score.set_defaults(run=cmd_score)

    validate = commands.add_parser("validate", help="re-validate a published release",
                                   epilog="example: pressroom validate 1.0.0")
    validate.add_argument("version")
    validate.add_argument("--releases", default="releases")
    validate.set_defaults(run=cmd_validate)

    releases = commands.add_parser("releases", help="list the releases", epilog="example: pressroom releases")
    releases.add_argument("--releases", default="releases")
    releases.add_argument("--json", action="store_true")
    releases.set_defaults(run=cmd_releases)

    show = commands.add_parser("show", help="show a release's changelog (or manifest with --json)",
                               epilog="example: pressroom show 1.0.1")
    show.add_argument("version")
    show.add_argument("--releases", default="releases")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=cmd_show)

    diff = commands.add_parser("diff", help="what changed between two releases", epilog="example: pressroom diff 1.0.0 1.1.0")
    diff.add_argument("a")
    diff.add_argument("b")
    diff.add_argument("--releases", default="releases")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(run=cmd_diff)

    publish = commands.add_parser("publish", help="copy a release to a target, verified by checksum",
                                  epilog="example: pressroom publish 1.0.0 --to s3://bucket/pressroom")
    publish.add_argument("version")
    publish.add_argument("--to", required=True, metavar="URI", help="file://PATH, a folder, or s3://bucket/prefix")
    publish.add_argument("--releases", default="releases")
    publish.set_defaults(run=cmd_publish)

    export = commands.add_parser("export", help="export a release for another tool",
                                 epilog="example: pressroom export convokit 1.0.0 --out corpus/")
    export.add_argument("format", choices=["convokit"])
    export.add_argument("version")
    export.add_argument("--out", help="output folder (default: convokit-VERSION)")
    export.add_argument("--releases", default="releases")
    export.set_defaults(run=cmd_export)

    report = commands.add_parser("report", help="print the path of a release's report page (report.html)",
                                 epilog="example: pressroom report 1.0.0   or   pressroom report --gold tests/gold/seeds --out r.html")
    report.add_argument("version", nargs="?", help="release version (default: the latest)")
    report.add_argument("--releases", default="releases")
    report.add_argument("--gold", help="gold labels: render a page with quality figures (written to --out)")
    report.add_argument("--raw", default="raw", help="raw folder the gold refers to")
    report.add_argument("--out", help="write the page here instead")
    report.set_defaults(run=cmd_report)

    inspect = commands.add_parser("inspect", help="show why each line of a document was kept or removed",
                                  epilog="example: pressroom inspect 001_3bccebe78fcd7704   or   pressroom inspect raw/page.txt")
    inspect.add_argument("doc", help="a doc_id of a release, or the path of a raw file")
    inspect.add_argument("--version", help="release version (default: the latest)")
    inspect.add_argument("--releases", default="releases")
    inspect.add_argument("--full", action="store_true", help="print whole paragraphs")
    inspect.add_argument("--json", action="store_true")
    inspect.set_defaults(run=cmd_inspect)

    serve = commands.add_parser("serve", help="serve the build flow on a cron schedule (needs a Prefect server)",
                                epilog='example: pressroom serve --cron "0 6 * * *" --publish-to file:///srv/pressroom')
    serve.add_argument("--cron", default="0 6 * * *", help="cron schedule (default: daily at 06:00)")
    serve.add_argument("--name", default="pressroom-scheduled", help="deployment name")
    serve.add_argument("--raw", default="raw")
    serve.add_argument("--releases", default="releases")
    serve.add_argument("--publish-to", metavar="URI")
    serve.add_argument("--gold", metavar="DIR")
    serve.set_defaults(run=cmd_serve)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
