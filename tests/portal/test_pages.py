"""What each portal page does with what staff type: Django's test client, no browser."""

import html
import json
import re
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import CAMPAIGN
from tests.e2e.test_preset_journeys import preset, referral_of, set_status, share, visit_and_claim
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from tests.portal.conftest import make_flagged
from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.campaigns.models import Campaign
from vouch.emails.models import Email
from vouch.people.models import Person
from vouch.referrals.models import Referral
from vouch.sites.models import Membership


def text(response) -> str:
    return response.content.decode()


def test_search_finds_a_person_by_email_part_and_goes_straight_to_an_exact_match(as_role, levi_referral):
    agent = as_role("agent")
    exact = agent.get("/search/", {"q": " Stephanie@GanleyWestside.com "})
    stephanie = Person.objects.get(email="stephanie@ganleywestside.com")
    assert exact.status_code == 302 and exact["Location"] == f"/people/{stephanie.pk}/"
    partial = text(agent.get("/search/", {"q": "@yahoo.com"}))
    assert "levi@yahoo.com" in partial and "stephanie" not in partial


def test_search_by_the_beginning_of_an_email_or_a_part_from_the_at_sign(as_role, levi_referral):
    """A beginning is a range on the (site, email) index; a part from the @ may be anywhere after it."""
    agent = as_role("agent")
    assert "stephanie@ganleywestside.com" in text(agent.get("/search/", {"q": "Stephanie@Gan"}))
    assert "stephanie@ganleywestside.com" in text(agent.get("/search/", {"q": "@ganley"}))
    assert "stephanie@ganleywestside.com" not in text(agent.get("/search/", {"q": "phanie@gan"}))


def test_search_without_an_at_sign_finds_referrals_by_order_number_or_coupon_code(as_role, levi_referral):
    agent = as_role("agent")
    by_order = text(agent.get("/search/", {"q": "ORDER-1"}))
    assert f"Details #{levi_referral['id']}" in by_order
    coupon = Referral.objects.get(pk=levi_referral["id"]).coupon_code
    assert f"Details #{levi_referral['id']}" in text(agent.get("/search/", {"q": coupon.lower()}))
    assert "No referrals." in text(agent.get("/search/", {"q": "NOPE-404"}))


TABS = {
    "Referrals": "Details #",
    "Rewards": "<td>Coupon</td>",
    "Emails": "Advocate reward paid email",
    "Offers": "<td>advocate</td>",
    "Shares": "<td>email</td>",
    "Purchases/Events": "No purchases or events.",
    "Activity": "No staff, API or import actions",
}


def tab_links(page: str) -> dict[str, str]:
    """The person page's tab bar: each tab's label and where its link goes."""
    nav = page.split('aria-label="Person sections">', 1)[1].split("</nav>", 1)[0]
    return {
        label: html.unescape(href) for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)
    }


def test_person_page_opens_on_referrals_with_the_header_and_links_to_every_other_tab(as_role, levi_referral):
    stephanie = Person.objects.get(email="stephanie@ganleywestside.com")
    viewer = as_role("viewer")
    page = text(viewer.get(f"/people/{stephanie.pk}/"))
    assert "known since" in page and "<dt>Referred</dt><dd>1</dd>" in page
    assert "<h2>Referrals</h2>" in page and "Spring referral" in page
    assert f'<a href="/people/{stephanie.pk}/" aria-current="page">Referrals</a>' in page
    assert list(tab_links(page)) == list(TABS)
    assert [label for label in TABS if f"<h2>{label}</h2>" in page] == ["Referrals"], "one tab per request"
    assert "Advocate reward paid email" not in page


def test_each_tab_link_opens_that_tab_alone_with_the_header(as_role, levi_referral):
    stephanie = Person.objects.get(email="stephanie@ganleywestside.com")
    viewer = as_role("viewer")
    links = tab_links(text(viewer.get(f"/people/{stephanie.pk}/")))
    for label, href in links.items():
        page = text(viewer.get(href))
        assert "known since" in page and "Why no reward?" in page, label
        assert f"<h2>{label}</h2>" in page, label
        assert TABS[label] in page, label
        others = [f"<h2>{other}</h2>" for other in TABS if other != label]
        assert not any(other in page for other in others), label
        assert f'aria-current="page">{html.escape(label)}</a>' in page, label
    assert "l***@yahoo.com" in text(viewer.get(links["Referrals"])), "a viewer sees emails masked"
    unknown = text(viewer.get(f"/people/{stephanie.pk}/", {"tab": "nope"}))
    assert "<h2>Referrals</h2>" in unknown


def test_a_refused_status_change_shows_the_pipeline_s_rule_in_place(as_role, levi_referral):
    response = as_role("agent").post(
        reverse("portal:referral-status", args=[levi_referral["id"]]),
        {"status": "voided", "confirm": "on", "reason": "changed my mind"},
    )
    assert response.status_code == 409
    assert "Approved is final" in text(response)
    assert Referral.objects.get(pk=levi_referral["id"]).status == "approved"


def test_a_status_change_needs_the_confirmation_box(as_role, flagged_referral):
    url = reverse("portal:referral-status", args=[flagged_referral["id"]])
    refused = as_role("agent").post(url, {"status": "approved", "reason": "ok"})
    assert refused.status_code == 400
    assert "Tick the confirmation box" in text(refused)
    assert Referral.objects.get(pk=flagged_referral["id"]).status == "flagged"


def test_approving_a_flagged_referral_is_audited_as_the_staff_user(as_role, staff, flagged_referral):
    url = reverse("portal:referral-status", args=[flagged_referral["id"]])
    response = as_role("agent").post(url, {"status": "approved", "reason": "checked", "confirm": "on"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="referral.approve", object_id=str(flagged_referral["id"]))
    assert (entry.actor, entry.actor_label, entry.user_id) == ("staff", "agent", staff["agent"].pk)
    assert entry.ip == "127.0.0.1"


def test_resend_now_queues_a_copy_of_the_email(as_role, staff, levi_referral):
    original = Email.objects.get(type="advocate_reward_paid")
    response = as_role("agent").post(reverse("portal:email-resend", args=[original.pk]))
    copy = Email.objects.exclude(pk=original.pk).get(type="advocate_reward_paid")
    assert response["Location"] == f"/emails/{copy.pk}/"
    assert copy.resent_from_id == original.pk and copy.status == "queued"
    assert AuditEntry.objects.get(action="email.resend").user_id == staff["agent"].pk


def test_create_referral_form_errors_name_the_field_and_the_problem(as_role, campaign):
    response = as_role("agent").post(
        reverse("portal:referral-create"),
        {"advocate_email": "not-an-email", "subtotal": "lots", "campaign": "nope"},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Advocate&#x27;s email: Enter a valid email address." in page
    assert "Order subtotal: Enter a number." in page
    assert "Campaign: Select a valid choice." in page
    assert not Referral.objects.exists()


def test_create_referral_makes_the_people_and_lands_on_the_new_referral(as_role, campaign):
    response = as_role("agent").post(
        reverse("portal:referral-create"),
        {"advocate_email": "New@Example.com", "friend_email": "", "subtotal": "75.00", "campaign": "spring"},
    )
    referral = Referral.objects.get()
    assert response["Location"] == f"/referrals/{referral.pk}/"
    assert referral.advocate.email == "new@example.com" and referral.friend is None
    assert referral.attributed_by == "manual" and referral.currency == "USD"
    assert AuditEntry.objects.filter(action="referral.create", object_id=str(referral.pk)).exists()


def test_campaign_picker_finds_campaigns_as_you_type(as_role, api, campaign):
    api.post("/campaigns", {**CAMPAIGN, "slug": "vip", "name": "VIP referral"})
    found = as_role("viewer").get(reverse("portal:campaign-picker"), {"q": "vip"}).json()
    assert [c["slug"] for c in found["campaigns"]] == ["vip"]


def test_queue_bulk_approve_reports_each_row(as_role, api, campaign, flagged_referral, levi_referral):
    second = make_flagged(api, friend="olga@example.com", order="ORDER-F2")
    response = as_role("agent").post(
        reverse("portal:queue") + "?status=flagged",
        {"referral": [flagged_referral["id"], second["id"], levi_referral["id"]], "status": "approved"},
    )
    assert response.status_code == 200
    outcome = text(response)
    assert outcome.count("done. Now approved.") == 2
    assert "refused: The referral is already approved." in outcome
    assert set(Referral.objects.filter(status="approved").values_list("pk", flat=True)) == {
        flagged_referral["id"],
        second["id"],
        levi_referral["id"],
    }
    assert "No referrals are flagged." in outcome


def test_queue_bulk_void_needs_a_selection(as_role, flagged_referral):
    response = as_role("agent").post(reverse("portal:queue"), {"status": "voided"})
    assert response.status_code == 400
    assert "Select at least one row." in text(response)


def test_add_coupons_from_a_file_reports_added_existing_and_invalid_lines(as_role, campaign):
    upload = SimpleUploadedFile("codes.csv", b"code\nNEW-1\nADV000\nxy\n\nNEW-2,extra column\n")
    response = as_role("agent").post(reverse("portal:coupon-list", args=["advocate-codes"]), {"file": upload})
    page = text(response)
    assert response.status_code == 200
    assert "Added 3 codes" in page, "CODE (the header), NEW-1 and NEW-2"
    assert "Already there (1): ADV000" in page
    assert "line 4: “xy” — A coupon code has at least 3 characters." in page


def test_low_stock_warning_when_fewer_codes_than_the_days_of_recent_use(as_role, api, campaign):
    for i in range(19):
        _, coupon = share_and_claim(api, friend=f"f{i}@example.com")
        purchase(api, order=f"O{i}", email=f"f{i}@example.com", coupon=coupon)
    lists = text(as_role("viewer").get(reverse("portal:coupon-lists")))
    assert "Low: about 1.6 days left" in lists, "1 code left, 19 given in 30 days"


def test_bulk_import_previews_changes_nothing_then_applies_once(as_role, flagged_referral):
    admin = as_role("admin")
    csv = f"referralkey_ID,status,note\n{flagged_referral['id']},approved,by phone\n999999,approved,\n"
    uploaded = admin.post(reverse("portal:imports"), {"file": SimpleUploadedFile("s.csv", csv.encode())})
    preview_url = uploaded["Location"]
    preview = text(admin.get(preview_url))
    assert "2 rows:" in preview and "1 will change" in preview and "1 error" in preview
    assert Referral.objects.get(pk=flagged_referral["id"]).status == "flagged"
    apply_url = preview_url + "apply/"
    assert admin.post(apply_url, {}).status_code == 400
    assert Referral.objects.get(pk=flagged_referral["id"]).status == "flagged"
    applied = admin.post(apply_url, {"confirm": "on"})
    assert "1 changed" in text(applied)
    assert Referral.objects.get(pk=flagged_referral["id"]).status == "approved"
    again = admin.post(apply_url, {"confirm": "on"})
    assert again.status_code == 409 and "already been imported" in text(again)
    assert "1 changed" in text(admin.get(preview_url))


def test_bulk_import_refuses_a_file_that_is_not_utf8_or_has_no_key_column(as_role):
    admin = as_role("admin")
    latin = admin.post(
        reverse("portal:imports"), {"file": SimpleUploadedFile("s.csv", "é".encode("latin-1"))}
    )
    assert latin.status_code == 400 and "not UTF-8" in text(latin)
    wrong = admin.post(reverse("portal:imports"), {"file": SimpleUploadedFile("s.csv", b"email,state\n")})
    assert "referralkey_ID" in text(admin.get(wrong["Location"]))


def test_fraud_settings_form_builds_a_new_definition(as_role, campaign):
    admin = as_role("admin")
    url = reverse("portal:campaign-settings", args=["spring"])
    form = {f"check_{c}": "" for c in ("self_referral_email", "self_referral_ip")}
    form.update(check_self_referral_ip="block", auto_approval_hours="48", advocate_rewards_per_year="5")
    form.update(velocity_per_hour="3")
    assert admin.post(url, form).status_code == 302
    stored = Campaign.objects.get(slug="spring")
    assert stored.definition["fraud"]["checks"]["self_referral_ip"] == "block"
    assert stored.definition["delays"]["auto_approval_hours"] == 48
    assert stored.definition["limits"]["advocate_rewards_per_year"] == 5
    assert stored.definition["incentives"]["advocate"]["coupon_list"] == "advocate-codes"
    assert stored.version == 2
    refused = admin.post(url, {**form, "auto_approval_hours": "-1"})
    assert refused.status_code == 400 and "Auto approval hours" in text(refused)


def test_json_editor_shows_each_validation_error_with_its_field(as_role, campaign):
    admin = as_role("admin")
    url = reverse("portal:campaign-json", args=["spring"])
    bad = {
        **CAMPAIGN,
        "fraud": {"checks": {"self_referral_ip": "maybe"}},
        "delays": {"auto_approval_hours": -1},
    }
    response = admin.post(url, {"definition": json.dumps(bad)})
    page = text(response)
    assert response.status_code == 400
    assert "<code>fraud.checks.self_referral_ip</code>" in page
    assert "<code>delays.auto_approval_hours</code>" in page
    assert "Not valid JSON: Expecting property name" in text(admin.post(url, {"definition": "{"}))
    renamed = admin.post(url, {"definition": json.dumps({**CAMPAIGN, "slug": "autumn"})})
    assert "slug cannot change" in text(renamed)
    assert admin.post(url, {"definition": json.dumps({**CAMPAIGN, "name": "Spring 2"})}).status_code == 302
    assert Campaign.objects.get(slug="spring").name == "Spring 2"


def test_staff_page_adds_changes_and_removes_members_and_keeps_one_admin(as_role, staff, site):
    from django.contrib.auth import get_user_model

    admin = as_role("admin")
    get_user_model().objects.create_user("carol", password="x" * 12)
    assert admin.post(reverse("portal:staff"), {"username": "carol", "role": "agent"}).status_code == 302
    carol = Membership.objects.get(site=site, user__username="carol")
    unknown = admin.post(reverse("portal:staff"), {"username": "dave", "role": "agent"})
    assert "No user &#x27;dave&#x27;" in text(unknown)
    assert admin.post(reverse("portal:staff-role", args=[carol.pk]), {"role": "viewer"}).status_code == 302
    assert Membership.objects.get(pk=carol.pk).role == "viewer"
    assert admin.post(reverse("portal:staff-remove", args=[carol.pk]), {"confirm": "yes"}).status_code == 302
    assert not Membership.objects.filter(pk=carol.pk).exists()
    me = Membership.objects.get(user=staff["admin"])
    demote = admin.post(reverse("portal:staff-role", args=[me.pk]), {"role": "agent"})
    assert demote.status_code == 409 and "at least one admin" in text(demote)
    assert admin.post(reverse("portal:staff-remove", args=[me.pk]), {"confirm": "yes"}).status_code == 409
    actions = list(AuditEntry.objects.filter(object_type="membership").values_list("action", flat=True))
    assert actions == ["membership.add", "membership.role", "membership.remove"]


def test_why_no_reward_gives_one_sentence_per_reward(as_role, api, campaign, levi_referral, flagged_referral):
    _, coupon = share_and_claim(api, friend="sam@example.com")
    purchase(api, order="ORDER-SELF", email="stephanie@ganleywestside.com", coupon=coupon)
    stephanie = Person.objects.get(email="stephanie@ganleywestside.com")
    page = text(as_role("viewer").get(reverse("portal:person-why", args=[stephanie.pk])))
    assert "Given on" in page and "(code ADV000)" in page
    assert "Referral was blocked for Self-referral by email." in page
    assert "Pending: the referral is flagged" in page and "needs a person to approve it" in page
    levi = Person.objects.get(email="levi@yahoo.com")
    assert "gives the friend no reward" in text(
        as_role("viewer").get(reverse("portal:person-why", args=[levi.pk]))
    )


def test_referral_details_say_when_pending_denial_becomes_denied(as_role, api, site):
    preset(api, site, "first_purchase_discount", delays={"auto_approval_hours": 0, "pending_denial_days": 7})
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    set_status(api, referral_id, "pending_denial", "order data looks wrong")
    page = text(as_role("viewer").get(reverse("portal:referral", args=[referral_id])))
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    assert f"Will be denied on {due} unless someone changes it." in page
