"""Every write to rewards, coupons and coupon lists.

A coupon is given at most once: it is claimed with `SELECT … FOR UPDATE SKIP LOCKED`
on PostgreSQL (SQLite serialises write transactions) and then marked by an
update guarded on `given_at IS NULL` that must change exactly one row. A reward is
issued at most once: one row per (referral, role, source), and every status change
is an update guarded on the status it was read in.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.campaigns.definition import CampaignDefinition, Incentive
from vouch.rewards.models import Coupon, CouponList, Reward, RewardStatusChange, Status
from vouch.sites.models import Site

OPEN_STATUSES = (Status.PENDING, Status.WAITING_FOR_COUPON)
REFERRAL_BLOCKED = "referral_blocked"
REWARD_EMAIL_TYPES = {"advocate": "advocate_reward_paid", "friend": "friend_reward"}


def normalise_code(raw: str) -> str:
    return (raw or "").strip().upper()


def code_problem(code: str) -> str | None:
    if len(code) < 3:
        return "A coupon code has at least 3 characters."
    if len(code) > 255:
        return "A coupon code has at most 255 characters."
    return None


def coupon_list_get_or_create(*, site_id: int, slug: str) -> CouponList:
    coupon_list, _ = CouponList.objects.get_or_create(site_id=site_id, slug=slug, defaults={"name": slug})
    return coupon_list


def coupon_claim(*, coupon_list: CouponList) -> Coupon | None:
    """Take the oldest free code of the list, or None when the list is empty."""
    free = Coupon.objects.filter(coupon_list=coupon_list, given_at__isnull=True).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        free = free.select_for_update(skip_locked=True)
    for coupon in free[:3]:
        now = clock.now()
        if Coupon.objects.filter(pk=coupon.pk, given_at__isnull=True).update(given_at=now) == 1:
            coupon.given_at = now
            return coupon
    return None


def _reward_set_status(
    *, reward: Reward, status: str, reason: str = "", reason_code: str = "", **fields
) -> bool:
    """Move the reward from the status it was read in; False if someone else moved it first."""
    old = reward.status
    changed = Reward.objects.filter(pk=reward.pk, status=old).update(
        status=status, reason=reason, reason_code=reason_code, **fields
    )
    if changed != 1:
        return False
    for name, value in {"status": status, "reason": reason, "reason_code": reason_code, **fields}.items():
        setattr(reward, name, value)
    RewardStatusChange.objects.create(
        site_id=reward.site_id,
        reward=reward,
        from_status=old,
        to_status=status,
        reason=reason,
        reason_code=reason_code,
        created_at=clock.now(),
    )
    return True


def reward_give(*, reward: Reward) -> Reward:
    """Pay a pending or waiting reward: a code from its list, a fixed code, or credit/points."""
    from vouch.emails.services import email_queue_for_reward

    if reward.status not in OPEN_STATUSES:
        return reward
    code, coupon = reward.code, None
    if reward.coupon_list_id:
        coupon = coupon_claim(coupon_list=reward.coupon_list)
        if coupon is None:
            if reward.status != Status.WAITING_FOR_COUPON:
                _reward_set_status(
                    reward=reward,
                    status=Status.WAITING_FOR_COUPON,
                    reason="There are not enough coupons left in the coupon list "
                    f"'{reward.coupon_list.slug}' "
                    "to pay the reward; it is given as soon as coupons are added.",
                    reason_code="waiting_for_coupon",
                )
            return reward
        code = coupon.code
    if _reward_set_status(reward=reward, status=Status.GIVEN, coupon=coupon, code=code, given_at=clock.now()):
        email_queue_for_reward(reward=reward, type=REWARD_EMAIL_TYPES[reward.role])
    return reward


def reward_create(
    *,
    referral,
    person,
    role: str,
    source: str,
    incentive: Incentive,
    status: str = Status.PENDING,
    reason: str = "",
    reason_code: str = "",
) -> Reward:
    coupon_list = None
    if incentive.list_slug:
        coupon_list = coupon_list_get_or_create(site_id=referral.site_id, slug=incentive.list_slug)
    now = clock.now()
    reward = Reward.objects.create(
        site_id=referral.site_id,
        referral=referral,
        person=person,
        role=role,
        source=source,
        kind=incentive.kind,
        status=status,
        coupon_list=coupon_list,
        code="" if coupon_list else (incentive.fixed_code or ""),
        value=Decimal(incentive.value) if incentive.value is not None else None,
        currency=incentive.currency,
        reason=reason,
        reason_code=reason_code,
        created_at=now,
    )
    RewardStatusChange.objects.create(
        site_id=reward.site_id,
        reward=reward,
        to_status=status,
        reason=reason,
        reason_code=reason_code,
        created_at=now,
    )
    return reward


def _limit_reached(*, definition: CampaignDefinition, advocate) -> str | None:
    """The advocate's reward limit this reward would pass, as a sentence, or None."""
    limits = definition.limits
    now = clock.now()
    counted = Reward.objects.filter(site_id=advocate.site_id, person=advocate, role="advocate").filter(
        Q(status__in=[Status.GIVEN, *OPEN_STATUSES])
    )
    windows = (
        (limits.advocate_rewards_lifetime, None, "in total"),
        (
            limits.advocate_rewards_per_year,
            now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
            "this calendar year",
        ),
        (limits.advocate_rewards_per_30_days, now - timedelta(days=30), "in the last 30 days"),
    )
    for limit, since, words in windows:
        if limit is None:
            continue
        rows = counted if since is None else counted.filter(created_at__gte=since)
        if rows.count() >= limit:
            return f"Advocate has reached maximum rewards ({limit} {words})."
    return None


def rewards_create_for_referral(*, referral, definition: CampaignDefinition) -> list[Reward]:
    """The campaign's advocate and friend incentives, pending until the pipeline releases them.
    The advocate is locked first so racing referrals cannot pass a reward limit."""
    from vouch.locks import lock_row
    from vouch.people.models import Person

    rewards = []
    advocate_incentive = definition.incentives.advocate
    if advocate_incentive:
        limits = definition.limits.model_dump(exclude_none=True)
        advocate = lock_row(Person, pk=referral.advocate_id) if limits else referral.advocate
        limit = _limit_reached(definition=definition, advocate=advocate) if limits else None
        rewards.append(
            reward_create(
                referral=referral,
                person=advocate,
                role="advocate",
                source="incentive",
                incentive=advocate_incentive,
                status=Status.BLOCKED if limit else Status.PENDING,
                reason=limit or "",
                reason_code="advocate_limit_reached" if limit else "",
            )
        )
    if definition.incentives.friend and referral.friend_id:
        rewards.append(
            reward_create(
                referral=referral,
                person=referral.friend,
                role="friend",
                source="incentive",
                incentive=definition.incentives.friend,
            )
        )
    return rewards


@dataclass
class EffectReason:
    reason: str
    reason_code: str


def rewards_apply_effect(*, referral, effect: str, why: EffectReason | None = None) -> None:
    """What a referral's new status means for its open rewards: release, block or void them.
    Releasing also re-opens rewards blocked only because the referral was blocked (unblock);
    rewards blocked for their own reason (a limit, a criterion) stay blocked."""
    if effect == "hold":
        return
    affected = Q(status__in=OPEN_STATUSES)
    if effect == "release":
        affected |= Q(status=Status.BLOCKED, reason_code=REFERRAL_BLOCKED)
    rewards = list(
        Reward.objects.filter(affected, referral=referral)
        .select_related("coupon_list", "person")
        .order_by("id")
    )
    for reward in rewards:
        reward.referral = referral
        if effect == "release":
            if reward.status == Status.BLOCKED:
                _reward_set_status(
                    reward=reward, status=Status.PENDING, reason=why.reason, reason_code=why.reason_code
                )
            reward_give(reward=reward)
        elif effect in ("block", "void"):
            status = Status.BLOCKED if effect == "block" else Status.VOIDED
            _reward_set_status(reward=reward, status=status, reason=why.reason, reason_code=why.reason_code)


@dataclass
class TopUpResult:
    coupon_list: CouponList
    added: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    rewards_given: list[int] = field(default_factory=list)


def coupon_list_top_up(*, site: Site, slug: str, codes: list[str], actor: ActorRef) -> TopUpResult:
    """Add codes to a list (created if new) and, in the same transaction, give the
    rewards waiting for a coupon in it, oldest first."""
    with transaction.atomic():
        coupon_list = coupon_list_get_or_create(site_id=site.pk, slug=slug)
        result = TopUpResult(coupon_list=coupon_list)
        wanted: dict[str, None] = {}
        for position, raw in enumerate(codes, start=1):
            code = normalise_code(raw)
            problem = code_problem(code)
            if problem:
                result.invalid.append({"position": position, "code": raw, "message": problem})
            elif code in wanted:
                result.already_there.append(code)
            else:
                wanted[code] = None
        existing = set(
            Coupon.objects.filter(coupon_list=coupon_list, code__in=list(wanted)).values_list(
                "code", flat=True
            )
        )
        result.already_there += sorted(existing)
        now = clock.now()
        new = [
            Coupon(site=site, coupon_list=coupon_list, code=c, created_at=now)
            for c in wanted
            if c not in existing
        ]
        Coupon.objects.bulk_create(new, batch_size=1000)
        result.added = [c.code for c in new]
        waiting = (
            Reward.objects.filter(site=site, coupon_list=coupon_list, status=Status.WAITING_FOR_COUPON)
            .select_related("coupon_list", "person")
            .order_by("created_at", "id")
        )
        for reward in waiting[: len(new)]:
            reward_give(reward=reward)
            if reward.status != Status.GIVEN:
                break
            result.rewards_given.append(reward.pk)
        audit_record(
            site=site,
            actor=actor,
            action="coupon_list.top_up",
            object_type="coupon_list",
            object_id=coupon_list.pk,
            after={
                "added": len(result.added),
                "already_there": len(result.already_there),
                "invalid": len(result.invalid),
                "rewards_given": result.rewards_given,
            },
        )
    return result
