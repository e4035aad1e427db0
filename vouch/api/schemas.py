"""Request and answer schemas of the integration API (the wire contract in API.md)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from vouch.campaigns.definition import Currency, Email, Money, SlugStr


class In(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorBody(Schema):
    code: str = Field(description="machine code, snake_case")
    message: str = Field(description="a sentence for a person")
    details: list[dict[str, Any]] = Field(
        default_factory=list, description='e.g. {"field": "subtotal", "message": "..."}'
    )


class ErrorOut(Schema):
    error: ErrorBody


class _EventIn(In):
    id: str = Field(min_length=1, max_length=200, description="external id; the order number for a purchase")
    email: Email | None = None
    occurred_at: datetime | None = None
    campaign: SlugStr | None = Field(None, description="campaign slug, to restrict attribution")
    subtotal: Money | None = None
    currency: Currency | None = None
    coupon_codes: list[Annotated[str, Field(max_length=255)]] = Field(default_factory=list, max_length=50)
    ip: str | None = Field(None, max_length=45)
    visitor_uuid: str | None = Field(None, max_length=64)
    shipping_address: str | None = Field(None, max_length=500)
    customer_id: str | None = Field(None, max_length=100)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    name: str | None = Field(None, min_length=1, max_length=100, description="the custom action's name")
    fields: dict[str, Any] = Field(default_factory=dict)
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=200, description="the order's items")
    person_fields: dict[str, Any] | None = Field(
        None,
        description="custom fields of the person to set (merged); a change triggers person_changed rules",
    )
    segments: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None, max_length=100, description="the person's segments now (replaces them)"
    )
    order_id: str | None = Field(
        None, min_length=1, max_length=200, description="for a refund: the purchase's id"
    )


class PurchaseIn(_EventIn):
    type: Literal["purchase"]
    email: Email


class SignupIn(_EventIn):
    type: Literal["signup"]
    email: Email


class RefundIn(_EventIn):
    type: Literal["refund"]
    order_id: str = Field(min_length=1, max_length=200, description="the refunded purchase's id")


class CustomIn(_EventIn):
    type: Literal["custom"]
    name: str = Field(
        min_length=1, max_length=100, description="the custom action's name, e.g. demo_completed"
    )


EventIn = Annotated[PurchaseIn | SignupIn | RefundIn | CustomIn, Field(discriminator="type")]


class PersonRef(Schema):
    email: str
    first_name: str = ""
    last_name: str = ""


class RewardOut(Schema):
    id: int
    referral: int
    role: Literal["advocate", "friend"]
    person: str
    kind: Literal["coupon", "credit", "gift_card", "points"]
    status: Literal["pending", "waiting_for_coupon", "given", "voided", "blocked"]
    code: str | None
    value: str | None
    currency: str
    reason: str
    reason_code: str
    created_at: datetime
    given_at: datetime | None


class HistoryOut(Schema):
    from_status: str | None = Field(alias="from")
    to: str
    actor: str
    actor_label: str
    reason: str
    at: datetime


class FraudCheckOut(Schema):
    check: str
    label: str
    outcome: Literal["pass", "flag", "block"]
    hit: bool
    message: str
    evidence: dict[str, Any]


class EventOut(Schema):
    id: str
    type: str
    email: str | None
    occurred_at: datetime
    subtotal: str | None
    currency: str
    coupon_codes: list[str]
    referral: int | None
    created_at: datetime


class EmailOut(Schema):
    id: int
    type: str
    to: str
    from_address: str = Field(alias="from")
    subject: str
    status: str
    reason: str
    referral: int | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    rejected_at: datetime | None
    resent_from: int | None


class TimedStepOut(Schema):
    to: str
    due_at: datetime
    reason: str
    sentence: str = Field(description='e.g. "Will be denied on 2026-12-01 unless someone changes it."')


class ReferralOut(Schema):
    id: int
    status: str
    clicked: bool
    campaign: str
    advocate: PersonRef
    friend: PersonRef | None
    external_id: str | None
    order_number: str
    subtotal: str | None
    currency: str
    coupon_code: str
    created_at: datetime
    approved_at: datetime | None
    attributed_by: Literal["coupon_code", "visitor_uuid", "email", "ip", "manual"]
    rewards: list[RewardOut]


class CriterionOut(Schema):
    label: str
    held: bool
    error: str | None = None


class DecisionActionOut(Schema):
    index: int
    type: str
    target: str | None
    outcome: str = Field(description="given, pending, blocked, skipped, email_queued, not_sent, reverted…")
    reason: str | None = None
    reward: int | None = None
    value: str | None = None
    email: int | None = None
    criteria: list[CriterionOut] = Field(default_factory=list)


class DecisionOut(Schema):
    """One rule evaluation: the decision trace that explains a reward given, blocked or not made."""

    id: int
    rule: str
    rule_version: int
    trigger: str
    event: str | None = Field(description="the external id of the event that triggered it")
    condition: str
    condition_met: bool
    error: str
    actions: list[DecisionActionOut]
    inputs: dict[str, Any] = Field(description="the variables the condition and criteria read, as they were")
    created_at: datetime


class ReferralDetailsOut(ReferralOut):
    history: list[HistoryOut]
    fraud_checks: list[FraudCheckOut]
    events: list[EventOut]
    emails: list[EmailOut]
    next_timed_step: TimedStepOut | None
    allowed_statuses: list[str] = Field(description="statuses the API may move this referral to now")
    decisions: list[DecisionOut] = Field(description="every rule evaluated for this referral, oldest first")


class EventResultOut(Schema):
    event: EventOut
    referral: ReferralOut | None
    rewards: list[RewardOut]


class PersonIn(In):
    email: Email
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)


class ShareIn(In):
    campaign: SlugStr
    advocate: PersonIn
    channel: Literal["email", "link", "sms", "social"]
    friend_email: Email | None = None
    ip: str | None = Field(None, max_length=45, description="the advocate's IP, for fraud checks")
    visitor_uuid: str | None = Field(
        None, max_length=64, description="the advocate's visitor uuid, for fraud checks"
    )


class ShareOut(Schema):
    code: str
    url: str
    campaign: str
    advocate: str
    channel: str
    created_at: datetime


class ShareResultOut(Schema):
    share: ShareOut


class OfferIn(In):
    share_code: str = Field(min_length=1, max_length=32)
    email: Email
    visitor_uuid: str | None = Field(None, max_length=64)
    ip: str | None = Field(None, max_length=45)


class OfferOut(Schema):
    coupon_code: str | None
    expires_at: datetime | None
    campaign: str
    share_code: str
    friend: str
    created_at: datetime


class OfferResultOut(Schema):
    offer: OfferOut
    referral: ReferralOut | None


class ReferralIn(In):
    campaign: SlugStr
    advocate_email: Email
    friend_email: Email | None = None
    order_number: str | None = Field(None, max_length=200)
    subtotal: Money
    currency: Currency | None = None
    external_id: str | None = Field(None, min_length=1, max_length=200)


class StatusIn(In):
    status: str = Field(min_length=1, max_length=40)
    reason: str = Field("", max_length=1000)


class ReferralPageOut(Schema):
    items: list[ReferralOut]
    count: int
    limit: int
    offset: int


class CouponsIn(In):
    codes: list[str] = Field(min_length=1, max_length=100_000)


class CouponsOut(Schema):
    coupon_list: str
    added: int
    already_there: list[str]
    invalid: list[dict[str, Any]]
    rewards_given: list[int]
    remaining: int


class OfferSummaryOut(Schema):
    campaign: str
    share_code: str
    coupon_code: str | None
    expires_at: datetime | None
    created_at: datetime


class PersonOut(Schema):
    email: str
    first_name: str
    last_name: str
    customer_id: str
    fields: dict[str, Any]
    segments: list[Any]
    unsubscribed: bool
    blacklisted: bool
    created_at: datetime
    referrals_as_advocate: list[ReferralOut]
    referrals_as_friend: list[ReferralOut]
    rewards: list[RewardOut]
    emails: list[EmailOut]
    offers: list[OfferSummaryOut]
    shares: list[ShareOut]
    events: list[EventOut]


class CampaignOut(Schema):
    slug: str
    name: str
    pipeline: str
    status: str
    version: int
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class StatusCountOut(Schema):
    status: str
    label: str = Field(description="the status in the pipeline's words")
    count: int


class CampaignSnapshotOut(Schema):
    slug: str
    name: str
    pipeline: str
    total: int
    statuses: list[StatusCountOut]


class QueueOut(Schema):
    status: str
    count: int
    oldest: int | None = Field(description="the id of the referral waiting longest")
    oldest_since: datetime | None


class SnapshotOut(Schema):
    campaigns: list[CampaignSnapshotOut]
    queues: list[QueueOut]
