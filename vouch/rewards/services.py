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
from django.db.models import Count, Q, Sum

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.campaigns.definition import CampaignDefinition, Incentive
from vouch.locks import lock_row
from vouch.rewards.models import Coupon, CouponList, Reward, RewardStatusChange, Status
from vouch.sites.models import Site
from vouch.written_at_end import insert

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
    _history_write(reward=reward, changes=[(old, status, reason, reason_code)], at=clock.now())
    return True


def _history_write(*, reward: Reward, changes: list[tuple[str, str, str, str]], at) -> None:
    """The reward's status changes (from, to, reason, reason code), each kept with its
    reason and time; written at the end of the ingest with the others (`written_at_end`)."""
    insert(
        *(
            RewardStatusChange(
                site_id=reward.site_id,
                reward=reward,
                from_status=old,
                to_status=new,
                reason=why,
                reason_code=code,
                created_at=at,
            )
            for old, new, why, code in changes
        )
    )


def reward_give(*, reward: Reward) -> Reward:
    """Pay a pending or waiting reward: a code from its list, a fixed code, or credit/points."""
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
        _low_stock_publish(coupon_list=reward.coupon_list)
    if _reward_set_status(reward=reward, status=Status.GIVEN, coupon=coupon, code=code, given_at=clock.now()):
        _announce_given(reward)
    return reward


def _announce_given(reward: Reward) -> None:
    """The email (unless the reward's action said none) and the webhook of a reward just given."""
    from vouch.emails.services import email_queue_for_reward

    if reward.send_email:
        email_queue_for_reward(reward=reward, type=REWARD_EMAIL_TYPES[reward.role])
    _publish(reward=reward, type="reward.given")


def _low_stock_publish(*, coupon_list: CouponList) -> None:
    """Tell subscribed webhooks once when a list falls under its low-stock line (fewer codes
    than `low_stock_days` days of recent use); adding codes re-arms the warning."""
    from vouch.rewards.selectors import low_stock
    from vouch.webhooks.services import webhook_publish

    if coupon_list.low_stock_notified_at is not None:
        return
    now = clock.now()
    counts = Coupon.objects.filter(coupon_list=coupon_list).aggregate(
        remaining=Count("id", filter=Q(given_at__isnull=True)),
        used=Count("id", filter=Q(given_at__gte=now - timedelta(days=30))),
    )
    remaining, used = counts["remaining"], counts["used"]
    if not low_stock(remaining=remaining, given_last_30_days=used, low_stock_days=coupon_list.low_stock_days):
        return
    if CouponList.objects.filter(pk=coupon_list.pk, low_stock_notified_at__isnull=True).update(
        low_stock_notified_at=now
    ):
        coupon_list.low_stock_notified_at = now
        webhook_publish(
            site_id=coupon_list.site_id,
            type="coupon_list.low_stock",
            data={
                "coupon_list": coupon_list.slug,
                "remaining": remaining,
                "given_last_30_days": used,
                "low_stock_days": coupon_list.low_stock_days,
            },
        )


def _publish(*, reward: Reward, type: str) -> None:
    from vouch.webhooks.services import webhook_publish

    webhook_publish(
        site_id=reward.site_id,
        type=type,
        data={
            "reward": reward.pk,
            "referral": reward.referral_id,
            "role": reward.role,
            "person": reward.person.email,
            "kind": reward.kind,
            "status": reward.status,
            "code": reward.code or None,
            "value": reward.value,
            "currency": reward.currency,
            "reason": reward.reason,
            "reason_code": reward.reason_code,
        },
    )


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
    email: bool = True,
    give: bool = False,
) -> Reward:
    """Write a reward with its first status change. With `give` (the referral already
    releases rewards), a pending reward that needs no code from a coupon list is written
    given at once, with the same status changes (new → pending → given), email and webhook
    as `reward_give` on it would write, but without reading and updating it again."""
    coupon_list = None
    if incentive.list_slug:
        coupon_list = coupon_list_get_or_create(site_id=referral.site_id, slug=incentive.list_slug)
    give = give and status == Status.PENDING and coupon_list is None
    now = clock.now()
    reward = Reward.objects.create(
        site_id=referral.site_id,
        referral=referral,
        person=person,
        role=role,
        source=source,
        kind=incentive.kind,
        status=Status.GIVEN if give else status,
        coupon_list=coupon_list,
        code="" if coupon_list else (incentive.fixed_code or ""),
        value=Decimal(incentive.value) if incentive.value is not None else None,
        currency=incentive.currency,
        reason=reason,
        reason_code=reason_code,
        send_email=email,
        created_at=now,
        given_at=now if give else None,
    )
    changes = [("", status, reason, reason_code)]
    if give:
        changes.append((Status.PENDING, Status.GIVEN, "", ""))
    _history_write(reward=reward, changes=changes, at=now)
    if status == Status.BLOCKED:
        _publish(reward=reward, type="reward.blocked")
    if give:
        _announce_given(reward)
    return reward


COUNTED = [Status.GIVEN, *OPEN_STATUSES]


def _advocate_limit(*, limits, campaign_id: int, advocate) -> str | None:
    now = clock.now()
    counted = Reward.objects.filter(
        site_id=advocate.site_id,
        person=advocate,
        role="advocate",
        referral__campaign_id=campaign_id,
        status__in=COUNTED,
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


def _friend_limit(*, limit: int, campaign_id: int, friend) -> str | None:
    given = Reward.objects.filter(
        site_id=friend.site_id,
        person=friend,
        role="friend",
        referral__campaign_id=campaign_id,
        status__in=COUNTED,
    ).count()
    if given >= limit:
        return f"Friend has reached maximum rewards for this offer ({limit})."
    return None


def _budget_spent(*, budget: str, campaign_id: int, site_id: int, value: Decimal) -> str | None:
    spent = Reward.objects.filter(
        site_id=site_id, referral__campaign_id=campaign_id, status__in=COUNTED, value__isnull=False
    ).aggregate(total=Sum("value"))["total"] or Decimal(0)
    spent = spent.quantize(Decimal("0.01"))
    if spent + value > Decimal(budget):
        return f"The campaign's budget is spent ({spent} of {budget} used; this reward is {value})."
    return None


def reward_block_reason(*, referral, person, role: str, incentive: Incentive) -> tuple[str, str] | None:
    """The limit this reward would pass, as (sentence, reason code), or None.

    The person is locked first (and the campaign too when it has a budget), so racing
    events for the same advocate or campaign cannot pass a limit together."""
    from vouch.campaigns.models import Campaign
    from vouch.people.models import Person

    limits = campaign_definition_of(referral).limits
    campaign_id = referral.campaign_id
    if role == "friend":
        personal = [limits.friend_rewards_per_offer]
    else:
        personal = [
            limits.advocate_rewards_lifetime,
            limits.advocate_rewards_per_year,
            limits.advocate_rewards_per_30_days,
        ]
    limited = any(limit is not None for limit in personal)
    if limited:
        lock_row(Person, pk=person.pk)
    if role == "advocate":
        found = limited and _advocate_limit(limits=limits, campaign_id=campaign_id, advocate=person)
        if found:
            return found, "advocate_limit_reached"
    elif limits.friend_rewards_per_offer is not None:
        found = _friend_limit(limit=limits.friend_rewards_per_offer, campaign_id=campaign_id, friend=person)
        if found:
            return found, "friend_limit_reached"
    if limits.budget is not None and incentive.value is not None:
        lock_row(Campaign, pk=campaign_id)
        found = _budget_spent(
            budget=limits.budget,
            campaign_id=campaign_id,
            site_id=referral.site_id,
            value=Decimal(incentive.value),
        )
        if found:
            return found, "budget_spent"
    return None


def campaign_definition_of(referral) -> CampaignDefinition:
    from vouch.campaigns.selectors import campaign_definition

    return campaign_definition(referral.campaign)


@dataclass
class EffectReason:
    reason: str
    reason_code: str


def _affected(reward: Reward, effect: str) -> bool:
    if reward.status in OPEN_STATUSES:
        return True
    return effect == "release" and reward.status == Status.BLOCKED and reward.reason_code == REFERRAL_BLOCKED


def rewards_affected(*, referral_ids: list[int]) -> dict[int, list[Reward]]:
    """The rewards a status change could affect (open, or blocked because the referral was),
    of many referrals in one query, by referral: for `rewards_apply_effect(only=…)`. A
    referral without any is absent."""
    found: dict[int, list[Reward]] = {}
    rewards = Reward.objects.filter(
        Q(status__in=OPEN_STATUSES) | Q(status=Status.BLOCKED, reason_code=REFERRAL_BLOCKED),
        referral_id__in=referral_ids,
    )
    for reward in rewards.select_related("coupon_list", "person").order_by("id"):
        found.setdefault(reward.referral_id, []).append(reward)
    return found


def rewards_apply_effect(
    *, referral, effect: str, why: EffectReason | None = None, only: list[Reward] | None = None
) -> None:
    """What a referral's new status means for its open rewards: release, block or void them.
    Releasing also re-opens rewards blocked only because the referral was blocked (unblock);
    rewards blocked for their own reason (a limit, a criterion) stay blocked. With `only`
    (rewards already in hand, such as one just created, or read by `rewards_affected`), those
    instead of the referral's."""
    if effect == "hold":
        return
    if only is not None:
        rewards = [reward for reward in only if _affected(reward, effect)]
    else:
        affected = Q(status__in=OPEN_STATUSES)
        if effect == "release":
            affected |= Q(status=Status.BLOCKED, reason_code=REFERRAL_BLOCKED)
        rewards = Reward.objects.filter(affected, referral=referral)
        rewards = list(rewards.select_related("coupon_list", "person").order_by("id"))
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
            if (
                _reward_set_status(
                    reward=reward, status=status, reason=why.reason, reason_code=why.reason_code
                )
                and status == Status.BLOCKED
            ):
                _publish(reward=reward, type="reward.blocked")


def _used(reward: Reward) -> bool:
    """Was the reward's code used in one of its holder's reported purchases?"""
    from vouch.events.models import Event, Kind

    if not reward.code or reward.kind not in ("coupon", "gift_card"):
        return False
    purchases = Event.objects.filter(site_id=reward.site_id, person_id=reward.person_id, kind=Kind.PURCHASE)
    return any(reward.code in (codes or []) for codes in purchases.values_list("coupon_codes", flat=True))


def rewards_cancel(*, referral, include_given: bool, why: EffectReason) -> list[int]:
    """Void the referral's rewards that are not given yet, and given coupon or gift-card
    rewards whose code was never used; given credit and points only with `include_given`."""
    cancelled = []
    for reward in Reward.objects.filter(referral=referral).exclude(status=Status.VOIDED).order_by("id"):
        if reward.status == Status.GIVEN:
            unused_code = reward.kind in ("coupon", "gift_card") and not _used(reward)
            if not (unused_code or include_given):
                continue
        if _reward_set_status(
            reward=reward, status=Status.VOIDED, reason=why.reason, reason_code=why.reason_code
        ):
            cancelled.append(reward.pk)
    return cancelled


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
        if new and coupon_list.low_stock_notified_at is not None:
            CouponList.objects.filter(pk=coupon_list.pk).update(low_stock_notified_at=None)
            coupon_list.low_stock_notified_at = None
        waiting = (
            Reward.objects.filter(site=site, coupon_list=coupon_list, status=Status.WAITING_FOR_COUPON)
            .select_related("coupon_list", "person", "referral__campaign", "referral__friend")
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
