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

    def rows(self, name: str) -> list:
        """The rows of one of PROFILE_LISTS."""
        return getattr(
            self, {"advocate": "referrals_as_advocate", "friend": "referrals_as_friend"}.get(name, name)
        )


PROFILE_LISTS = ("advocate", "friend", "rewards", "emails", "offers", "shares", "events")
# Wide columns no list shows (the API's shapes and the portal's tables read none of them):
# a campaign's definition or an event's payload is JSON decoded for every row otherwise.
PERSON_WIDE = ("fields", "segments")
CAMPAIGN_WIDE = ("definition",)


def _slim(*relations: str, wide: tuple[str, ...] = PERSON_WIDE) -> list[str]:
    return [f"{relation}__{column}" for relation in relations for column in wide]


@dataclass(frozen=True)
class PageAt:
    """Where one page of a list starts. The portal's links seek from a row the reader saw:
    `after` (the rows older than that row), `before` (the rows newer than it) or `oldest`
    (the last page, which holds that many rows), so the 1,000th page of a heavy advocate's
    referrals costs what the first does. A bare `offset` (a typed page number) skips rows."""

    offset: int = 0
    after: int | None = None
    before: int | None = None
    oldest: int | None = None


# Each list's order, newest first: its columns, each descending, the last one unique.
LIST_ORDER = {
    "advocate": ("created_at", "id"),
    "friend": ("created_at", "id"),
    "rewards": ("id",),
    "emails": ("created_at", "id"),
    "offers": ("id",),
    "shares": ("id",),
    "events": ("occurred_at", "id"),
}


def _seek(queryset: QuerySet, *, keys: tuple[str, ...], row_id: int, older: bool) -> QuerySet:
    """The rows of `queryset` past the row `row_id` in its order (older or newer), written so
    that an index on the first key is searched, not scanned: `created_at <= that row's AND
    (created_at, id) < that row's`. A row that is not there gives no rows."""
    from django.db import connection
    from django.db.models import BooleanField
    from django.db.models.expressions import RawSQL

    if keys == ("id",):
        return queryset.filter(id__lt=row_id) if older else queryset.filter(id__gt=row_id)
    quote = connection.ops.quote_name
    table = quote(queryset.model._meta.db_table)
    first, *_ = keys
    mine = ", ".join(f"{table}.{quote(key)}" for key in keys)
    theirs = ", ".join(quote(key) for key in keys)
    strict, loose = ("<", "<=") if older else (">", ">=")
    sql = (
        f"{table}.{quote(first)} {loose} (SELECT {quote(first)} FROM {table} WHERE id = %s) "
        f"AND ({mine}) {strict} (SELECT {theirs} FROM {table} WHERE id = %s)"
    )
    return queryset.filter(RawSQL(sql, [row_id, row_id], output_field=BooleanField()))


def _page_rows(queryset: QuerySet, *, keys: tuple[str, ...], at: PageAt, limit: int) -> list:
    """One page of `queryset` (ordered by `keys`, newest first) from where `at` says; a seek
    from a row that is gone falls back to the offset."""
    if at.after is not None:
        rows = list(_seek(queryset, keys=keys, row_id=at.after, older=True)[:limit])
    elif at.before is not None:
        rows = list(_seek(queryset, keys=keys, row_id=at.before, older=False).reverse()[:limit])[::-1]
    elif at.oldest is not None:
        rows = list(queryset.reverse()[: min(at.oldest, limit)])[::-1]
    else:
        return list(queryset[at.offset : at.offset + limit])
    return rows or list(queryset[at.offset : at.offset + limit])


def person_profile(
    *,
    person: Person,
    limit: int = 200,
    pages: dict[str, PageAt] | None = None,
    lists: tuple[str, ...] = PROFILE_LISTS,
) -> PersonProfile:
    """What the person page and the people API show, in a fixed number of queries: each list
    in `lists` (default all of PROFILE_LISTS; the others stay empty) newest first (LIST_ORDER),
    `limit` rows from where `pages` says (default the newest). The referrals' rewards come in
    one query for both referral lists."""
    from django.db.models import prefetch_related_objects

    from vouch.emails.models import Email
    from vouch.events.models import Event
    from vouch.fraud.selectors import email_blacklisted
    from vouch.referrals.models import Referral
    from vouch.rewards.models import Reward
    from vouch.shares.models import Offer, Share

    site_id = person.site_id
    pages = pages or {}

    def referrals(**party) -> QuerySet:
        return (
            Referral.objects.filter(site_id=site_id, **party)
            .select_related("campaign", "advocate", "friend")
            .defer(*_slim("campaign", wide=CAMPAIGN_WIDE), *_slim("advocate", "friend"))
        )

    queries: dict[str, Callable[[], QuerySet]] = {
        "advocate": lambda: referrals(advocate=person),
        "friend": lambda: referrals(friend=person),
        "rewards": lambda: (
            Reward.objects.filter(site_id=site_id, person=person)
            .select_related("person")
            .defer(*_slim("person"))
        ),
        "emails": lambda: Email.objects.filter(site_id=site_id, person=person).defer("text", "html"),
        "offers": lambda: (
            Offer.objects.filter(site_id=site_id, friend=person)
            .select_related("campaign", "share")
            .defer(*_slim("campaign", wide=CAMPAIGN_WIDE))
        ),
        "shares": lambda: (
            Share.objects.filter(site_id=site_id, advocate=person)
            .select_related("campaign", "advocate")
            .defer(*_slim("campaign", wide=CAMPAIGN_WIDE), *_slim("advocate"))
        ),
        "events": lambda: (
            Event.objects.filter(site_id=site_id, person=person)
            .select_related("person")
            .defer("payload", "result", *_slim("person"))
        ),
    }
    rows: dict[str, list] = {name: [] for name in PROFILE_LISTS}
    for name in lists:
        keys = LIST_ORDER[name]
        newest_first = queries[name]().order_by(*(f"-{key}" for key in keys))
        rows[name] = _page_rows(newest_first, keys=keys, at=pages.get(name, PageAt()), limit=limit)
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


def person_with_counts(
    *, site: Site, person_id: int, names: tuple[str, ...] | None = None
) -> tuple[Person, dict[str, int]]:
    """The site's person `person_id` and how many rows each of their lists holds (the page
    shows one page of each) and how many of their rewards were given, in one statement beside
    the person's row: exact counts read from the person's tally (vouch.people.tallies), so a
    person with 50,000 referrals costs what one with ten does. `names` picks some of the
    counts (default all of TALLY_NAMES)."""
    from django.db.models.expressions import RawSQL

    from vouch.people.tallies import tally_selects

    selects = {name: sql for name, sql in tally_selects().items() if names is None or name in names}
    person = (
        Person.objects.filter(site=site, pk=person_id)
        .annotate(**{f"count_{name}": RawSQL(sql, [person_id, person_id]) for name, sql in selects.items()})
        .first()
    )
    if person is None:
        raise NotFound("person_not_found", f"No person {person_id} on this site.")
    return person, {name: int(getattr(person, f"count_{name}")) for name in selects}
