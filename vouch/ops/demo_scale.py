"""`vouch demo --referrals N`: a demo site at scale, for benchmarks and trying the portal
on a realistic volume (a million referrals takes minutes, not hours).

The small demo (`vouch.ops.demo`) walks every row through the services. At scale that is
far too slow (~15 ms a purchase), so this module writes the rows the services would have
written straight into the tables, in chunks, with `executemany`: people, shares, visits,
offers and their coupons, purchase events, referrals with their status history (a walk
through the campaign's pipeline, `vouch.pipelines.decide` approving every step), fraud
results, rule decisions, rewards with their history and reasons, emails, timed steps and
audit entries. Campaigns, coupon lists, staff logins and the API key go through the
services as usual.

Deterministic for a seed. Two people are known, for the benchmarks and the tests:
Stephanie (stephanie@ganleywestside.com, about 5 % of all referrals as advocate, the first
one to Levi) and Mateo (mateo.typical@gmail.com, a handful).
"""

import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction

from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.services import campaign_create
from vouch.emails.models import Email
from vouch.events.models import Event
from vouch.fraud.checks import CHECK_LABELS, CHECKS
from vouch.fraud.models import FraudResult
from vouch.ops.demo import FIRST_NAMES, LAST_NAMES, SPRING, VIP, DemoResult, _staff_users, demo_counts
from vouch.people.models import Person
from vouch.people.tallies import tallies_recount
from vouch.pipelines import ENGINE, STAFF, Pipeline, decide, pipeline_named
from vouch.referrals.models import Referral, StatusChange, TimedStep
from vouch.rewards.models import Coupon, CouponList, Reward, RewardStatusChange
from vouch.rules.models import Decision
from vouch.shares.models import Offer, Share, Visit
from vouch.sites.models import Site
from vouch.sites.services import api_key_create, site_create

STEPHANIE, LEVI, MATEO = "stephanie@ganleywestside.com", "levi@yahoo.com", "mateo.typical@gmail.com"
HEAVY_SHARE = 0.05  # of all referrals, Stephanie's
MATEO_REFERRALS = 6
CHUNK = 5000  # referrals per transaction
YEARS = 2  # referrals spread over this many years up to now
FREE_STOCK = 2000  # codes left in each coupon list

SUMMER = {
    **SPRING,
    "slug": "summer-referral",
    "name": "Summer referral",
    "delays": {"auto_approval_hours": 24 * 14},
}
CAMPAIGNS = ((SPRING, 50), (VIP, 30), (SUMMER, 20))
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me")
PATHS = (("coupon_code", 55), ("visitor_uuid", 15), ("email", 15), ("ip", 15))
CHANNELS = (("email", 40), ("link", 30), ("sms", 15), ("social", 15))
# How a referral moves on from a status: the weight of each next status, and how often it
# stays where it is (staff have not acted yet). Statuses not named here: even weights.
NEXT_WEIGHTS = {"pending": 90, "flagged": 6, "blocked": 4, "approved": 80, "voided": 10, "unblocked": 40}
STAYS = {"flagged": 0.5, "blocked": 0.6, "pending": 0.3}
STAFF_REASONS = {
    "approved": "Checked the order with the customer; legitimate.",
    "voided": "Order cancelled by the customer before shipping.",
    "flagged": "Chargeback opened on the friend's order; holding the reward.",
    "unblocked": "Legitimate customer: verified by support.",
}
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def coupon_code(prefix: str, n: int) -> str:
    """A code that looks random and is unique for each n (an odd multiplier is a bijection)."""
    x = (n * 0x9E3779B1 + 0x5BD1E995) % (1 << 40)
    chars = []
    for _ in range(8):
        x, digit = divmod(x, 32)
        chars.append(CODE_ALPHABET[digit])
    return f"{prefix}-{''.join(chars)}"


def _weighted(rng: random.Random, choices) -> str:
    names, weights = zip(*choices, strict=True)
    return rng.choices(names, weights=weights)[0]


class Progress:
    """rows done / total, rate and ETA on one stderr line."""

    def __init__(self, *, total: int, label: str, out=None):
        self.total, self.label, self.out = total, label, out or sys.stderr
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        spent = time.monotonic() - self.started
        rate = done / spent if spent else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        width = 30
        filled = int(width * done / self.total) if self.total else width
        self.out.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} "
            f"{rate:,.0f}/s ETA {int(eta) // 60}m{int(eta) % 60:02d}s "
        )
        self.out.flush()

    def finish(self) -> float:
        spent = time.monotonic() - self.started
        self.out.write("\n")
        self.out.flush()
        return spent


class Rows:
    """Rows for one table, written with one `executemany` each flush, with ids we hand out."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.attname for f in self.fields]
        self.defaults = {f.attname: _default(f) for f in self.fields}
        to_json, to_datetime = _converters()
        self.converters = [
            (i, to_json if isinstance(f, models.JSONField) else to_datetime)
            for i, f in enumerate(self.fields)
            if isinstance(f, models.JSONField | models.DateTimeField)
        ]
        self.next_id = (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1
        self.pending: list[tuple] = []
        self.written = 0
        quote = connection.ops.quote_name
        table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in self.fields)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(self.fields))})"
        self.copy = f"COPY {table} ({columns}) FROM STDIN"

    def add(self, **values) -> int:
        """Queue one row; its id is returned (given here, so rows can point at each other)."""
        pk = values.setdefault("id", self.next_id)
        self.next_id = max(self.next_id, pk + 1)
        row = [values.get(name, default) for name, default in self.defaults.items()]
        for i, convert in self.converters:
            if row[i] is not None:
                row[i] = convert(row[i])
        self.pending.append(row)
        return pk

    def flush(self, cursor) -> None:
        """One `executemany`; on PostgreSQL a COPY (executemany there is a round trip a row)."""
        if not self.pending:
            return
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(self.copy) as copy:
                for row in self.pending:
                    copy.write_row(row)
        else:
            cursor.executemany(self.sql, self.pending)
        self.written += len(self.pending)
        self.pending = []


def _converters() -> tuple[Callable, Callable]:
    """To the database's form: JSON as Django adapts it; datetimes as naive UTC text on SQLite
    (what Django stores there; every value here is in UTC), unchanged elsewhere."""
    ops = connection.ops

    def to_json(value):
        return ops.adapt_json_value(value, None)

    def to_datetime(value: datetime):
        return value.replace(tzinfo=None).isoformat(" ")

    return to_json, (to_datetime if connection.vendor == "sqlite" else lambda value: value)


def _default(f: models.Field):
    if f.has_default():
        return f.get_default()
    if f.null:
        return None
    if isinstance(f, models.CharField | models.TextField):
        return ""
    return None


@dataclass
class CampaignInfo:
    campaign_id: int
    slug: str
    name: str
    pipeline: Pipeline
    delay: timedelta
    incentives: dict
    coupon_lists: dict[str, CouponList]


@dataclass
class Step:
    source: str
    target: str
    actor: str
    reason: str
    at: datetime
    verb: str = ""


@dataclass
class ScaleLoader:
    """One load: the seeded random source, the tables' rows, and the values handed out."""

    site: Site
    seed: int
    referrals: int
    campaigns: list[CampaignInfo]
    now: datetime = field(default_factory=clock.now)

    def __post_init__(self):
        self._stocked: set[int] = set()
        self.rng = random.Random(self.seed)
        self.tables = {
            m: Rows(m)
            for m in (
                Person,
                Share,
                Visit,
                Coupon,
                Offer,
                Event,
                Referral,
                StatusChange,
                TimedStep,
                FraudResult,
                Decision,
                Reward,
                RewardStatusChange,
                Email,
                AuditEntry,
            )
        }
        self.start = self.now - timedelta(days=365 * YEARS)
        self.link_shares: dict[tuple[int, int, str], int] = {}
        self.coupons_used: dict[int, int] = {}
        self.advocate_ids: list[int] = []
        self.advocate_emails: dict[int, str] = {}
        self.advocate_campaign: dict[int, CampaignInfo] = {}

    # --- set-up ------------------------------------------------------------------

    def add(self, model, **values) -> int:
        return self.tables[model].add(site_id=self.site.pk, **values)

    def person(self, *, email: str, first: str, last: str, at: datetime) -> int:
        return self.add(
            Person,
            email=email,
            email_canonical=email,
            first_name=first,
            last_name=last,
            created_at=at,
        )

    def someone(self, n: int, *, at: datetime) -> tuple[int, str]:
        first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // 7) % len(LAST_NAMES)]
        email = f"{first}.{last}{n}@{DOMAINS[n % len(DOMAINS)]}".lower()
        return self.person(email=email, first=first, last=last, at=at), email

    def advocates(self) -> None:
        """Advocates first (a fraction of the referrals), each bound to one campaign."""
        count = max(20, self.referrals // 6)
        for i in range(count):
            at = self.start + timedelta(seconds=self.rng.randrange(3600 * 24 * 30))
            if i == 0:
                pk, email = self.person(email=STEPHANIE, first="Stephanie", last="", at=at), STEPHANIE
            elif i == 1:
                pk, email = self.person(email=MATEO, first="Mateo", last="Garcia", at=at), MATEO
            else:
                pk, email = self.someone(i, at=at)
            self.advocate_ids.append(pk)
            self.advocate_emails[pk] = email
            info = self.campaigns[0] if i < 2 else self._pick_campaign()
            self.advocate_campaign[pk] = info

    def _pick_campaign(self) -> CampaignInfo:
        weights = [w for _, w in CAMPAIGNS]
        return self.rng.choices(self.campaigns, weights=weights)[0]

    def advocate_for(self, i: int) -> int:
        """Stephanie for ~5 % of referrals, Mateo for a few, the rest a long tail."""
        if i == 0 or self.rng.random() < HEAVY_SHARE:
            return self.advocate_ids[0]
        if i % max(1, self.referrals // MATEO_REFERRALS) == 1:
            return self.advocate_ids[1]
        others = len(self.advocate_ids) - 2
        return self.advocate_ids[2 + int(others * self.rng.random() ** 3)]

    def code(self, info: CampaignInfo, slug: str) -> tuple[int, str]:
        """The next code of a coupon list, given now."""
        coupon_list = info.coupon_lists[slug]
        n = self.coupons_used.get(coupon_list.pk, 0)
        self.coupons_used[coupon_list.pk] = n + 1
        return coupon_list.pk, coupon_code(slug.split("-")[0].upper() + slug.split("-")[-1], n)

    # --- one referral --------------------------------------------------------------

    def walk(self, info: CampaignInfo, *, created: datetime) -> list[Step]:
        """The referral's status history: opened by the API, then each step one the
        pipeline allows (checked with `decide`), timed steps taken when their delay passed."""
        pipeline, rng = info.pipeline, self.rng
        at = created
        steps = [Step("", pipeline.initial, "api", "", at)]
        history = [pipeline.initial]
        current = pipeline.initial
        while current not in pipeline.final:
            moves = [t for t in pipeline.transitions if t.source == current and not t.revert]
            engine_now = [t for t in moves if t.actors == frozenset({ENGINE})]
            timed = pipeline.timed_from(current)
            if engine_now:
                moves = engine_now
            elif timed and info.delay == timedelta(0):
                moves = [t for t in moves if t.target == timed[0].target and ENGINE in t.actors]
            elif not moves or rng.random() < STAYS.get(current, 0.4):
                break
            weights = [NEXT_WEIGHTS.get(t.target, 10) for t in moves]
            move = rng.choices(moves, weights=weights)[0]
            actor = ENGINE if ENGINE in move.actors else STAFF
            step_at = at + timedelta(seconds=rng.randrange(1, 3600 * 24 * 3))
            if timed and move.target == timed[0].target and actor == ENGINE:
                step_at = at + info.delay
                reason = timed[0].reason
            elif actor == ENGINE:
                step_at = at + timedelta(milliseconds=rng.randrange(5, 50))
                reason = "Fraud checks passed." if move.target == "pending" else ""
            else:
                reason = STAFF_REASONS.get(move.target, "Reviewed by support.")
            if step_at > self.now:
                break  # not yet: the referral waits here (with its timed step, if any)
            verdict = decide(pipeline, current=current, target=move.target, actor=actor, history=history)
            if not verdict.allowed:  # the pipeline's guard refused: staff would have stopped here
                break
            steps.append(Step(current, move.target, actor, reason, step_at, move.verb))
            history.append(move.target)
            at, current = step_at, move.target
        return steps

    def referral(self, i: int, *, friend_email: str = "", friend_first: str = "") -> None:
        rng = self.rng
        created = self.start + timedelta(seconds=(self.now - self.start).total_seconds() * i / self.referrals)
        created += timedelta(seconds=rng.randrange(0, 600))
        created = min(created, self.now - timedelta(minutes=1))
        advocate = self.advocate_for(i)
        info = self.advocate_campaign[advocate]
        path = "coupon_code" if i == 0 else _weighted(rng, PATHS)
        channel = "email" if i == 0 else _weighted(rng, CHANNELS)
        if friend_email:
            friend = self.person(email=friend_email, first=friend_first, last="", at=created)
        else:
            friend, friend_email = self.someone(len(self.advocate_ids) + i, at=created)
        shared = created - timedelta(hours=rng.randrange(1, 24 * 7))
        share = self.share(info, advocate=advocate, channel=channel, friend_email=friend_email, at=shared)
        visitor = f"{rng.getrandbits(128):032x}"
        ip = f"{rng.choice((24, 68, 73, 98))}.{rng.randrange(256)}.{rng.randrange(256)}"
        ip += f".{rng.randrange(1, 255)}"
        clicked = path != "email"
        if clicked:
            self.add(
                Visit,
                share_id=share,
                visitor_uuid=visitor,
                ip=ip,
                user_agent="Mozilla/5.0",
                created_at=shared,
            )
        offer, code = None, ""
        if path in ("coupon_code", "email", "visitor_uuid"):
            offer, code = self.offer(info, share=share, friend=friend, visitor=visitor, ip=ip, at=shared)
        order = f"DO-{100000 + i}"
        subtotal = Decimal(rng.randrange(1900, 32000)) / 100
        steps = self.walk(info, created=created)
        status = steps[-1].target
        referral = self.add(
            Referral,
            campaign_id=info.campaign_id,
            advocate_id=advocate,
            friend_id=friend,
            share_id=share,
            offer_id=offer,
            status=status,
            clicked=clicked,
            order_number=order,
            subtotal=subtotal,
            currency="USD",
            coupon_code=code if path == "coupon_code" else "",
            attributed_by=path,
            created_at=created,
            status_changed_at=steps[-1].at,
            approved_at=next((s.at for s in steps if s.target == "approved"), None),
        )
        event = self.add(
            Event,
            kind="purchase",
            external_id=order,
            body_hash=f"{rng.getrandbits(256):064x}",
            payload={"type": "purchase", "id": order, "email": friend_email, "subtotal": str(subtotal)},
            person_id=friend,
            referral_id=referral,
            subtotal=subtotal,
            currency="USD",
            coupon_codes=[code] if path == "coupon_code" else [],
            ip=ip,
            visitor_uuid=visitor if path != "email" else "",
            occurred_at=created,
            created_at=created,
        )
        self.audit("api", "event.purchase", "event", event, {"id": order, "referral": referral}, created)
        steps[0].reason = f"Purchase {order} attributed by {path.replace('_', ' ')}."
        for step in steps:
            self.add(
                StatusChange,
                referral_id=referral,
                from_status=step.source,
                to_status=step.target,
                actor=step.actor,
                actor_label={"api": "demo", ENGINE: "referral engine"}.get(step.actor, "agent"),
                reason=step.reason,
                created_at=step.at,
            )
            if step.actor == STAFF:
                before, after = {"status": step.source}, {"status": step.target, "reason": step.reason}
                self.audit(STAFF, f"referral.{step.verb}", "referral", referral, after, step.at, before)
        self.fraud(referral, steps=steps, at=created)
        self.timed_step(info, referral=referral, steps=steps)
        for role, incentive in info.incentives.items():
            person = advocate if role == "advocate" else friend
            to = self.advocate_emails[advocate] if role == "advocate" else friend_email
            self.reward(
                info,
                role=role,
                incentive=incentive,
                referral=referral,
                person=person,
                to=to,
                steps=steps,
                event=event,
            )
        if channel == "email":
            self.email(info, person=friend, to=friend_email, referral=None, type="friend_share", at=shared)

    def share(
        self, info: CampaignInfo, *, advocate: int, channel: str, friend_email: str, at: datetime
    ) -> int:
        """Email shares name one friend; an advocate's link, sms and social shares are reused."""
        key = (advocate, info.campaign_id, channel)
        if channel != "email" and key in self.link_shares:
            return self.link_shares[key]
        pk = self.tables[Share].next_id
        self.add(
            Share,
            campaign_id=info.campaign_id,
            advocate_id=advocate,
            channel=channel,
            code=f"S{pk:09d}",
            friend_email=friend_email if channel == "email" else "",
            ip="10.0.0.1",
            visitor_uuid=f"{self.rng.getrandbits(128):032x}",
            created_at=at,
        )
        self.audit("api", "share.create", "share", pk, {"campaign": info.slug, "channel": channel}, at)
        if channel != "email":
            self.link_shares[key] = pk
        return pk

    def offer(self, info: CampaignInfo, *, share: int, friend: int, visitor: str, ip: str, at: datetime):
        list_id, code = self.code(info, "friend-15")
        coupon = self.add(Coupon, coupon_list_id=list_id, code=code, given_at=at, created_at=self.start)
        pk = self.add(
            Offer,
            campaign_id=info.campaign_id,
            share_id=share,
            friend_id=friend,
            coupon_code=code,
            coupon_id=coupon,
            visitor_uuid=visitor,
            ip=ip,
            expires_at=at + timedelta(days=30),
            created_at=at,
        )
        self.audit("api", "offer.claim", "offer", pk, {"coupon_code": code}, at)
        return pk, code

    def fraud(self, referral: int, *, steps: list[Step], at: datetime) -> None:
        after_checks = steps[1].target if len(steps) > 1 else ""
        hit = {"flagged": ("self_referral_ip", "flag"), "blocked": ("self_referral_email", "block")}
        hit_check, hit_outcome = hit.get(after_checks, ("", ""))
        for check in CHECKS:
            found = check == hit_check
            self.add(
                FraudResult,
                referral_id=referral,
                fraud_check=check,
                outcome=hit_outcome if found else "pass",
                hit=found,
                message=f"{CHECK_LABELS[check]}: the friend matches the advocate." if found else "No match.",
                evidence={"matched": check} if found else {},
                created_at=at,
            )

    def timed_step(self, info: CampaignInfo, *, referral: int, steps: list[Step]) -> None:
        """Entering a status with a timed transition schedules it; it is done once taken or moot."""
        for i, step in enumerate(steps):
            for timed in info.pipeline.timed_from(step.target):
                nxt = steps[i + 1] if i + 1 < len(steps) else None
                outcome = ""
                if nxt is not None:
                    taken = nxt.target == timed.target and nxt.actor == ENGINE
                    outcome = (
                        f"{timed.source} → {timed.target}"
                        if taken
                        else f"skipped: the referral is {nxt.target}, no longer {timed.source}"
                    )
                self.add(
                    TimedStep,
                    referral_id=referral,
                    from_status=timed.source,
                    to_status=timed.target,
                    reason=timed.reason,
                    due_at=step.at + info.delay,
                    attempts=1 if nxt else 0,
                    done_at=nxt.at if nxt else None,
                    outcome=outcome,
                )

    def reward(self, info: CampaignInfo, *, role, incentive, referral, person, to, steps, event) -> None:
        """The campaign's incentive for one role, and what the referral's statuses did to it."""
        created = steps[0].at + timedelta(milliseconds=3)
        pk = self.tables[Reward].next_id
        history = [("", "pending", "", "", created)]
        status, reason, reason_code, given_at, code, coupon, list_id = "pending", "", "", None, "", None, None
        for step in steps[1:]:
            effect = info.pipeline.reward_effect(step.target)
            if effect == "release":
                if status == "blocked":
                    history.append((status, "pending", "", "", step.at))
                status, reason, reason_code, given_at = "given", "", "", step.at
                if incentive["kind"] == "coupon":
                    list_id, code = self.code(info, incentive["coupon_list"])
                    coupon = self.add(
                        Coupon, coupon_list_id=list_id, code=code, given_at=step.at, created_at=self.start
                    )
            elif effect in ("block", "void") and status in ("pending", "waiting_for_coupon"):
                status = "blocked" if effect == "block" else "voided"
                reason_code = f"referral_{status}"
                reason = (
                    "Referral was blocked for Self-referral by email."
                    if status == "blocked"
                    else f"Referral was voided: {step.reason}"
                )
            else:
                continue
            history.append((history[-1][1], status, reason, reason_code, step.at))
        if incentive["kind"] == "coupon" and list_id is None:
            list_id = info.coupon_lists[incentive["coupon_list"]].pk
        self.add(
            Reward,
            id=pk,
            referral_id=referral,
            person_id=person,
            role=role,
            source="incentive",
            kind=incentive["kind"],
            status=status,
            coupon_list_id=list_id,
            coupon_id=coupon,
            code=code,
            value=Decimal(incentive["value"]),
            currency="USD",
            reason=reason,
            reason_code=reason_code,
            created_at=created,
            given_at=given_at,
        )
        for source, target, why, why_code, at in history:
            self.add(
                RewardStatusChange,
                reward_id=pk,
                from_status=source,
                to_status=target,
                reason=why,
                reason_code=why_code,
                created_at=at,
            )
        if role == "advocate":
            self.add(
                Decision,
                referral_id=referral,
                advocate_id=person,
                event_id=event,
                rule_id="incentive",
                rule_version=1,
                trigger="referral_started",
                condition_met=True,
                actions=[{"index": 0, "type": "reward", "target": role, "outcome": "pending", "reward": pk}],
                created_at=created,
            )
        if status == "given":
            kind = "advocate_reward_paid" if role == "advocate" else "friend_reward"
            self.email(info, person=person, to=to, referral=referral, type=kind, at=given_at)

    def email(self, info: CampaignInfo, *, person, to, referral, type: str, at: datetime) -> None:
        """Emails older than a day have been sent and mostly delivered, some opened and clicked."""
        rng = self.rng
        values = {"status": "queued", "due_at": at}
        if self.now - at > timedelta(days=1):
            sent = at + timedelta(seconds=rng.randrange(1, 60))
            values = {
                "status": "sent",
                "sent_at": sent,
                "attempts": 1,
                "message_id": f"<{rng.getrandbits(64):x}@vouch.localhost>",
            }
            for status in ("delivered", "opened", "clicked"):
                if rng.random() > 0.7 and status != "delivered":
                    break
                sent += timedelta(minutes=rng.randrange(1, 600))
                values |= {"status": status, f"{status}_at": sent}
        self.add(
            Email,
            person_id=person,
            referral_id=referral,
            type=type,
            to=to,
            from_address="referrals@vouch.localhost",
            subject=f"{info.name}: {type.replace('_', ' ')}",
            text=f"Hello from {info.name}.",
            created_at=at,
            **values,
        )

    def audit(self, actor, action, object_type, object_id, after, at, before=None) -> None:
        label = "demo" if actor == "api" else "agent"
        self.add(
            AuditEntry,
            actor=actor,
            actor_label=label,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=before,
            after=after,
            created_at=at,
        )

    # --- writing ---------------------------------------------------------------------

    def flush(self) -> None:
        with connection.cursor() as cursor:
            for rows in self.tables.values():
                rows.flush(cursor)

    def free_stock(self) -> None:
        """Each coupon list keeps FREE_STOCK codes nobody was given yet."""
        for info in self.campaigns:
            for coupon_list in info.coupon_lists.values():
                if coupon_list.pk in self._stocked:
                    continue
                self._stocked.add(coupon_list.pk)
                for _ in range(FREE_STOCK):
                    list_id, code = self.code(info, coupon_list.slug)
                    self.add(Coupon, coupon_list_id=list_id, code=code, created_at=self.now)


def _campaign_info(*, site: Site, body: dict, actor) -> CampaignInfo:
    definition = CampaignDefinition.model_validate(body)
    campaign = campaign_create(site=site, definition=definition, actor=actor)
    slugs = {body["friend_offer"]["coupon_list"]}
    slugs |= {i["coupon_list"] for i in body["incentives"].values() if i.get("coupon_list")}
    lists = {}
    for slug in sorted(slugs):
        lists[slug], _ = CouponList.objects.get_or_create(site=site, slug=slug, defaults={"name": slug})
    return CampaignInfo(
        campaign_id=campaign.pk,
        slug=campaign.slug,
        name=campaign.name,
        pipeline=pipeline_named(campaign.pipeline),
        delay=timedelta(hours=body.get("delays", {}).get("auto_approval_hours", 0)),
        incentives=body["incentives"],
        coupon_lists=lists,
    )


def demo_scale_load(
    *,
    referrals: int,
    site_slug: str = "demo",
    seed: int = 7,
    out: Callable[[str], object] = print,
    progress: bool = True,
) -> DemoResult | None:
    """Load a demo site with `referrals` referrals, or return None if the site exists."""
    from vouch.audit.services import ActorRef

    if Site.objects.filter(slug=site_slug).exists():
        return None
    started = time.monotonic()
    if connection.vendor == "sqlite":  # big indexes take random inserts: keep them in memory
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")  # KiB: 256 MB for this connection
    with transaction.atomic():
        site = site_create(slug=site_slug, name="Demo Outfitters")
        _key, raw_key = api_key_create(site=site, name="demo")
        logins = _staff_users(site)
        staff = ActorRef(kind="staff", label="demo")
        campaigns = [_campaign_info(site=site, body=body, actor=staff) for body, _ in CAMPAIGNS]
        loader = ScaleLoader(site=site, seed=seed, referrals=referrals, campaigns=campaigns)
        loader.advocates()
        loader.flush()
    bar = Progress(total=referrals, label="referrals") if progress else None
    for chunk in _chunks(referrals):
        with transaction.atomic():
            _skip_foreign_key_triggers()
            for i in chunk:
                if i == 0:
                    loader.referral(0, friend_email=LEVI, friend_first="Levi")
                else:
                    loader.referral(i)
            loader.flush()
        if bar:
            bar.update(chunk[-1] + 1)
    if bar:
        bar.finish()
    with transaction.atomic():
        loader.free_stock()
        loader.flush()
        _reset_sequences(list(loader.tables))
    tallies_recount(site_id=site.pk)  # the rows above were written past the tally triggers
    if connection.vendor == "postgresql":
        # What autovacuum does to a live database: the planner's statistics, and the
        # visibility map that index-only scans (the queues' and searches' counts) rely on.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    counts = demo_counts(site)
    rows = sum(r.written for r in loader.tables.values())
    out(f"Loaded demo site '{site.slug}' at scale: {rows:,} rows in {time.monotonic() - started:.0f} s.")
    out(f"Referrals: {', '.join(f'{s} {n}' for s, n in counts['referrals'].items())}")
    for username, password, role in logins:
        out(f"Login: {username} / {password} ({role})")
    out(f"API key: {raw_key}")
    return DemoResult(
        site=site,
        api_key=raw_key,
        staff_username=logins[0][0],
        staff_password=logins[0][1],
        counts=counts,
        logins=logins,
    )


def _skip_foreign_key_triggers() -> None:
    """On PostgreSQL, checking each row's foreign keys at commit costs more than the COPY
    itself (a trigger a key a row). The rows here point at rows written just before them, as
    the tests check; like pg_restore, skip the triggers for this transaction when allowed
    (a superuser), and let them run otherwise."""
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass


def _chunks(total: int) -> Iterable[range]:
    for start in range(0, total, CHUNK):
        yield range(start, min(total, start + CHUNK))


def _reset_sequences(models_: list) -> None:
    """Ids were handed out here; PostgreSQL's sequences must continue after them."""
    statements = connection.ops.sequence_reset_sql(no_style(), models_)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
