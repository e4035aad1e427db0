from ninja import Router, Status

from vouch.api.main import ERRORS
from vouch.api.schemas import PersonOut
from vouch.api.shapes import (
    email_shape,
    event_shape,
    person_ref,
    referral_shape,
    reward_shape,
    share_shape,
)
from vouch.people.selectors import person_for_site, person_profile

router = Router(tags=["people"])


@router.get("/people/{email}", response={200: PersonOut, **ERRORS}, by_alias=True)
def get_person(request, email: str):
    """A person with their referrals (as advocate and as friend), rewards, emails, offers,
    shares and events."""
    profile = person_profile(person=person_for_site(site=request.site, email=email))
    person = profile.person
    return Status(
        200,
        {
            **person_ref(person),
            "customer_id": person.customer_id,
            "fields": person.fields,
            "segments": person.segments,
            "unsubscribed": person.unsubscribed_at is not None,
            "blacklisted": profile.blacklisted,
            "created_at": person.created_at,
            "referrals_as_advocate": [referral_shape(r) for r in profile.referrals_as_advocate],
            "referrals_as_friend": [referral_shape(r) for r in profile.referrals_as_friend],
            "rewards": [reward_shape(r) for r in profile.rewards],
            "emails": [email_shape(e) for e in profile.emails],
            "offers": [
                {
                    "campaign": o.campaign.slug,
                    "share_code": o.share.code,
                    "coupon_code": o.coupon_code or None,
                    "expires_at": o.expires_at,
                    "created_at": o.created_at,
                }
                for o in profile.offers
            ],
            "shares": [share_shape(s) for s in profile.shares],
            "events": [event_shape(e) for e in profile.events],
        },
    )
