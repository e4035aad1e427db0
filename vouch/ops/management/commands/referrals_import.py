import json

from django.core.management.base import BaseCommand, CommandError

from vouch.audit.services import ActorRef
from vouch.errors import VouchError
from vouch.referrals.csv_import import check_utf8
from vouch.referrals.imports import referrals_import
from vouch.sites.models import Site

PROGRESS_EVERY = 10_000


class Command(BaseCommand):
    help = (
        "Bulk status update of referrals from a CSV (status and one of referralkey_ID, "
        "referralkey_externalid, referralkey_email). A dry run unless --apply."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--apply", action="store_true", help="change the referrals (default: dry run)")
        parser.add_argument("--site", default="", help="the site's slug (needed when there are several)")

    def handle(self, *args, file, apply, site, **options):
        site_row = _site(site)
        try:
            with open(file, "rb") as raw:
                check_utf8(raw)
            with open(file, encoding="utf-8-sig", newline="") as lines:
                report = referrals_import(
                    site=site_row,
                    lines=lines,
                    actor=ActorRef(kind="staff", label="vouch referrals_import (command line)"),
                    apply=apply,
                    progress=self._progress(),
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except VouchError as error:
            raise CommandError(error.message) from error
        for row in report.errors:
            self.stdout.write(f"line {row.line}: {row.reason} ({row.code})")
        self.stdout.write(
            json.dumps({"batch_id": report.batch_id, "dry_run": report.dry_run, **report.summary})
        )

    def _progress(self):
        done = {"reported": 0}

        def report(rows: int) -> None:
            if rows // PROGRESS_EVERY > done["reported"] // PROGRESS_EVERY:
                self.stderr.write(f"{rows:,} rows read")
            done["reported"] = rows

        return report


def _site(slug: str) -> Site:
    if slug:
        site = Site.objects.filter(slug=slug).first()
        if site is None:
            raise CommandError(f"No site '{slug}'.")
        return site
    sites = list(Site.objects.order_by("slug")[:2])
    if len(sites) != 1:
        raise CommandError("Say which site with --site <slug>." if sites else "There is no site yet.")
    return sites[0]
