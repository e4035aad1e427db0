from decimal import Decimal

from ninja import Header, Query, Router, Schema, Status
from pydantic import Field

from vouch.api.main import ERRORS, idempotent
from vouch.api.schemas import ReferralDetailsOut, ReferralIn, ReferralPageOut, SnapshotOut, StatusIn
from vouch.api.shapes import decision_shape, email_shape, event_shape, fraud_check_shape, referral_shape
from vouch.campaigns.selectors import campaign_for_site
from vouch.pipelines import pipeline_named, timed_step_sentence
from vouch.referrals.selectors import referral_details, referral_for_site, referral_search
from vouch.referrals.services import referral_create_by_hand, referral_set_status
from vouch.referrals.snapshot import referral_snapshot

router = Router(tags=["referrals"])


class SearchQuery(Schema):
    advocate_email: str = Field("", max_length=254)
    friend_email: str = Field("", max_length=254)
    order_number: str = Field("", max_length=200)
    coupon_code: str = Field("", max_length=255)
    status: str = Field("", max_length=40)
    campaign: str = Field("", max_length=64)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


def _timed_step_shape(referral, step) -> dict:
    pipeline = pipeline_named(referral.campaign.pipeline)
    return {
        "to": step.to_status,
        "due_at": step.due_at,
        "reason": step.reason,
        "sentence": timed_step_sentence(pipeline, target=step.to_status, due=step.due_at.date()),
    }


def details_shape(referral, actor_kind: str = "api") -> dict:
    details = referral_details(referral=referral, actor=actor_kind)
    step = details.next_timed_step
    return {
        **referral_shape(referral),
        "history": [
            {
                "from": h.from_status or None,
                "to": h.to_status,
                "actor": h.actor,
                "actor_label": h.actor_label,
                "reason": h.reason,
                "at": h.created_at,
            }
            for h in details.history
        ],
        "fraud_checks": [fraud_check_shape(f) for f in details.fraud_results],
        "events": [event_shape(e) for e in details.events],
        "emails": [email_shape(e) for e in details.emails],
        "next_timed_step": _timed_step_shape(referral, step) if step else None,
        "allowed_statuses": details.allowed_statuses,
        "decisions": [decision_shape(d) for d in details.decisions],
    }


@router.get("/snapshot", response={200: SnapshotOut, **ERRORS}, by_alias=True, tags=["snapshot"])
def get_snapshot(request):
    """The portal home's numbers: referrals per status per campaign (in each pipeline's words),
    and the size and oldest referral of the queues people resolve (flagged, pending denial)."""
    snapshot = referral_snapshot(site=request.site)
    return Status(
        200,
        {
            "campaigns": [
                {
                    "slug": c.slug,
                    "name": c.name,
                    "pipeline": c.pipeline,
                    "total": c.total,
                    "statuses": [
                        {"status": s.status, "label": s.label, "count": s.count} for s in c.statuses
                    ],
                }
                for c in snapshot.campaigns
            ],
            "queues": [
                {"status": q.status, "count": q.count, "oldest": q.oldest_id, "oldest_since": q.oldest_since}
                for q in snapshot.queues
            ],
        },
    )


@router.get("/referrals", response={200: ReferralPageOut, **ERRORS}, by_alias=True)
def search_referrals(request, filters: Query[SearchQuery]):
    """Search by advocate email, friend email, friend order number or coupon code (and status, campaign)."""
    found = referral_search(
        site=request.site,
        advocate_email=filters.advocate_email,
        friend_email=filters.friend_email,
        order_number=filters.order_number,
        coupon_code=filters.coupon_code,
        status=filters.status,
        campaign=filters.campaign,
    )
    page = list(found[filters.offset : filters.offset + filters.limit])
    return Status(
        200,
        {
            "items": [referral_shape(r) for r in page],
            "count": found.count(),
            "limit": filters.limit,
            "offset": filters.offset,
        },
    )


@router.get("/referrals/{ref}", response={200: ReferralDetailsOut, **ERRORS}, by_alias=True)
def get_referral(request, ref: str):
    """One referral with its history, fraud checks and evidence, events, rewards, emails and next timed step.
    `ref` is the id, or `ext:<external id>`."""
    return Status(200, details_shape(referral_for_site(site=request.site, ref=ref)))


@router.post("/referrals", response={201: ReferralDetailsOut, **ERRORS}, by_alias=True)
@idempotent
def create_referral(
    request, payload: ReferralIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """Create a referral by hand (the portal's "Create referral"): fraud checks and rewards
    run as for a purchase."""
    referral = referral_create_by_hand(
        campaign=campaign_for_site(site=request.site, slug=payload.campaign),
        advocate_email=payload.advocate_email,
        friend_email=payload.friend_email,
        actor=request.actor,
        order_number=payload.order_number or "",
        subtotal=Decimal(payload.subtotal),
        currency=payload.currency,
        external_id=payload.external_id,
    )
    return Status(201, details_shape(referral_for_site(site=request.site, ref=referral.pk)))


@router.post("/referrals/{ref}/status", response={200: ReferralDetailsOut, **ERRORS}, by_alias=True)
@idempotent
def change_status(
    request, ref: str, payload: StatusIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """Move a referral to another status if its pipeline allows it; else 409 `transition_not_allowed`
    with the rule that refused it. `ref` is the id, or `ext:<external id>`."""
    referral = referral_for_site(site=request.site, ref=ref)
    referral_set_status(referral=referral, status=payload.status, actor=request.actor, reason=payload.reason)
    return Status(200, details_shape(referral_for_site(site=request.site, ref=referral.pk)))
