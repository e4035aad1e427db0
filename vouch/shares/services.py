import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.campaigns.models import Campaign
from vouch.campaigns.selectors import campaign_definition
from vouch.emails.services import email_queue
from vouch.errors import Conflict, NotFound
from vouch.people.services import person_get_or_create
from vouch.pipelines import pipeline_named
from vouch.referrals.models import Referral
from vouch.referrals.services import referral_claim, referral_open_for_share
from vouch.rewards.services import coupon_claim, coupon_list_get_or_create
from vouch.shares.models import Offer, Share, Visit
from vouch.sites.models import Site

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def share_url(share: Share) -> str:
    return f"{settings.SITE_ROOT.rstrip('/')}/r/{share.code}"


def _new_share_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def _ensure_active(campaign: Campaign) -> None:
    if campaign.status != "active":
        raise Conflict("campaign_not_active", f"The campaign '{campaign.slug}' is {campaign.status}.")


def share_create(
    *,
    campaign: Campaign,
    advocate_email: str,
    channel: str,
    actor: ActorRef,
    first_name: str = "",
    last_name: str = "",
    friend_email: str = "",
    ip: str = "",
    visitor_uuid: str = "",
) -> Share:
    """An advocate's invitation; with a friend's email on the email channel, the friend
    gets the share email. A share naming the friend opens an offer-unclaimed referral in
    the pipelines that start there."""
    _ensure_active(campaign)
    with transaction.atomic():
        advocate = person_get_or_create(
            site=campaign.site, email=advocate_email, first_name=first_name, last_name=last_name
        )
        share = Share.objects.create(
            site_id=campaign.site_id,
            campaign=campaign,
            advocate=advocate,
            channel=channel,
            code=_new_share_code(),
            friend_email=(friend_email or "").strip().lower(),
            ip=ip or "",
            visitor_uuid=visitor_uuid or "",
            created_at=clock.now(),
        )
        opens = pipeline_named(campaign.pipeline).opens_at_share
        friend = None
        if share.friend_email and (channel == "email" or opens):
            friend = person_get_or_create(site=campaign.site, email=share.friend_email)
        if friend is not None and opens:
            referral_open_for_share(share=share, friend=friend, actor=actor)
        if friend is not None and channel == "email":
            email_queue(
                person=friend,
                type="friend_share",
                context={
                    "campaign": campaign,
                    "share_url": share_url(share),
                    "advocate_name": advocate.first_name or advocate.email,
                },
            )
        audit_record(
            site=campaign.site,
            actor=actor,
            action="share.create",
            object_type="share",
            object_id=share.pk,
            after={"campaign": campaign.slug, "advocate": advocate.email, "channel": channel},
        )
        return share


def share_for_code(*, code: str, site: Site | None = None) -> Share:
    shares = Share.objects.select_related("campaign", "advocate", "site")
    if site is not None:
        shares = shares.filter(site=site)
    share = shares.filter(code=(code or "").strip().upper()).first()
    if share is None:
        raise NotFound("share_not_found", f"No share with the code '{code}'.")
    return share


def visit_record(*, share: Share, visitor_uuid: str, ip: str = "", user_agent: str = "") -> Visit:
    """A click on a share link: recorded, and the share's referrals are marked clicked
    unless the visitor is the advocate who shared it (the self-visit is kept as evidence)."""
    with transaction.atomic():
        visit = Visit.objects.create(
            site_id=share.site_id,
            share=share,
            visitor_uuid=visitor_uuid,
            ip=ip or "",
            user_agent=(user_agent or "")[:500],
            created_at=clock.now(),
        )
        if not (share.visitor_uuid and visitor_uuid == share.visitor_uuid):
            Referral.objects.filter(share=share, clicked=False).update(clicked=True)
        return visit


def offer_claim(*, share: Share, email: str, actor: ActorRef, visitor_uuid: str = "", ip: str = "") -> Offer:
    """A friend claims the share's offer: one offer per friend and share, with a
    single-use code from the campaign's friend coupon list (or its fixed code); the
    friend's referral takes its claim step where the pipeline has one."""
    campaign = share.campaign
    _ensure_active(campaign)
    definition = campaign_definition(campaign)
    with transaction.atomic():
        friend = person_get_or_create(site=share.site, email=email)
        existing = Offer.objects.filter(share=share, friend=friend).first()
        if existing:
            return existing
        now = clock.now()
        spec = definition.friend_offer
        try:
            with transaction.atomic():
                coupon, code = None, spec.code or ""
                if spec.coupon_list:
                    coupon_list = coupon_list_get_or_create(site_id=share.site_id, slug=spec.coupon_list)
                    coupon = coupon_claim(coupon_list=coupon_list)
                    code = coupon.code if coupon else code
                offer = Offer.objects.create(
                    site_id=share.site_id,
                    campaign=campaign,
                    share=share,
                    friend=friend,
                    coupon_code=code,
                    coupon=coupon,
                    visitor_uuid=visitor_uuid or "",
                    ip=ip or "",
                    created_at=now,
                    expires_at=now + timedelta(days=spec.expires_in_days) if spec.expires_in_days else None,
                )
        except IntegrityError:
            return Offer.objects.get(share=share, friend=friend)
        audit_record(
            site=share.site,
            actor=actor,
            action="offer.claim",
            object_type="offer",
            object_id=offer.pk,
            after={"share": share.code, "friend": friend.email, "coupon_code": code},
        )
        referral_claim(offer=offer, actor=actor)
        return offer
