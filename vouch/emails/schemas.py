"""Request and answer schemas of the email endpoints."""

from datetime import datetime

from ninja import Schema
from pydantic import Field

from vouch.api.schemas import EmailOut, In


class EmailDetailOut(EmailOut):
    message_id: str = Field(
        description="the Message-ID, or the ESP's id, that tracking events are matched on"
    )
    text: str
    html: str


class EmailTemplateIn(In):
    subject: str = Field(min_length=1, max_length=300, description="Django template language")
    text: str = Field(
        min_length=1, max_length=100_000, description="the plain-text part (Django template language)"
    )
    html: str = Field("", max_length=200_000, description="the HTML part; empty sends text only")


class EmailTemplateOut(Schema):
    type: str
    label: str
    subject: str
    text: str
    html: str
    source: str = Field(description="where the template comes from: campaign, site or default")
    updated_at: datetime | None
    context: list[str] = Field(description="the names a template can use")
