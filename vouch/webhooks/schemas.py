"""Request and answer schemas of the outbound-webhook endpoints."""

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import AwareDatetime, Field, StrictBool, field_validator

from vouch.api.schemas import In
from vouch.webhooks.models import EVENT_TYPES

URL_PATTERN = r"^https?://[A-Za-z0-9._~%!$&'()*+,;=-]+(:[0-9]{1,5})?([/?#][^\s]*)?$"
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class EndpointIn(In):
    url: str = Field(
        min_length=1,
        max_length=2000,
        pattern=URL_PATTERN,
        description="where events are POSTed: an absolute http:// or https:// URL",
    )
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    active: StrictBool = True
    description: str = Field("", max_length=200)


class EndpointUpdateIn(EndpointIn):
    rotate_secret: StrictBool = Field(
        False, description="issue a new signing secret; the old one stops at once"
    )


class EndpointOut(Schema):
    id: int
    url: str
    event_types: list[str]
    active: bool
    description: str
    secret: str = Field(description="signs every request: see the Vouch-Signature header")
    created_at: datetime
    updated_at: datetime


class AttemptOut(Schema):
    started_at: datetime
    finished_at: datetime | None
    response_code: int | None
    error: str
    duration_ms: int | None


class DeliveryOut(Schema):
    id: int
    endpoint: int
    event: dict = Field(description='the body sent: {"id", "type", "version", "created_at", "site", "data"}')
    status: str = Field(description="pending, succeeded or failed")
    redelivery_of: int | None
    created_at: datetime
    finished_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str
    attempts: list[AttemptOut]


class DeliveryPageOut(Schema):
    items: list[DeliveryOut]
    count: int
    limit: int
    offset: int


class DeliveryQuery(Schema):
    status: Literal["", "pending", "succeeded", "failed"] = ""
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class ReplayIn(In):
    since: AwareDatetime = Field(
        alias="from", description="start of the range, included (ISO 8601 with offset)"
    )
    until: AwareDatetime = Field(
        alias="to", description="end of the range, excluded; an empty range queues nothing"
    )

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_text(cls, value):
        """A time is ISO 8601 text, never a number of seconds."""
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time with an offset")
        return value


class ReplayOut(Schema):
    deliveries: int = Field(description="how many deliveries were queued")
