"""The documented JSON form of a campaign: what the API and `vouch campaigns`
accept, validated before anything is stored.

Example:

    {
      "slug": "spring-2026", "name": "Spring referral", "pipeline": "purchase_with_fraud_review",
      "friend_offer": {"coupon_list": "friend-15-off", "expires_in_days": 30,
                       "description": "15% off your first order"},
      "incentives": {
        "advocate": {"kind": "coupon", "coupon_list": "advocate-20", "value": "20.00", "currency": "USD"},
        "friend": null
      },
      "fraud": {"checks": {"self_referral_ip": "block"}, "velocity_per_hour": 10, "velocity_per_day": 50},
      "limits": {"advocate_rewards_lifetime": 50, "advocate_rewards_per_year": 20},
      "delays": {"auto_approval_hours": 0}
    }
"""

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    create_model,
    field_validator,
    model_validator,
)

from vouch.fraud.checks import CHECKS, DEFAULT_ACTIONS
from vouch.pipelines import PIPELINES, STATUSES
from vouch.rules.conditions import BUILT_IN_CRITERIA, ConditionError, compile_condition

Money = Annotated[
    str, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", description="a decimal string", examples=["49.90"])
]
_LOCAL = r"[^\x00-\x20\x7f@\"(),:;<>\[\]\\]{1,64}"
_LABEL = r"[^\x00-\x20\x7f@\"(),:;<>\[\]\\.]{1,63}"
Email = Annotated[
    str, Field(pattern=f"^{_LOCAL}@{_LABEL}(\\.{_LABEL})+$", max_length=254, examples=["levi@example.com"])
]
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SlugStr = Annotated[str, Field(pattern=SLUG_PATTERN, description="lower-case letters, digits, - and _")]
Slug = Field(pattern=SLUG_PATTERN, description="lower-case letters, digits, - and _")
Code = Annotated[str, Field(min_length=3, max_length=255)]


def _json_number(value):
    """JSON Schema's integer and number: no booleans, no numbers written as text."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON number")
    return value


def integer(**bounds):
    """An integer field; bounds come before the validator so the OpenAPI schema shows them."""
    return Annotated[int, Field(**bounds), BeforeValidator(_json_number)]


def number(**bounds):
    return Annotated[float, Field(**bounds), BeforeValidator(_json_number)]


Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _valid_condition(source: str | None) -> str | None:
    if source is not None:
        try:
            compile_condition(source)
        except ConditionError as error:
            raise ValueError(f"not a valid condition: {error}") from None
    return source


Condition = Annotated[
    str,
    Field(
        min_length=1, max_length=4000, description="a CEL expression", examples=["event.subtotal >= 100.0"]
    ),
]


CriterionLabel = Annotated[
    str, Field(min_length=1, max_length=200, description="the reason shown when it fails")
]


class BuiltInCriterion(Strict):
    """One of Talkable's incentive criteria; its words are the reason shown when it fails."""

    check: Literal[tuple(c for c in BUILT_IN_CRITERIA if c != "minimum_purchase")]
    label: CriterionLabel | None = None

    def compiled(self, *, target: str) -> tuple[str, str]:
        label, source = BUILT_IN_CRITERIA[self.check]
        return self.label or label, source.format(target=target)


class MinimumPurchaseCriterion(Strict):
    """The friend's purchase subtotal (less refunds) is at least `amount`."""

    check: Literal["minimum_purchase"]
    amount: Money
    label: CriterionLabel | None = None

    def compiled(self, *, target: str) -> tuple[str, str]:
        label, source = BUILT_IN_CRITERIA[self.check]
        return self.label or label, source.format(amount=float(self.amount))


class ConditionCriterion(Strict):
    """Your own criterion: a CEL condition and the reason shown when it does not hold."""

    condition: Condition
    label: CriterionLabel

    _condition = field_validator("condition")(_valid_condition)

    def compiled(self, *, target: str) -> tuple[str, str]:
        return self.label, self.condition


Criterion = BuiltInCriterion | MinimumPurchaseCriterion | ConditionCriterion


class FriendOffer(Strict):
    coupon_list: SlugStr | None = Field(
        None, description="coupon list the friend's single-use code comes from"
    )
    code: Code | None = Field(None, description="one fixed code for every friend, instead of a list")
    expires_in_days: integer(ge=1, le=3650) | None = Field(
        30, description="the friend's offer expires this long after the claim"
    )
    description: str = Field("", max_length=500)


class _Incentive(Strict):
    value: Money | None = None
    currency: Currency = "USD"
    description: str = Field("", max_length=500)
    criteria: list[Criterion] = Field(
        default_factory=list,
        max_length=20,
        description="incentive criteria: each must hold or the reward is blocked",
    )

    @property
    def list_slug(self) -> str | None:
        return getattr(self, "coupon_list", None)

    @property
    def fixed_code(self) -> str | None:
        return getattr(self, "code", None)


class CouponFromList(_Incentive):
    """A single-use code from a coupon list."""

    kind: Literal["coupon"]
    coupon_list: SlugStr


class CouponFixedCode(_Incentive):
    """The same code for everyone."""

    kind: Literal["coupon"]
    code: Code


class GiftCard(_Incentive):
    """A gift card of `value`, its code from a coupon list."""

    kind: Literal["gift_card"]
    coupon_list: SlugStr


class Credit(_Incentive):
    kind: Literal["credit"]
    value: Money


class Points(_Incentive):
    kind: Literal["points"]
    value: Money


Incentive = CouponFromList | CouponFixedCode | GiftCard | Credit | Points


class Incentives(Strict):
    """The simple form of a campaign's rewards: given for every referral that starts, released
    by the pipeline. It runs as the built-in rule `incentive`."""

    advocate: Incentive | None = None
    friend: Incentive | None = None


Target = Literal["advocate", "friend"]
TRIGGERS = {
    "referral_started": "a referral is started",
    "purchase": "the friend makes a purchase",
    "refund": "the friend refunds a purchase",
    "custom": "the friend performs a named action (a custom event)",
    "person_changed": "the friend's field or segment changes",
    "status": "the referral reaches a status",
    "advocate_referrals": "the advocate reaches N referrals in the campaign",
}


class ReferralStarted(Strict):
    type: Literal["referral_started"] = Field(description=TRIGGERS["referral_started"])


class FriendPurchase(Strict):
    type: Literal["purchase"] = Field(description=TRIGGERS["purchase"])


class FriendRefund(Strict):
    type: Literal["refund"] = Field(description=TRIGGERS["refund"])


class FriendAction(Strict):
    type: Literal["custom"] = Field(description=TRIGGERS["custom"])
    action: str = Field(
        min_length=1,
        max_length=100,
        description="the custom event's name, e.g. demo_completed; signup for signups",
    )


class FriendChanged(Strict):
    type: Literal["person_changed"] = Field(description=TRIGGERS["person_changed"])
    field: str | None = Field(None, min_length=1, max_length=100, description="only when this field changes")
    segment: str | None = Field(
        None, min_length=1, max_length=100, description="only when this segment changes"
    )


class StatusReached(Strict):
    type: Literal["status"] = Field(description=TRIGGERS["status"])
    status: Literal[STATUSES]


class AdvocateReferrals(Strict):
    type: Literal["advocate_referrals"] = Field(description=TRIGGERS["advocate_referrals"])
    count: integer(ge=1, le=1_000_000) = Field(description="N")


Trigger = Annotated[
    ReferralStarted
    | FriendPurchase
    | FriendRefund
    | FriendAction
    | FriendChanged
    | StatusReached
    | AdvocateReferrals,
    Field(discriminator="type"),
]


class _Action(Strict):
    target: Target = "advocate"
    criteria: list[Criterion] = Field(default_factory=list, max_length=20)


class RewardAction(_Action):
    """Reward and email: the reward (its email is sent when it is given, unless `email` is false)."""

    type: Literal["reward"]
    reward: Incentive
    email: StrictBool = True


class Tier(Strict):
    from_count: integer(ge=1, le=1_000_000) = Field(description="from this many firings of the rule on")
    value: Money


class TieredRewardAction(_Action):
    """A reward whose value depends on how many times the rule fired for the advocate
    (e.g. 1–4 → $10, 5+ → $20): the highest tier whose `from_count` is reached; below
    the lowest tier there is no reward."""

    type: Literal["tiered_reward"]
    reward: Incentive
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    email: StrictBool = True


class EveryNRewardAction(_Action):
    """A reward on every Nth firing of the rule for the advocate (each 5th qualified referral)."""

    type: Literal["every_n_reward"]
    reward: Incentive
    every: integer(ge=1, le=1_000_000)
    email: StrictBool = True


class EmailAction(_Action):
    """Email only."""

    type: Literal["email"]
    template: SlugStr = Field(description="the email type to send, e.g. advocate_referral_made")


class RevertReferralAction(Strict):
    """The referral is voided by the engine, with the rule as the reason; its open rewards are voided."""

    type: Literal["revert_referral"]


class CancelRewardsAction(Strict):
    """The referral's rewards not yet given are voided; given credit and points too if `include_given`."""

    type: Literal["cancel_rewards"]
    include_given: StrictBool = False


RuleAction = Annotated[
    RewardAction
    | TieredRewardAction
    | EveryNRewardAction
    | EmailAction
    | RevertReferralAction
    | CancelRewardsAction,
    Field(discriminator="type"),
]


class Rule(Strict):
    """If (trigger and condition) then actions: impact.com's program rules."""

    id: SlugStr = Field(description="stable name; rewards and the decision trace refer to it")
    name: str = Field("", max_length=200)
    active: StrictBool = True
    trigger: Trigger
    condition: Condition | None = None
    actions: list[RuleAction] = Field(min_length=1, max_length=10)

    _condition = field_validator("condition")(_valid_condition)


Action = Literal["ignore", "flag", "block"]
PipelineName = Literal.__getitem__(tuple(PIPELINES))

FraudChecks = create_model(
    "FraudChecks",
    __base__=Strict,
    **{
        check: (Action | None, Field(None, description=f"default: {DEFAULT_ACTIONS[check]}"))
        for check in CHECKS
    },
)


class FraudSettings(Strict):
    checks: FraudChecks = Field(default_factory=FraudChecks, description="per check: ignore, flag or block")
    velocity_per_hour: integer(ge=1, le=1_000_000) | None = 10
    velocity_per_day: integer(ge=1, le=1_000_000) | None = 50

    def actions(self) -> dict[str, str]:
        return self.checks.model_dump(exclude_none=True)


Count = integer(ge=0, le=1_000_000)


class Limits(Strict):
    advocate_rewards_lifetime: Count | None = None
    advocate_rewards_per_year: Count | None = Field(None, description="per calendar year")
    advocate_rewards_per_30_days: Count | None = Field(None, description="rolling 30 days")
    friend_rewards_per_offer: Count | None = Field(
        None, description="rewards one friend gets in this campaign"
    )
    budget: Money | None = Field(None, description="total value of the campaign's rewards, given or pending")


class Delays(Strict):
    auto_approval_hours: number(ge=0, le=24 * 365) = Field(
        0, description="pending → approved after this; 0 = at once"
    )
    pending_denial_days: integer(ge=0, le=3650) = Field(
        7,
        description="first purchase discount and account activation: a referral pending denial is "
        "denied after this many days unless someone changes it first; 0 = at once",
    )


class Activation(Strict):
    """Account activation: what the friend does, after opening the account, before staff validate it."""

    wait_days: integer(ge=0, le=3650) = Field(
        0, description="days to wait after the account is opened before it can be validated"
    )
    transactions: integer(ge=0, le=10_000) = Field(
        0, description="purchases the friend reports after opening the account before it can be validated"
    )


def _never_denied(value):
    if value == "denied":
        raise ValueError(
            "rewards never trigger on denied: choose pending, qualified or approved (Referral Rock's rule)"
        )
    return value


class Sales(Strict):
    reward_status: Annotated[Literal["pending", "qualified", "approved"], BeforeValidator(_never_denied)] = (
        Field(
            "approved",
            description="sales pipeline: the referral status whose arrival releases the rewards "
            "(pending, qualified or approved; never denied)",
        )
    )


class CampaignDefinition(Strict):
    slug: str = Slug
    name: str = Field(min_length=1, max_length=200)
    pipeline: PipelineName = Field("purchase_with_fraud_review", description="the pipeline preset")
    status: Literal["active", "paused", "ended"] = "active"
    friend_offer: FriendOffer = Field(default_factory=FriendOffer)
    incentives: Incentives = Field(default_factory=Incentives)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    limits: Limits = Field(default_factory=Limits)
    delays: Delays = Field(default_factory=Delays)
    activation: Activation = Field(default_factory=Activation)
    sales: Sales = Field(default_factory=Sales)
    rules: list[Rule] = Field(default_factory=list, max_length=50)
    _compiled_rules: tuple | None = PrivateAttr(default=None)

    @field_validator("rules")
    @classmethod
    def _unique_rule_ids(cls, rules):
        ids = [r.id for r in rules]
        duplicate = next((i for i in ids if ids.count(i) > 1 or i == "incentive"), None)
        if duplicate:
            raise ValueError(f"rule id '{duplicate}' is used twice or is reserved")
        return rules

    @model_validator(mode="after")
    def _no_sales_rewards_on_denied(self):
        if self.pipeline != "sales":
            return self
        for rule in self.rules:
            rewarding = any(hasattr(action, "reward") for action in rule.actions)
            if rewarding and rule.trigger.type == "status" and rule.trigger.status == "denied":
                raise ValueError(
                    f"rule '{rule.id}': rewards never trigger on denied in the sales pipeline; "
                    "use pending, qualified or approved"
                )
        return self

    def release_on(self) -> str | None:
        """The status from which a sales pipeline releases rewards (other pipelines ignore it)."""
        return self.sales.reward_status if self.pipeline == "sales" else None

    def all_rules(self) -> list[Rule]:
        """The campaign's rules, with its incentives first as the built-in rule `incentive`."""
        incentives = [
            RewardAction(type="reward", target=role, reward=incentive)
            for role, incentive in (
                ("advocate", self.incentives.advocate),
                ("friend", self.incentives.friend),
            )
            if incentive is not None
        ]
        active = [r for r in self.rules if r.active]
        if not incentives:
            return active
        status = PIPELINES[self.pipeline].incentives_at
        trigger = (
            StatusReached(type="status", status=status)
            if status
            else ReferralStarted(type="referral_started")
        )
        return [Rule(id="incentive", name="Incentives", trigger=trigger, actions=incentives), *active]

    def coupon_list_slugs(self) -> set[str]:
        named = [self.friend_offer.coupon_list]
        named += [i.list_slug for i in (self.incentives.advocate, self.incentives.friend) if i]
        named += [a.reward.list_slug for r in self.rules for a in r.actions if hasattr(a, "reward")]
        return {slug for slug in named if slug}
