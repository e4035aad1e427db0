from vouch.errors import NotFound
from vouch.rewards.models import Coupon, CouponList
from vouch.sites.models import Site


def coupon_list_for_site(*, site: Site, slug: str) -> CouponList:
    coupon_list = CouponList.objects.filter(site=site, slug=slug).first()
    if coupon_list is None:
        raise NotFound("coupon_list_not_found", f"No coupon list '{slug}' on this site.")
    return coupon_list


def coupon_list_counts(*, coupon_list: CouponList) -> dict:
    total = Coupon.objects.filter(coupon_list=coupon_list).count()
    given = Coupon.objects.filter(coupon_list=coupon_list, given_at__isnull=False).count()
    return {"total": total, "given": given, "remaining": total - given}


def low_stock(*, remaining: int, given_last_30_days: int, low_stock_days: int) -> bool:
    """Fewer codes left than `low_stock_days` days of the last 30 days' average use."""
    daily = given_last_30_days / 30
    return daily > 0 and remaining < daily * low_stock_days
