"""Referral pipelines as data, and the pure function that decides a transition.

A pipeline lists its states (with the words its seed uses), its initial state,
the transitions people and the engine may take, the timed transitions the worker
takes after a delay the campaign sets, its final states, and what each state
means for the referral's rewards. One engine (`vouch.referrals.services`) applies
every pipeline; a campaign chooses one by name.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

ENGINE, STAFF, API, IMPORT, RULE = "engine", "staff", "api", "import", "rule"
PEOPLE = frozenset({STAFF, API, IMPORT})
EVERYONE = PEOPLE | {ENGINE}
# A merchant's program rule (a refund, a "revert referral" action) may revert a referral;
# the engine itself never voids one (Talkable: "the referral engine cannot set this status").
RULES = frozenset({RULE})

RELEASE, HOLD, BLOCK, VOID = "release", "hold", "block", "void"

# Every referral status of API.md; each pipeline uses its own subset.
STATUSES = (
    "in_progress",
    "pending",
    "flagged",
    "approved",
    "voided",
    "blocked",
    "unblocked",
    "offer_unclaimed",
    "purchase_required",
    "account_identifier_required",
    "account_validation_required",
    "verification_required",
    "pending_denial",
    "denied",
    "expired",
    "qualified",
)


# A guard sees the statuses the referral has been in (oldest first) and returns
# the sentence that refuses the transition, or None to allow it.
Guard = Callable[[Sequence[str]], str | None]


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    actors: frozenset[str]
    verb: str
    guard: Guard | None = None
    revert: bool = False


@dataclass(frozen=True)
class TimedTransition:
    source: str
    target: str
    delay: str
    reason: str


@dataclass(frozen=True)
class Pipeline:
    name: str
    label: str
    states: dict[str, str]
    initial: str
    transitions: tuple[Transition, ...]
    timed: tuple[TimedTransition, ...] = ()
    final: frozenset[str] = frozenset()
    rewards: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    after_fraud_review: dict[str, str] = field(default_factory=dict)
    revert_to: str = ""

    def reward_effect(self, status: str) -> str:
        return self.rewards.get(status, HOLD)

    def timed_from(self, status: str) -> tuple[TimedTransition, ...]:
        return tuple(t for t in self.timed if t.source == status)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    transition: Transition | None = None


ACTOR_WORDS = {
    ENGINE: "the referral engine",
    STAFF: "staff",
    API: "the API",
    IMPORT: "an import",
    RULE: "a program rule",
}


def decide(
    pipeline: Pipeline, *, current: str, target: str, actor: str, history: Sequence[str] = ()
) -> Decision:
    """May `actor` move a referral from `current` to `target`? The refusal names the rule."""
    if target not in pipeline.states:
        known = ", ".join(pipeline.states)
        return Decision(
            False, f"'{target}' is not a status of the {pipeline.label} pipeline (it has: {known})."
        )
    if current == target:
        return Decision(False, f"The referral is already {pipeline.states[current].lower()}.")
    candidates = [t for t in pipeline.transitions if t.source == current and t.target == target]
    transition = next((t for t in candidates if actor in t.actors), candidates[0] if candidates else None)
    if current in pipeline.final and not (transition and transition.revert and actor in transition.actors):
        return Decision(
            False, f"{pipeline.states[current]} is final: no change can be made to the status after that."
        )
    if transition is None:
        rule = pipeline.refusals.get(target) or (
            f"A referral cannot go from {pipeline.states[current].lower()} "
            f"to {pipeline.states[target].lower()}."
        )
        return Decision(False, rule)
    if actor not in transition.actors:
        who = " or ".join(ACTOR_WORDS[a] for a in sorted(transition.actors))
        return Decision(
            False,
            f"Only {who} can move a referral from {pipeline.states[current].lower()} "
            f"to {pipeline.states[target].lower()}; {ACTOR_WORDS[actor]} cannot.",
        )
    if transition.guard is not None:
        refusal = transition.guard(history)
        if refusal:
            return Decision(False, refusal)
    return Decision(True, f"{transition.verb}: {current} → {target}", transition)


def allowed_targets(
    pipeline: Pipeline, *, current: str, actor: str, history: Sequence[str] = ()
) -> list[str]:
    """The statuses `actor` may move the referral to now: the portal shows only these buttons."""
    targets = dict.fromkeys(t.target for t in pipeline.transitions if t.source == current)
    return [
        target
        for target in targets
        if decide(pipeline, current=current, target=target, actor=actor, history=history).allowed
    ]


PURCHASE_WITH_FRAUD_REVIEW = Pipeline(
    name="purchase_with_fraud_review",
    label="purchase with fraud review",
    states={
        "in_progress": "In progress",
        "pending": "Pending",
        "flagged": "Flagged",
        "approved": "Approved",
        "voided": "Voided",
        "blocked": "Blocked",
        "unblocked": "Unblocked",
    },
    initial="in_progress",
    transitions=(
        Transition("in_progress", "pending", frozenset({ENGINE}), "fraud checks passed"),
        Transition("in_progress", "flagged", frozenset({ENGINE}), "fraud checks flagged"),
        Transition("in_progress", "blocked", frozenset({ENGINE}), "fraud checks blocked"),
        Transition("pending", "approved", EVERYONE, "approve"),
        Transition("flagged", "approved", PEOPLE, "approve"),
        Transition("pending", "voided", PEOPLE, "void"),
        Transition("flagged", "voided", PEOPLE, "void"),
        Transition("pending", "flagged", PEOPLE, "flag"),
        Transition("blocked", "unblocked", PEOPLE, "unblock"),
        *(
            Transition(source, "voided", RULES, "revert", revert=True)
            for source in ("pending", "flagged", "approved", "unblocked")
        ),
    ),
    timed=(
        TimedTransition(
            "pending", "approved", "auto_approval_hours", "Approved automatically after the delay"
        ),
    ),
    final=frozenset({"approved", "voided", "unblocked"}),
    rewards={"approved": RELEASE, "unblocked": RELEASE, "voided": VOID, "blocked": BLOCK},
    after_fraud_review={"pass": "pending", "flag": "flagged", "block": "blocked"},
    revert_to="voided",
    refusals={
        "voided": "Only pending and flagged referrals can be voided.",
        "approved": "Only pending and flagged referrals can be approved; "
        "a blocked referral is unblocked instead.",
        "unblocked": "Only blocked referrals can be unblocked.",
        "flagged": "Only pending referrals can be flagged.",
        "blocked": "Only the referral engine blocks a referral, when its fraud checks fail.",
        "pending": "Only the referral engine sets a referral pending, when its fraud checks pass.",
        "in_progress": "In progress is the engine's first step; a referral cannot return to it.",
    },
)

PIPELINES: dict[str, Pipeline] = {p.name: p for p in (PURCHASE_WITH_FRAUD_REVIEW,)}


def pipeline_named(name: str) -> Pipeline:
    return PIPELINES[name]
