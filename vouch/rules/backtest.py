"""Backtest proposed program rules: replay a campaign's stored events and status history
under its current rules and under the proposed ones, and say which rewards would differ.

Nothing is written. The replay never calls a service: it evaluates with the pure engine
(`vouch.rules.engine`), reads variables through `Facts`, and keeps what the services would
have stored (rule firings per advocate for tiers and every-N, rewards and their statuses,
the referral's status) in memory. `backtest` also runs inside a transaction it rolls back,
so a write slipped in by a future change to `Facts` cannot survive either.

Both sides are replayed, rather than comparing the proposed rules with the rewards stored,
so a difference comes from the rules alone and not from coupon stock, rules changed since,
or staff edits. What the replay does not model: coupon stock (a released reward counts as
given), and `person_changed` triggers (the history of field and segment changes is not kept).
"""

import copy
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

import cel
from django.db import transaction
from django.db.models import Count, Q
from pydantic import ValidationError

from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.selectors import campaign_definition
from vouch.events.models import Event, Kind
from vouch.pipelines import Pipeline, decide, pipeline_named
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
from vouch.rules.facts import Facts
from vouch.rules.services import MAX_DEPTH

GIVEN, PENDING, BLOCKED, VOIDED = "given", "pending", "blocked", "voided"
COUNTED = (GIVEN, PENDING)
REFERRAL_BLOCKED = "referral_blocked"


class RulesFileError(ValueError):
    """Proposed rules that do not validate, with one line per pydantic error."""


def proposed_definition(current: CampaignDefinition, data: object) -> CampaignDefinition:
    """The campaign's definition with its rules replaced by `data`: a list of rules or
    `{"rules": [...]}`. Validated as a whole campaign, so the checks are the ones a save makes."""
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if not isinstance(data, list):
        raise RulesFileError('The file must hold a list of rules or {"rules": [...]}.')
    body = {**current.model_dump(mode="json"), "rules": data}
    try:
        return CampaignDefinition.model_validate(body)
    except ValidationError as error:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()]
        raise RulesFileError("The proposed rules are invalid:\n" + "\n".join(lines)) from None


@dataclass
class SimReward:
    """A reward as the replay would have issued it."""

    referral_id: int
    person_id: int
    role: str
    source: str
    rule_id: str
    action_index: int
    condition: str
    kind: str
    value: Decimal | None
    currency: str
    status: str
    created_at: datetime
    reason: str = ""
    reason_code: str = ""
    criterion: str = ""
    given_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.role, self.source


@dataclass(frozen=True)
class RuleTrace:
    """One evaluation of one rule in the replay, kept to explain a difference."""

    rule_id: str
    trigger: str
    condition: str
    met: bool
    error: str = ""
    failed_criterion: str = ""


@dataclass
class ReferralReplay:
    referral_id: int
    label: str
    rewards: dict[tuple[str, str], SimReward] = field(default_factory=dict)
    trace: list[RuleTrace] = field(default_factory=list)
    status: str = ""


@dataclass(frozen=True)
class Difference:
    referral_id: int
    referral: str
    change: str  # only_current, only_proposed, changed
    role: str
    source: str
    current: SimReward | None
    proposed: SimReward | None
    why: str


@dataclass(frozen=True)
class Totals:
    rewards: int
    by_status: dict[str, int]
    value: Decimal


@dataclass(frozen=True)
class BacktestReport:
    campaign: str
    referrals: int
    differences: list[Difference]
    current: Totals
    proposed: Totals
    notes: list[str]


@dataclass(frozen=True)
class Step:
    at: datetime
    happening: Happening
    event: Event | None = None
    stored_status: tuple[str, str] | None = None  # (to, actor) of a stored status change


def _explain(rule_id: str, trace: list[RuleTrace], rules: dict[str, CompiledRule]) -> str:
    """Why a rule gave no reward on one side: absent, condition not met, or a criterion failed."""
    if rule_id not in rules:
        return f"the rule '{rule_id}' is not in these rules"
    seen = [t for t in trace if t.rule_id == rule_id]
    if not seen:
        return f"the rule '{rule_id}' was not triggered"
    last = seen[-1]
    if not last.met:
        error = f" ({last.error})" if last.error else ""
        return f"the rule '{rule_id}' did not hold: {last.condition}{error}"
    if last.failed_criterion:
        return f"the rule '{rule_id}' held but a criterion failed: {last.failed_criterion}"
    return f"the rule '{rule_id}' held but gave no reward (already issued, or not its turn)"


def _describe(reward: SimReward) -> str:
    value = f"{reward.value} {reward.currency} " if reward.value is not None else ""
    reason = f" ({reward.reason})" if reward.reason else ""
    return f"{value}{reward.kind} {reward.status}{reason}"


def compare(
    current: ReferralReplay,
    proposed: ReferralReplay,
    *,
    current_rules: dict[str, CompiledRule],
    proposed_rules: dict[str, CompiledRule],
) -> list[Difference]:
    """The rewards of one referral that differ between the two replays, each with the rule,
    its condition and the criterion that decided it."""
    differences = []
    for key in sorted(set(current.rewards) | set(proposed.rewards)):
        before, after = current.rewards.get(key), proposed.rewards.get(key)
        if before and after:
            if (before.value, before.status, before.kind) == (after.value, after.status, after.kind):
                continue
            change = "changed"
            why = f"rule '{after.rule_id}' (condition: {after.condition or 'none'}): "
            why += f"{_describe(before)} → {_describe(after)}"
        elif before:
            change = "only_current"
            why = _explain(before.rule_id, proposed.trace, proposed_rules)
        else:
            change = "only_proposed"
            why = _explain(after.rule_id, current.trace, current_rules)
        differences.append(
            Difference(current.referral_id, current.label, change, key[0], key[1], before, after, why)
        )
    return differences


def totals(rewards: list[SimReward]) -> Totals:
    """Rewards by status and the value of those that count against a budget (given or pending)."""
    by_status = Counter(r.status for r in rewards)
    value = sum((r.value for r in rewards if r.status in COUNTED and r.value is not None), Decimal(0))
    return Totals(len(rewards), dict(sorted(by_status.items())), value)


class _ReplayFacts(Facts):
    """Facts at a moment of the replay: rule firings and given rewards from the replay's
    memory, counts of referrals as they stood then."""

    def __init__(self, *, referral, event, at: datetime, firings: Counter, counts):
        super().__init__(referral=referral, event=event)
        self.now = at
        self._replay_firings = firings
        self._replay_counts = counts

    def firings(self, rule_id: str) -> int:
        return self._replay_firings.get(rule_id, 0)

    @cached_property
    def base_counts(self) -> dict:
        return self._replay_counts(self.referral, self.now)


class _Replay:
    """One pass over the campaign's referrals under one definition."""

    def __init__(self, *, campaign, definition: CampaignDefinition, pipeline: Pipeline):
        self.campaign, self.definition, self.pipeline = campaign, definition, pipeline
        self.rules = compile_rules(definition)
        self.firings: dict[int, Counter] = defaultdict(Counter)
        self.rewards: list[SimReward] = []

    # --- counts and limits, from memory --------------------------------------------------

    def counts(self, referral, at: datetime) -> dict:
        year_start = at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        referrals = (
            type(referral)
            .objects.filter(
                site_id=referral.site_id,
                campaign_id=referral.campaign_id,
                advocate_id=referral.advocate_id,
                created_at__lte=at,
            )
            .aggregate(
                total=Count("id"),
                approved=Count("id", filter=Q(approved_at__lte=at)),
                this_year=Count("id", filter=Q(created_at__gte=year_start)),
            )
        )
        given = [
            r.given_at
            for r in self.rewards
            if r.person_id == referral.advocate_id and r.status == GIVEN and r.given_at <= at
        ]
        return {
            "referrals_total": referrals["total"],
            "referrals_approved": referrals["approved"],
            "referrals_this_year": referrals["this_year"],
            "rewards_given_total": len(given),
            "rewards_given_this_year": sum(1 for g in given if g >= year_start),
            "rewards_given_30_days": sum(1 for g in given if g >= at - timedelta(days=30)),
        }

    def limit_reason(self, *, role: str, person_id: int, value: Decimal | None, at: datetime):
        """The campaign's limits and budget applied to the replay's rewards, worded as
        `reward_block_reason` words them."""
        limits = self.definition.limits
        counted = [r for r in self.rewards if r.status in COUNTED]
        if role == "advocate":
            mine = [r for r in counted if r.role == "advocate" and r.person_id == person_id]
            windows = (
                (limits.advocate_rewards_lifetime, None, "in total"),
                (
                    limits.advocate_rewards_per_year,
                    at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
                    "this calendar year",
                ),
                (limits.advocate_rewards_per_30_days, at - timedelta(days=30), "in the last 30 days"),
            )
            for limit, since, words in windows:
                if (
                    limit is not None
                    and sum(1 for r in mine if since is None or r.created_at >= since) >= limit
                ):
                    return (
                        f"Advocate has reached maximum rewards ({limit} {words}).",
                        "advocate_limit_reached",
                    )
        elif limits.friend_rewards_per_offer is not None:
            mine = [r for r in counted if r.role == "friend" and r.person_id == person_id]
            if len(mine) >= limits.friend_rewards_per_offer:
                limit = limits.friend_rewards_per_offer
                return f"Friend has reached maximum rewards for this offer ({limit}).", "friend_limit_reached"
        if limits.budget is not None and value is not None:
            spent = sum((r.value for r in counted if r.value is not None), Decimal(0))
            if spent + value > Decimal(limits.budget):
                return (
                    f"The campaign's budget is spent ({spent} of {limits.budget} used; "
                    f"this reward is {value}).",
                    "budget_spent",
                )
        return None

    # --- one referral ----------------------------------------------------------------------

    def referral(self, referral, steps: list[Step]) -> ReferralReplay:
        state = _State(referral=referral, status=steps[0].stored_status[0], refunded=Decimal(0))
        state.history.append(state.status)
        label = (
            f"#{referral.pk} {referral.advocate.email} → {referral.friend.email if referral.friend else '-'}"
        )
        state.replay = ReferralReplay(referral.pk, label)
        for step in steps[1:]:
            if step.stored_status is not None:
                self._stored_status(state, step)
            elif step.happening.kind == "refund":
                self._refund(state, step)
            else:
                self._run(state, step.happening, step.event, step.at)
        state.replay.status = state.status
        return state.replay

    def _stored_status(self, state: "_State", step: Step) -> None:
        """A status change from the stored history, taken if the pipeline still allows it from
        where the replay has the referral (a replayed revert may have moved it elsewhere).
        Changes made by program rules are not replayed: the replayed rules make their own."""
        target, actor = step.stored_status
        if actor == "rule":
            return
        allowed = decide(
            self.pipeline, current=state.status, target=target, actor=actor, history=state.history
        )
        if allowed.allowed:
            self._move(state, target, step.at, reason="")

    def _effect(self, status: str) -> str:
        """What `status` means for open rewards, as `referral_transition` decides it (a sales
        campaign releases them from the status it chose)."""
        return self.pipeline.reward_effect(status, self.definition.release_on())

    def _move(self, state: "_State", target: str, at: datetime, *, reason: str, depth: int = 0) -> None:
        state.status = target
        state.history.append(target)
        self._apply_effect(state, self._effect(target), at, target=target)
        self._run(state, Happening(kind="status", status=target), None, at, depth=depth)

    def _apply_effect(self, state: "_State", effect: str, at: datetime, *, target: str, only=None) -> None:
        for reward in list(state.replay.rewards.values()) if only is None else only:
            open_ = reward.status == PENDING or (
                effect == "release" and reward.status == BLOCKED and reward.reason_code == REFERRAL_BLOCKED
            )
            if not open_ or effect == "hold":
                continue
            if effect == "release":
                reward.status, reward.reason, reward.reason_code, reward.given_at = GIVEN, "", "", at
            elif effect in ("block", "void"):
                reward.status = BLOCKED if effect == "block" else VOIDED
                reward.reason = f"Referral was {target}."
                reward.reason_code = REFERRAL_BLOCKED if effect == "block" else f"referral_{target}"

    def _refund(self, state: "_State", step: Step) -> None:
        """`referral_refund`: the refund rules decide; without any, a full refund reverts the
        referral and cancels its open rewards, and so does a partial one that leaves a standing
        reward's criterion failing."""
        event, referral = step.event, state.referral
        state.refunded += event.subtotal if event.subtotal is not None else Decimal(0)
        full = event.subtotal is None or (
            referral.subtotal is not None and state.refunded >= referral.subtotal
        )
        if self._run(state, Happening(kind="refund"), event, step.at):
            return
        if not full and not self._criterion_fails_after_refund(state, event, step.at):
            return
        self._revert(state, step.at, depth=0)
        self._cancel(state, include_given=False, reason="The friend refunded the purchase.")

    def _criterion_fails_after_refund(self, state: "_State", event, at: datetime) -> bool:
        by_id = {r.id: r for r in self.rules}
        facts = self._facts(state, event, at)
        for reward in state.replay.rewards.values():
            if reward.status in (VOIDED, BLOCKED) or reward.rule_id not in by_id:
                continue
            rule = by_id[reward.rule_id]
            action = rule.actions[reward.action_index]
            if action.criteria and first_failed(criteria_results(action, self._context(rule, facts))):
                return True
        return False

    def _revert(self, state: "_State", at: datetime, *, depth: int) -> bool:
        target = self.pipeline.revert_to
        if not target or state.status == target:
            return False
        allowed = decide(
            self.pipeline, current=state.status, target=target, actor="rule", history=state.history
        )
        if not allowed.allowed:
            return False
        self._move(state, target, at, reason="reverted", depth=depth)
        return True

    def _cancel(self, state: "_State", *, include_given: bool, reason: str) -> None:
        """`rewards_cancel`; a given code counts as unused (the replay gives no real codes)."""
        for reward in state.replay.rewards.values():
            if reward.status == VOIDED:
                continue
            if reward.status == GIVEN and not (reward.kind in ("coupon", "gift_card") or include_given):
                continue
            reward.status, reward.reason, reward.reason_code = VOIDED, reason, "cancelled_by_rule"

    # --- rules -----------------------------------------------------------------------------

    def _facts(self, state: "_State", event, at: datetime) -> _ReplayFacts:
        referral = copy.copy(state.referral)
        referral.status, referral.refunded = state.status, state.refunded
        return _ReplayFacts(
            referral=referral,
            event=event,
            at=at,
            firings=self.firings[referral.advocate_id],
            counts=self.counts,
        )

    @staticmethod
    def _context(rule: CompiledRule, facts: Facts) -> cel.Context:
        """As `vouch.rules.services._context` builds it: the variables the rule reads, and
        `counts` with this rule's firings."""
        variables = facts.variables(rule.reads)
        if "counts" in rule.reads:
            variables["counts"] = facts.counts(rule_id=rule.id)
        return cel.Context(variables)

    def _run(self, state: "_State", happening: Happening, event, at: datetime, *, depth: int = 0) -> bool:
        """`rules_run` without writes; True when some rule was triggered."""
        if depth >= MAX_DEPTH:
            return False
        triggered = rules_triggered(self.rules, happening)
        if not triggered:
            return False
        facts = self._facts(state, event, at)
        firings = self.firings[state.referral.advocate_id]
        for rule in triggered:
            context = self._context(rule, facts)
            held = condition_holds(rule, context)
            failed = ""
            if held.met:
                position = firings[rule.id] + 1 if rule.counts_position else 0
                for action in rule.actions:
                    failed = (
                        self._act(state, rule, action, context, position, happening, event, at, depth)
                        or failed
                    )
                firings[rule.id] += 1
            state.replay.trace.append(
                RuleTrace(rule.id, happening.kind, rule.rule.condition or "", held.met, held.error, failed)
            )
        return True

    def _act(
        self,
        state,
        rule: CompiledRule,
        compiled: CompiledAction,
        context,
        position,
        happening,
        event,
        at,
        depth,
    ):
        """One action; returns the label of a criterion that failed, if any."""
        action = compiled.action
        if action.type == "revert_referral":
            self._revert(state, at, depth=depth + 1)
            return ""
        if action.type == "cancel_rewards":
            self._cancel(
                state, include_given=action.include_given, reason=f"Cancelled by the rule '{rule.id}'."
            )
            return ""
        if action.type not in REWARD_ACTIONS:
            failed = first_failed(criteria_results(compiled, context))
            return failed.label if failed else ""
        referral = state.referral
        person_id = referral.advocate_id if action.target == "advocate" else referral.friend_id
        if person_id is None:
            return ""
        if action.type == "every_n_reward" and not every_n_due(action.every, position):
            return ""
        value = action.reward.value
        if action.type == "tiered_reward":
            value = tier_value(action.tiers, position)
            if value is None:
                return ""
        source = _reward_source(rule, compiled, event)
        if happening.kind != "referral_started" and (action.target, source) in state.replay.rewards:
            return ""
        failed = first_failed(criteria_results(compiled, context))
        amount = Decimal(value) if value is not None else None
        blocked = (failed.label, "criterion_failed") if failed else None
        if blocked is None:
            blocked = self.limit_reason(role=action.target, person_id=person_id, value=amount, at=at)
        reward = SimReward(
            referral_id=referral.pk,
            person_id=person_id,
            role=action.target,
            source=source,
            rule_id=rule.id,
            action_index=compiled.index,
            condition=rule.rule.condition or "",
            kind=action.reward.kind,
            value=amount,
            currency=action.reward.currency,
            status=BLOCKED if blocked else PENDING,
            created_at=at,
            reason=blocked[0] if blocked else "",
            reason_code=blocked[1] if blocked else "",
            criterion=failed.label if failed else "",
        )
        state.replay.rewards[reward.key] = reward
        self.rewards.append(reward)
        if not blocked:
            self._apply_effect(state, self._effect(state.status), at, target=state.status, only=[reward])
        return failed.label if failed else ""


@dataclass
class _State:
    referral: object
    status: str
    refunded: Decimal
    history: list[str] = field(default_factory=list)
    replay: ReferralReplay | None = None


def _reward_source(rule: CompiledRule, compiled: CompiledAction, event) -> str:
    """As `vouch.rules.services._reward_source` names a reward's source."""
    if rule.id == "incentive":
        return "incentive"
    source = f"rule:{rule.id}/{compiled.index}"
    if event is not None and rule.rule.trigger.type in ("purchase", "custom", "person_changed"):
        source += f"/e{event.pk}"
    return source[:100]


def referral_steps(referral, *, made: int, events: list[Event], changes: list) -> list[Step]:
    """What happened to a referral, in the order the engine saw it: its opening (referral
    started, the advocate's Nth referral, the purchase that opened it), then its later events
    and stored status changes by time. The first step carries the initial status."""
    opening = next(
        (e for e in events if e.kind == Kind.PURCHASE and e.created_at <= referral.created_at), None
    )
    at = referral.created_at
    initial = changes[0].to_status if changes else referral.status
    steps = [
        Step(at, Happening(kind="status"), stored_status=(initial, "engine")),
        Step(at, Happening(kind="referral_started"), opening),
        Step(at, Happening(kind="advocate_referrals", advocate_referrals=made), opening),
    ]
    if opening is not None:
        steps.append(Step(at, Happening(kind="purchase"), opening))
    later = []
    for event in events:
        if event is opening:
            continue
        if event.kind == Kind.PURCHASE:
            happening = Happening(kind="purchase")
        elif event.kind == Kind.REFUND:
            happening = Happening(kind="refund")
        elif event.kind in (Kind.CUSTOM, Kind.SIGNUP):
            happening = Happening(kind="custom", name=event.name if event.kind == Kind.CUSTOM else "signup")
        else:
            continue
        later.append((event.created_at, 0, event.pk, Step(event.created_at, happening, event)))
    for change in changes[1:]:
        step = Step(
            change.created_at, Happening(kind="status"), stored_status=(change.to_status, change.actor)
        )
        later.append((change.created_at, 1, change.pk, step))
    return steps + [step for *_, step in sorted(later, key=lambda row: row[:3])]


def backtest(*, campaign, proposed: CampaignDefinition) -> BacktestReport:
    """Replay the campaign under its current rules and under `proposed`; nothing is changed
    (the work runs in a transaction that is always rolled back)."""
    with transaction.atomic():
        try:
            return _backtest(campaign=campaign, proposed=proposed)
        finally:
            transaction.set_rollback(True)


def _backtest(*, campaign, proposed: CampaignDefinition) -> BacktestReport:
    from vouch.referrals.models import Referral, StatusChange

    current = campaign_definition(campaign)
    pipeline = pipeline_named(campaign.pipeline)
    before = _Replay(campaign=campaign, definition=current, pipeline=pipeline)
    after = _Replay(campaign=campaign, definition=proposed, pipeline=pipeline)
    referrals = list(
        Referral.objects.filter(site_id=campaign.site_id, campaign=campaign)
        .select_related("campaign", "advocate", "friend", "offer")
        .order_by("created_at", "id")
    )
    ids = [r.pk for r in referrals]
    events, changes = defaultdict(list), defaultdict(list)
    for event in Event.objects.filter(site_id=campaign.site_id, referral_id__in=ids).order_by(
        "created_at", "id"
    ):
        events[event.referral_id].append(event)
    for change in StatusChange.objects.filter(site_id=campaign.site_id, referral_id__in=ids).order_by(
        "created_at", "id"
    ):
        changes[change.referral_id].append(change)
    made: Counter = Counter()
    differences = []
    current_rules = {r.id: r for r in before.rules}
    proposed_rules = {r.id: r for r in after.rules}
    for referral in referrals:
        made[referral.advocate_id] += 1
        steps = referral_steps(
            referral,
            made=made[referral.advocate_id],
            events=events[referral.pk],
            changes=changes[referral.pk],
        )
        differences += compare(
            before.referral(referral, steps),
            after.referral(referral, steps),
            current_rules=current_rules,
            proposed_rules=proposed_rules,
        )
    notes = []
    if any(r.rule.trigger.type == "person_changed" for r in (*before.rules, *after.rules)):
        notes.append("Rules triggered by person changes are not replayed: that history is not stored.")
    notes.append("Coupon stock is not replayed: a released reward counts as given.")
    return BacktestReport(
        campaign=campaign.slug,
        referrals=len(referrals),
        differences=differences,
        current=totals(before.rewards),
        proposed=totals(after.rewards),
        notes=notes,
    )


CHANGE_WORDS = {
    "only_current": "only under the current rules",
    "only_proposed": "only under the proposed rules",
    "changed": "different",
}


def report_lines(report: BacktestReport) -> list[str]:
    """The report as the command prints it: differences per referral, then the summary."""
    lines = [f"Campaign '{report.campaign}': {report.referrals} referrals replayed."]
    referral = None
    for difference in report.differences:
        if difference.referral != referral:
            referral = difference.referral
            lines.append(f"referral {referral}")
        reward = difference.current or difference.proposed
        lines.append(
            f"  {difference.role} reward {difference.source} ({_describe(reward)}): "
            f"{CHANGE_WORDS[difference.change]}; {difference.why}"
        )
    if not report.differences:
        lines.append("No reward would differ.")
    for name, side in (("current", report.current), ("proposed", report.proposed)):
        statuses = ", ".join(f"{n} {status}" for status, n in side.by_status.items()) or "none"
        lines.append(f"{name} rules: {side.rewards} rewards ({statuses}), value {side.value}")
    delta = report.proposed.value - report.current.value
    lines.append(
        f"difference: {report.proposed.rewards - report.current.rewards:+d} rewards, value {delta:+}"
    )
    lines += [f"note: {note}" for note in report.notes]
    return lines
