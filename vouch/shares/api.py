from ninja import Header, Router, Status

from vouch.api.main import ERRORS, idempotent
from vouch.api.schemas import OfferIn, OfferResultOut, ShareIn, ShareResultOut
from vouch.api.shapes import offer_shape, referral_shape, share_shape
from vouch.campaigns.selectors import campaign_for_site
from vouch.referrals.models import Referral
from vouch.shares.services import offer_claim, share_create, share_for_code

router = Router(tags=["shares and offers"])


@router.post("/shares", response={201: ShareResultOut, **ERRORS}, by_alias=True)
@idempotent
def create_share(
    request, payload: ShareIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """An advocate shares the campaign's offer; with `friend_email` on the email channel
    the friend is emailed."""
    campaign = campaign_for_site(site=request.site, slug=payload.campaign)
    share = share_create(
        campaign=campaign,
        advocate_email=payload.advocate.email,
        first_name=payload.advocate.first_name or "",
        last_name=payload.advocate.last_name or "",
        channel=payload.channel,
        friend_email=payload.friend_email or "",
        ip=payload.ip or "",
        visitor_uuid=payload.visitor_uuid or "",
        actor=request.actor,
    )
    return Status(201, {"share": share_shape(share)})


@router.post("/offers", response={201: OfferResultOut, **ERRORS}, by_alias=True)
@idempotent
def claim_offer(
    request, payload: OfferIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):
    """A friend claims the offer of a share and gets its coupon code (claiming twice gives the same offer)."""
    share = share_for_code(site=request.site, code=payload.share_code)
    offer = offer_claim(
        share=share,
        email=payload.email,
        visitor_uuid=payload.visitor_uuid or "",
        ip=payload.ip or "",
        actor=request.actor,
    )
    referral = Referral.objects.filter(offer=offer).select_related("campaign", "advocate", "friend").first()
    return Status(
        201, {"offer": offer_shape(offer), "referral": referral_shape(referral) if referral else None}
    )
