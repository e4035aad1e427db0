"""Model rows → the answer shapes API.md fixes. Money as decimal strings; the
schemas in `vouch.api.schemas` render times."""

from vouch.emails.models import Email
from vouch.events.models import Event
from vouch.fraud.checks import CHECK_LABELS
from vouch.people.models import Person
from vouch.referrals.models import Referral
from vouch.rewards.models import Reward
from vouch.shares.models import Offer, Share
from vouch.shares.services import share_url


def money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def person_ref(person: Person | None) -> dict | None:
    if person is None:
        return None
    return {"email": person.email, "first_name": person.first_name, "last_name": person.last_name}


def reward_shape(reward: Reward) -> dict:
    return {
        "id": reward.pk,
        "referral": reward.referral_id,
        "role": reward.role,
        "person": reward.person.email,
        "kind": reward.kind,
        "status": reward.status,
        "code": (reward.code or None) if reward.status == "given" else None,
        "value": money(reward.value),
        "currency": reward.currency,
        "reason": reward.reason,
        "reason_code": reward.reason_code,
        "created_at": reward.created_at,
        "given_at": reward.given_at,
    }


def referral_shape(referral: Referral, rewards: list[Reward] | None = None) -> dict:
    if rewards is None:
        rewards = getattr(referral, "reward_list", None)
    if rewards is None:
        rewards = list(referral.rewards.select_related("person").order_by("id"))
    return {
        "id": referral.pk,
        "status": referral.status,
        "clicked": referral.clicked,
        "campaign": referral.campaign.slug,
        "advocate": person_ref(referral.advocate),
        "friend": person_ref(referral.friend),
        "external_id": referral.external_id,
        "order_number": referral.order_number,
        "subtotal": money(referral.subtotal),
        "currency": referral.currency,
        "coupon_code": referral.coupon_code,
        "created_at": referral.created_at,
        "approved_at": referral.approved_at,
        "attributed_by": referral.attributed_by,
        "rewards": [reward_shape(r) for r in rewards],
    }


def event_shape(event: Event) -> dict:
    return {
        "id": event.external_id,
        "type": event.kind,
        "email": event.person.email if event.person_id else None,
        "occurred_at": event.occurred_at,
        "subtotal": money(event.subtotal),
        "currency": event.currency,
        "coupon_codes": event.coupon_codes,
        "referral": event.referral_id,
        "created_at": event.created_at,
    }


def email_shape(email: Email) -> dict:
    return {
        "id": email.pk,
        "type": email.type,
        "to": email.to,
        "from": email.from_address,
        "subject": email.subject,
        "status": email.status,
        "reason": email.reason,
        "referral": email.referral_id,
        "created_at": email.created_at,
        "sent_at": email.sent_at,
        "delivered_at": email.delivered_at,
        "opened_at": email.opened_at,
        "clicked_at": email.clicked_at,
        "rejected_at": email.rejected_at,
        "resent_from": email.resent_from_id,
    }


def fraud_check_shape(result) -> dict:
    return {
        "check": result.fraud_check,
        "label": CHECK_LABELS.get(result.fraud_check, result.fraud_check),
        "outcome": result.outcome,
        "hit": result.hit,
        "message": result.message,
        "evidence": result.evidence,
    }


def share_shape(share: Share) -> dict:
    return {
        "code": share.code,
        "url": share_url(share),
        "campaign": share.campaign.slug,
        "advocate": share.advocate.email,
        "channel": share.channel,
        "created_at": share.created_at,
    }


def offer_shape(offer: Offer) -> dict:
    return {
        "coupon_code": offer.coupon_code or None,
        "expires_at": offer.expires_at,
        "campaign": offer.campaign.slug,
        "share_code": offer.share.code,
        "friend": offer.friend.email,
        "created_at": offer.created_at,
    }


def campaign_shape(campaign) -> dict:
    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "pipeline": campaign.pipeline,
        "status": campaign.status,
        "version": campaign.version,
        "definition": campaign.definition,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
    }


def decision_shape(decision) -> dict:
    return {
        "id": decision.pk,
        "rule": decision.rule_id,
        "rule_version": decision.rule_version,
        "trigger": decision.trigger,
        "event": decision.event.external_id if decision.event_id else None,
        "condition": decision.condition,
        "condition_met": decision.condition_met,
        "error": decision.error,
        "actions": [
            {
                "index": a.get("index"),
                "type": a.get("type"),
                "target": a.get("target"),
                "outcome": a.get("outcome", ""),
                "reason": a.get("reason"),
                "reward": a.get("reward"),
                "value": a.get("value"),
                "email": a.get("email"),
                "criteria": a.get("criteria", []),
            }
            for a in decision.actions
        ],
        "inputs": decision.inputs,
        "created_at": decision.created_at,
    }
