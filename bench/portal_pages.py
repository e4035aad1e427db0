"""Benchmark of the portal's pages at scale: server time per page against a floor.

    .venv/bin/python bench/portal_pages.py [--referrals N] [--requests N] [--sqlite PATH | --database-url URL]

Against a database holding a demo site of N referrals (default 1,000,000; built with
`vouch demo --referrals N` when the site is not there yet), an agent logged in with Django's
test Client requests each page N times (default 200). The time is the server side of the
request: middleware, view, queries, template, in this process. Each page's SQL statements
are captured once (an execute wrapper: SQL and parameters) and replayed with a plain cursor,
every row fetched, in the same run: the floor, what the database alone costs for that page.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SITE = "demo"
AGENT = "bench-agent"
TARGET_MS = 50  # p95 of the person page and the referral details page
TARGETED = ("person", "referral")
COLD_SAMPLE = 203  # first visits: three to warm the code, then up to 200 timed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrals", type=int, default=1_000_000, help="referrals in the demo site")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--sqlite",
        help="the SQLite file to use (built if it holds no demo site). "
        "Default: vouch-portal-<referrals>.sqlite3 in the temporary folder, kept between runs",
    )
    where.add_argument("--database-url", help="a PostgreSQL URL (the demo site is built in it if absent)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo site and the sampled ids")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE first on SQLite too")
    parser.add_argument("--only", help="comma-separated page names to run (see the table)")
    parser.add_argument(
        "--plans", action="store_true", help="print each page's statements that scan a table (query plans)"
    )
    args = parser.parse_args(argv)
    if args.requests < 10:
        parser.error("--requests must be at least 10")
    return args


def django_setup(args: argparse.Namespace) -> None:
    """The project's settings on the chosen database; migrate (the indexes come with it)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "vouch.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        path = Path(args.sqlite or Path(tempfile.gettempdir()) / f"vouch-portal-{args.referrals}.sqlite3")
        os.environ["VOUCH_DATA_DIR"] = str(path.resolve().parent)
    import django
    from django.conf import settings
    from django.core.management import call_command

    if not args.database_url:
        settings.DATABASES["default"]["NAME"] = path.resolve()  # before any connection opens
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALLOWED_HOSTS = ["testserver"]
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


# --- the site and the pages ------------------------------------------------------------------


def ensure_site(args: argparse.Namespace):
    from vouch.ops.demo_scale import demo_scale_load
    from vouch.sites.models import Site

    site = Site.objects.filter(slug=SITE).first()
    if site is None:
        print(f"building the demo site: {args.referrals:,} referrals (vouch demo --referrals)")
        started = time.monotonic()
        demo_scale_load(referrals=args.referrals, site_slug=SITE, seed=args.seed, out=lambda line: None)
        print(f"built in {time.monotonic() - started:.0f} s")
        site = Site.objects.get(slug=SITE)
    return site


def agent_client(site):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from vouch.sites.models import Membership

    user, _ = get_user_model().objects.get_or_create(username=AGENT, defaults={"email": "agent@example.com"})
    Membership.objects.update_or_create(site=site, user=user, defaults={"role": "agent"})
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Page:
    name: str
    what: str
    urls: list[str]  # one per request, cycled (the referral page samples many referrals)
    # Warm: every URL is requested once before timing, as the floor's replay is, so both read
    # the same cache. Cold: the first three warm the code only; each timed URL is a first visit.
    warm: bool = True


def pages(site, rng: random.Random) -> list[Page]:
    from vouch.ops.demo_scale import LEVI, MATEO, STEPHANIE
    from vouch.people.models import Person
    from vouch.portal.views import lookup
    from vouch.portal.views.lookup import PERSON_PAGE_ROWS
    from vouch.referrals.models import Referral

    people = dict(
        Person.objects.filter(site=site, email__in=[STEPHANIE, MATEO, LEVI]).values_list("email", "id")
    )
    referrals = Referral.objects.filter(site=site)
    top = referrals.order_by("-id").values_list("id", flat=True).first()
    sample: list[int] = []
    while len(sample) < 200 + COLD_SAMPLE:
        found = (
            referrals.filter(id__gte=rng.randrange(1, top + 1)).order_by("id").values_list("id", flat=True)
        )
        sample.extend(pk for pk in found[:1] if pk not in sample)
    sample, unseen = sample[:200], sample[200:]
    with_code = referrals.exclude(coupon_code="").filter(id__gte=top // 2).order_by("id").first()
    middle = referrals.filter(id__gte=top // 2).order_by("id").first()
    heavy = referrals.filter(advocate_id=people[STEPHANIE]).order_by("-created_at", "-id")
    stephanie_referrals = heavy.count()
    last = -(-stephanie_referrals // PERSON_PAGE_ROWS)
    deep = min(1000, last - 1)

    def older_link(number: int) -> str:
        """Page `number` as the portal links it: from the last row of the page before."""
        seek_from = heavy.values_list("id", flat=True)[(number - 1) * PERSON_PAGE_ROWS - 1]
        return f"/people/{people[STEPHANIE]}/?advocate_page={number}&advocate_after={seek_from}"

    return [
        Page("home", "snapshot per campaign and status, queue heads", ["/"]),
        Page("search-email", "exact email (redirects to the person)", [f"/search/?q={MATEO}"]),
        Page("search-prefix", "partial email, a prefix: 'stephanie@gan'", ["/search/?q=stephanie@gan"]),
        Page(
            "search-domain", "partial email from the @, many match: '@gmail.com'", ["/search/?q=@gmail.com"]
        ),
        Page(
            "search-domain-rare",
            "partial email from the @, one matches: '@ganleywestside.com'",
            ["/search/?q=@ganleywestside.com"],
        ),
        Page("search-order", "order number", [f"/search/?q={middle.order_number}"]),
        Page("search-coupon", "coupon code", [f"/search/?q={with_code.coupon_code}"]),
        Page(
            "person-heavy",
            f"Stephanie, {stephanie_referrals:,} referrals: the page as it opens (Referrals tab)",
            [f"/people/{people[STEPHANIE]}/"],
        ),
        Page("person-heavy-p2", "Stephanie, referrals page 2 (its Older link)", [older_link(2)]),
        Page("person-heavy-deep", f"Stephanie, referrals page {deep:,} (its Older link)", [older_link(deep)]),
        Page(
            "person-heavy-oldest",
            f"Stephanie, referrals page {last:,}, the oldest (its Oldest link)",
            [f"/people/{people[STEPHANIE]}/?advocate_page={last}&advocate_oldest=1"],
        ),
        Page(
            "typed-page-number",
            f"Stephanie, referrals page {deep:,} typed as a bare number: an offset (no link makes it)",
            [f"/people/{people[STEPHANIE]}/?advocate_page={deep}"],
        ),
        Page("person-typical", "Mateo, a few referrals", [f"/people/{people[MATEO]}/"]),
        Page("person-friend", "Levi, referred once", [f"/people/{people[LEVI]}/"]),
        *(
            Page(f"person-{who}-{tab}", f"{name}, the {label} tab", [f"/people/{people[email]}/?tab={tab}"])
            for who, name, email in (("heavy", "Stephanie", STEPHANIE), ("typical", "Mateo", MATEO))
            # (an older checkout, whose person page shows every tab at once, has none)
            for tab, (label, _) in getattr(lookup, "PERSON_TABS", {}).items()
            if tab != lookup.DEFAULT_TAB
        ),
        Page("why-heavy", "Stephanie's 'why no reward?' (200 newest)", [f"/people/{people[STEPHANIE]}/why/"]),
        Page("referral", "referral details, 200 sampled referrals", [f"/referrals/{pk}/" for pk in sample]),
        Page(
            "first-visit-referral",
            f"referral details, {COLD_SAMPLE - 3} other referrals, each requested once: a cold cache",
            [f"/referrals/{pk}/" for pk in unseen],
            warm=False,
        ),
        Page("queue-flagged", "referrals queue: flagged", ["/referrals/queue/?status=flagged"]),
        Page("queue-pending", "referrals queue: pending", ["/referrals/queue/?status=pending"]),
        Page("coupon-lists", "coupon lists with counts", ["/coupon-lists/"]),
        Page("coupon-list", "one coupon list", ["/coupon-lists/friend-15/"]),
    ]


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Result:
    page: Page
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU time (Python's side)
    floor: list[float] = field(default_factory=list)
    queries: int = 0
    status: int = 0
    statements: list = field(default_factory=list)

    @staticmethod
    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


class Recorder:
    """An execute wrapper keeping each statement with its parameters, for the replay."""

    def __init__(self):
        self.statements: list[tuple[str, object, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params, many))
        return execute(sql, params, many, context)


def measure(client, page: Page, requests: int) -> Result:
    from django.db import connection

    result = Result(page)
    timed = page.urls if page.warm else page.urls[3:]
    for url in page.urls if page.warm else page.urls[:3]:  # templates compiled, caches filled
        client.get(url)
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        response = client.get(page.urls[0])
    result.status = response.status_code
    result.queries = len(recorder.statements)
    clock, cpu = time.perf_counter, time.process_time
    for i in range(min(requests, len(timed)) if not page.warm else requests):
        url = timed[i % len(timed)]
        started, cpu_started = clock(), cpu()
        client.get(url)
        result.times.append(clock() - started)
        result.cpu.append(cpu() - cpu_started)
    result.floor = replay(recorder.statements, requests)
    result.statements = recorder.statements
    return result


def scans(statements: list) -> list[str]:
    """The statements whose plan reads a whole table (or a whole index of a site)."""
    from django.db import connection

    found = []
    with connection.cursor() as cursor:
        for sql, params, many in statements:
            if many or not sql.lstrip().upper().startswith("SELECT"):
                continue
            if connection.vendor == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                plan = [row[-1] for row in cursor.fetchall()]
                bad = [line for line in plan if line.startswith("SCAN") or "(site_id=?)" in line]
            else:
                cursor.execute("EXPLAIN " + sql, params)
                plan = [row[0] for row in cursor.fetchall()]
                bad = [line.strip() for line in plan if "Seq Scan" in line]
            if bad:
                found.append(f"{sql[:160]}…\n      " + "\n      ".join(bad))
    return found


def replay(statements: list, requests: int) -> list[float]:
    """The page's statements on a plain cursor, every row fetched: the database's share."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection  # the DB-API connection, no Django wrapper
    clock = time.perf_counter
    times = []
    sqlite = connection.vendor == "sqlite"
    prepared = [(_qmark(sql) if sqlite else sql, params, many) for sql, params, many in statements]
    for _ in range(requests):
        started = clock()
        cursor = raw.cursor()
        for sql, params, many in prepared:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params or ())
            if cursor.description:
                cursor.fetchall()
        cursor.close()
        raw.commit()
        times.append(clock() - started)
    return times


def _qmark(sql: str) -> str:
    """Django's SQLite cursor turns %s into ?; the raw sqlite3 cursor needs that done."""
    return sql.replace("%s", "?").replace("%%", "%")


# --- report -----------------------------------------------------------------------------------------


def report(results: list[Result], args, seconds: dict) -> None:
    print()
    header = (
        f"{'page':<20} {'st':>3} {'queries':>7}  {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  "
        f"{'floor p50':>9} {'floor p95':>9} {'floor p99':>9}  {'engine/floor p50':>16}  "
        f"{'cpu p50':>7} {'cpu p95':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        p50, p95, p99 = (r.pct(r.times, p) for p in (50, 95, 99))
        f50, f95, f99 = (r.pct(r.floor, p) for p in (50, 95, 99))
        target = ""
        if r.page.name.startswith(TARGETED):
            target = f"p95 ≤ {TARGET_MS} ms: {'PASS' if p95 <= TARGET_MS else 'FAIL'}"
        print(
            f"{r.page.name:<20} {r.status:>3} {r.queries:>7}  {p50:>7.2f} {p95:>7.2f} {p99:>7.2f}  "
            f"{f50:>9.2f} {f95:>9.2f} {f99:>9.2f}  {p50 / f50 if f50 else 0:>16.1f}  "
            f"{r.pct(r.cpu, 50):>7.2f} {r.pct(r.cpu, 95):>7.2f}  {target}"
        )
    print()
    for r in results:
        print(f"  {r.page.name:<20} {r.page.what}")
    print(f"\nmeasuring took {seconds['measure']:.0f} s, {args.requests} requests per page")


def main(argv=None) -> int:
    args = parse_args(argv)
    django_setup(args)
    from django.db import connection

    from vouch.referrals.models import Referral

    site = ensure_site(args)
    where = connection.settings_dict["NAME"]
    count = Referral.objects.filter(site=site).count()
    print(
        f"Vouch portal pages benchmark on {connection.vendor} ({where}): "
        f"site '{site.slug}', {count:,} referrals"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (other processes skew the timings)")
    if connection.vendor == "postgresql" or args.analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print("planner statistics: ANALYZE before measuring")
    else:
        print("planner statistics: none (the product never runs ANALYZE on SQLite; try --analyze)")
    client = agent_client(site)
    chosen = pages(site, random.Random(args.seed))
    if args.only:
        names = set(args.only.split(","))
        chosen = [p for p in chosen if p.name in names]
    started = time.monotonic()
    results = []
    for page in chosen:
        results.append(measure(client, page, args.requests))
        r = results[-1]
        print(
            f"  {page.name:<20} {r.status} p95 {r.pct(r.times, 95):.2f} ms, "
            f"floor p95 {r.pct(r.floor, 95):.2f} ms",
            flush=True,
        )
    report(results, args, {"measure": time.monotonic() - started})
    if args.plans:
        print("\n-- statements whose plan scans --")
        for r in results:
            for line in scans(r.statements):
                print(f"  {r.page.name}: {line}")
    failed = [r for r in results if r.status not in (200, 302)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
