from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

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
# Wide columns no list shows (the API's shapes and the portal's tables read none of them):
# a campaign's definition or an event's payload is JSON decoded for every row otherwise.
PERSON_WIDE = ("fields", "segments")
CAMPAIGN_WIDE = ("definition",)


def _slim(*relations: str, wide: tuple[str, ...] = PERSON_WIDE) -> list[str]:
    return [f"{relation}__{column}" for relation in relations for column in wide]


def person_profile(
    *,
    person: Person,
    limit: int = 200,
    offsets: dict[str, int] | None = None,
    lists: tuple[str, ...] = PROFILE_LISTS,
) -> PersonProfile:
    """What the person page and the people API show, in a fixed number of queries: each list
    in `lists` (default all of PROFILE_LISTS; the others stay empty) newest first, `limit`
    rows from its offset in `offsets`. The referrals' rewards come in one query for both
    referral lists."""
    from django.db.models import prefetch_related_objects

    from vouch.emails.models import Email
    from vouch.events.models import Event
    from vouch.fraud.selectors import email_blacklisted
    from vouch.referrals.models import Referral
    from vouch.rewards.models import Reward
    from vouch.shares.models import Offer, Share

    site_id = person.site_id
    offsets = offsets or {}

    def referrals(**party) -> QuerySet:
        return (
            Referral.objects.filter(site_id=site_id, **party)
            .select_related("campaign", "advocate", "friend")
            .defer(*_slim("campaign", wide=CAMPAIGN_WIDE), *_slim("advocate", "friend"))
            .order_by("-created_at", "-id")
        )

    queries: dict[str, Callable[[], QuerySet]] = {
        "advocate": lambda: referrals(advocate=person),
        "friend": lambda: referrals(friend=person),
        "rewards": lambda: (
            Reward.objects.filter(site_id=site_id, person=person)
            .select_related("person")
            .defer(*_slim("person"))
            .order_by("-id")
        ),
        "emails": lambda: (
            Email.objects.filter(site_id=site_id, person=person)
            .defer("text", "html")
            .order_by("-created_at", "-id")
        ),
        "offers": lambda: (
            Offer.objects.filter(site_id=site_id, friend=person)
            .select_related("campaign", "share")
            .defer(*_slim("campaign", wide=CAMPAIGN_WIDE))
            .order_by("-id")
        ),
        "shares": lambda: (
            Share.objects.filter(site_id=site_id, advocate=person)
            .select_related("campaign", "advocate")
            .defer(*_slim("campaign", wide=CAMPAIGN_WIDE), *_slim("advocate"))
            .order_by("-id")
        ),
        "events": lambda: (
            Event.objects.filter(site_id=site_id, person=person)
            .select_related("person")
            .defer("payload", "result", *_slim("person"))
            .order_by("-occurred_at")
        ),
    }
    rows: dict[str, list] = {name: [] for name in PROFILE_LISTS}
    for name in lists:
        start = offsets.get(name, 0)
        rows[name] = list(queries[name]()[start : start + limit])
    if rows["advocate"] or rows["friend"]:
        rewards = Reward.objects.select_related("person").defer(*_slim("person")).order_by("id")
        prefetch_related_objects(
            rows["advocate"] + rows["friend"], Prefetch("rewards", queryset=rewards, to_attr="reward_list")
        )
    return PersonProfile(
        person=person,
        blacklisted=email_blacklisted(site_id=site_id, email=person.email),
        referrals_as_advocate=rows["advocate"],
        referrals_as_friend=rows["friend"],
        rewards=rows["rewards"],
        emails=rows["emails"],
        offers=rows["offers"],
        shares=rows["shares"],
        events=rows["events"],
    )


def _count_selects(*, cap: int | None, names: tuple[str, ...] | None) -> dict[str, str]:
    """Each count as a scalar subquery taking (site id, person id), each on an index."""
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
    return {
        name: f"(SELECT COUNT(*) FROM (SELECT 1 FROM {quote(model._meta.db_table)} "
        f"WHERE site_id = %s AND {column} = %s{extra}{limit}) AS counted)"
        for name, (model, column, extra) in counted.items()
        if names is None or name in names
    }


def person_with_counts(
    *, site: Site, person_id: int, cap: int | None = None, names: tuple[str, ...] | None = None
) -> tuple[Person, dict[str, int]]:
    """The site's person `person_id` and how many rows each of their lists holds (the page
    shows one page of each) and how many of their rewards were given, in one statement: each
    count a subquery on an index, written as SQL (ORM subqueries cost more to build than to
    run), beside the person's row (one round trip for the page's header). With `cap`, a count
    stops at cap + 1, so a person with 50,000 referrals costs what one with 10,000 does.
    `names` picks some of the counts (default all)."""
    from django.db.models.expressions import RawSQL

    selects = _count_selects(cap=cap, names=names)
    person = (
        Person.objects.filter(site=site, pk=person_id)
        .annotate(**{f"count_{name}": RawSQL(sql, [site.pk, person_id]) for name, sql in selects.items()})
        .first()
    )
    if person is None:
        raise NotFound("person_not_found", f"No person {person_id} on this site.")
    return person, {name: getattr(person, f"count_{name}") for name in selects}
