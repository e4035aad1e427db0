"""Admins override an email type per campaign; broken templates are refused before they
can reach a business transaction; templates see only their context."""

from django.core import mail

from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.campaigns.models import Campaign
from vouch.emails.models import Email
from vouch.emails.services import email_queue
from vouch.people.services import person_get_or_create
from vouch.worker import run_once

PAID = "/campaigns/spring/email-templates/advocate_reward_paid"


def test_a_campaign_override_is_used_for_the_next_email(api, campaign, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    saved = api.put(
        PAID,
        {
            "subject": "{{ person.first_name }}, {{ reward.code }} is yours",
            "text": "Code {{ reward.code }} for referring {{ friend_email }}.",
            "html": "<p>Code <b>{{ reward.code }}</b> for {{ friend_email }} & co</p>",
        },
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["source"] == "campaign"

    _, coupon = share_and_claim(api)
    purchase(api, coupon=coupon)
    run_once()

    [sent] = [m for m in mail.outbox if m.to == ["stephanie@ganleywestside.com"]]
    assert sent.subject == "Stephanie, ADV000 is yours"
    assert sent.body.startswith("Code ADV000 for referring levi@yahoo.com.")
    assert "<b>ADV000</b> for levi@yahoo.com & co" in sent.alternatives[0][0]
    listed = {t["type"]: t["source"] for t in api.get("/campaigns/spring/email-templates").json()}
    assert listed["advocate_reward_paid"] == "campaign" and listed["friend_share"] == "default"
    assert set(listed) >= {"friend_offer", "friend_reward", "advocate_referral_made", "referral_reminder"}


def test_a_template_that_does_not_compile_is_refused_naming_the_field(api, campaign):
    for body, field in (
        ({"subject": "ok", "text": "{% if %}", "html": ""}, "text"),
        ({"subject": "{{ reward.code|nosuchfilter }}", "text": "ok", "html": ""}, "subject"),
        ({"subject": "ok", "text": "ok", "html": "{% load static %}"}, "html"),
        ({"subject": "ok", "text": "ok", "html": '{% include "admin/base.html" %}'}, "html"),
        (
            {"subject": "ok", "text": "{{ reward.value|add:'x'|date:'%' }}{% widthratio 1 0 %}", "html": ""},
            "text",
        ),
    ):
        response = api.put(PAID, body)
        assert response.status_code == 422, (body, response.content)
        assert response.json()["error"]["code"] == "email_template_invalid"
        assert f"The {field} template" in response.json()["error"]["message"]
        assert response.json()["error"]["details"][0]["field"] == field
    assert api.get(PAID).json()["source"] == "default"


def test_templates_reach_only_their_context(api, campaign, site):
    api.put(
        "/campaigns/spring/email-templates/demo_completed",
        {"subject": "Demo done", "text": "[{{ person.site }}][{{ campaign.definition }}][{{ person.pk }}]"},
    )
    person = person_get_or_create(site=site, email="dana@example.com")
    email = email_queue(
        person=person, type="demo_completed", context={}, campaign=Campaign.objects.get(slug="spring")
    )

    assert email.subject == "Demo done"
    assert email.text.startswith("[][][]")
    assert "/u/" in email.text and email.html == ""


def test_a_campaigns_own_email_type_is_listed_and_unknown_types_are_not_found(api, other_api, campaign):
    saved = api.put(
        "/campaigns/spring/email-templates/demo_completed",
        {"subject": "Thanks, {{ person.first_name }}", "text": "Your friend finished the demo."},
    )
    assert saved.status_code == 200, saved.content

    assert (
        api.get("/campaigns/spring/email-templates/demo_completed").json()["label"] == "Demo completed email"
    )
    assert api.get("/campaigns/spring/email-templates/no_such_type").status_code == 404
    assert api.get("/campaigns/spring/email-templates/Bad-Name").status_code == 422
    assert other_api.get("/campaigns/spring/email-templates").status_code == 404
    assert other_api.put(PAID, {"subject": "x", "text": "y"}).status_code == 404


def test_default_emails_carry_html_and_the_unsubscribe_link(api, campaign):
    share_and_claim(api)

    share_email = Email.objects.get(type="friend_share")
    assert "<a href=" in share_email.html and share_email.text.strip()
    assert "/u/" in share_email.text and "Unsubscribe</a>" in share_email.html
