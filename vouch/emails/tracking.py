"""ESP tracking webhooks in: django-anymail verifies the request (basic auth from
`ANYMAIL["WEBHOOK_SECRET"]`, and the ESP's own signature where it has one), turns the
ESP's payload into a normalised event and sends the `tracking` signal, received here."""

import logging

from anymail.signals import AnymailTrackingEvent

from vouch.emails.services import email_status_record

log = logging.getLogger("vouch.emails")


def email_tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    email = email_status_record(
        message_id=event.message_id or "",
        event_type=event.event_type,
        at=event.timestamp,
        description=event.description or event.mta_response or "",
    )
    if email is None:
        log.info("%s %s event for message %r ignored", esp_name, event.event_type, event.message_id)
