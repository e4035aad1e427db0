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


PROFILE_LISTS = ("advocate", "friend", "rewards", "emails", "offers", "shares", "events")


def person_profile(
    *, person: Person, limit: int = 200, offsets: dict[str, int] | None = None
) -> PersonProfile:
    """Everything the person page and the people API show, in a fixed number of queries:
    each list newest first, `limit` rows from its offset in `offsets` (keys: PROFILE_LISTS)."""
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
    offsets = offsets or {}

    def page(rows, name: str) -> list:
        start = offsets.get(name, 0)
        return list(rows[start : start + limit])

    return PersonProfile(
        person=person,
        blacklisted=blacklisted,
        referrals_as_advocate=page(referrals.filter(advocate=person), "advocate"),
        referrals_as_friend=page(referrals.filter(friend=person), "friend"),
        rewards=page(
            Reward.objects.filter(site_id=site_id, person=person).select_related("person").order_by("-id"),
            "rewards",
        ),
        emails=page(
            Email.objects.filter(site_id=site_id, person=person).order_by("-created_at", "-id"), "emails"
        ),
        offers=page(
            Offer.objects.filter(site_id=site_id, friend=person)
            .select_related("campaign", "share")
            .order_by("-id"),
            "offers",
        ),
        shares=page(
            Share.objects.filter(site_id=site_id, advocate=person)
            .select_related("campaign", "advocate")
            .order_by("-id"),
            "shares",
        ),
        events=page(
            Event.objects.filter(site_id=site_id, person=person)
            .select_related("person")
            .order_by("-occurred_at"),
            "events",
        ),
    )


def person_counts(*, person: Person, cap: int | None = None) -> dict[str, int]:
    """How many rows each of the person's lists holds (the page shows one page of each),
    and how many of their rewards were given: one statement of counts, each on an index
    (written as SQL: eight ORM subqueries cost more to build than to run). With `cap`, a
    count stops at cap + 1, so a person with 50,000 referrals costs what one with 10,000 does."""
    from django.db import connection

    from vouch.emails.models import Email
    from vouch.events.models import Event
    from vouch.referrals.models import Referral
    from vouch.rewards.models import Reward
    from vouch.shares.models import Offer, Share

    counted = {
        "advocate": (Referral, "advocate_id", ""),
        "friend": (Referral, "friend_id", ""),
        "rewards": (Reward, "person_id", ""),
        "given": (Reward, "person_id", " AND status = 'given'"),
        "emails": (Email, "person_id", ""),
        "offers": (Offer, "friend_id", ""),
        "shares": (Share, "advocate_id", ""),
        "events": (Event, "person_id", ""),
    }
    quote = connection.ops.quote_name
    limit = f" LIMIT {int(cap) + 1}" if cap is not None else ""
    selects = [
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {quote(model._meta.db_table)} "
        f"WHERE site_id = %s AND {column} = %s{extra}{limit}) AS counted)"
        for model, column, extra in counted.values()
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(selects), [person.site_id, person.pk] * len(selects))
        return dict(zip(counted, cursor.fetchone(), strict=True))
