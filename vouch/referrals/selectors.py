import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from vouch.emails.models import Email
from vouch.errors import NotFound
from vouch.events.models import Event
from vouch.fraud.models import FraudResult
from vouch.people.models import normalise_email
from vouch.pipelines import allowed_targets, pipeline_named
from vouch.referrals.models import Referral, StatusChange, TimedStep
from vouch.rewards.models import Reward
from vouch.rules.models import Decision
from vouch.sites.models import Site


def _referrals(site: Site) -> QuerySet[Referral]:
    rewards = Reward.objects.select_related("person").order_by("id")
    return (
        Referral.objects.filter(site=site)
        .select_related("campaign", "advocate", "friend")
        .prefetch_related(Prefetch("rewards", queryset=rewards, to_attr="reward_list"))
    )


def referral_for_site(*, site: Site, ref: str | int) -> Referral:
    """A referral by id, or by external id written `ext:<external id>`; 404 for another site's."""
    ref = str(ref).replace("\x00", "")
    referrals = _referrals(site)
    if ref.startswith("ext:"):
        referral = referrals.filter(external_id=ref[4:]).first()
    elif ref.isdigit() and len(ref) < 19:
        referral = referrals.filter(pk=int(ref)).first()
    else:
        referral = None
    if referral is None:
        raise NotFound("referral_not_found", f"No referral '{ref}' on this site.")
    return referral


def referral_search(
    *,
    site: Site,
    advocate_email: str = "",
    friend_email: str = "",
    order_number: str = "",
    coupon_code: str = "",
    status: str = "",
    campaign: str = "",
) -> QuerySet[Referral]:
    """The portal's four criteria (and status, campaign), newest first."""
    referrals = _referrals(site)
    if advocate_email:
        referrals = referrals.filter(advocate__email=normalise_email(advocate_email))
    if friend_email:
        referrals = referrals.filter(friend__email=normalise_email(friend_email))
    if order_number:
        referrals = referrals.filter(order_number=order_number.strip())
    if coupon_code:
        referrals = referrals.filter(coupon_code=coupon_code.strip().upper())
    if status:
        referrals = referrals.filter(status=status)
    if campaign:
        referrals = referrals.filter(campaign__slug=campaign)
    return referrals.order_by("-created_at", "-id")


@dataclass
class ReferralDetails:
    referral: Referral
    history: list[StatusChange]
    fraud_results: list[FraudResult]
    events: list[Event]
    emails: list[Email]
    next_timed_step: TimedStep | None
    allowed_statuses: list[str]
    decisions: list[Decision]


def _next_timed_step(referral: Referral) -> TimedStep | None:
    """The referral's open timed step from its status. Its steps (one or two) are read by the
    referral's index and filtered here: with `done_at IS NULL` in the SQL, SQLite picks the
    (done_at, due_at) index and reads every open step of every referral."""
    steps = referral.timed_steps.order_by("-id")
    return next((s for s in steps if s.done_at is None and s.from_status == referral.status), None)


def referral_details(*, referral: Referral, actor: str) -> ReferralDetails:
    pipeline = pipeline_named(referral.campaign.pipeline)
    history = list(referral.history.order_by("created_at", "id"))
    return ReferralDetails(
        referral=referral,
        history=history,
        fraud_results=list(referral.fraud_results.order_by("id")),
        events=list(referral.events.select_related("person").order_by("occurred_at", "id")),
        emails=list(referral.emails.order_by("created_at", "id")),
        next_timed_step=_next_timed_step(referral),
        allowed_statuses=allowed_targets(
            pipeline, current=referral.status, actor=actor, history=[h.to_status for h in history]
        ),
        decisions=list(referral.decisions.select_related("event").order_by("id")),
    )


@functools.cache
def guarded(pipeline: str) -> bool:
    """Do the pipeline's guards read a referral's history? (Pipelines are fixed in code.)"""
    return any(t.guard for t in pipeline_named(pipeline).transitions)


def status_histories(*, site_id: int, referrals: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    """Statuses each referral (id, pipeline) has been in, only for pipelines whose guards read them."""
    ids = [pk for pk, pipeline in referrals if guarded(pipeline)]
    histories: dict[int, list[str]] = defaultdict(list)
    if ids:
        changes = (
            StatusChange.objects.filter(site_id=site_id, referral_id__in=ids)
            .order_by("referral_id", "id")
            .values_list("referral_id", "to_status")
        )
        for referral_id, status in changes:
            histories[referral_id].append(status)
    return histories
