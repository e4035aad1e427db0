"""Run a campaign's rules for something that happened to a referral, in the caller's
transaction: evaluate each triggered rule, carry out its actions, and store the
decision trace (what was read, which conditions and criteria held, what was done)."""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import cel

from vouch.audit.services import ActorRef
from vouch.campaigns.selectors import campaign_definition
from vouch.errors import VouchError
from vouch.pipelines import pipeline_named
from vouch.read_cache import cached, remember
from vouch.rewards.models import Reward, Status
from vouch.rewards.services import (
    EffectReason,
    reward_block_reason,
    reward_create,
    rewards_apply_effect,
    rewards_cancel,
)
from vouch.rules.engine import (
    REWARD_ACTIONS,
    CompiledAction,
    CompiledRule,
    Happening,
    compile_rules,
    condition_holds,
    criteria_results,
    every_n_due,
    first_failed,
    rules_triggered,
    tier_value,
)
from vouch.rules.facts import Facts, jsonable
from vouch.rules.models import Decision

# Rules can change a referral's status, which triggers status rules; this bounds the chain.
MAX_DEPTH = 3
_depth = contextvars.ContextVar("rules_depth", default=0)
_unwritten: contextvars.ContextVar[list[Decision] | None] = contextvars.ContextVar(
    "decisions_unwritten", default=None
)


@contextmanager
def decisions_written_at_end() -> Iterator[None]:
    """Inside this block (one ingest's transaction) the decision rows of all its rule runs
    are written together when it ends, one insert instead of one per run (a purchase
    runs the rules for the new referral, the purchase and each status it reaches).
    `Facts.firings` counts the ones not written yet. Outside it, each run writes its own."""
    token = _unwritten.set([])
    try:
        yield
        Decision.objects.bulk_create(_unwritten.get())
    finally:
        _unwritten.reset(token)


@dataclass
class Run:
    referral: object
    rule: CompiledRule
    context: cel.Context
    position: int
    event: object | None
    once: bool = False
    done: list[dict] = field(default_factory=list)


def _context(rule: CompiledRule, facts: Facts) -> tuple[cel.Context, dict]:
    """The CEL context for a rule. Building one costs ~70 µs, so rules reading the same
    variables share it, unless they read `counts`, which differ per rule."""
    if "counts" not in rule.reads and rule.reads in facts.contexts:
        return facts.contexts[rule.reads]
    variables = facts.variables(rule.reads)
    if "counts" in rule.reads:
        variables["counts"] = facts.counts(rule_id=rule.id, fields=rule.counts_fields)
        return cel.Context(variables), variables
    facts.contexts[rule.reads] = (cel.Context(variables), variables)
    return facts.contexts[rule.reads]


def rules_run(*, referral, happening: Happening, event=None) -> list[Decision]:
    """Evaluate the rules `happening` triggers on this referral and act on those that hold."""
    if _depth.get() >= MAX_DEPTH:
        return []
    definition = campaign_definition(referral.campaign)
    triggered = rules_triggered(compile_rules(definition), happening)
    if not triggered:
        return []
    token = _depth.set(_depth.get() + 1)
    try:
        return _run(referral=referral, rules=triggered, happening=happening, event=event)
    finally:
        _depth.reset(token)


def _run(*, referral, rules: list[CompiledRule], happening: Happening, event) -> list[Decision]:
    unwritten = _unwritten.get()
    facts = Facts(referral=referral, event=event, unwritten=unwritten or (), rules=rules)
    version = referral.campaign.version
    if happening.kind == "referral_started":  # a referral just opened has no rewards yet
        remember(("rewards_issued", referral.pk), set())
    decisions = []
    for rule in rules:
        context, variables = _context(rule, facts)
        held = condition_holds(rule, context)
        decision = Decision(
            site_id=referral.site_id,
            referral=referral,
            advocate_id=referral.advocate_id,
            event=event,
            rule_id=rule.id,
            rule_version=version,
            trigger=happening.kind,
            condition=rule.rule.condition or "",
            condition_met=held.met,
            error=held.error,
            inputs=jsonable(variables),
            created_at=facts.now,
        )
        if held.met:
            position = facts.fired(rule.id) + 1 if rule.counts_position else 0
            once = happening.kind == "referral_started"
            run = Run(referral, rule, context, position, event, once=once)
            for action in rule.actions:
                run.done.append(_act(run, action))
            facts.fired_now[rule.id] += 1
            facts.acted()
            decision.actions = run.done
        decisions.append(decision)
    if unwritten is None:
        Decision.objects.bulk_create(decisions)
    else:
        unwritten.extend(decisions)
    return decisions


def _act(run: Run, compiled: CompiledAction) -> dict:
    action = compiled.action
    done = {"index": compiled.index, "type": action.type, "target": getattr(action, "target", None)}
    if action.type in REWARD_ACTIONS:
        return done | _reward(run, compiled)
    if action.type == "email":
        return done | _email(run, compiled)
    if action.type == "revert_referral":
        return done | referral_revert(
            referral=run.referral, reason=f"Reverted by the rule '{run.rule.id}'.", rule_id=run.rule.id
        )
    if action.type == "cancel_rewards":
        cancelled = rewards_cancel(
            referral=run.referral,
            include_given=action.include_given,
            why=EffectReason(f"Cancelled by the rule '{run.rule.id}'.", "cancelled_by_rule"),
        )
        return done | {"outcome": "cancelled", "rewards": cancelled}
    raise ValueError(action.type)


def _person(referral, target: str):
    return referral.advocate if target == "advocate" else referral.friend


def _criteria(run: Run, compiled: CompiledAction) -> tuple[list[dict], str | None]:
    results = criteria_results(compiled, run.context)
    failed = first_failed(results)
    trace = [{"label": r.label, "held": r.held, **({"error": r.error} if r.error else {})} for r in results]
    return trace, failed.label if failed else None


def _reward_source(run: Run, compiled: CompiledAction) -> str:
    """One reward per referral, role and source: the rule's action and, for triggers that can
    happen many times on one referral (purchases, custom actions), the event too."""
    if run.rule.id == "incentive":
        return "incentive"
    source = f"rule:{run.rule.id}/{compiled.index}"
    if run.event is not None and run.rule.rule.trigger.type in ("purchase", "custom", "person_changed"):
        source += f"/e{run.event.pk}"
    return source[:100]


def _rule_rewards(referral) -> set[tuple[str, str]]:
    """The (role, source) of every reward the referral has: read once per ingest
    (`vouch.read_cache`) rather than once per reward action, and not at all for a referral
    the ingest has just opened (`_run` starts it empty on `referral_started`). `_reward`,
    which creates every reward, adds each one, and nothing in an ingest deletes one, so
    the set stays true for the rest of the transaction. Rules run once (`referral_started`)
    neither check nor add: their sources name their own rule, which no later run has."""
    return cached(
        ("rewards_issued", referral.pk),
        lambda: set(Reward.objects.filter(referral=referral).values_list("role", "source")),
    )


def _reward(run: Run, compiled: CompiledAction) -> dict:
    action, referral = compiled.action, run.referral
    person = _person(referral, action.target)
    if person is None:
        return {"outcome": "skipped", "reason": "The referral has no friend to reward."}
    if action.type == "every_n_reward" and not every_n_due(action.every, run.position):
        return {
            "outcome": "skipped",
            "reason": f"Rewards every {action.every} times the rule fires; this is time {run.position}.",
        }
    incentive = action.reward
    if action.type == "tiered_reward":
        value = tier_value(action.tiers, run.position)
        if value is None:
            return {"outcome": "skipped", "reason": f"Time {run.position} is below the lowest tier."}
        incentive = incentive.model_copy(update={"value": value})
    source = _reward_source(run, compiled)
    issued = None if run.once else _rule_rewards(referral)
    if issued is not None and (action.target, source) in issued:
        return {"outcome": "skipped", "reason": "This reward was already issued for this referral."}
    trace, failed = _criteria(run, compiled)
    blocked = None
    if failed:
        blocked = (failed, "criterion_failed")
    else:
        blocked = reward_block_reason(
            referral=referral, person=person, role=action.target, incentive=incentive
        )
    effect = pipeline_named(referral.campaign.pipeline).reward_effect(referral.status)
    reward = reward_create(
        referral=referral,
        person=person,
        role=action.target,
        source=source,
        incentive=incentive,
        status=Status.BLOCKED if blocked else Status.PENDING,
        reason=blocked[0] if blocked else "",
        reason_code=blocked[1] if blocked else "",
        email=action.email,
        give=not blocked and effect == "release",
    )
    if issued is not None:
        issued.add((action.target, source))
    if reward.status == Status.PENDING:
        _apply_current_status(referral=referral, reward=reward, effect=effect)
    return {
        "outcome": "blocked" if blocked else reward.status,
        "reward": reward.pk,
        "value": str(reward.value) if reward.value is not None else None,
        "criteria": trace,
        **({"reason": blocked[0]} if blocked else {}),
    }


def _apply_current_status(*, referral, reward, effect: str) -> None:
    """A reward created after the referral moved on follows where the referral is now
    (`effect`, its status's): given if it is approved, blocked or voided if it was,
    pending while it waits."""
    if effect == "hold":
        return
    from vouch.referrals.services import effect_reason

    rewards_apply_effect(
        referral=referral,
        effect=effect,
        why=effect_reason(referral=referral, target=referral.status, reason=""),
        only=[reward],
    )


def _email(run: Run, compiled: CompiledAction) -> dict:
    from vouch.emails.services import email_queue

    action, referral = compiled.action, run.referral
    person = _person(referral, action.target)
    if person is None:
        return {"outcome": "skipped", "reason": "The referral has no friend to email."}
    trace, failed = _criteria(run, compiled)
    if failed:
        return {"outcome": "not_sent", "reason": failed, "criteria": trace}
    friend = referral.friend
    email = email_queue(
        person=person,
        type=action.template,
        referral=referral,
        context={"campaign": referral.campaign, "friend_email": friend.email if friend else ""},
    )
    return {"outcome": "email_queued", "email": email.pk, "criteria": trace}


def referral_revert(*, referral, reason: str, rule_id: str = "refund") -> dict:
    """A program rule voids the referral (a refund, a "revert referral" action); its open
    rewards are voided by the pipeline's effect."""
    from vouch.referrals.services import referral_transition

    pipeline = pipeline_named(referral.campaign.pipeline)
    actor = ActorRef(kind="rule", label=f"rule '{rule_id}'")
    if not pipeline.revert_to or referral.status == pipeline.revert_to:
        return {"outcome": "unchanged", "reason": f"The referral is {referral.status}."}
    try:
        referral_transition(referral=referral, target=pipeline.revert_to, actor=actor, reason=reason)
    except VouchError as refused:
        return {"outcome": "refused", "reason": refused.message}
    return {"outcome": "reverted", "status": referral.status}


def referral_refund(*, referral, event) -> list[Decision]:
    """A refund of the referral's purchase: the campaign's refund rules decide; without any,
    a full refund reverts the referral and cancels its unused rewards, and a partial one does
    the same when what is left fails a criterion of a reward still standing."""
    from vouch.referrals.models import Referral

    refunded = (referral.refunded or Decimal(0)) + (
        event.subtotal if event.subtotal is not None else Decimal(0)
    )
    full = event.subtotal is None or (referral.subtotal is not None and refunded >= referral.subtotal)
    Referral.objects.filter(pk=referral.pk).update(refunded=refunded)
    referral.refunded = refunded
    decisions = rules_run(referral=referral, happening=Happening(kind="refund"), event=event)
    if decisions:
        return decisions
    if full:
        reason = f"The friend refunded the purchase {referral.order_number or event.order_id}."
    else:
        reason = _criterion_failed_after_refund(referral=referral, event=event)
        if reason is None:
            return []
    referral_revert(referral=referral, reason=reason)
    rewards_cancel(referral=referral, include_given=False, why=EffectReason(reason, "refunded"))
    return []


def _criterion_failed_after_refund(*, referral, event) -> str | None:
    """The label of the first criterion a standing reward's action no longer meets."""
    definition = campaign_definition(referral.campaign)
    by_source = {}
    for rule in compile_rules(definition):
        for action in rule.actions:
            target = getattr(action.action, "target", None)
            key = "incentive" if rule.id == "incentive" else f"rule:{rule.id}/{action.index}"
            by_source[key, target] = (rule, action)
    facts = Facts(referral=referral, event=event)
    standing = Reward.objects.filter(referral=referral).exclude(status__in=[Status.VOIDED, Status.BLOCKED])
    for source, role in standing.values_list("source", "role"):
        found = by_source.get(("/".join(source.split("/")[:2]), role))
        if found is None or not found[1].criteria:
            continue
        rule, action = found
        context, _ = _context(rule, facts)
        failed = first_failed(criteria_results(action, context))
        if failed:
            return f"{failed.label} after a partial refund."
    return None
