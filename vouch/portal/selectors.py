"""The reads behind the portal's pages that no other area's selector already answers."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.db.models import Count, Q, QuerySet

from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.emails.models import Email
from vouch.errors import NotFound
from vouch.people.models import Person, normalise_email
from vouch.people.selectors import PersonProfile
from vouch.pipelines import PIPELINES, Pipeline
from vouch.portal.models import ImportUpload
from vouch.referrals.models import Referral, StatusChange, TimedStep
from vouch.referrals.selectors import referral_search
from vouch.rewards.models import Coupon, CouponList, Reward
from vouch.rewards.selectors import coupon_list_counts, low_stock
from vouch.sites.models import Membership, Site

EMAIL, ORDER_OR_CODE = "email", "order_or_code"
LOOKUP_LIMIT = 50
QUEUE_LIMIT = 200


def lookup_kind(query: str) -> str:
    """Talkable's one search box: anything with an @ is an email (or part of one); anything
    else is a friend's order number or a coupon code."""
    return EMAIL if "@" in query else ORDER_OR_CODE


@dataclass
class LookupResult:
    query: str
    kind: str
    exact_person: Person | None = None
    people: list[Person] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)


def staff_lookup(*, site: Site, query: str) -> LookupResult:
    """People whose email is or contains the query, or referrals whose friend order number or
    coupon code is the query."""
    query = query.replace("\x00", "").strip()[:254]
    result = LookupResult(query=query, kind=lookup_kind(query))
    if not query:
        return result
    if result.kind == EMAIL:
        email = normalise_email(query)
        people = list(people_by_email_part(site=site, part=email)[:LOOKUP_LIMIT])
        result.exact_person = next((p for p in people if p.email == email), None)
        result.people = people
        return result
    seen: dict[int, Referral] = {}
    for found in (
        referral_search(site=site, order_number=query)[:LOOKUP_LIMIT],
        referral_search(site=site, coupon_code=query)[:LOOKUP_LIMIT],
    ):
        for referral in found:
            seen.setdefault(referral.pk, referral)
    result.referrals = sorted(seen.values(), key=lambda r: (r.created_at, r.pk), reverse=True)
    return result


def people_by_email_part(*, site: Site, part: str) -> QuerySet[Person]:
    """People whose email starts with `part` ("stephanie@gan"), or, for a part that starts at
    the @ ("@yahoo.com"), whose email contains it. A prefix is a range on the (site, email)
    index on every database; a part after the @ is a scan of that index in email order that
    stops at the first page of matches. On PostgreSQL a trigram index answers both (SQLite's
    LIKE ignores case, so it cannot use the index there; emails are stored lower case)."""
    people = Person.objects.filter(site=site).order_by("email")
    if part.startswith("@"):
        return people.filter(email__contains=part)
    if connection.vendor != "sqlite":
        return people.filter(email__startswith=part)
    return people.filter(email__gte=part, email__lt=part + "\U0010ffff")


def person_by_id(*, site: Site, person_id: int) -> Person:
    person = Person.objects.filter(site=site, pk=person_id).first()
    if person is None:
        raise NotFound("person_not_found", f"No person {person_id} on this site.")
    return person


def person_activity(*, person: Person, limit: int = 200) -> list[AuditEntry]:
    """Audit entries about the person: on them, on their `limit` newest referrals as advocate
    and as friend, and on their `limit` newest emails (what the other tabs open on)."""
    site_id = person.site_id
    newest = Referral.objects.filter(site_id=site_id).order_by("-created_at", "-id")
    referral_ids = [
        str(pk)
        for rows in (newest.filter(advocate=person), newest.filter(friend=person))
        for pk in rows.values_list("id", flat=True)[:limit]
    ]
    emails = Email.objects.filter(site_id=site_id, person=person).order_by("-created_at", "-id")
    email_ids = [str(pk) for pk in emails.values_list("id", flat=True)[:limit]]
    # The site in every branch, so each is a lookup on the (site, object_type, object_id) index:
    # with the site outside the OR, SQLite reads every audit entry of the site.
    about = (
        Q(site_id=site_id, object_type="person", object_id=str(person.pk))
        | Q(site_id=site_id, object_type="referral", object_id__in=referral_ids)
        | Q(site_id=site_id, object_type="email", object_id__in=email_ids)
    )
    return list(AuditEntry.objects.filter(about).order_by("-created_at", "-id")[:limit])


def pipeline_words(pipeline_name: str, status: str) -> str:
    pipeline = PIPELINES.get(pipeline_name)
    if pipeline and status in pipeline.states:
        return pipeline.states[status]
    return status.replace("_", " ").capitalize()


def reward_sentence(
    *, reward: Reward, referral_words: str, referral_reason: str, next_step: TimedStep | None
) -> str:
    """The decisive reason for one reward, in one sentence: when it was given, else why not."""
    if reward.status == "given":
        code = f" (code {reward.code})" if reward.code else ""
        return f"Given on {reward.given_at:%b %d, %Y}{code}."
    if reward.reason:
        return reward.reason
    if reward.status == "pending":
        if next_step is not None:
            return (
                f"Pending: the referral is {referral_words.lower()} and moves to "
                f"{next_step.to_status} on {next_step.due_at:%b %d, %Y %H:%M} UTC."
            )
        why = f" ({referral_reason.rstrip('.')})" if referral_reason else ""
        return f"Pending: the referral is {referral_words.lower()}{why}; it needs a person to approve it."
    return f"{reward.get_status_display()}: the referral is {referral_words.lower()}."


@dataclass
class Explanation:
    referral: Referral
    role: str
    referral_words: str
    referral_reason: str
    rewards: list[tuple[Reward, str]]
    no_reward: str = ""


def why_no_reward(*, profile: PersonProfile) -> list[Explanation]:
    """Each of the person's referrals with each of their rewards and its decisive reason
    (Talkable's use case 3), in three queries whatever the number of referrals."""
    person = profile.person
    referrals = [(r, "advocate") for r in profile.referrals_as_advocate]
    referrals += [(r, "friend") for r in profile.referrals_as_friend]
    ids = [r.pk for r, _ in referrals]
    last_reason: dict[int, str] = {}
    for referral_id, reason in (
        StatusChange.objects.filter(referral_id__in=ids).order_by("id").values_list("referral_id", "reason")
    ):
        last_reason[referral_id] = reason
    next_steps: dict[int, TimedStep] = {}
    for step in TimedStep.objects.filter(referral_id__in=ids, done_at__isnull=True).order_by("-due_at"):
        next_steps[step.referral_id] = step
    explanations = []
    for referral, role in referrals:
        words = pipeline_words(referral.campaign.pipeline, referral.status)
        reason = last_reason.get(referral.pk, "")
        step = next_steps.get(referral.pk)
        if step is not None and step.from_status != referral.status:
            step = None
        rewards = [r for r in referral.reward_list if r.person_id == person.pk]
        explanations.append(
            Explanation(
                referral=referral,
                role=role,
                referral_words=words,
                referral_reason=reason,
                rewards=[
                    (
                        r,
                        reward_sentence(
                            reward=r, referral_words=words, referral_reason=reason, next_step=step
                        ),
                    )
                    for r in rewards
                ],
                no_reward=""
                if rewards
                else f"No reward: the campaign {referral.campaign.name} gives the {role} no reward "
                "for a referral.",
            )
        )
    return explanations


def status_actions(pipeline: Pipeline, targets: list[str]) -> list[tuple[str, str, str]]:
    """The buttons for the statuses staff may move a referral to: (status, verb, status words)."""
    actions = []
    for target in targets:
        verb = next((t.verb for t in pipeline.transitions if t.target == target), target)
        actions.append((target, verb.capitalize(), pipeline.states.get(target, target)))
    return actions


def referral_queue(*, site: Site, status: str, limit: int = QUEUE_LIMIT) -> tuple[list[Referral], int]:
    """Referrals waiting in one status, oldest first (the (site, status, status_changed_at)
    index), and how many there are in all. The queue shows no rewards: none are fetched."""
    referrals = (
        Referral.objects.filter(site=site, status=status)
        .select_related("campaign", "advocate", "friend")
        .order_by("status_changed_at", "id")
    )
    return list(referrals[:limit]), Referral.objects.filter(site=site, status=status).count()


@dataclass
class CouponListRow:
    coupon_list: CouponList
    total: int
    given: int
    remaining: int
    given_last_30_days: int
    waiting: int
    low_stock: bool

    @property
    def days_left(self) -> float | None:
        daily = self.given_last_30_days / 30
        return round(self.remaining / daily, 1) if daily else None


def coupon_list_rows(*, site: Site, slug: str | None = None) -> list[CouponListRow]:
    """Each coupon list with its counts, last 30 days' use, rewards waiting, and low-stock warning."""
    lists = CouponList.objects.filter(site=site).order_by("slug")
    if slug is not None:
        lists = lists.filter(slug=slug)
    lists = list(lists)
    ids = [c.pk for c in lists]
    since = clock.now() - timedelta(days=30)
    used = dict(
        Coupon.objects.filter(coupon_list_id__in=ids, given_at__gte=since)
        .values_list("coupon_list_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    waiting = dict(
        Reward.objects.filter(site=site, coupon_list_id__in=ids, status="waiting_for_coupon")
        .values_list("coupon_list_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = []
    for coupon_list in lists:
        counts = coupon_list_counts(coupon_list=coupon_list)
        rows.append(
            CouponListRow(
                coupon_list=coupon_list,
                total=counts["total"],
                given=counts["given"],
                remaining=counts["remaining"],
                given_last_30_days=used.get(coupon_list.pk, 0),
                waiting=waiting.get(coupon_list.pk, 0),
                low_stock=low_stock(
                    remaining=counts["remaining"],
                    given_last_30_days=used.get(coupon_list.pk, 0),
                    low_stock_days=coupon_list.low_stock_days,
                ),
            )
        )
    return rows


def coupon_list_slugs(*, site: Site) -> dict[int, str]:
    return dict(CouponList.objects.filter(site=site).values_list("id", "slug"))


def site_members(*, site: Site) -> QuerySet[Membership]:
    return Membership.objects.filter(site=site).select_related("user").order_by("user__username")


def rewards_given_by_top_up(*, site: Site, reward_ids: list[int]) -> list[Reward]:
    return list(
        Reward.objects.filter(site=site, pk__in=reward_ids)
        .select_related("person", "referral")
        .order_by("id")
    )


def recent_import_uploads(*, site: Site, limit: int = 20) -> list[ImportUpload]:
    return list(
        ImportUpload.objects.filter(site=site)
        .select_related("user")
        .defer("content")
        .order_by("-created_at", "-id")[:limit]
    )
