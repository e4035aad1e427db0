from ninja import Header, Path, Router, Status

from vouch.api.main import ERRORS, idempotent
from vouch.api.schemas import CouponsIn, CouponsOut
from vouch.rewards.selectors import coupon_list_counts
from vouch.rewards.services import coupon_list_top_up

router = Router(tags=["coupon lists"])


@router.post("/coupon-lists/{slug}/coupons", response={200: CouponsOut, **ERRORS}, by_alias=True)
@idempotent
def add_coupons(
    request,
    payload: CouponsIn,
    slug: str = Path(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$"),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Add codes to a coupon list (created if new). Codes are trimmed and upper-cased, 3–255 characters;
    rewards waiting for a coupon in the list are then given, oldest first, in the same transaction."""
    result = coupon_list_top_up(site=request.site, slug=slug, codes=payload.codes, actor=request.actor)
    return Status(
        200,
        {
            "coupon_list": slug,
            "added": len(result.added),
            "already_there": result.already_there,
            "invalid": result.invalid,
            "rewards_given": result.rewards_given,
            "remaining": coupon_list_counts(coupon_list=result.coupon_list)["remaining"],
        },
    )
