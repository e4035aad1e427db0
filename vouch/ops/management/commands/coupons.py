"""`vouch coupons add LIST FILE`: upload codes to a coupon list from the command line.

The file holds one code per line, or is a CSV whose first column is the code (a first
row headed `code` or `coupon` is skipped); blank lines are ignored. The upload goes through
`coupon_list_top_up`, so rewards waiting for a coupon in the list are given, oldest first,
in the same transaction as the codes are added."""

import csv
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

from vouch.audit.services import ActorRef
from vouch.campaigns.definition import SLUG_PATTERN
from vouch.ops.sites import command_site
from vouch.rewards.models import CouponList
from vouch.rewards.selectors import coupon_list_counts
from vouch.rewards.services import coupon_list_top_up

HEADERS = {"code", "codes", "coupon", "coupon_code", "coupon code"}
ACTOR = ActorRef(kind="import", label="cli")


@dataclass(frozen=True)
class CodeLine:
    line: int
    code: str


def read_codes(lines: Iterable[str]) -> list[CodeLine]:
    """The codes of a file with their line numbers, so a refused code can be found in the file.
    Only the first CSV column counts: exports from shop systems often carry a value or expiry
    beside the code."""
    found = []
    for number, row in enumerate(csv.reader(lines), start=1):
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if not found and number == 1 and cell.lower() in HEADERS:
            continue
        found.append(CodeLine(number, cell))
    return found


class Command(BaseCommand):
    help = "Coupon lists: `add LIST FILE` uploads codes (one a line, or a CSV with the code first)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="add")
        add = actions.add_parser("add", help="add the codes of FILE (or - for standard input) to LIST")
        add.add_argument("coupon_list", metavar="LIST", help="the coupon list's slug; created if new")
        add.add_argument("file")
        add.add_argument("--site", default="", help="the site's slug (needed when there are several)")

    def handle(self, *args, action, coupon_list, file, site, **options):
        if not re.match(SLUG_PATTERN, coupon_list):
            raise CommandError(
                f"'{coupon_list}' is not a coupon list slug (lower-case letters, digits, - and _)."
            )
        site_row = command_site(site)
        codes = self._read(file)
        if not codes:
            raise CommandError(f"{file} holds no codes.")
        is_new = not CouponList.objects.filter(site=site_row, slug=coupon_list).exists()
        result = coupon_list_top_up(
            site=site_row, slug=coupon_list, codes=[c.code for c in codes], actor=ACTOR
        )
        write = self.stdout.write
        if is_new:
            write(f"Created the coupon list '{coupon_list}'.")
        write(f"added: {len(result.added)}")
        write(f"already there: {len(result.already_there)}")
        for code in result.already_there:
            write(f"  {code}")
        write(f"invalid: {len(result.invalid)}")
        for problem in result.invalid:
            line = codes[problem["position"] - 1].line
            write(f"  line {line}: {problem['code']!r}: {problem['message']}")
        write(f"waiting rewards given: {len(result.rewards_given)}")
        remaining = coupon_list_counts(coupon_list=result.coupon_list)["remaining"]
        write(f"remaining in '{coupon_list}': {remaining}")

    @staticmethod
    def _read(file: str) -> list[CodeLine]:
        if file == "-":
            return read_codes(sys.stdin)
        try:
            with open(file, encoding="utf-8-sig", newline="") as lines:
                return read_codes(lines)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not UTF-8 text (byte {error.start}).") from error
