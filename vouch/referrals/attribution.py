"""Which share a purchase came from, in Talkable's order: the coupon code the
friend was given → the visitor uuid of a share-link visit or claim → the friend's
email on a claimed offer → the same IP as a share-link visit within the hour before."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef

from vouch.events.models import Event
from vouch.shares.models import Offer, Share, Visit

IP_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Attribution:
    share: Share
    offer: Offer | None
    path: str
    coupon_code: str = ""
    clicked: bool = True


def _in_campaign(queryset, campaign):
    return queryset.filter(campaign=campaign) if campaign else queryset


def attribute(*, event: Event) -> Attribution | None:
    site, campaign = event.site_id, event.campaign
    offers = (
        _in_campaign(Offer.objects.filter(site_id=site), campaign)
        .select_related("share", "share__advocate", "share__campaign")
        .annotate(clicked=Exists(Visit.objects.filter(share_id=OuterRef("share_id"))))
    )
    codes = [c.strip().upper() for c in event.coupon_codes if c and c.strip()]
    if codes:
        offer = offers.filter(coupon_code__in=codes).order_by("-id").first()
        if offer:
            return Attribution(
                share=offer.share,
                offer=offer,
                path="coupon_code",
                coupon_code=offer.coupon_code,
                clicked=offer.clicked,
            )
    if event.visitor_uuid:
        offer = offers.filter(visitor_uuid=event.visitor_uuid).order_by("-id").first()
        if offer:
            return Attribution(share=offer.share, offer=offer, path="visitor_uuid", clicked=offer.clicked)
        visit = (
            Visit.objects.filter(site_id=site, visitor_uuid=event.visitor_uuid)
            .select_related("share", "share__advocate", "share__campaign")
            .order_by("-id")
            .first()
        )
        if visit and (campaign is None or visit.share.campaign_id == campaign.id):
            return Attribution(share=visit.share, offer=None, path="visitor_uuid")
    if event.person_id:
        offer = offers.filter(friend_id=event.person_id).order_by("-id").first()
        if offer:
            return Attribution(share=offer.share, offer=offer, path="email", clicked=offer.clicked)
    if event.ip:
        visit = (
            Visit.objects.filter(
                site_id=site,
                ip=event.ip,
                created_at__gte=event.occurred_at - IP_WINDOW,
                created_at__lte=event.occurred_at,
            )
            .select_related("share", "share__advocate", "share__campaign")
            .order_by("-created_at")
            .first()
        )
        if visit and (campaign is None or visit.share.campaign_id == campaign.id):
            return Attribution(share=visit.share, offer=None, path="ip")
    return None
