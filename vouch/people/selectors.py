from dataclasses import dataclass

from vouch.errors import NotFound
from vouch.people.models import Person, normalise_email
from vouch.sites.models import Site


def person_for_site(*, site: Site, email: str) -> Person:
    person = Person.objects.filter(site=site, email=normalise_email(email)).first()
    if person is None:
        raise NotFound("person_not_found", f"No person with the email {email} on this site.")
    return person


@dataclass
class PersonProfile:
    person: Person
    blacklisted: bool
    referrals_as_advocate: list
    referrals_as_friend: list
    rewards: list
    emails: list
    offers: list
    shares: list
    events: list


def person_profile(*, person: Person, limit: int = 200) -> PersonProfile:
    """Everything the person page and the people API show, in a fixed number of queries."""
    from django.db.models import Prefetch

    from vouch.emails.models import Email
    from vouch.events.models import Event
    from vouch.fraud.selectors import email_blacklisted
    from vouch.referrals.models import Referral
    from vouch.rewards.models import Reward
    from vouch.shares.models import Offer, Share

    site_id = person.site_id
    rewards = Reward.objects.select_related("person").order_by("id")
    referrals = (
        Referral.objects.filter(site_id=site_id)
        .select_related("campaign", "advocate", "friend")
        .prefetch_related(Prefetch("rewards", queryset=rewards, to_attr="reward_list"))
        .order_by("-created_at", "-id")
    )
    blacklisted = email_blacklisted(site_id=site_id, email=person.email)
    return PersonProfile(
        person=person,
        blacklisted=blacklisted,
        referrals_as_advocate=list(referrals.filter(advocate=person)[:limit]),
        referrals_as_friend=list(referrals.filter(friend=person)[:limit]),
        rewards=list(
            Reward.objects.filter(site_id=site_id, person=person)
            .select_related("person")
            .order_by("-id")[:limit]
        ),
        emails=list(
            Email.objects.filter(site_id=site_id, person=person).order_by("-created_at", "-id")[:limit]
        ),
        offers=list(
            Offer.objects.filter(site_id=site_id, friend=person)
            .select_related("campaign", "share")
            .order_by("-id")[:limit]
        ),
        shares=list(
            Share.objects.filter(site_id=site_id, advocate=person)
            .select_related("campaign", "advocate")
            .order_by("-id")[:limit]
        ),
        events=list(
            Event.objects.filter(site_id=site_id, person=person)
            .select_related("person")
            .order_by("-occurred_at")[:limit]
        ),
    )
