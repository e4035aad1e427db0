from vouch.errors import NotFound
from vouch.rewards.models import Coupon, CouponList
from vouch.sites.models import Site


def coupon_list_for_site(*, site: Site, slug: str) -> CouponList:
    coupon_list = CouponList.objects.filter(site=site, slug=slug).first()
    if coupon_list is None:
        raise NotFound("coupon_list_not_found", f"No coupon list '{slug}' on this site.")
    return coupon_list


def coupon_list_counts(*, coupon_list: CouponList) -> dict:
    """Codes in the list, given and left. Those left are counted on the partial index of free
    codes (a few), not by reading every code given (most of a busy list)."""
    total = Coupon.objects.filter(coupon_list=coupon_list).count()
    remaining = Coupon.objects.filter(coupon_list=coupon_list, given_at__isnull=True).count()
    return {"total": total, "given": total - remaining, "remaining": remaining}


def low_stock(*, remaining: int, given_last_30_days: int, low_stock_days: int) -> bool:
    """Fewer codes left than `low_stock_days` days of the last 30 days' average use."""
    daily = given_last_30_days / 30
    return daily > 0 and remaining < daily * low_stock_days
