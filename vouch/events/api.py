from ninja import Header, Router, Status

from vouch.api.main import ERRORS, idempotent
from vouch.api.schemas import EventIn, EventResultOut
from vouch.api.shapes import event_shape, referral_shape, reward_shape
from vouch.events.services import event_ingest
from vouch.referrals.selectors import referral_for_site

router = Router(tags=["events"])


@router.post("/events", response={200: EventResultOut, 201: EventResultOut, **ERRORS}, by_alias=True)
@idempotent
def report_event(
    request, payload: EventIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """Report a purchase, signup, refund or custom action. Idempotent by type + id:
    the same body again answers 200 and changes nothing; another body is 409."""
    data = payload.model_dump(mode="json", exclude_none=True)
    ingested = event_ingest(site=request.site, data=data, actor=request.actor)
    event = ingested.event
    referral = referral_for_site(site=request.site, ref=event.referral_id) if event.referral_id else None
    rewards = referral.reward_list if referral else []
    body = {
        "event": event_shape(event),
        "referral": referral_shape(referral) if referral else None,
        "rewards": [reward_shape(r) for r in rewards],
    }
    return Status(201 if ingested.created else 200, body)
