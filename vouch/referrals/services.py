"""Every write to a referral. `referral_transition` is the one status-change
function: it asks the campaign's pipeline, moves the status with an update guarded
on the old status, and writes history, audit, reward effects and timers in the
caller's transaction."""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction

from vouch import clock
from vouch.audit.services import ENGINE, ActorRef, AuditItem, audit_record, audit_record_many
from vouch.bulk_insert import insert_rows
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.models import Campaign
from vouch.campaigns.selectors import campaign_definition
from vouch.errors import Conflict
from vouch.events.models import Event
from vouch.fraud.checks import CHECK_LABELS, verdict
from vouch.fraud.services import fraud_review
from vouch.people.models import Person
from vouch.pipelines import BLOCK, HOLD, Pipeline, activation_unmet, decide, pipeline_named
from vouch.referrals.models import Referral, StatusChange, TimedStep
from vouch.referrals.selectors import status_histories
from vouch.rewards.services import REFERRAL_BLOCKED, EffectReason, rewards_affected, rewards_apply_effect
from vouch.rules.engine import Happening, rules_have_trigger
from vouch.rules.services import rules_run
from vouch.shares.models import Offer, Share


def effect_reason(*, referral: Referral, target: str, reason: str) -> EffectReason:
    if target == "blocked":
        checks = [
            CHECK_LABELS.get(c, c)
            for c in referral.fraud_results.filter(outcome="block").values_list("fraud_check", flat=True)
        ]
        because = ", ".join(checks) or reason or "fraud settings"
        return EffectReason(f"Referral was blocked for {because}.", REFERRAL_BLOCKED)
    words = f": {reason}" if reason else "."
    pipeline = pipeline_named(referral.campaign.pipeline)
    if pipeline.reward_effect(target) == BLOCK and target not in pipeline.final:
        # A status the referral can leave (sales' denied): rewards blocked by it re-open on release.
        return EffectReason(f"Referral was {target}{words}", REFERRAL_BLOCKED)
    return EffectReason(f"Referral was {target}{words}", f"referral_{target}")


def _due_at(*, referral: Referral, delay: str, definition: CampaignDefinition) -> datetime | None:
    """When a timed transition named by `delay` falls due; None when the campaign sets none."""
    now = clock.now()
    if delay == "auto_approval_hours":
        return now + timedelta(hours=definition.delays.auto_approval_hours)
    if delay == "pending_denial_days":
        return now + timedelta(days=definition.delays.pending_denial_days)
    if delay == "offer_expiry":
        # A person who moves a referral back after its offer expired (restoring one pending
        # denial) chose that status: an expiry already past is not applied again.
        offer = referral.offer if referral.offer_id else None
        days = definition.friend_offer.expires_in_days
        due = offer.expires_at if offer is not None else (now + timedelta(days=days) if days else None)
        return due if due is not None and due > now else None
    raise ValueError(f"unknown delay {delay!r}")


def _timers(*, referral: Referral, pipeline: Pipeline, definition: CampaignDefinition) -> list[TimedStep]:
    """The timers of the referral's (new) status, not saved yet. One already due is taken at
    once instead, after saving the ones before it (the transition closes them)."""
    steps = []
    for timed in pipeline.timed_from(referral.status):
        due = _due_at(referral=referral, delay=timed.delay, definition=definition)
        if due is None:
            continue
        if due <= clock.now():
            TimedStep.objects.bulk_create(steps)
            referral_transition(referral=referral, target=timed.target, actor=ENGINE, reason=timed.reason)
            return []
        steps.append(
            TimedStep(
                site_id=referral.site_id,
                referral=referral,
                from_status=timed.source,
                to_status=timed.target,
                reason=timed.reason,
                due_at=due,
            )
        )
    return steps


def _schedule_timed(*, referral: Referral, pipeline: Pipeline, definition: CampaignDefinition) -> None:
    TimedStep.objects.bulk_create(_timers(referral=referral, pipeline=pipeline, definition=definition))


@dataclass(frozen=True)
class StatusMove:
    """One status change asked of `referral_transitions`."""

    referral: Referral
    target: str
    reason: str = ""


@dataclass
class _Move:
    referral: Referral
    target: str
    reason: str
    old: str
    pipeline: Pipeline
    verb: str
    definition: CampaignDefinition
    status_rules: bool


def referral_transition(*, referral: Referral, target: str, actor: ActorRef, reason: str = "") -> Referral:
    """Move a referral to `target` if its pipeline allows this actor to; else 409 with the rule."""
    refusal = referral_transitions(changes=[StatusMove(referral, target, reason)], actor=actor)[0]
    if refusal is not None:
        raise refusal
    return referral


def referral_transitions(*, changes: Sequence[StatusMove], actor: ActorRef) -> list[Conflict | None]:
    """Move many referrals (each once), each as `referral_transition` would, in the caller's
    transaction: per change, None when made, or the pipeline's refusal (nothing written for it).

    The writes are shared where the changes are alike: one guarded update per (from, to),
    one timer close, one insert each of history rows, audit entries, webhook events and new
    timers; rewards are read in one query and applied, in order, only to referrals that
    have some. A referral whose campaign has status rules is changed alone, in its place in
    the order, so that its rules see the referrals before it changed and those after not, as
    one by one. Raises `status_changed` when a referral's status is no longer the one read
    (someone moved it): some changes may be written, so the caller rolls back."""
    if len({change.referral.pk for change in changes}) != len(changes):
        raise ValueError("referral_transitions: a referral may be moved once per call")
    histories = _histories([change.referral for change in changes])
    refusals: list[Conflict | None] = []
    moves: list[_Move] = []
    status_rules: dict[int, bool] = {}
    for change in changes:
        referral = change.referral
        pipeline = pipeline_named(referral.campaign.pipeline)
        decision = decide(
            pipeline,
            current=referral.status,
            target=change.target,
            actor=actor.kind,
            history=histories.get(referral.pk, ()),
        )
        if not decision.allowed:
            refusals.append(
                Conflict(
                    "transition_not_allowed",
                    decision.rule,
                    details=[{"from": referral.status, "to": change.target, "rule": decision.rule}],
                )
            )
            continue
        refusals.append(None)
        definition = campaign_definition(referral.campaign)
        if referral.campaign_id not in status_rules:
            status_rules[referral.campaign_id] = rules_have_trigger(definition, "status")
        moves.append(
            _Move(
                referral=referral,
                target=change.target,
                reason=change.reason,
                old=referral.status,
                pipeline=pipeline,
                verb=decision.transition.verb,
                definition=definition,
                status_rules=status_rules[referral.campaign_id],
            )
        )
    for part in _parts(moves):
        _moves_apply(moves=part, actor=actor)
    return refusals


def _histories(referrals: list[Referral]) -> dict[int, list[str]]:
    """The statuses each referral has been in, for the pipelines whose guards read them."""
    by_site: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for referral in referrals:
        by_site[referral.site_id].append((referral.pk, referral.campaign.pipeline))
    found: dict[int, list[str]] = {}
    for site_id, listed in by_site.items():
        found.update(status_histories(site_id=site_id, referrals=listed))
    return found


def _parts(moves: list[_Move]) -> Iterator[list[_Move]]:
    """Runs of moves made together; a move whose campaign has status rules alone."""
    run: list[_Move] = []
    for move in moves:
        if move.status_rules:
            if run:
                yield run
                run = []
            yield [move]
        else:
            run.append(move)
    if run:
        yield run


def _moves_apply(*, moves: list[_Move], actor: ActorRef) -> None:
    now = clock.now()
    _guarded_updates(moves=moves, now=now)
    _close_timed_steps(moves=moves, actor=actor)
    insert_rows(
        StatusChange,
        [
            {
                "site_id": move.referral.site_id,
                "referral_id": move.referral.pk,
                "from_status": move.old,
                "to_status": move.target,
                "actor": actor.kind,
                "actor_label": actor.label,
                "reason": move.reason,
                "created_at": now,
            }
            for move in moves
        ],
    )
    if not actor.is_engine:
        _audit(moves=moves, actor=actor)
    _rewards_effects(moves)
    _publish_status_changed(moves=moves, actor=actor)
    steps = []
    for move in moves:
        if move.status_rules:
            rules_run(referral=move.referral, happening=Happening(kind="status", status=move.target))
        steps.extend(_timers(referral=move.referral, pipeline=move.pipeline, definition=move.definition))
    TimedStep.objects.bulk_create(steps)


def _audit(*, moves: list[_Move], actor: ActorRef) -> None:
    by_site: dict[int, list[AuditItem]] = defaultdict(list)
    for move in moves:
        by_site[move.referral.site_id].append(
            AuditItem(
                action=f"referral.{move.verb}",
                object_type="referral",
                object_id=move.referral.pk,
                before={"status": move.old},
                after={"status": move.target, "reason": move.reason},
            )
        )
    for site_id, items in by_site.items():
        audit_record_many(site_id=site_id, actor=actor, items=items)


def _guarded_updates(*, moves: list[_Move], now: datetime) -> None:
    """One update per (from, to), guarded on the old status: a referral moved since it was
    read makes the count short."""
    groups: dict[tuple[str, str], list[_Move]] = defaultdict(list)
    for move in moves:
        groups[(move.old, move.target)].append(move)
    for (old, target), group in groups.items():
        fields = {"status": target, "status_changed_at": now}
        if target == "approved":
            fields["approved_at"] = now
        ids = [move.referral.pk for move in group]
        if Referral.objects.filter(pk__in=ids, status=old).update(**fields) != len(ids):
            raise Conflict(
                "status_changed",
                "The referral's status changed while this change was made; reload it and try again.",
            )
        for move in group:
            for name, value in fields.items():
                setattr(move.referral, name, value)


def _close_timed_steps(*, moves: list[_Move], actor: ActorRef) -> None:
    """A referral that leaves a status closes its timers from there, so that coming back later
    starts them afresh instead of firing the old ones early. (The engine taking a timer closes
    its own step; the walk's query count stays put.)"""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for move in moves:
        timers = move.pipeline.timed_from(move.old)
        if timers and not (actor.is_engine and any(t.target == move.target for t in timers)):
            groups[(move.old, move.target)].append(move.referral.pk)
    for (old, target), ids in groups.items():
        TimedStep.objects.filter(referral_id__in=ids, from_status=old, done_at__isnull=True).update(
            done_at=clock.now(),
            outcome=f"skipped: the referral is {target}, no longer {old}",
            locked_until=None,
        )


def _rewards_effects(moves: list[_Move]) -> None:
    """What each new status means for the referral's rewards, in order; rewards read in one
    query, and nothing done for referrals without any."""
    effects = [
        (move, move.pipeline.reward_effect(move.target, move.definition.release_on())) for move in moves
    ]
    effects = [(move, effect) for move, effect in effects if effect != HOLD]
    if not effects:
        return
    rewards = rewards_affected(referral_ids=[move.referral.pk for move, _ in effects])
    for move, effect in effects:
        if listed := rewards.get(move.referral.pk):
            why = effect_reason(referral=move.referral, target=move.target, reason=move.reason)
            rewards_apply_effect(referral=move.referral, effect=effect, why=why, only=listed)


def _publish_status_changed(*, moves: list[_Move], actor: ActorRef) -> None:
    from vouch.webhooks.services import webhook_publish_many

    by_site: dict[int, list[dict]] = defaultdict(list)
    for move in moves:
        referral = move.referral
        by_site[referral.site_id].append(
            {
                "referral": referral.pk,
                "external_id": referral.external_id,
                "campaign": referral.campaign.slug,
                "from": move.old,
                "to": referral.status,
                "reason": move.reason,
                "by": actor.kind,
            }
        )
    for site_id, data in by_site.items():
        webhook_publish_many(site_id=site_id, type="referral.status_changed", data=data)


def _fraud_summary(results) -> str:
    hits = [f"{CHECK_LABELS[r.check]}: {r.message}" for r in results if r.outcome != "pass"]
    return " ".join(hits) if hits else "Fraud checks passed."


def referral_open(
    *,
    campaign: Campaign,
    advocate: Person,
    friend: Person | None,
    attributed_by: str,
    actor: ActorRef,
    reason: str,
    event: Event | None = None,
    share: Share | None = None,
    offer: Offer | None = None,
    external_id: str | None = None,
    order_number: str = "",
    subtotal: Decimal | None = None,
    currency: str = "",
    coupon_code: str = "",
    clicked: bool = False,
) -> Referral:
    """Open a referral, create its rewards, run the fraud review and move it to where
    the review sends it (and on, if its pipeline's timers are due at once)."""
    pipeline = pipeline_named(campaign.pipeline)
    definition = campaign_definition(campaign)
    now = clock.now()
    referral = Referral.objects.create(
        site_id=campaign.site_id,
        campaign=campaign,
        advocate=advocate,
        friend=friend,
        share=share,
        offer=offer,
        status=pipeline.initial,
        external_id=external_id,
        order_number=order_number,
        subtotal=subtotal,
        currency=currency,
        coupon_code=coupon_code,
        attributed_by=attributed_by,
        created_at=now,
        status_changed_at=now,
        clicked=clicked,
    )
    StatusChange.objects.create(
        site_id=referral.site_id,
        referral=referral,
        to_status=pipeline.initial,
        actor=actor.kind,
        actor_label=actor.label,
        reason=reason,
        created_at=now,
    )
    if event is not None:
        Event.objects.filter(pk=event.pk).update(referral=referral)
        event.referral = referral
    _rules_for_new_referral(referral=referral, event=event)
    if pipeline.after_fraud_review:
        _fraud_step(
            referral=referral, outcomes=pipeline.after_fraud_review, event=event, definition=definition
        )
    if referral.status == pipeline.initial:
        _initial_effects(referral=referral, pipeline=pipeline, definition=definition)
    return referral


def _initial_effects(*, referral: Referral, pipeline: Pipeline, definition: CampaignDefinition) -> None:
    """A referral that stays in its first status: what that status means for its rewards
    (sales may release on pending) and its timers (an unclaimed offer expires)."""
    effect = pipeline.reward_effect(referral.status, definition.release_on())
    why = effect_reason(referral=referral, target=referral.status, reason="")
    rewards_apply_effect(referral=referral, effect=effect, why=why)
    _schedule_timed(referral=referral, pipeline=pipeline, definition=definition)


def _fraud_step(
    *,
    referral: Referral,
    outcomes: dict[str, str],
    event: Event | None,
    definition: CampaignDefinition,
    again: bool = False,
) -> None:
    """Run the fraud checks and move the referral where their verdict sends it (if anywhere new)."""
    results = fraud_review(referral=referral, event=event, definition=definition, again=again)
    target = outcomes[verdict(results)]
    if target != referral.status:
        referral_transition(referral=referral, target=target, actor=ENGINE, reason=_fraud_summary(results))


def _rules_for_new_referral(*, referral: Referral, event: Event | None) -> None:
    """A new referral triggers the rules for a referral started, for the advocate's Nth
    referral in the campaign, and for the purchase or action that opened it."""
    rules_run(referral=referral, happening=Happening(kind="referral_started"), event=event)
    if rules_have_trigger(campaign_definition(referral.campaign), "advocate_referrals"):
        made = Referral.objects.filter(
            site_id=referral.site_id, campaign_id=referral.campaign_id, advocate_id=referral.advocate_id
        ).count()
        rules_run(
            referral=referral,
            happening=Happening(kind="advocate_referrals", advocate_referrals=made),
            event=event,
        )
    if event is not None and event.kind == "purchase":
        rules_run(referral=referral, happening=Happening(kind="purchase"), event=event)


def referral_create_manual(
    *,
    campaign: Campaign,
    advocate: Person,
    friend: Person | None,
    actor: ActorRef,
    order_number: str = "",
    subtotal: Decimal | None = None,
    currency: str = "",
    external_id: str | None = None,
) -> Referral:
    """The portal's "Create referral": the same engine path as a purchase, attributed by hand."""
    try:
        with transaction.atomic():
            referral = referral_open(
                campaign=campaign,
                advocate=advocate,
                friend=friend,
                attributed_by="manual",
                actor=actor,
                reason=f"Created by hand by {actor.label or actor.kind}.",
                external_id=external_id,
                order_number=order_number,
                subtotal=subtotal,
                currency=currency,
            )
            audit_record(
                site=campaign.site,
                actor=actor,
                action="referral.create",
                object_type="referral",
                object_id=referral.pk,
                after={
                    "campaign": campaign.slug,
                    "advocate": advocate.email,
                    "friend": friend.email if friend else None,
                    "order_number": order_number,
                    "subtotal": str(subtotal) if subtotal is not None else None,
                },
            )
            return referral
    except IntegrityError as error:
        raise Conflict(
            "duplicate_external_id", f"A referral with the external id '{external_id}' already exists."
        ) from error


def referral_create_by_hand(
    *,
    campaign: Campaign,
    advocate_email: str,
    friend_email: str | None,
    actor: ActorRef,
    order_number: str = "",
    subtotal: Decimal | None = None,
    currency: str | None = None,
    external_id: str | None = None,
) -> Referral:
    """ "Create referral" by email (the portal's form and the API): the advocate and friend are
    found or created and the referral opened in one transaction, in the campaign's currency
    unless one is given."""
    from vouch.people.services import person_get_or_create

    incentive = campaign_definition(campaign).incentives.advocate
    with transaction.atomic():
        advocate = person_get_or_create(site=campaign.site, email=advocate_email)
        friend = person_get_or_create(site=campaign.site, email=friend_email) if friend_email else None
        return referral_create_manual(
            campaign=campaign,
            advocate=advocate,
            friend=friend,
            actor=actor,
            order_number=order_number,
            subtotal=subtotal,
            currency=currency or (incentive.currency if incentive else "USD"),
            external_id=external_id,
        )


def referral_set_status(*, referral: Referral, status: str, actor: ActorRef, reason: str = "") -> Referral:
    """A person's status change (staff, API, import): one transaction, the row locked."""
    with transaction.atomic():
        referral = Referral.objects.select_for_update().select_related("campaign", "site").get(pk=referral.pk)
        return referral_transition(referral=referral, target=status, actor=actor, reason=reason)


def _referral_of(*, share: Share, friend_id: int | None) -> Referral | None:
    return (
        Referral.objects.filter(site_id=share.site_id, share=share, friend_id=friend_id)
        .select_related("campaign", "site", "offer", "advocate", "friend")
        .order_by("-id")
        .first()
    )


def _clicked(share: Share) -> bool:
    """Was the share link visited by someone other than the advocate who shared it?"""
    visits = share.visits.all()
    if share.visitor_uuid:
        visits = visits.exclude(visitor_uuid=share.visitor_uuid)
    return visits.exists()


def _claim_step(*, referral: Referral, pipeline: Pipeline, event: Event | None) -> None:
    """The friend claimed: the fraud checks (self-referral by email, visitor id, IP…) decide
    whether the referral goes on to its next step or to the pipeline's refusal status."""
    if pipeline.claim and referral.status == pipeline.initial:
        definition = campaign_definition(referral.campaign)
        _fraud_step(referral=referral, outcomes=pipeline.claim, event=event, definition=definition)


def referral_open_for_share(*, share: Share, friend: Person, actor: ActorRef) -> Referral | None:
    """A share naming the friend opens an offer-unclaimed referral in the pipelines that start there."""
    pipeline = pipeline_named(share.campaign.pipeline)
    if not pipeline.opens_at_share or _referral_of(share=share, friend_id=friend.pk):
        return None
    return referral_open(
        campaign=share.campaign,
        advocate=share.advocate,
        friend=friend,
        attributed_by="email",
        actor=actor,
        reason=f"{share.advocate.email} shared the offer with {friend.email} ({share.channel}).",
        share=share,
    )


def referral_claim(*, offer: Offer, actor: ActorRef) -> Referral | None:
    """The friend claimed the offer: the share's referral for this friend (opened now if the
    share did not name them) takes its claim step. Pipelines that start at the purchase
    (purchase with fraud review) open nothing here."""
    share = offer.share
    pipeline = pipeline_named(share.campaign.pipeline)
    if not pipeline.opens_at_claim:
        return None
    referral = _referral_of(share=share, friend_id=offer.friend_id)
    if referral is None or (referral.offer_id is None and referral.status in pipeline.final):
        # Never claimed and closed (an unclaimed offer that expired): the claim starts afresh.
        referral = referral_open(
            campaign=share.campaign,
            advocate=share.advocate,
            friend=offer.friend,
            attributed_by="email",
            actor=actor,
            reason=f"{offer.friend.email} claimed the offer.",
            share=share,
            offer=offer,
            coupon_code=offer.coupon_code,
            clicked=_clicked(share),
        )
    elif referral.offer_id is None:
        Referral.objects.filter(pk=referral.pk).update(offer=offer, coupon_code=offer.coupon_code)
        referral.offer, referral.coupon_code = offer, offer.coupon_code
    _claim_step(referral=referral, pipeline=pipeline, event=None)
    return referral


def referral_purchase_from_share(
    *, share: Share, offer: Offer | None, event: Event, actor: ActorRef, attributed_by: str, clicked: bool
) -> Referral:
    """A purchase attributed to a share whose pipeline starts before the purchase: the friend's
    referral of that share (opened now if there is none) takes its claim step if it has not,
    then the purchase is its conversion when the pipeline converts on a purchase."""
    pipeline = pipeline_named(share.campaign.pipeline)
    referral = _referral_of(share=share, friend_id=event.person_id)
    if referral is None:
        referral = referral_open(
            campaign=share.campaign,
            advocate=share.advocate,
            friend=event.person,
            attributed_by=attributed_by,
            actor=actor,
            reason=f"Purchase {event.external_id} attributed by {attributed_by.replace('_', ' ')}.",
            event=event,
            share=share,
            offer=offer,
            order_number=event.external_id,
            subtotal=event.subtotal,
            currency=event.currency,
            coupon_code=offer.coupon_code if offer else "",
            clicked=clicked,
        )
    else:
        _link_event(referral=referral, event=event)
        rules_run(referral=referral, happening=Happening(kind="purchase"), event=event)
    _claim_step(referral=referral, pipeline=pipeline, event=event)
    referral_event_reported(referral=referral, event=event)
    return referral


def _link_event(*, referral: Referral, event: Event) -> None:
    Event.objects.filter(pk=event.pk).update(referral=referral)
    event.referral = referral
    if event.kind == "purchase" and not referral.order_number:
        Referral.objects.filter(pk=referral.pk).update(
            order_number=event.external_id, subtotal=event.subtotal, currency=event.currency
        )
        referral.order_number, referral.subtotal, referral.currency = (
            event.external_id,
            event.subtotal,
            event.currency,
        )


def invoiced(event: Event) -> bool:
    """A purchase counts as the invoiced order unless its fields say `"invoiced": false`
    (the shop then reports the invoice later as a custom event `invoiced` naming the order)."""
    return (event.payload.get("fields") or {}).get("invoiced") is not False


def referral_event_reported(*, referral: Referral, event: Event, invoice: bool = False) -> None:
    """The friend's conversion: a purchase (invoiced) or a signup moves a referral waiting for
    it to where the fraud checks of that event send it. In account activation, the campaign's
    requirements (wait days, transactions) must be met too; a later purchase may meet them."""
    pipeline = pipeline_named(referral.campaign.pipeline)
    conversion = pipeline.conversion
    if conversion is None or referral.status != conversion.source:
        return
    if event.kind == "purchase" and conversion.requirements:
        _requirements_step(referral=referral, pipeline=pipeline)
        return
    if conversion.event != event.kind:
        return
    if event.kind == "purchase" and not (invoice or invoiced(event)):
        return
    definition = campaign_definition(referral.campaign)
    results = fraud_review(referral=referral, event=event, definition=definition, again=True)
    target = conversion.outcomes[verdict(results)]
    if conversion.requirements and target == conversion.outcomes["pass"]:
        _account_opened(referral=referral, event=event, definition=definition)
        if referral_requirement_unmet(referral=referral, target=target):
            return
    referral_transition(referral=referral, target=target, actor=ENGINE, reason=_fraud_summary(results))


def _account_opened(*, referral: Referral, event: Event, definition: CampaignDefinition) -> None:
    """The friend acted, so the offer no longer expires; the campaign's wait is a timer."""
    TimedStep.objects.filter(
        referral=referral, done_at__isnull=True, from_status=referral.status, to_status="expired"
    ).update(done_at=clock.now(), outcome="skipped: the friend opened the account", locked_until=None)
    days = definition.activation.wait_days
    if days:
        TimedStep.objects.create(
            site_id=referral.site_id,
            referral=referral,
            from_status=referral.status,
            to_status=pipeline_named(referral.campaign.pipeline).conversion.outcomes["pass"],
            reason=f"The account has been open {days} days",
            due_at=event.occurred_at + timedelta(days=days),
        )


def referral_requirement_unmet(*, referral: Referral, target: str) -> str | None:
    """Why the referral cannot move to `target` yet (account activation's requirements), or None."""
    conversion = pipeline_named(referral.campaign.pipeline).conversion
    if conversion is None or not conversion.requirements or target != conversion.outcomes["pass"]:
        return None
    opened = (
        Event.objects.filter(referral=referral, kind="signup")
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    if opened is None:
        return "The friend has not opened the account yet."
    activation = campaign_definition(referral.campaign).activation
    made = Event.objects.filter(
        site_id=referral.site_id, person_id=referral.friend_id, kind="purchase", occurred_at__gte=opened
    ).count()
    return activation_unmet(
        wait_days=activation.wait_days,
        transactions=activation.transactions,
        opened_at=opened,
        now=clock.now(),
        made=made,
    )


def _requirements_step(*, referral: Referral, pipeline: Pipeline) -> None:
    target = pipeline.conversion.outcomes["pass"]
    if referral_requirement_unmet(referral=referral, target=target) is None:
        referral_transition(
            referral=referral, target=target, actor=ENGINE, reason="The account's requirements are met."
        )
