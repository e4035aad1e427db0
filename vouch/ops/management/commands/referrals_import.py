import json

from django.core.management.base import BaseCommand, CommandError

from vouch.audit.services import ActorRef
from vouch.errors import VouchError
from vouch.ops.progress import Progress
from vouch.ops.sites import command_site
from vouch.referrals.csv_import import check_utf8
from vouch.referrals.import_undo import import_batch_undo
from vouch.referrals.imports import referrals_import
from vouch.sites.models import Site

ACTOR = ActorRef(kind="staff", label="vouch referrals_import (command line)")


class Command(BaseCommand):
    help = (
        "Bulk status update of referrals from a CSV (status and one of referralkey_ID, "
        "referralkey_externalid, referralkey_email). A dry run unless --apply. "
        "--undo BATCH moves back every referral an applied import changed, or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")
        parser.add_argument("--apply", action="store_true", help="change the referrals (default: dry run)")
        parser.add_argument("--undo", metavar="BATCH", help="undo the applied import with this batch id")
        parser.add_argument("--site", default="", help="the site's slug (needed when there are several)")

    def handle(self, *args, file, apply, undo, site, **options):
        if bool(file) == bool(undo):
            raise CommandError("Give either a FILE to import or --undo BATCH.")
        site_row = command_site(site)
        if undo:
            return self._undo(site_row, undo)
        try:
            with open(file, "rb") as raw:
                total = check_utf8(raw)
            progress = Progress(self.stderr._out, total=max(total - 1, 0))
            with open(file, encoding="utf-8-sig", newline="") as lines:
                report = referrals_import(
                    site=site_row, lines=lines, actor=ACTOR, apply=apply, progress=progress
                )
            progress.finish()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except VouchError as error:
            raise CommandError(error.message) from error
        for row in report.errors:
            self.stdout.write(f"line {row.line}: {row.reason} ({row.code})")
        self.stdout.write(
            json.dumps({"batch_id": report.batch_id, "dry_run": report.dry_run, **report.summary})
        )

    def _undo(self, site: Site, batch_id: str) -> None:
        try:
            batch = import_batch_undo(site=site, batch_id=batch_id, actor=ACTOR)
        except VouchError as error:
            for detail in error.details or []:
                self.stderr.write(
                    f"line {detail['line']} (referral {detail['referral']}): {detail['reason']}"
                )
            raise CommandError(error.message) from error
        self.stdout.write(json.dumps({"batch_id": batch.batch_id, "undone": batch.changes.count()}))
