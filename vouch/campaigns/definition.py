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

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vouch.fraud.checks import CHECKS
from vouch.pipelines import PIPELINES

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="lower-case letters, digits, - and _")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FriendOffer(Strict):
    coupon_list: str | None = Field(None, description="coupon list the friend's single-use code comes from")
    code: str | None = Field(None, description="one fixed code for every friend, instead of a list")
    expires_in_days: int | None = Field(
        30, ge=1, le=3650, description="the friend's offer expires this long after the claim"
    )
    description: str = Field("", max_length=500)


class Incentive(Strict):
    kind: Literal["coupon", "credit", "gift_card", "points"]
    coupon_list: str | None = Field(None, description="for coupon and gift_card: the list codes come from")
    code: str | None = Field(None, description="for coupon: one fixed code instead of a list")
    value: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    description: str = Field("", max_length=500)

    @model_validator(mode="after")
    def _source_of_code(self):
        if self.kind == "gift_card" and not self.coupon_list:
            raise ValueError("a gift_card incentive needs the coupon_list its codes come from")
        if self.kind == "coupon" and not (self.coupon_list or self.code):
            raise ValueError("a coupon incentive needs a coupon_list or a fixed code")
        if self.kind in ("credit", "points") and self.value is None:
            raise ValueError(f"a {self.kind} incentive needs a value")
        return self


class Incentives(Strict):
    advocate: Incentive | None = None
    friend: Incentive | None = None


Action = Literal["ignore", "flag", "block"]


class FraudSettings(Strict):
    checks: dict[str, Action] = Field(
        default_factory=dict, description=f"per check: ignore, flag or block. Checks: {', '.join(CHECKS)}"
    )
    velocity_per_hour: int | None = Field(10, ge=1)
    velocity_per_day: int | None = Field(50, ge=1)

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown fraud checks {unknown}; known: {list(CHECKS)}")
        return value


class Limits(Strict):
    advocate_rewards_lifetime: int | None = Field(None, ge=0)
    advocate_rewards_per_year: int | None = Field(None, ge=0, description="per calendar year")
    advocate_rewards_per_30_days: int | None = Field(None, ge=0, description="rolling 30 days")


class Delays(Strict):
    auto_approval_hours: float = Field(
        0, ge=0, le=24 * 365, description="pending → approved after this; 0 = at once"
    )


class CampaignDefinition(Strict):
    slug: str = Slug
    name: str = Field(min_length=1, max_length=200)
    pipeline: str = Field("purchase_with_fraud_review", description=f"one of: {', '.join(PIPELINES)}")
    status: Literal["active", "paused", "ended"] = "active"
    friend_offer: FriendOffer = Field(default_factory=FriendOffer)
    incentives: Incentives = Field(default_factory=Incentives)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    limits: Limits = Field(default_factory=Limits)
    delays: Delays = Field(default_factory=Delays)

    @field_validator("pipeline")
    @classmethod
    def _known_pipeline(cls, value: str) -> str:
        if value not in PIPELINES:
            raise ValueError(f"unknown pipeline '{value}'; known: {', '.join(PIPELINES)}")
        return value

    def coupon_list_slugs(self) -> set[str]:
        named = [self.friend_offer.coupon_list]
        named += [i.coupon_list for i in (self.incentives.advocate, self.incentives.friend) if i]
        return {slug for slug in named if slug}
