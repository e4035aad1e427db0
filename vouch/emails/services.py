"""Emails are rows written in the business transaction (`queued`) and sent later
by the worker, so nothing reaches the outside world before the transaction commits.

Delivery status arrives from the ESP's tracking webhooks (django-anymail's normalised
events) and only ever moves forward: a late "delivered" after "opened" still records
its time but leaves the status at "opened".
"""

import re
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.template import TemplateSyntaxError

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.emails.models import Email, EmailTemplate, Status
from vouch.emails.rendering import (
    SAMPLE_CONTEXT,
    plain,
    template_render,
    unsubscribe_url,
    with_unsubscribe_footer,
)
from vouch.emails.selectors import email_template_effective
from vouch.errors import Invalid
from vouch.people.models import Person
from vouch.sites.models import Site
from vouch.webhooks.services import webhook_publish
from vouch.written_at_end import insert

UNSUBSCRIBED = "The person unsubscribed from program emails."
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")

# How far each status is along the way; a tracking event never moves an email back.
# A bounce after delivery is rarer than a late delivery report, so rejected sits below delivered.
RANK = {
    Status.NOT_SENT: 0,
    Status.QUEUED: 0,
    Status.SENT: 1,
    Status.REJECTED: 2,
    Status.DELIVERED: 3,
    Status.OPENED: 4,
    Status.CLICKED: 5,
}
TIME_FIELD = {
    Status.DELIVERED: "delivered_at",
    Status.OPENED: "opened_at",
    Status.CLICKED: "clicked_at",
    Status.REJECTED: "rejected_at",
}
# anymail's normalised event types → ours; the others (queued, deferred, unknown…) change nothing.
TRACKING_STATUS = {
    "delivered": Status.DELIVERED,
    "opened": Status.OPENED,
    "clicked": Status.CLICKED,
    "rejected": Status.REJECTED,
    "bounced": Status.REJECTED,
    "failed": Status.REJECTED,
}


def _campaign_of(campaign, context: dict, referral):
    from vouch.campaigns.models import Campaign

    if campaign is not None:
        return campaign
    if isinstance(context.get("campaign"), Campaign):
        return context["campaign"]
    return referral.campaign if referral is not None else None


def email_queue(*, person: Person, type: str, context: dict, referral=None, campaign=None) -> Email:
    """Render the type's template (the campaign's override, else the site's, else the
    default) and write the email as a due row; someone who unsubscribed gets a
    `not_sent` row that says why, so the portal shows the email was never sent."""
    email = _email_compose(person=person, type=type, context=context, referral=referral, campaign=campaign)
    email.save(force_insert=True)
    return email


def _email_compose(*, person: Person, type: str, context: dict, referral=None, campaign=None) -> Email:
    """The email `email_queue` writes, rendered, not written yet."""
    campaign = _campaign_of(campaign, context, referral)
    spec = email_template_effective(
        site_id=person.site_id, campaign_id=campaign.pk if campaign else None, type=type
    )
    url = unsubscribe_url(person.pk)
    values = plain({"campaign": campaign, "referral": referral, **context, "person": person})
    values["unsubscribe_url"] = url
    text, html = with_unsubscribe_footer(
        text=template_render(spec.text, values),
        html=template_render(spec.html, values, html=True) if spec.html else "",
        url=url,
    )
    now = clock.now()
    unsubscribed = person.unsubscribed_at is not None
    return Email(
        site_id=person.site_id,
        person=person,
        referral=referral,
        type=type,
        to=person.email,
        from_address=settings.DEFAULT_FROM_EMAIL,
        subject=" ".join(template_render(spec.subject, values).split())[:300],
        text=text,
        html=html,
        status=Status.NOT_SENT if unsubscribed else Status.QUEUED,
        reason=UNSUBSCRIBED if unsubscribed else "",
        due_at=None if unsubscribed else now,
        created_at=now,
    )


def email_queue_for_reward(*, reward, type: str) -> Email:
    """The email of a reward just given, as `email_queue` writes it; nothing reads it back
    in the transaction, so inside an ingest it is written at its end with the others
    (`vouch.written_at_end`), and has no primary key until then."""
    referral = reward.referral
    friend_email = referral.friend.email if referral.friend_id else ""
    email = _email_compose(
        person=reward.person,
        type=type,
        referral=referral,
        campaign=referral.campaign,
        context={"reward": reward, "campaign": referral.campaign, "friend_email": friend_email},
    )
    insert(email)
    return email


def email_resend(*, email: Email, actor: ActorRef) -> Email:
    """The portal's "Resend now": a new email row with the same subject, text and HTML,
    pointing to the original. It obeys the person's unsubscribe like any other email."""
    with transaction.atomic():
        now = clock.now()
        person = Person.objects.get(pk=email.person_id)
        unsubscribed = person.unsubscribed_at is not None
        copy = Email.objects.create(
            site_id=email.site_id,
            person_id=email.person_id,
            referral_id=email.referral_id,
            type=email.type,
            to=person.email,
            from_address=email.from_address,
            subject=email.subject,
            text=email.text,
            html=email.html,
            status=Status.NOT_SENT if unsubscribed else Status.QUEUED,
            reason=UNSUBSCRIBED if unsubscribed else "",
            resent_from=email,
            due_at=None if unsubscribed else now,
            created_at=now,
        )
        audit_record(
            site=email.site,
            actor=actor,
            action="email.resend",
            object_type="email",
            object_id=copy.pk,
            after={"resent_from": email.pk, "to": copy.to, "type": email.type, "status": copy.status},
        )
        return copy


def email_status_data(email: Email) -> dict:
    return {
        "id": email.pk,
        "type": email.type,
        "to": email.to,
        "status": email.status,
        "reason": email.reason,
        "referral": email.referral_id,
        "resent_from": email.resent_from_id,
        "created_at": email.created_at,
        "sent_at": email.sent_at,
        "delivered_at": email.delivered_at,
        "opened_at": email.opened_at,
        "clicked_at": email.clicked_at,
        "rejected_at": email.rejected_at,
    }


def email_status_record(
    *, message_id: str, event_type: str, at: datetime | None, description: str = ""
) -> Email | None:
    """Apply one ESP tracking event: record its time (the first one of each kind wins)
    and move the status forward only. Events for message ids Vouch never sent, and
    event types that say nothing about delivery, are ignored and return None."""
    status = TRACKING_STATUS.get(event_type)
    if status is None or not message_id:
        return None
    with transaction.atomic():
        email = Email.objects.select_for_update().filter(message_id=message_id).order_by("id").first()
        if email is None:
            return None
        at = at or clock.now()
        previous = email.status
        changed = []
        field = TIME_FIELD[status]
        if getattr(email, field) is None:
            setattr(email, field, at)
            changed.append(field)
        if RANK[status] > RANK.get(email.status, 0):
            email.status = status
            changed.append("status")
            if status == Status.REJECTED and description:
                email.reason = description[:200]
                changed.append("reason")
        if not changed:
            return email
        email.save(update_fields=changed)
        if email.status != previous:
            webhook_publish(
                site_id=email.site_id,
                type="email.status_changed",
                data={"email": email_status_data(email), "previous_status": previous},
            )
        return email


def _template_check(field: str, source: str, *, html: bool) -> None:
    try:
        template_render(source, SAMPLE_CONTEXT, html=html)
    except TemplateSyntaxError as error:
        raise Invalid(
            "email_template_invalid",
            f"The {field} template does not compile: {error}",
            details=[{"field": field, "message": str(error)}],
        ) from error
    except Exception as error:  # noqa: BLE001 - any failure on the sample context refuses the template
        raise Invalid(
            "email_template_invalid",
            f"The {field} template fails on a sample email: {type(error).__name__}: {error}",
            details=[{"field": field, "message": f"{type(error).__name__}: {error}"}],
        ) from error


def email_template_save(
    *, site: Site, campaign, type: str, subject: str, html: str, text: str, actor: ActorRef
) -> EmailTemplate:
    """Override an email type for one campaign (or the whole site when `campaign` is None).
    A template is refused unless it compiles and renders a sample email, so a broken
    template never reaches a business transaction."""
    if not TYPE_NAME.match(type or ""):
        raise Invalid(
            "email_type_invalid",
            "An email type is 1 to 60 lowercase letters, digits and underscores, starting with a letter.",
            details=[{"field": "type", "message": "invalid email type name"}],
        )
    if not subject.strip():
        raise Invalid(
            "email_template_invalid",
            "The subject template is empty.",
            details=[{"field": "subject", "message": "must not be empty"}],
        )
    if not text.strip():
        raise Invalid(
            "email_template_invalid",
            "The text template is empty: every email has a plain-text part.",
            details=[{"field": "text", "message": "must not be empty"}],
        )
    for field, source, is_html in (("subject", subject, False), ("text", text, False), ("html", html, True)):
        _template_check(field, source, html=is_html)
    with transaction.atomic():
        existing = EmailTemplate.objects.filter(site=site, campaign=campaign, type=type).first()
        before = (
            {"subject": existing.subject, "html": existing.html, "text": existing.text} if existing else None
        )
        template, _ = EmailTemplate.objects.update_or_create(
            site=site,
            campaign=campaign,
            type=type,
            defaults={"subject": subject, "html": html, "text": text, "updated_at": clock.now()},
        )
        audit_record(
            site=site,
            actor=actor,
            action="email_template.save",
            object_type="email_template",
            object_id=template.pk,
            before=before,
            after={
                "campaign": campaign.slug if campaign else None,
                "type": type,
                "subject": subject,
                "html": html,
                "text": text,
            },
        )
        return template
