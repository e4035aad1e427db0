"""Benchmark of the main walk: N purchase events through `event_ingest`, against a floor.

    .venv/bin/python bench/ingest.py [--events N] [--database-url URL] [--profile] [--show-queries]

The engine run times `vouch.events.services.event_ingest` once per event (one
transaction each, as the API calls it). The floor then writes, with plain SQL on
`connection.cursor()` and one transaction per event, a copy of exactly the rows the
engine wrote for each event (found by following foreign keys from the engine's new
rows), plus the coupon update. Both runs are timed the same way. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import graphlib
import ipaddress
import math
import os
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CAMPAIGN = {
    "slug": "bench",
    "name": "Bench referral",
    "pipeline": "purchase_with_fraud_review",
    "friend_offer": {"coupon_list": "friend-codes", "expires_in_days": 30, "description": "15% off"},
    "incentives": {
        "advocate": {"kind": "coupon", "coupon_list": "advocate-codes", "value": "20.00", "currency": "USD"},
    },
    "delays": {"auto_approval_hours": 0},
}

# Share of each kind of purchase in the mix; "unknown" takes the rest (20 %).
MIX = {
    "coupon": 0.50,  # attributed by the friend's coupon code → approved, advocate reward given
    "visitor": 0.10,  # attributed by the visitor uuid of the friend's claim → approved
    "email": 0.10,  # attributed by the friend's email on a claimed offer → approved
    "self_email": 0.05,  # the advocate's own email with +tag or dots → blocked (self-referral)
    "same_ip": 0.05,  # a friend buying from the advocate's IP → flagged (self-referral by IP)
}
EXPECTED = {
    "coupon": "approved",
    "visitor": "approved",
    "email": "approved",
    "self_email": "blocked",
    "same_ip": "flagged",
    "unknown": None,
}
LABELS = {
    "coupon": "coupon code",
    "visitor": "visitor uuid",
    "email": "friend email",
    "self_email": "self-referral email (block)",
    "same_ip": "same IP (flag)",
    "unknown": "unattributed",
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="purchase events to ingest (default 2000)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL; its tables are migrated and flushed. Default: a fresh SQLite file",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the engine run, print hot spots")
    parser.add_argument(
        "--show-queries", action="store_true", help="print the SQL of one coupon-attributed purchase"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE after setup on SQLite too (always done on PostgreSQL, as autovacuum would)",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.events < 10:
        parser.error("--events must be at least 10")
    return args


def django_setup(args: argparse.Namespace) -> str:
    """Point the project's settings at a fresh database, then django.setup() and migrate."""
    tmp = tempfile.mkdtemp(prefix="vouch-bench-")
    os.environ["VOUCH_DATA_DIR"] = tmp
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "vouch.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if connection.vendor != "sqlite":
        call_command("flush", verbosity=0, interactive=False)
    return tmp


# --- plan and setup ---------------------------------------------------------------------------


@dataclass
class Planned:
    kind: str
    data: dict
    advocate: int = 0


@dataclass
class Setup:
    site: object
    events: list[Planned]
    probes: dict[str, Planned]
    advocates: int
    offers: int
    seconds: float


def _ip(base: str, n: int) -> str:
    return str(ipaddress.IPv4Address(base) + n)


def _advocate_email(a: int) -> str:
    return f"adv.{a}@gmail.com" if a % 2 == 0 else f"advocate{a}@example.com"


def _alias(email: str, k: int) -> str:
    """The advocate's own address in another form: dots dropped (gmail) and/or a +tag."""
    local, domain = email.split("@")
    if domain == "gmail.com":
        local = local.replace(".", "")
        return f"{local}@{domain}" if k == 0 else f"{local}+b{k}@{domain}"
    return f"{local}+b{k}@{domain}"


def setup(n: int, rng: random.Random, rules: list[dict] | None = None) -> Setup:
    """Site, campaign, stocked coupon lists, advocates with shares and the friends' claimed
    offers, all through the services; returns the purchase events to ingest, shuffled.

    `rules` (program rules in the campaign's JSON form) are added to the campaign, so
    bench/rules.py can time the same mix with and without them."""
    from vouch.audit.services import ActorRef
    from vouch.campaigns.definition import CampaignDefinition
    from vouch.campaigns.services import campaign_create
    from vouch.rewards.services import coupon_list_top_up
    from vouch.shares.services import offer_claim, share_create, visit_record
    from vouch.sites.services import site_create

    started = time.perf_counter()
    staff = ActorRef(kind="staff", label="bench setup")
    api = ActorRef(kind="api", label="bench setup")
    counts = {kind: round(share * n) for kind, share in MIX.items()}
    counts["unknown"] = n - sum(counts.values())
    probe_kinds = list(EXPECTED)
    needs_offer = sum(counts[k] for k in EXPECTED if EXPECTED[k]) + len(probe_kinds) - 1
    stock = max(n, needs_offer)

    site = site_create(slug="bench", name="Bench")
    definition = CampaignDefinition.model_validate({**CAMPAIGN, "rules": rules} if rules else CAMPAIGN)
    campaign = campaign_create(site=site, definition=definition, actor=staff)
    coupon_list_top_up(
        site=site, slug="friend-codes", codes=[f"FRIEND{i:07}" for i in range(stock)], actor=staff
    )
    coupon_list_top_up(
        site=site, slug="advocate-codes", codes=[f"ADV{i:07}" for i in range(stock)], actor=staff
    )

    n_advocates = max(1, n // 10)
    shares = []
    for a in range(n_advocates):
        shares.append(
            share_create(
                campaign=campaign,
                advocate_email=_advocate_email(a),
                channel="link",
                actor=api,
                first_name=f"Advocate{a}",
                ip=_ip("10.0.0.1", a),
                visitor_uuid=str(uuid.UUID(int=rng.getrandbits(128))),
            )
        )

    plan = [kind for kind in EXPECTED for _ in range(counts[kind])]
    rng.shuffle(plan)
    events: list[Planned] = []
    probes: dict[str, Planned] = {}
    offers = 0
    aliases: Counter[int] = Counter()
    for i, kind in enumerate([*plan, *probe_kinds]):
        order = f"ORDER-{i:07}" if i < n else f"PROBE-{kind}"
        visitor = str(uuid.UUID(int=rng.getrandbits(128)))
        ip = _ip("172.16.0.1", i)
        data = {
            "type": "purchase",
            "id": order,
            "subtotal": f"{rng.randint(1000, 20000) / 100:.2f}",
            "currency": "USD",
            "coupon_codes": [],
            "ip": ip,
            "visitor_uuid": visitor,
            "fields": {},
        }
        a = offers % n_advocates
        if kind == "unknown":
            data["email"] = f"customer{i}@example.net"
            data["first_name"] = f"Customer{i}"
            if i % 3 == 0:
                data["coupon_codes"] = ["WELCOME10"]
        else:
            share = shares[a]
            if kind == "self_email":
                email = _alias(_advocate_email(a), aliases[a])
                aliases[a] += 1
            else:
                email = f"friend{i}@example.org"
            if offers < n_advocates:  # one click per share link, so referrals see "clicked"
                visit_record(share=share, visitor_uuid=visitor, ip=ip, user_agent="bench")
            offer = offer_claim(share=share, email=email, actor=api, visitor_uuid=visitor, ip=ip)
            offers += 1
            data["email"] = email
            if kind in ("coupon", "self_email", "same_ip"):
                data["coupon_codes"] = [offer.coupon_code]
            if kind == "same_ip":
                data["ip"] = share.ip
            if kind == "email":
                del data["visitor_uuid"]
        planned = Planned(kind=kind, data=data, advocate=a)
        if i < n:
            events.append(planned)
        else:
            probes[kind] = planned
    return Setup(
        site=site,
        events=events,
        probes=probes,
        advocates=n_advocates,
        offers=offers,
        seconds=time.perf_counter() - started,
    )


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Timing:
    name: str
    latencies: list[float] = field(default_factory=list)
    db: QueryTimer = field(default_factory=lambda: QueryTimer())

    @property
    def total(self) -> float:
        return sum(self.latencies)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.total if self.total else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def row(self) -> str:
        return (
            f"{self.name:<8} {len(self.latencies):>6}  {self.rate:>8.1f}  {self.percentile(50):>6.2f}  "
            f"{self.percentile(99):>6.2f}  {statistics.fmean(self.latencies) * 1000:>7.2f}  "
            f"{self.total:>7.2f}"
        )


# Rows the database writes itself (vouch.people.tallies' triggers), on the floor's inserts too.
TRIGGER_WRITTEN = {"people_tallychange"}


def tables():
    from django.apps import apps

    return [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]


def snapshot() -> dict:
    """Row count and highest integer primary key of every table; given coupons."""
    from django.db.models import IntegerField, Max

    from vouch.rewards.models import Coupon

    state = {}
    for model in tables():
        rows = model._base_manager.all()
        top = rows.aggregate(top=Max("pk"))["top"] if isinstance(model._meta.pk, IntegerField) else None
        state[model] = (rows.count(), top or 0)
    state["coupons given"] = Coupon._base_manager.filter(given_at__isnull=False).count()
    return state


def delta(before: dict, after: dict) -> dict:
    return {key: after[key][0] - before[key][0] for key in before if key != "coupons given"}


class QueryTimer:
    """An execute wrapper: time spent in the database driver, per kind of statement."""

    def __init__(self):
        self.seconds = 0.0
        self.commit_seconds = 0.0
        self.by_statement: dict[str, list] = defaultdict(lambda: [0, 0.0])

    @contextmanager
    def installed(self):
        """Time every cursor.execute and every COMMIT of the default connection."""
        from django.db import connection

        commit = connection._commit

        def timed_commit():
            started = time.perf_counter()
            try:
                return commit()
            finally:
                self.commit_seconds += time.perf_counter() - started

        connection._commit = timed_commit
        try:
            with connection.execute_wrapper(self):
                yield self
        finally:
            del connection._commit

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - started
            self.seconds += spent
            entry = self.by_statement[_statement(sql)]
            entry[0] += 1
            entry[1] += spent


def run_engine(site, events: list[Planned], profile: cProfile.Profile | None) -> Timing:
    from django.urls import reverse

    from vouch.audit.services import ActorRef
    from vouch.events.services import event_ingest

    # A served process has loaded its URLconf before the first event; here the first reward
    # email's unsubscribe link would load it (about a second) inside the timed run.
    reverse("emails:unsubscribe", kwargs={"token": "warm-up"})
    actor = ActorRef(kind="api", label="bench")
    timing = Timing("engine")
    clock = time.perf_counter
    with timing.db.installed():
        if profile:
            profile.enable()
        for planned in events:
            started = clock()
            event_ingest(site=site, data=planned.data, actor=actor)
            timing.latencies.append(clock() - started)
        if profile:
            profile.disable()
    return timing


def outcomes(events: list[Planned]) -> tuple[Counter, list[str]]:
    """What became of each event, against what the plan expected."""
    from vouch.events.models import Event

    found = dict(
        Event.objects.filter(external_id__in=[p.data["id"] for p in events]).values_list(
            "external_id", "referral__status"
        )
    )
    tally: Counter = Counter()
    wrong = []
    for planned in events:
        status = found.get(planned.data["id"], "missing")
        tally[status or "no referral"] += 1
        if status != EXPECTED[planned.kind]:
            wrong.append(
                f"{planned.data['id']} ({planned.kind}): {status}, expected {EXPECTED[planned.kind]}"
            )
    return tally, wrong


# --- the floor: the same rows by plain SQL ----------------------------------------------------------


@dataclass
class Ref:
    """A foreign key to a row written earlier in the same floor transaction."""

    model: object
    pk: int


@dataclass
class Insert:
    sql: str
    model: object
    rows: list[list]  # parameter values, some of them Ref
    old_pks: list[int]
    returning: bool


@dataclass
class CouponUpdate:
    pk: int
    given_at: object


class Components:
    """Union-find over the engine's new rows: rows that point at each other belong to one event."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, key):
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def _unique_sets(model) -> list[list]:
    from django.db.models import UniqueConstraint

    meta = model._meta
    sets = [[f] for f in meta.concrete_fields if f.unique and not f.primary_key]
    sets += [[meta.get_field(name) for name in names] for names in meta.unique_together]
    sets += [
        [meta.get_field(name) for name in c.fields]
        for c in meta.constraints
        if isinstance(c, UniqueConstraint) and c.fields
    ]
    return sets


def _fields_to_vary(model, new_models: set) -> set[str]:
    """Text fields to make unique in a copy, so copies of the engine's rows do not
    collide with its unique constraints (an event's id, a person's email)."""
    from django.db.models import CharField, TextField

    from vouch.rewards.models import Coupon

    vary = set()
    for fields in _unique_sets(model):
        if any(f.is_relation and f.related_model in new_models for f in fields):
            continue  # unique under a parent written in the same transaction
        texts = [
            f for f in fields if isinstance(f, CharField | TextField) and not f.is_relation and not f.choices
        ]
        if texts:
            vary.add(texts[-1].attname)
        elif not any(f.is_relation and f.related_model is Coupon for f in fields):
            print(f"  warning: copies of {model._meta.label} may break its unique constraint {fields}")
    return vary


def build_floor(before: dict, after: dict, event_model) -> tuple[list[list], list[int]]:
    """Per engine event, the statements that write the same rows: the engine's new rows
    grouped by event, in foreign-key order, with fresh keys and unique values."""
    from django.db import connection

    from vouch.rewards.models import Coupon

    new_models = [
        m
        for m in tables()
        if after[m][1] > before[m][1]
        and after[m][0] > before[m][0]
        and m._meta.db_table not in TRIGGER_WRITTEN
    ]
    rows: dict = {}
    for model in new_models:
        names = [f.attname for f in model._meta.concrete_fields]
        rows[model] = {
            r[model._meta.pk.attname]: r
            for r in model._base_manager.filter(pk__gt=before[model][1], pk__lte=after[model][1]).values(
                *names
            )
        }
    by_name = {m._meta.model_name: m for m in new_models}
    given = set(
        Coupon._base_manager.filter(
            pk__in=[
                r[f.attname]
                for m in new_models
                for f in m._meta.concrete_fields
                if f.is_relation and f.related_model is Coupon
                for r in rows[m].values()
                if r[f.attname]
            ]
        ).values_list("pk", flat=True)
    )

    groups = Components()
    for model in new_models:
        relations = [f for f in model._meta.concrete_fields if f.is_relation and f.related_model in rows]
        audit_like = {"object_type", "object_id"} <= {f.attname for f in model._meta.concrete_fields}
        for pk, row in rows[model].items():
            groups.find((model, pk))
            for f in relations:
                if row[f.attname] in rows[f.related_model]:
                    groups.union((model, pk), (f.related_model, row[f.attname]))
            if audit_like and row["object_type"] in by_name:
                target = by_name[row["object_type"]]
                try:
                    target_pk = int(row["object_id"])
                except ValueError:
                    continue
                if target_pk in rows[target]:
                    groups.union((model, pk), (target, target_pk))

    members: dict = defaultdict(list)
    for model in new_models:
        for pk in rows[model]:
            members[groups.find((model, pk))].append((model, pk))
    with_event = {root: keys for root, keys in members.items() if any(m is event_model for m, _ in keys)}
    event_roots = sorted(with_event, key=lambda r: min(pk for m, pk in with_event[r] if m is event_model))
    orphans = [keys for root, keys in members.items() if root not in with_event]
    for i, keys in enumerate(orphans):  # rows tied to no event: spread them over the events
        with_event[event_roots[i % len(event_roots)]].extend(keys)

    sorter = graphlib.TopologicalSorter(
        {
            m: {f.related_model for f in m._meta.concrete_fields if f.is_relation and f.related_model in rows}
            - {m}
            for m in new_models
        }
    )
    order = list(sorter.static_order())
    referenced = {
        f.related_model
        for m in new_models
        for f in m._meta.concrete_fields
        if f.is_relation and f.related_model in rows
    }
    vary = {m: _fields_to_vary(m, set(new_models)) for m in new_models}
    quote = connection.ops.quote_name
    floor_coupons = _floor_coupons(len(given))
    given_at = Coupon._meta.get_field("given_at").get_db_prep_save(_now(), connection)
    serial = 0
    plans = []
    for root in event_roots:
        statements: list = []
        coupon_map = {}
        by_model = defaultdict(list)
        for model, pk in with_event[root]:
            by_model[model].append(pk)
        for model in order:
            if model not in by_model:
                continue
            fields = [f for f in model._meta.concrete_fields if not f.primary_key]
            values = []
            for pk in sorted(by_model[model]):
                row, params = rows[model][pk], []
                serial += 1
                for f in fields:
                    value = row[f.attname]
                    if f.is_relation and f.related_model in rows and value in rows[f.related_model]:
                        params.append(Ref(f.related_model, value))
                        continue
                    if f.is_relation and f.related_model is Coupon and value in given:
                        if value not in coupon_map:
                            coupon_map[value] = floor_coupons.pop()
                            statements.insert(0, CouponUpdate(coupon_map[value], given_at))
                        value = coupon_map[value]
                    if f.attname in vary[model] and value:
                        value = f"F{serial}~{value}"[: f.max_length or None]
                    params.append(f.get_db_prep_save(value, connection))
                values.append(params)
            columns = ", ".join(quote(f.column) for f in fields)
            marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
            returning = model in referenced
            sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES " + ", ".join(
                [marks] * len(values)
            )
            if returning:
                sql += f" RETURNING {quote(model._meta.pk.column)}"
            statements.append(Insert(sql, model, values, sorted(by_model[model]), returning))
        plans.append(statements)
    return plans, order


def _now():
    from django.utils import timezone

    return timezone.now()


def _floor_coupons(count: int) -> list[int]:
    """Free codes in a list of their own, for the floor's coupon updates (setup, not timed)."""
    from vouch.audit.services import ActorRef
    from vouch.rewards.models import Coupon
    from vouch.rewards.services import coupon_list_top_up
    from vouch.sites.models import Site

    if count == 0:
        return []
    site = Site.objects.get(slug="bench")
    result = coupon_list_top_up(
        site=site,
        slug="floor-codes",
        codes=[f"FLOOR{i:07}" for i in range(count)],
        actor=ActorRef(kind="staff", label="bench setup"),
    )
    pks = list(
        Coupon.objects.filter(coupon_list=result.coupon_list).order_by("-pk").values_list("pk", flat=True)
    )
    return pks


def run_floor(plans: list[list]) -> Timing:
    from django.db import connection, transaction

    from vouch.rewards.models import Coupon

    timing = Timing("raw SQL")
    clock = time.perf_counter

    meta = Coupon._meta
    update = "UPDATE {} SET {} = %s WHERE {} = %s AND {} IS NULL".format(
        *map(connection.ops.quote_name, (meta.db_table, "given_at", meta.pk.column, "given_at"))
    )
    with timing.db.installed():
        for statements in plans:
            started = clock()
            with transaction.atomic(), connection.cursor() as cursor:
                ids = {}
                for st in statements:
                    if isinstance(st, CouponUpdate):
                        cursor.execute(update, [st.given_at, st.pk])
                        if cursor.rowcount != 1:
                            raise RuntimeError(f"floor coupon {st.pk} was not free")
                        continue
                    params = [
                        ids[(v.model, v.pk)] if isinstance(v, Ref) else v for row in st.rows for v in row
                    ]
                    cursor.execute(st.sql, params)
                    if st.returning:
                        for old, (new,) in zip(st.old_pks, cursor.fetchall(), strict=True):
                            ids[(st.model, old)] = new
            timing.latencies.append(clock() - started)
    return timing


# --- queries per event ------------------------------------------------------------------------------

_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?([a-z0-9_]+)"?', re.IGNORECASE)


def _statement(sql: str) -> str:
    verb = sql.split(None, 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return "SAVEPOINT/RELEASE"
    if verb in ("BEGIN", "COMMIT"):
        return verb
    table = _TABLE.search(sql)
    return f"{verb} {table.group(1) if table else '?'}"


def probe_queries(site, probes: dict[str, Planned], show: bool) -> dict[str, tuple[int, Counter]]:
    """Queries of one more event of each kind, captured (not part of the timed runs)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from vouch.audit.services import ActorRef
    from vouch.events.models import Event
    from vouch.events.services import event_ingest

    actor = ActorRef(kind="api", label="bench")
    counted = {}
    for kind, planned in probes.items():
        with CaptureQueriesContext(connection) as captured:
            event_ingest(site=site, data=planned.data, actor=actor)
        status = (
            Event.objects.filter(site=site, external_id=planned.data["id"])
            .values_list("referral__status", flat=True)
            .first()
        )
        if status != EXPECTED[kind]:
            print(f"  warning: the {LABELS[kind]} probe ended {status}, expected {EXPECTED[kind]}")
        statements = Counter(_statement(q["sql"]) for q in captured.captured_queries)
        counted[kind] = (len(captured.captured_queries), statements)
        if show and kind == "coupon":
            print(f"\n-- the {len(captured)} queries of one coupon-attributed purchase --")
            for i, q in enumerate(captured.captured_queries, 1):
                print(f"{i:>3}. {q['sql'][:300]}")
    return counted


# --- report ---------------------------------------------------------------------------------------


def _name(model) -> str:
    return re.sub(r"([^aeiou])ys$", r"\1ies", str(model._meta.verbose_name_plural))  # "audit entrys"


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = django_setup(args)
    try:
        return bench(args)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(args: argparse.Namespace) -> int:
    from django.db import connection

    from vouch.events.models import Event

    n = args.events
    where = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        where = f"{connection.settings_dict.get('HOST')}:{connection.settings_dict.get('PORT')}/{where}"
    print(f"Vouch ingest benchmark: {n} purchase events on {connection.vendor} ({where})")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (other processes skew the timings)")

    prepared = setup(n, random.Random(args.seed))
    mix = Counter(p.kind for p in prepared.events)
    print(
        f"setup (not timed): {prepared.advocates} advocates with shares, {prepared.offers} claimed offers, "
        f"{prepared.seconds:.1f} s"
    )
    print("mix: " + ", ".join(f"{mix[k]} {LABELS[k]}" for k in EXPECTED))
    if connection.vendor == "postgresql" or args.analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print("planner statistics: ANALYZE after setup")
    else:
        print("planner statistics: none (the product never runs ANALYZE on SQLite; try --analyze)")

    before = snapshot()
    profile = cProfile.Profile() if args.profile else None
    engine = run_engine(prepared.site, prepared.events, profile)
    after = snapshot()
    engine_rows = {m: d for m, d in delta(before, after).items() if d}
    given = after["coupons given"] - before["coupons given"]
    tally, wrong = outcomes(prepared.events)
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in tally.most_common()), end="")
    print("  (as planned)" if not wrong else f"  ({len(wrong)} NOT as planned, e.g. {wrong[:3]})")
    probes = probe_queries(prepared.site, prepared.probes, args.show_queries)

    plans, _ = build_floor(before, after, Event)
    if len(plans) != n:
        print(f"  warning: the engine's new rows form {len(plans)} event groups, not {n}")
    floor_before = snapshot()
    floor = run_floor(plans)
    floor_after = snapshot()
    floor_rows = {m: d for m, d in delta(floor_before, floor_after).items() if d}
    floor_given = floor_after["coupons given"] - floor_before["coupons given"]

    print()
    if args.profile:
        print("(engine timed under cProfile: its figures are inflated)")
    print(
        f"{'backend':<8} {'events':>6}  {'events/s':>8}  {'p50 ms':>6}  {'p99 ms':>6}  "
        f"{'mean ms':>7}  {'total s':>7}"
    )
    print(engine.row())
    print(floor.row())
    print(f"ratio (floor/engine throughput): {floor.rate / engine.rate:.1f}")
    order = sorted(engine_rows, key=lambda m: (-engine_rows[m], _name(m)))
    written = ", ".join(f"{_name(m)} {engine_rows[m] / n:.2f}" for m in order)
    print(f"rows written per event: {written}; coupons updated {given / n:.2f}")
    same = engine_rows == floor_rows and given == floor_given
    extra = "" if same else f"  (floor wrote {dict((_name(m), d) for m, d in floor_rows.items())})"
    print(f"raw SQL wrote the same rows per table: {'yes' if same else 'NO'}{extra}")
    statements = sum(len(p) for p in plans) / max(1, len(plans))
    print(f"raw SQL statements per event: {statements:.1f} (one multi-row INSERT per table, coupon UPDATE)")
    for timing in (engine, floor):
        per = 1000 / len(timing.latencies)
        db = timing.db
        in_driver = (db.seconds + db.commit_seconds) * per
        print(
            f"{timing.name} time in the database driver per event: {in_driver:.2f} ms "
            f"(execute {db.seconds * per:.2f} + commit {db.commit_seconds * per:.2f}) of "
            f"{timing.total * per:.2f} ms; the rest is Python"
        )
    total, kinds = probes["coupon"]
    print(f"queries per attributed purchase: {total} (coupon code; CaptureQueriesContext on one event)")
    print("  by kind of event: " + ", ".join(f"{LABELS[k]} {probes[k][0]}" for k in probes))
    print(
        "  coupon-attributed purchase, by statement: " + ", ".join(f"{s} {c}" for s, c in kinds.most_common())
    )

    print("\n-- engine run: statements by time in the database driver (execute only) --")
    print(f"{'statement':<40} {'per event':>9}  {'ms/event':>8}  {'µs each':>8}")
    by_time = sorted(engine.db.by_statement.items(), key=lambda kv: -kv[1][1])
    for statement, (count, seconds) in by_time[: 25 if profile else 12]:
        each = seconds * 1e6 / count
        print(f"{statement:<40} {count / n:>9.2f}  {seconds * 1000 / n:>8.3f}  {each:>8.0f}")

    if profile:
        print("\n-- engine run under cProfile: top 25 by cumulative time --")
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.strip_dirs().sort_stats("cumulative").print_stats(25)
        print("-- the same, Vouch's own functions only --")
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(rf"{os.sep}vouch{os.sep}", 25)
    return 0 if not wrong and same else 1


if __name__ == "__main__":
    sys.exit(main())
