"""The variables a rule's condition and criteria read, gathered from the database
only when a rule reads them, once per evaluation."""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.db.models import Count, Q

from vouch import clock
from vouch.events.models import Event, Kind
from vouch.fraud.selectors import email_blacklisted
from vouch.rules.models import Decision

REFERRAL_COUNTS = frozenset({"referrals_total", "referrals_approved", "referrals_this_year"})
REWARD_COUNTS = frozenset({"rewards_given_total", "rewards_given_this_year", "rewards_given_30_days"})
FIRING_COUNTS = frozenset({"rule_firings", "first_time"})


def money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _person(person) -> dict | None:
    if person is None:
        return None
    return {
        "email": person.email,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "fields": person.fields or {},
        "segments": person.segments or [],
        "created_at": person.created_at,
        "blacklisted": email_blacklisted(site_id=person.site_id, email=person.email),
    }


class Facts:
    """What one trigger knows about its referral, its event and its advocate's history."""

    def __init__(self, *, referral, event: Event | None = None, unwritten: Iterable[Decision] = ()):
        self.referral, self.event = referral, event
        self.unwritten = unwritten  # decisions of this transaction not written yet
        self.now = clock.now()
        self.fired_now: Counter[str] = Counter()
        self.contexts: dict[frozenset[str], tuple] = {}

    def variables(self, names: frozenset[str]) -> dict:
        """The named variables except `counts`, which differs per rule."""
        return {name: getattr(self, f"{name}_facts") for name in names if name != "counts"}

    @property
    def now_facts(self) -> datetime:
        return self.now

    @cached_property
    def advocate_facts(self) -> dict:
        return _person(self.referral.advocate)

    @cached_property
    def friend_facts(self) -> dict | None:
        friend = self.referral.friend
        found = _person(friend)
        if found is None:
            return None
        purchases = Event.objects.filter(site_id=friend.site_id, person=friend, kind=Kind.PURCHASE)
        if self.event is not None:
            purchases = purchases.filter(occurred_at__lte=self.event.occurred_at)
        order_count = purchases.count()
        earlier = (
            type(self.referral)
            .objects.filter(
                site_id=self.referral.site_id, advocate_id=self.referral.advocate_id, friend=friend
            )
            .filter(Q(created_at__lt=self.referral.created_at) | Q(pk__lt=self.referral.pk))
            .exclude(pk=self.referral.pk)
            .exists()
        )
        return {
            **found,
            "order_count": order_count,
            "is_new_customer": order_count <= 1,
            "already_referred": earlier,
        }

    @cached_property
    def event_facts(self) -> dict | None:
        event = self.event
        if event is None:
            return None
        payload = event.payload or {}
        return {
            "type": event.kind,
            "id": event.external_id,
            "name": event.name,
            "subtotal": money(event.subtotal),
            "currency": event.currency,
            "fields": payload.get("fields") or {},
            "items": payload.get("items") or [],
            "occurred_at": event.occurred_at,
        }

    @cached_property
    def referral_facts(self) -> dict:
        referral = self.referral
        subtotal = referral.subtotal
        if subtotal is not None and referral.refunded:
            subtotal -= referral.refunded
        offer = referral.offer
        at = self.event.occurred_at if self.event is not None else referral.created_at
        return {
            "id": referral.pk,
            "status": referral.status,
            "campaign": referral.campaign.slug,
            "created_at": referral.created_at,
            "subtotal": money(subtotal),
            "refunded": money(referral.refunded),
            "order_number": referral.order_number,
            "offer_expired": bool(offer and offer.expires_at and offer.expires_at < at),
            "attributed_by": referral.attributed_by,
            "clicked": referral.clicked,
        }

    @cached_property
    def year_start(self) -> datetime:
        return self.now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)

    @cached_property
    def referral_counts(self) -> dict:
        referral = self.referral
        found = (
            type(referral)
            .objects.filter(
                site_id=referral.site_id, campaign_id=referral.campaign_id, advocate_id=referral.advocate_id
            )
            .aggregate(
                total=Count("id"),
                approved=Count("id", filter=Q(approved_at__isnull=False)),
                this_year=Count("id", filter=Q(created_at__gte=self.year_start)),
            )
        )
        return {
            "referrals_total": found["total"],
            "referrals_approved": found["approved"],
            "referrals_this_year": found["this_year"],
        }

    @cached_property
    def reward_counts(self) -> dict:
        from vouch.rewards.models import Reward, Status

        referral = self.referral
        found = Reward.objects.filter(
            site_id=referral.site_id, person_id=referral.advocate_id, status=Status.GIVEN
        ).aggregate(
            total=Count("id"),
            this_year=Count("id", filter=Q(given_at__gte=self.year_start)),
            last_30_days=Count("id", filter=Q(given_at__gte=self.now - timedelta(days=30))),
        )
        return {
            "rewards_given_total": found["total"],
            "rewards_given_this_year": found["this_year"],
            "rewards_given_30_days": found["last_30_days"],
        }

    @cached_property
    def base_counts(self) -> dict:
        return {**self.referral_counts, **self.reward_counts}

    @cached_property
    def firings(self) -> dict[str, int]:
        """How many times each rule of this campaign fired (its condition held) for this advocate."""
        rows = (
            Decision.objects.filter(
                site_id=self.referral.site_id,
                advocate_id=self.referral.advocate_id,
                referral__campaign_id=self.referral.campaign_id,
                condition_met=True,
            )
            .values("rule_id")
            .annotate(n=Count("id"))
        )
        found = Counter({row["rule_id"]: row["n"] for row in rows})
        referral = self.referral
        found.update(
            d.rule_id
            for d in self.unwritten
            if d.condition_met
            and d.advocate_id == referral.advocate_id
            and d.referral.campaign_id == referral.campaign_id
        )
        return found

    def fired(self, rule_id: str) -> int:
        return self.firings.get(rule_id, 0) + self.fired_now[rule_id]

    def counts(self, *, rule_id: str, fields: frozenset[str] | None = None) -> dict:
        """`counts` for a rule. With `fields` (those its condition and criteria name), only
        the queries they need run: each one is an aggregate that costs more than the rest of
        a rule's evaluation, and most conditions name one count."""
        if fields is None:
            found = dict(self.base_counts)
        else:
            found = {}
            if fields & REFERRAL_COUNTS:
                found |= self.referral_counts
            if fields & REWARD_COUNTS:
                found |= self.reward_counts
        if fields is None or fields & FIRING_COUNTS:
            fired = self.fired(rule_id)
            found |= {"rule_firings": fired, "first_time": fired == 0}
        return found


def jsonable(value):
    """A variable as stored in the decision trace."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
