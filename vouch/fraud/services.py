"""Gather the facts the pure checks in `vouch.fraud.checks` need, run them with the
campaign's settings, and store every result with its evidence."""

from datetime import timedelta

from django.db.models import Count, Q

from vouch import clock
from vouch.campaigns.definition import CampaignDefinition
from vouch.events.models import Event
from vouch.fraud.checks import CheckResult, Facts, PartyFacts, Velocity, run_checks
from vouch.fraud.models import FraudResult
from vouch.fraud.selectors import blacklist_rules
from vouch.shares.models import Share

RECENT_ROWS = 200


def _values(*groups) -> frozenset[str]:
    return frozenset(v for group in groups for v in group if v)


def _advocate_facts(referral) -> PartyFacts:
    advocate = referral.advocate
    events = list(
        Event.objects.filter(site_id=referral.site_id, person=advocate)
        .order_by("-occurred_at")
        .values_list("ip", "visitor_uuid", "shipping_address")[:RECENT_ROWS]
    )
    shares = list(
        Share.objects.filter(site_id=referral.site_id, advocate=advocate)
        .order_by("-id")
        .values_list("ip", "visitor_uuid")[:RECENT_ROWS]
    )
    return PartyFacts(
        email=advocate.email,
        ips=_values([e[0] for e in events], [s[0] for s in shares]),
        visitor_uuids=_values([e[1] for e in events], [s[1] for s in shares]),
        shipping_addresses=_values([e[2] for e in events]),
    )


def _friend_facts(referral, event: Event | None) -> PartyFacts:
    offer = referral.offer
    return PartyFacts(
        email=referral.friend.email if referral.friend_id else "",
        ips=_values([event.ip if event else "", offer.ip if offer else ""]),
        visitor_uuids=_values([event.visitor_uuid if event else "", offer.visitor_uuid if offer else ""]),
        shipping_addresses=_values([event.shipping_address if event else ""]),
    )


def fraud_facts_gather(*, referral, event: Event | None) -> Facts:
    from vouch.referrals.models import Referral

    now = clock.now()
    site_id = referral.site_id
    counts = (
        Referral.objects.filter(
            site_id=site_id, advocate_id=referral.advocate_id, created_at__gte=now - timedelta(days=1)
        )
        .exclude(pk=referral.pk)
        .aggregate(day=Count("id"), hour=Count("id", filter=Q(created_at__gte=now - timedelta(hours=1))))
    )
    cross = ()
    if referral.friend_id and referral.friend_id != referral.advocate_id:
        cross = tuple(
            Referral.objects.filter(
                site_id=site_id, advocate_id=referral.friend_id, friend_id=referral.advocate_id
            )
            .exclude(pk=referral.pk)
            .values_list("id", flat=True)[:20]
        )
    blacklist = blacklist_rules(site_id=site_id)
    return Facts(
        advocate=_advocate_facts(referral),
        friend=_friend_facts(referral, event),
        cross_referral_ids=cross,
        blacklist=blacklist,
        advocate_referrals_last_hour=counts["hour"],
        advocate_referrals_last_day=counts["day"],
    )


def fraud_review(
    *, referral, event: Event | None, definition: CampaignDefinition, again: bool = False
) -> list[CheckResult]:
    """Run every check on the referral and store the results; the caller decides the status.
    A review `again` (the friend's conversion after the claim) sees the claim's facts and the
    event's, so its results replace the earlier ones."""
    facts = fraud_facts_gather(referral=referral, event=event)
    settings = definition.fraud
    results = run_checks(
        facts=facts,
        actions=settings.actions(),
        velocity=Velocity(per_hour=settings.velocity_per_hour, per_day=settings.velocity_per_day),
    )
    now = clock.now()
    if again:
        FraudResult.objects.filter(referral=referral).delete()
    FraudResult.objects.bulk_create(
        FraudResult(
            site_id=referral.site_id,
            referral=referral,
            fraud_check=r.check,
            outcome=r.outcome,
            hit=r.hit,
            message=r.message,
            evidence=r.evidence,
            created_at=now,
        )
        for r in results
    )
    return results
