"""python -m cli backfill: a rule over blob versions already in storage (a dry run unless --run); and
replay-dead-letters: the events Event Grid could not deliver, through the live paths.

Progress is the plain line the other commands print, redrawn in place on a terminal (while the listings run, then
while versions are handled): no progress-bar library is added to the app's runtime requirements (the Functions
package ships them) for one line of text.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from shared.clients.process.services import Services
from shared.core.backfill.backfill import BackfillReport, rerun, rerun_label, rerun_outcomes
from shared.core.common.errors import OperationError
from shared.flows.backfill.backfill import Pace, backfill
from shared.flows.dead_letters.replay import replay_dead_letters
from shared.operations.backfill.backfill import MAX_WORKERS, max_active, window, workers

WORKERS = 4
"""Versions at once by default: a submission mostly waits on storage and Azure ML, and a few at a time keep a
backfill of thousands in minutes without crowding the rule's other triggers."""
STOPPED_EXIT = 3
"""Stopped before the end (the cap of active runs reached, with --no-wait), or versions left in hand (claimed by
another owner, or by a backfill that was killed): run it again to continue (after the time the summary gives)."""


def add_parser(commands: Any, positive: Callable[[str], int]) -> None:
    command = commands.add_parser(
        "backfill", help="run a rule over the blob versions whose Last-Modified is in [--since, --until): a dry "
                         "run unless --run; a version that already ran is never run twice")
    command.add_argument("--rule", required=True)
    command.add_argument("--since", required=True, metavar="TIME", help="ISO 8601, included (UTC if no zone)")
    command.add_argument("--until", required=True, metavar="TIME", help="ISO 8601, excluded (UTC if no zone)")
    mode = command.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", dest="submit", action="store_false", help="list what would run; send nothing "
                                                                          "(the default)")
    mode.add_argument("--run", dest="submit", action="store_true", help="start the runs")
    command.add_argument("--rerun-completed", metavar="LABEL", type=_label,
                         help="also run again, on purpose, each version that already ran: a manual run of its own "
                              "per LABEL and version (the same LABEL again continues, never repeats)")
    command.add_argument("--rerun-outcomes", metavar="WORDS", type=_outcomes,
                         help="with --rerun-completed, run again only the versions whose run ended so: some of "
                              "the status page's outcomes, comma-separated (e.g. rejected,failed)")
    command.add_argument("--max-active", type=_number(max_active, "--max-active"), metavar="N",
                         help="at most N of the rule's runs active while it submits (below max_active_runs)")
    command.add_argument("--no-wait", action="store_true",
                         help="at the cap of active runs, stop (exit 3) instead of waiting for a slot")
    command.add_argument("--workers", type=_number(workers, "--workers"), default=WORKERS, metavar="N",
                         help=f"versions handled at once, 1 to {MAX_WORKERS} ({WORKERS})")
    command.add_argument("--progress-every", type=positive, default=50, metavar="N",
                         help="off a terminal, report progress every N versions (50)")
    command.set_defaults(run=_backfill, submit=False)  # a dry run unless --run (store_false alone defaults to True)


def add_replay_parser(commands: Any) -> None:
    command = commands.add_parser(
        "replay-dead-letters", help="handle the events Event Grid dead-lettered as live ones (exactly once), then "
                                    "move their blobs under replayed/; exit 1 if any blob stays")
    command.add_argument("--dry-run", action="store_true", help="read and check them; handle and move nothing")
    command.set_defaults(run=_replay)


def _replay(services: Services, args: argparse.Namespace) -> int:
    report = replay_dead_letters(services, dry_run=args.dry_run)
    print(report.summary(), flush=True)
    for name, reason in report.failed.items():
        print(f"  stays: {name}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def _backfill(services: Services, args: argparse.Namespace) -> int:
    shown = Progress(sys.stderr, args.progress_every)
    pace = Pace(max_active=args.max_active, wait=None if args.no_wait else shown.wait, progress=shown.processed,
                listed=shown.listed, workers=args.workers)
    report, candidates = backfill(services, rule=args.rule, window=window(args.since, args.until,
                                                                          names=("--since", "--until")),
                                  run=args.submit, pace=pace,
                                  rerun=rerun(args.rerun_completed, args.rerun_outcomes,
                                              names=("--rerun-completed", "--rerun-outcomes")))
    if not args.submit:
        for candidate in candidates:
            if candidate.standing.would_run:
                shown.say(candidate.line(), sys.stdout)
    shown.say(report.summary(), sys.stdout)
    for error in report.errors:
        shown.say(f"  failed for now: {error}")
    return 1 if report.errors else STOPPED_EXIT if report.stopped or report.in_hand else 0


class Progress:
    """A backfill's progress on ``stream``: on a terminal one line redrawn in place, which any other output ends
    first (so nothing lands on it); elsewhere a plain line every ``every`` listing pages or versions (and at the
    end of the versions)."""

    def __init__(self, stream: TextIO, every: int, sleep: Callable[[float], None] = time.sleep):
        self.stream, self.every, self.sleep = stream, every, sleep
        self.live = stream.isatty()
        self.drawn = 0
        """The width of the unfinished line on a terminal (0: none)."""

    def listed(self, report: BackfillReport) -> None:
        text = (f"  listing: {report.listing_pages} pages read, {report.blobs_listed} blobs, {report.in_window} "
                "versions in the window")
        if self.live or report.listing_pages % self.every == 0:
            self._show(text)

    def processed(self, done: int, total: int) -> None:
        if self.live:
            self._show(f"  processed {done}/{total} ({done * 100 // total}%)")
        elif done % self.every == 0 or done == total:
            self._show(f"  processed {done}/{total}")

    def wait(self, seconds: float) -> None:
        self.say(f"  the cap of active runs is reached: counting again in {seconds:g} s")
        self.sleep(seconds)

    def say(self, text: str, stream: TextIO | None = None) -> None:
        """``text`` on a line of its own (on ``stream``, stderr by default), the unfinished progress line ended
        first."""
        if self.drawn:
            print(file=self.stream, flush=True)
            self.drawn = 0
        print(text, file=stream or self.stream, flush=True)

    def _show(self, text: str) -> None:
        if not self.live:
            print(text, file=self.stream, flush=True)
            return
        print(f"\r{text.ljust(self.drawn)}", end="", file=self.stream, flush=True)  # spaces cover a longer line
        self.drawn = len(text)


def _label(text: str) -> str:
    try:
        return rerun_label(text)
    except OperationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _outcomes(text: str) -> list[str]:
    words = [word.strip() for word in text.split(",")]
    try:
        rerun_outcomes(words, "--rerun-outcomes")
    except OperationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return words


def _number(check: Callable[[Any, str], int], flag: str) -> Callable[[str], int]:
    """An argparse type: ``check`` of the whole number given, its error (naming ``flag``) a bad argument's."""
    def parse(text: str) -> int:
        try:
            return check(int(text) if text.isascii() and text.isdigit() else text, flag)
        except OperationError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse
