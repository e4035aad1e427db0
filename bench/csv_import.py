"""Benchmark of the bulk status update by CSV: a dry run and an apply of N rows, against a floor.

    .venv/bin/python bench/csv_import.py [--rows N] [--database-url URL] [--profile]

Setup (not timed) writes N pending referrals straight into the tables (bulk inserts, no engine)
and a CSV of N rows keyed by `referralkey_ID`: 80 % approve a referral, and the rest are
unchanged rows, refused transitions, unknown keys, unknown statuses and malformed lines. The
dry run and the apply are timed as `vouch referrals_import` runs them (UTF-8 check, then
`referrals_import`). The floor then makes the same status changes with plain SQL on
`connection.cursor()` in transactions of the same size: per changed row the guarded `UPDATE`,
the history row and the audit entry, and nothing else. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ingest import django_setup  # noqa: E402

CAMPAIGN = {
    "slug": "bench",
    "name": "Bench referral",
    "pipeline": "purchase_with_fraud_review",
    "friend_offer": {"coupon_list": "friend-codes", "expires_in_days": 30, "description": "15% off"},
    "delays": {"auto_approval_hours": 48},
}
BULK = 5000
# Of every 100 rows: what the row asks, and the outcome the import must report.
PLAN = (
    (80, "approve", "changed"),
    (5, "unchanged", "unchanged"),
    (5, "refused", "transition_not_allowed"),
    (5, "unknown key", "unknown_key"),
    (3, "unknown status", "unknown_status"),
    (2, "malformed", "malformed_row"),
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="CSV rows (default 100,000)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL; its tables are migrated and flushed. Default: a fresh SQLite file",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the apply, print hot spots")
    args = parser.parse_args(argv)
    if args.rows < 100:
        parser.error("--rows must be at least 100")
    return args


def setup(n: int):
    """One site and campaign through the services; N friends, advocates and pending referrals,
    each with its history, by bulk inserts."""
    from vouch import clock
    from vouch.audit.services import ActorRef
    from vouch.campaigns.definition import CampaignDefinition
    from vouch.campaigns.services import campaign_create
    from vouch.people.models import Person
    from vouch.referrals.models import Referral, StatusChange
    from vouch.sites.services import site_create

    site = site_create(slug="bench", name="Bench")
    campaign = campaign_create(
        site=site,
        definition=CampaignDefinition.model_validate(CAMPAIGN),
        actor=ActorRef(kind="staff", label="bench setup"),
    )
    now = clock.now()
    advocates = Person.objects.bulk_create(
        [_person(site, f"advocate{a}@example.com", now) for a in range(max(1, n // 10))], batch_size=BULK
    )
    friends = Person.objects.bulk_create(
        [_person(site, f"friend{i}@example.com", now) for i in range(n)], batch_size=BULK
    )
    referrals = Referral.objects.bulk_create(
        [
            Referral(
                site=site,
                campaign=campaign,
                advocate=advocates[i % len(advocates)],
                friend=friend,
                status="pending",
                external_id=f"CRM-{i}",
                attributed_by="manual",
                created_at=now,
                status_changed_at=now,
            )
            for i, friend in enumerate(friends)
        ],
        batch_size=BULK,
    )
    StatusChange.objects.bulk_create(
        [
            StatusChange(
                site=site, referral=r, to_status=status, from_status=old, actor="engine", created_at=now
            )
            for r in referrals
            for old, status in (("", "in_progress"), ("in_progress", "pending"))
        ],
        batch_size=BULK,
    )
    return site, [r.pk for r in referrals]


def _person(site, email: str, now):
    from vouch.people.models import Person

    return Person(site=site, email=email, email_canonical=email, created_at=now)


def kind_of(i: int) -> str:
    bucket, total = i % 100, 0
    for share, kind, _ in PLAN:
        total += share
        if bucket < total:
            return kind
    raise AssertionError(bucket)


def csv_line(kind: str, i: int, pk: int) -> str:
    return {
        "approve": f"{pk},approved,Bench approval\n",
        "unchanged": f"{pk},Pending,\n",
        "refused": f"{pk},blocked,\n",
        "unknown key": f"{9_000_000_000 + i},approved,\n",
        "unknown status": f"{pk},paid,\n",
        "malformed": f"{pk},approved,one,too many\n",
    }[kind]


def write_csv(path: Path, ids: list[int]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("referralkey_ID,status,note\n")
        for i, pk in enumerate(ids):
            out.write(csv_line(kind_of(i), i, pk))


class Statements:
    """Times every SQL statement by verb and table (an execute wrapper), and commits."""

    def __init__(self):
        self.seconds: Counter = Counter()
        self.count: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = _statement(sql)
            self.seconds[key] += time.perf_counter() - started
            self.count[key] += 1

    def table(self, changes: int, total: float) -> list[str]:
        lines = [
            "| statement | count | per change | seconds | share of apply |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key, seconds in self.seconds.most_common():
            lines.append(
                f"| {key} | {self.count[key]:,} | {self.count[key] / changes:.2f} | {seconds:.2f} "
                f"| {seconds / total:.0%} |"
            )
        sql = sum(self.seconds.values())
        lines.append(f"| (all SQL) | {sum(self.count.values()):,} | | {sql:.2f} | {sql / total:.0%} |")
        lines.append(f"| (Python: ORM, services) | | | {total - sql:.2f} | {(total - sql) / total:.0%} |")
        return lines


def _statement(sql: str) -> str:
    words = sql.split(None, 1)
    verb = words[0].upper() if words else "?"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


def run_import(site, path: Path, *, apply: bool, profile: cProfile.Profile | None = None):
    from vouch.audit.services import ActorRef
    from vouch.referrals.csv_import import check_utf8
    from vouch.referrals.imports import referrals_import

    started = time.perf_counter()
    with open(path, "rb") as raw:
        check_utf8(raw)
    with open(path, encoding="utf-8-sig", newline="") as lines:
        if profile:
            profile.enable()
        report = referrals_import(
            site=site, lines=lines, actor=ActorRef(kind="staff", label="bench"), apply=apply
        )
        if profile:
            profile.disable()
    return report, time.perf_counter() - started


def check(report, n: int) -> list[str]:
    """The outcome each row should have, by the plan; the differences, if any."""
    got = Counter(row.code or row.outcome for row in report.rows)
    want = Counter()
    for i in range(n):
        kind = kind_of(i)
        want[next(outcome for _, k, outcome in PLAN if k == kind)] += 1
    if report.dry_run:
        want["will_change"] = want.pop("changed")
    return [f"{k}: {got[k]} (planned {want[k]})" for k in sorted(set(got) | set(want)) if got[k] != want[k]]


def run_floor(site, changed: list[tuple[int, str, str]], chunk: int) -> float:
    """The same changes with plain SQL: per row a guarded UPDATE, a history row and an audit
    entry, `chunk` rows per transaction (as the import)."""
    from django.db import connection, transaction

    from vouch import clock
    from vouch.audit.models import AuditEntry
    from vouch.referrals.models import Referral, StatusChange

    referral, history, audit = (m._meta.db_table for m in (Referral, StatusChange, AuditEntry))
    update = (
        f"UPDATE {referral} SET status = %s, status_changed_at = %s, approved_at = %s"
        " WHERE id = %s AND status = %s"
    )
    insert_history = (
        f"INSERT INTO {history} (site_id, referral_id, from_status, to_status, actor, actor_label,"
        " reason, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    )
    insert_audit = (
        f"INSERT INTO {audit} (site_id, actor, actor_label, action, object_type, object_id, before,"
        " after, ip, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    started = time.perf_counter()
    for start in range(0, len(changed), chunk):
        with transaction.atomic(), connection.cursor() as cursor:
            for pk, old, new in changed[start : start + chunk]:
                now = clock.now()
                cursor.execute(update, [new, now, now, pk, old])
                assert cursor.rowcount == 1
                cursor.execute(
                    insert_history, [site.pk, pk, old, new, "import", "floor", "Bench approval", now]
                )
                cursor.execute(
                    insert_audit,
                    [
                        site.pk,
                        "import",
                        "floor",
                        "referral.approve",
                        "referral",
                        str(pk),
                        f'{{"status": "{old}"}}',
                        f'{{"status": "{new}", "reason": "Bench approval"}}',
                        "",
                        now,
                    ],
                )
    return time.perf_counter() - started


def bench(args: argparse.Namespace, tmp: str) -> int:
    from django.db import connection

    from vouch.referrals.imports import APPLY_CHUNK, CHANGED, CHUNK
    from vouch.referrals.models import Referral

    n = args.rows
    print(
        f"Vouch CSV import benchmark: {n:,} rows on {connection.vendor} ({connection.settings_dict['NAME']})"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (other processes skew the timings)")
    started = time.perf_counter()
    site, ids = setup(n)
    path = Path(tmp) / "referrals.csv"
    write_csv(path, ids)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"setup (not timed): {n:,} pending referrals and the CSV, {time.perf_counter() - started:.1f} s")
    print("mix: " + ", ".join(f"{share} % {kind}" for share, kind, _ in PLAN))

    dry, dry_s = run_import(site, path, apply=False)
    profile = cProfile.Profile() if args.profile else None
    statements = Statements()
    with connection.execute_wrapper(statements):
        applied, apply_s = run_import(site, path, apply=True, profile=profile)
    wrong = check(dry, n) + check(applied, n)
    changed = [(row.referral, row.from_status, row.status) for row in applied.rows if row.outcome == CHANGED]

    Referral.objects.filter(pk__in=[pk for pk, _, _ in changed]).update(status="pending", approved_at=None)
    floor_s = run_floor(site, changed, APPLY_CHUNK)

    print()
    print("| run | rows | seconds | rows/s | changes/s | chunk |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| dry run (UTF-8 check + outcomes) | {n:,} | {dry_s:.1f} | {n / dry_s:,.0f} | | {CHUNK} |")
    apply_rate, floor_rate, chunk = len(changed) / apply_s, len(changed) / floor_s, APPLY_CHUNK
    print(f"| apply | {n:,} | {apply_s:.1f} | {n / apply_s:,.0f} | {apply_rate:,.0f} | {chunk} |")
    print(
        f"| floor: raw SQL, same changes | {len(changed):,} | {floor_s:.1f} | | {floor_rate:,.0f} | {chunk} |"
    )
    print(f"dry run + apply: {dry_s + apply_s:.1f} s; apply / floor: {apply_s / floor_s:.1f}×")
    print("outcomes as planned" if not wrong else "outcomes NOT as planned: " + "; ".join(wrong))
    print()
    print("Where the apply's time goes (SQL timed by an execute wrapper, which adds a little):")
    print("\n".join(statements.table(len(changed), apply_s)))
    if profile:
        stats = pstats.Stats(profile).sort_stats("cumulative")
        stats.print_stats(30)
    return 0 if not wrong else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = django_setup(args)
    try:
        return bench(args, tmp)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
