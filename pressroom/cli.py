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


def _prefect_defaults() -> None:
    """No analytics (there may be no internet); set before prefect is imported."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def cmd_build(args: argparse.Namespace) -> int:
    _prefect_defaults()
    from flows.build import ValidationFailed, build_release
    from pressroom.release import BuildLocked

    raw = Path(args.raw)
    if not raw.is_dir():
        print(f"pressroom: raw folder not found: {raw} (hint: pass --raw DIR)", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = build_release(raw_dir=str(raw), releases_dir=str(args.releases))
    except ValidationFailed as failure:
        print(f"pressroom: no release written, {failure.report}", file=sys.stderr)
        return EXIT_INVALID
    except BuildLocked as locked:
        print(f"pressroom: {locked}", file=sys.stderr)
        return EXIT_LOCKED
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(summary["message"])
    return EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    from pressroom.release import list_releases
    from pressroom.scoring import score_release

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


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="pressroom",
        description="Turn scraped transcripts and news text into a clean, versioned Parquet dataset.",
        epilog="example: pressroom build --raw raw --releases releases",
    )
    commands = main.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build a new release from raw texts",
                                epilog="example: pressroom build --raw raw --releases releases")
    build.add_argument("--raw", default="raw", help="folder of raw texts (default: raw)")
    build.add_argument("--releases", default="releases", help="releases folder (default: releases)")
    build.add_argument("--json", action="store_true", help="print the build summary as JSON")
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
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
