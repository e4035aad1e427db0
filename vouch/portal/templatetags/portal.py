"""Filters that present the engine's values in the portal's words."""

import json

from django import template
from django.urls import get_script_prefix, reverse

from vouch.fraud.checks import CHECK_LABELS
from vouch.pipelines import pipeline_named, timed_step_sentence
from vouch.portal.selectors import pipeline_words

register = template.Library()


def mask_email(email: str) -> str:
    """`levi@yahoo.com` → `l***@yahoo.com`: enough for a viewer to tell rows apart."""
    local, at, domain = (email or "").partition("@")
    if not at:
        return f"{local[:1]}***" if local else ""
    return f"{local[:1]}***@{domain}"


@register.filter
def email_for(email: str, mask: bool) -> str:
    return mask_email(email) if mask else (email or "")


@register.filter
def referral_words(referral) -> str:
    """The referral's status in its pipeline's words ("Offer unclaimed: clicked" when it was)."""
    words = pipeline_words(referral.campaign.pipeline, referral.status)
    if referral.status == "offer_unclaimed" and referral.clicked:
        words += ": clicked"
    return words


@register.filter
def status_in(status: str, pipeline_name: str) -> str:
    return pipeline_words(pipeline_name, status) if status else ""


@register.filter
def timed_step_promise(step, pipeline_name: str) -> str:
    """The referral's next timed step as the API says it: "Will be denied on … unless someone
    changes it." """
    return timed_step_sentence(pipeline_named(pipeline_name), target=step.to_status, due=step.due_at.date())


@register.filter
def words(value: str) -> str:
    """snake_case → Sentence case."""
    return (value or "").replace("_", " ").capitalize()


@register.filter
def email_type(value: str) -> str:
    """`advocate_reward_paid` → "Advocate reward paid email", as Talkable names them."""
    return f"{words(value)} email"


@register.filter
def check_label(check: str) -> str:
    return CHECK_LABELS.get(check, words(check))


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def money(value) -> str:
    return "" if value is None else f"{value:.2f}"


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "") if mapping else ""


_MARK = "2147483647"  # an id no URL here is built with: replaced by the real one


@register.filter
def href(pk, view: str) -> str:
    """`{% url view pk %}` for an integer id, the pattern reversed once per view (and script
    prefix): a list of rows otherwise reverses the same URL pattern for every row."""
    key = (view, get_script_prefix())
    pattern = _PATTERNS.get(key)
    if pattern is None:
        pattern = _PATTERNS[key] = reverse(view, args=[_MARK])
    return pattern.replace(_MARK, str(int(pk)))


_PATTERNS: dict[tuple[str, str], str] = {}
