"""Emails are rows written in the business transaction (`queued`) and sent later
by the worker, so nothing reaches the outside world before the transaction commits."""

from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.template import Context, Engine

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.emails.models import Email, Status
from vouch.emails.templates_default import DEFAULTS
from vouch.people.models import Person

_engine = Engine(autoescape=False)


@lru_cache(maxsize=256)
def _template(source: str):
    return _engine.from_string(source)


def _render(source: str, context: dict) -> str:
    return _template(source).render(Context(context))


def email_queue(*, person: Person, type: str, context: dict, referral=None) -> Email:
    spec = DEFAULTS[type]
    context = {"person": person, **context}
    now = clock.now()
    unsubscribed = person.unsubscribed_at is not None
    return Email.objects.create(
        site_id=person.site_id,
        person=person,
        referral=referral,
        type=type,
        to=person.email,
        from_address=settings.DEFAULT_FROM_EMAIL,
        subject=_render(spec["subject"], context).strip(),
        text=_render(spec["text"], context),
        status=Status.NOT_SENT if unsubscribed else Status.QUEUED,
        reason="The person unsubscribed from program emails." if unsubscribed else "",
        due_at=None if unsubscribed else now,
        created_at=now,
    )


def email_queue_for_reward(*, reward, type: str) -> Email:
    referral = reward.referral
    friend_email = referral.friend.email if referral.friend_id else ""
    return email_queue(
        person=reward.person,
        type=type,
        referral=referral,
        context={"reward": reward, "campaign": referral.campaign, "friend_email": friend_email},
    )


def email_resend(*, email: Email, actor: ActorRef) -> Email:
    """The portal's "Resend now": a new email row with the same content, pointing to the original."""
    with transaction.atomic():
        now = clock.now()
        copy = Email.objects.create(
            site_id=email.site_id,
            person_id=email.person_id,
            referral_id=email.referral_id,
            type=email.type,
            to=email.to,
            from_address=email.from_address,
            subject=email.subject,
            text=email.text,
            html=email.html,
            status=Status.QUEUED,
            resent_from=email,
            due_at=now,
            created_at=now,
        )
        audit_record(
            site=email.site,
            actor=actor,
            action="email.resend",
            object_type="email",
            object_id=copy.pk,
            after={"resent_from": email.pk, "to": email.to, "type": email.type},
        )
        return copy
