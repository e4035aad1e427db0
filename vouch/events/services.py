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
from vouch.people.services import person_get_or_create
from vouch.referrals.attribution import attribute
from vouch.referrals.models import Referral
from vouch.referrals.services import referral_open
from vouch.sites.models import Site


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
        with transaction.atomic():
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
    if event.kind == Kind.PURCHASE and person is not None:
        _open_referral_for_purchase(event=event, actor=actor)
    if event.kind == Kind.REFUND and event.order_id:
        purchase = Event.objects.filter(site=site, kind=Kind.PURCHASE, external_id=event.order_id).first()
        if purchase is not None and purchase.referral_id:
            Event.objects.filter(pk=event.pk).update(referral_id=purchase.referral_id)
            event.referral_id = purchase.referral_id
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


def _open_referral_for_purchase(*, event: Event, actor: ActorRef) -> Referral | None:
    found = attribute(event=event)
    if found is None:
        return None
    share = found.share
    if share.campaign.status != "active":
        return None
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
