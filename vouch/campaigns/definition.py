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

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from vouch.fraud.checks import CHECKS, DEFAULT_ACTIONS
from vouch.pipelines import PIPELINES

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
    advocate: Incentive | None = None
    friend: Incentive | None = None


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


class Delays(Strict):
    auto_approval_hours: number(ge=0, le=24 * 365) = Field(
        0, description="pending → approved after this; 0 = at once"
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

    def coupon_list_slugs(self) -> set[str]:
        named = [self.friend_offer.coupon_list]
        named += [i.list_slug for i in (self.incentives.advocate, self.incentives.friend) if i]
        return {slug for slug in named if slug}
