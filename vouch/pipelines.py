"""Referral pipelines as data, and the pure function that decides a transition.

A pipeline lists its states (with the words its seed uses), its initial state,
the transitions people and the engine may take, the timed transitions the worker
takes after a delay the campaign sets, its final states, and what each state
means for the referral's rewards. One engine (`vouch.referrals.services`) applies
every pipeline; a campaign chooses one by name.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
    """Taken by the worker once the referral has been in `source` for `delay`, a name the
    referral services resolve from the campaign (`auto_approval_hours`, `pending_denial_days`,
    `offer_expiry`: the friend's offer's expiry)."""

    source: str
    target: str
    delay: str
    reason: str


@dataclass(frozen=True)
class Conversion:
    """The friend's conversion: an event of `event` kind moves a referral waiting in `source`
    to where the fraud review of that event sends it (verdict → status)."""

    event: str
    source: str
    outcomes: dict[str, str]
    requirements: bool = False  # the campaign's activation requirements (wait days, transactions) apply


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
    opens_at_share: bool = False
    opens_at_claim: bool = False
    claim: dict[str, str] = field(default_factory=dict)
    conversion: Conversion | None = None
    release_steps: tuple[str, ...] = ()
    next_step: str = ""  # what the share link's page tells a friend who has claimed
    # The status whose arrival gives the campaign's incentives; empty: when the referral starts.
    # Pipelines that open a referral at the share wait for the conversion, so that unclaimed
    # offers count against no limit or budget.
    incentives_at: str = ""

    def reward_effect(self, status: str, release_on: str | None = None) -> str:
        """What `status` means for open rewards; a pipeline with `release_steps` (sales) releases
        them from the campaign's chosen status on."""
        if release_on in self.release_steps and status in self.release_steps:
            if self.release_steps.index(status) >= self.release_steps.index(release_on):
                return RELEASE
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

OFFER_UNCLAIMED = "Offer unclaimed"
PENDING_DENIAL = "Pending denial"


def _moves(sources: Sequence[str], target: str, actors: frozenset[str], verb: str) -> tuple[Transition, ...]:
    return tuple(Transition(source, target, actors, verb) for source in sources)


def _reverts(sources: Sequence[str], target: str) -> tuple[Transition, ...]:
    return tuple(Transition(source, target, RULES, "revert", revert=True) for source in sources)


FIRST_PURCHASE_DISCOUNT = Pipeline(
    name="first_purchase_discount",
    label="first purchase discount",
    states={
        "offer_unclaimed": OFFER_UNCLAIMED,
        "purchase_required": "Purchase required",
        "pending_denial": PENDING_DENIAL,
        "approved": "Approved",
        "denied": "Denied",
        "expired": "Expired",
    },
    initial="offer_unclaimed",
    transitions=(
        Transition("offer_unclaimed", "purchase_required", EVERYONE, "claim"),
        Transition("purchase_required", "approved", EVERYONE, "approve"),
        *_moves(("offer_unclaimed", "purchase_required"), "pending_denial", EVERYONE, "review for denial"),
        Transition("pending_denial", "approved", PEOPLE, "approve"),
        Transition("pending_denial", "purchase_required", PEOPLE, "restore"),
        Transition("pending_denial", "denied", EVERYONE, "deny"),
        *_moves(("offer_unclaimed", "purchase_required"), "denied", PEOPLE, "deny"),
        *_moves(("offer_unclaimed", "purchase_required"), "expired", EVERYONE, "expire"),
        *_reverts(("purchase_required", "pending_denial", "approved"), "denied"),
    ),
    timed=(
        TimedTransition("offer_unclaimed", "expired", "offer_expiry", "The friend's offer expired"),
        TimedTransition("purchase_required", "expired", "offer_expiry", "The friend's offer expired"),
        TimedTransition(
            "pending_denial",
            "denied",
            "pending_denial_days",
            "Nobody changed it while it was pending denial",
        ),
    ),
    final=frozenset({"approved", "denied", "expired"}),
    rewards={"approved": RELEASE, "denied": VOID, "expired": VOID},
    revert_to="denied",
    opens_at_share=True,
    opens_at_claim=True,
    claim={"pass": "purchase_required", "flag": "purchase_required", "block": "pending_denial"},
    conversion=Conversion(
        "purchase", "purchase_required", {"pass": "approved", "flag": "approved", "block": "pending_denial"}
    ),
    incentives_at="approved",
    next_step="Use your code on your first order.",
    refusals={
        "approved": "Only a referral whose purchase is required, or one pending denial, can be approved.",
        "purchase_required": "A referral needs a purchase only once its friend has claimed the offer "
        "(or when staff restore one pending denial).",
        "pending_denial": "Only an unclaimed offer or a referral waiting for its purchase can be set "
        "pending denial.",
        "offer_unclaimed": "Offer unclaimed is the first step; a referral cannot return to it.",
        "expired": "Only an unclaimed offer or a referral waiting for its purchase can expire.",
    },
)

ACCOUNT_ACTIVATION = Pipeline(
    name="account_activation",
    label="account activation",
    states={
        "offer_unclaimed": OFFER_UNCLAIMED,
        "account_identifier_required": "Account identifier required",
        "account_validation_required": "Account validation required",
        "pending_denial": PENDING_DENIAL,
        "approved": "Approved",
        "denied": "Denied",
        "expired": "Expired",
    },
    initial="offer_unclaimed",
    transitions=(
        Transition("offer_unclaimed", "account_identifier_required", EVERYONE, "claim"),
        Transition("account_identifier_required", "account_validation_required", EVERYONE, "report account"),
        Transition("account_validation_required", "approved", PEOPLE, "validate"),
        *_moves(
            ("offer_unclaimed", "account_identifier_required", "account_validation_required"),
            "pending_denial",
            EVERYONE,
            "review for denial",
        ),
        Transition("pending_denial", "approved", PEOPLE, "approve"),
        Transition("pending_denial", "account_validation_required", PEOPLE, "restore"),
        Transition("pending_denial", "account_identifier_required", PEOPLE, "restore"),
        Transition("pending_denial", "denied", EVERYONE, "deny"),
        *_moves(
            ("offer_unclaimed", "account_identifier_required", "account_validation_required"),
            "denied",
            PEOPLE,
            "deny",
        ),
        *_moves(("offer_unclaimed", "account_identifier_required"), "expired", EVERYONE, "expire"),
        *_reverts(("account_validation_required", "pending_denial", "approved"), "denied"),
    ),
    timed=(
        TimedTransition("offer_unclaimed", "expired", "offer_expiry", "The friend's offer expired"),
        TimedTransition(
            "account_identifier_required", "expired", "offer_expiry", "The friend's offer expired"
        ),
        TimedTransition(
            "pending_denial",
            "denied",
            "pending_denial_days",
            "Nobody changed it while it was pending denial",
        ),
    ),
    final=frozenset({"approved", "denied", "expired"}),
    rewards={"approved": RELEASE, "denied": VOID, "expired": VOID},
    revert_to="denied",
    opens_at_share=True,
    opens_at_claim=True,
    claim={
        "pass": "account_identifier_required",
        "flag": "account_identifier_required",
        "block": "pending_denial",
    },
    conversion=Conversion(
        "signup",
        "account_identifier_required",
        {
            "pass": "account_validation_required",
            "flag": "account_validation_required",
            "block": "pending_denial",
        },
        requirements=True,
    ),
    incentives_at="account_validation_required",
    next_step="Open your account with this email address; "
    "once we have validated it, your referral is approved.",
    refusals={
        "approved": "Only a referral whose account validation is required, or one pending denial, "
        "can be approved: its account must be validated first.",
        "account_validation_required": "Account details are reported only for a referral whose "
        "account identifier is required.",
        "offer_unclaimed": "Offer unclaimed is the first step; a referral cannot return to it.",
        "expired": "Only an unclaimed offer or a referral waiting for its account identifier can expire.",
    },
)

BASIC = Pipeline(
    name="basic",
    label="basic",
    states={
        "offer_unclaimed": OFFER_UNCLAIMED,
        "verification_required": "Verification required",
        "approved": "Approved",
        "denied": "Denied",
        "expired": "Expired",
    },
    initial="offer_unclaimed",
    transitions=(
        Transition("offer_unclaimed", "verification_required", EVERYONE, "claim"),
        Transition("verification_required", "approved", PEOPLE, "verify"),
        Transition("offer_unclaimed", "denied", EVERYONE, "deny"),
        Transition("verification_required", "denied", PEOPLE, "deny"),
        Transition("offer_unclaimed", "expired", EVERYONE, "expire"),
        *_reverts(("verification_required", "approved"), "denied"),
    ),
    timed=(TimedTransition("offer_unclaimed", "expired", "offer_expiry", "The friend's offer expired"),),
    final=frozenset({"approved", "denied", "expired"}),
    rewards={"approved": RELEASE, "denied": VOID, "expired": VOID},
    revert_to="denied",
    opens_at_share=True,
    opens_at_claim=True,
    claim={"pass": "verification_required", "flag": "verification_required", "block": "denied"},
    incentives_at="approved",
    next_step="Complete the action this offer describes; "
    "once someone has verified it, your referral is approved.",
    refusals={
        "approved": "Only a referral whose verification is required can be approved: "
        "someone verifies the friend's action first.",
        "verification_required": "A referral needs verification only once its friend has claimed the offer.",
        "offer_unclaimed": "Offer unclaimed is the first step; a referral cannot return to it.",
        "expired": "Only an unclaimed offer can expire.",
    },
)


def never_qualified(history: Sequence[str]) -> str | None:
    if "qualified" in history:
        return (
            "A referral can only be changed to qualified from denied if it has never been "
            "qualified before; this one was."
        )
    return None


SALES = Pipeline(
    name="sales",
    label="sales",
    states={"pending": "Pending", "qualified": "Qualified", "approved": "Approved", "denied": "Denied"},
    initial="pending",
    transitions=(
        Transition("pending", "qualified", PEOPLE, "qualify"),
        Transition("pending", "approved", PEOPLE, "approve"),
        Transition("qualified", "approved", PEOPLE, "approve"),
        Transition("qualified", "pending", PEOPLE, "move back to pending"),
        Transition("pending", "denied", EVERYONE, "deny"),
        Transition("qualified", "denied", PEOPLE, "deny"),
        Transition("denied", "pending", PEOPLE, "move back to pending"),
        Transition("denied", "qualified", PEOPLE, "qualify", guard=never_qualified),
        *_reverts(("pending", "qualified"), "denied"),
    ),
    final=frozenset({"approved"}),
    rewards={"approved": RELEASE, "denied": BLOCK},
    release_steps=("pending", "qualified", "approved"),
    after_fraud_review={"pass": "pending", "flag": "pending", "block": "denied"},
    revert_to="denied",
    opens_at_claim=True,
    next_step="Thank you: we will be in touch about the next step.",
    refusals={
        "approved": "A denied referral goes back to pending (or to qualified, if it was never "
        "qualified) before it can be approved.",
    },
)

PRESETS = (PURCHASE_WITH_FRAUD_REVIEW, FIRST_PURCHASE_DISCOUNT, ACCOUNT_ACTIVATION, BASIC, SALES)
PIPELINES: dict[str, Pipeline] = {p.name: p for p in PRESETS}


def timed_step_sentence(pipeline: Pipeline, *, target: str, due: date) -> str:
    """The promise shown beside a referral waiting for the worker."""
    words = pipeline.states.get(target, target).lower()
    if target in pipeline.final:
        return f"Will be {words} on {due.isoformat()} unless someone changes it."
    return f"Moves to {words} on {due.isoformat()} unless someone changes it first."


def activation_unmet(
    *, wait_days: int, transactions: int, opened_at: datetime, now: datetime, made: int
) -> str | None:
    """Account activation's optional requirements before the account can be validated: the
    account open for `wait_days`, and `transactions` purchases since it opened."""
    ready_at = opened_at + timedelta(days=wait_days)
    if now < ready_at:
        return f"The account must be open {wait_days} days (until {ready_at.date().isoformat()})."
    if made < transactions:
        return f"The friend has made {made} of the {transactions} transactions required."
    return None


def pipeline_named(name: str) -> Pipeline:
    return PIPELINES[name]
