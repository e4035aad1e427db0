"""The main walk: one reported event, in one transaction, from storage to a decided referral."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.campaigns.selectors import campaign_for_site
from vouch.errors import Conflict
from vouch.events.models import Event, Kind
from vouch.people.services import person_get_or_create, person_update
from vouch.pipelines import pipeline_named
from vouch.read_cache import reads_cached
from vouch.referrals.attribution import attribute
from vouch.referrals.models import Referral
from vouch.referrals.services import referral_event_reported, referral_open, referral_purchase_from_share
from vouch.rules.engine import Happening
from vouch.rules.services import decisions_written_at_end, referral_refund, rules_run
from vouch.sites.models import Site
from vouch.written_at_end import written_at_end

INVOICED = "invoiced"


def body_hash(data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Ingested:
    event: Event
    created: bool


def _replay(existing: Event, digest: str) -> Ingested:
    if existing.body_hash != digest:
        raise Conflict(
            "event_conflict",
            f"A {existing.kind} event with the id '{existing.external_id}' was already reported "
            "with a different body.",
        )
    return Ingested(event=existing, created=False)


def event_ingest(*, site: Site, data: dict, actor: ActorRef) -> Ingested:
    """Store an event once per (type, id); the same body again replays, another body is a conflict.
    A purchase is attributed and, when it came from a share, opens a referral."""
    kind, external_id = data["type"], data["id"]
    digest = body_hash(data)
    existing = Event.objects.filter(site=site, kind=kind, external_id=external_id).first()
    if existing is not None:
        return _replay(existing, digest)
    try:
        with transaction.atomic(), reads_cached(), decisions_written_at_end(), written_at_end():
            return Ingested(event=_ingest_new(site=site, data=data, digest=digest, actor=actor), created=True)
    except IntegrityError:
        existing = Event.objects.filter(site=site, kind=kind, external_id=external_id).first()
        if existing is None:
            raise
        return _replay(existing, digest)


def _ingest_new(*, site: Site, data: dict, digest: str, actor: ActorRef) -> Event:
    now = clock.now()
    campaign = campaign_for_site(site=site, slug=data["campaign"]) if data.get("campaign") else None
    person = None
    if data.get("email"):
        person = person_get_or_create(
            site=site,
            email=data["email"],
            first_name=data.get("first_name") or "",
            last_name=data.get("last_name") or "",
            customer_id=data.get("customer_id") or "",
        )
    subtotal = Decimal(str(data["subtotal"])) if data.get("subtotal") is not None else None
    occurred_at = parse_datetime(data["occurred_at"]) if data.get("occurred_at") else now
    event = Event.objects.create(
        site=site,
        kind=data["type"],
        external_id=data["id"],
        body_hash=digest,
        payload=data,
        person=person,
        campaign=campaign,
        subtotal=subtotal,
        currency=data.get("currency") or "",
        coupon_codes=[c.strip().upper() for c in data.get("coupon_codes") or []],
        ip=data.get("ip") or "",
        visitor_uuid=data.get("visitor_uuid") or "",
        shipping_address=data.get("shipping_address") or "",
        customer_id=data.get("customer_id") or "",
        name=data.get("name") or "",
        order_id=data.get("order_id") or "",
        occurred_at=occurred_at,
        created_at=now,
    )
    changes = (frozenset(), frozenset())
    if person is not None and (data.get("person_fields") or data.get("segments") is not None):
        changes = person_update(
            person=person, fields=data.get("person_fields"), segments=data.get("segments")
        )
    if event.kind == Kind.PURCHASE and person is not None:
        if _open_referral_for_purchase(event=event, actor=actor) is None:
            referral = _run_friend_rules(event=event, happening=Happening(kind="purchase"))
            if referral is not None:
                referral_event_reported(referral=referral, event=event)
    elif event.kind == Kind.REFUND and event.order_id:
        _refund(event=event)
    elif event.kind == Kind.CUSTOM and event.name == INVOICED and event.order_id:
        _invoice(event=event)
    elif event.kind in (Kind.CUSTOM, Kind.SIGNUP):
        name = event.name if event.kind == Kind.CUSTOM else "signup"
        referral = _run_friend_rules(event=event, happening=Happening(kind="custom", name=name))
        if referral is not None:
            referral_event_reported(referral=referral, event=event)
    if any(changes):
        happening = Happening(kind="person_changed", changed_fields=changes[0], changed_segments=changes[1])
        _run_friend_rules(event=event, happening=happening)
    if not actor.is_engine:
        audit_record(
            site=site,
            actor=actor,
            action=f"event.{event.kind}",
            object_type="event",
            object_id=event.pk,
            after={"id": event.external_id, "referral": event.referral_id},
        )
    return event


def _link(event: Event, referral: Referral) -> None:
    Event.objects.filter(pk=event.pk).update(referral_id=referral.pk)
    event.referral_id = referral.pk
    event.referral = referral


def _refund(*, event: Event) -> None:
    purchase = Event.objects.filter(
        site_id=event.site_id, kind=Kind.PURCHASE, external_id=event.order_id, referral__isnull=False
    ).first()
    if purchase is None:
        return
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("campaign", "advocate", "friend", "offer")
        .get(pk=purchase.referral_id)
    )
    _link(event, referral)
    referral_refund(referral=referral, event=event)


def _invoice(*, event: Event) -> None:
    """The shop reports that a purchase it sent as not yet invoiced is invoiced now: the
    purchase's referral takes its conversion (first purchase discount)."""
    purchase = Event.objects.filter(
        site_id=event.site_id, kind=Kind.PURCHASE, external_id=event.order_id, referral__isnull=False
    ).first()
    if purchase is None:
        _run_friend_rules(event=event, happening=Happening(kind="custom", name=event.name))
        return
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("campaign", "advocate", "friend", "offer", "site")
        .get(pk=purchase.referral_id)
    )
    _link(event, referral)
    rules_run(referral=referral, happening=Happening(kind="custom", name=event.name), event=event)
    referral_event_reported(referral=referral, event=purchase, invoice=True)


def _run_friend_rules(*, event: Event, happening: Happening) -> Referral | None:
    """Rules for something the friend did after being referred run on their latest referral."""
    if event.person_id is None:
        return None
    referrals = Referral.objects.filter(
        site_id=event.site_id, friend_id=event.person_id, campaign__status="active"
    )
    if event.campaign_id:
        referrals = referrals.filter(campaign_id=event.campaign_id)
    referral = (
        referrals.select_related("campaign", "advocate", "friend", "offer")
        .order_by("-created_at", "-id")
        .first()
    )
    if referral is None:
        return None
    if event.referral_id is None:
        _link(event, referral)
    rules_run(referral=referral, happening=happening, event=event)
    return referral


def _open_referral_for_purchase(*, event: Event, actor: ActorRef) -> Referral | None:
    found = attribute(event=event)
    if found is None:
        return None
    share = found.share
    if share.campaign.status != "active":
        return None
    if pipeline_named(share.campaign.pipeline).opens_at_claim:
        return referral_purchase_from_share(
            share=share,
            offer=found.offer,
            event=event,
            actor=actor,
            attributed_by=found.path,
            clicked=found.clicked,
        )
    return referral_open(
        campaign=share.campaign,
        advocate=share.advocate,
        friend=event.person,
        attributed_by=found.path,
        actor=actor,
        reason=f"Purchase {event.external_id} attributed by {found.path.replace('_', ' ')}.",
        event=event,
        share=share,
        offer=found.offer,
        external_id=None,
        order_number=event.external_id,
        subtotal=event.subtotal,
        currency=event.currency,
        coupon_code=found.coupon_code,
        clicked=found.clicked,
    )
