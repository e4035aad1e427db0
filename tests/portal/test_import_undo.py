"""The portal's "Undo this import" on an applied import's page: agents and admins, with a
confirmation; refused with the rows that cannot be reversed."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.e2e.test_referrals_import_undo import sales  # noqa: F401 (a fixture)
from tests.portal.test_pages import text
from vouch.referrals.models import ImportBatch, Referral


def applied(admin, csv: str) -> str:
    """Upload, preview and apply a file as an admin; the import page's URL."""
    uploaded = admin.post(reverse("portal:imports"), {"file": SimpleUploadedFile("s.csv", csv.encode())})
    url = uploaded["Location"]
    assert admin.post(url + "apply/", {"confirm": "on"}).status_code == 200
    return url


def test_an_agent_undoes_an_import_after_confirming_and_a_viewer_cannot(as_role, sales):  # noqa: F811
    first, second, _ = sales
    url = applied(as_role("admin"), f"referralkey_ID,status\n{first},denied\n{second},denied\n")
    page = text(as_role("admin").get(url))
    assert "Undo this import" in page and "2 changes" in page

    assert as_role("viewer").post(url + "undo/", {"confirm": "on"}).status_code == 403
    agent = as_role("agent")
    unconfirmed = agent.post(url + "undo/", {})
    assert unconfirmed.status_code == 400 and "Tick the box" in text(unconfirmed)
    assert set(Referral.objects.filter(pk__in=[first, second]).values_list("status", flat=True)) == {"denied"}

    undone = agent.post(url + "undo/", {"confirm": "on"})

    assert "was undone" in text(undone) and "Undone on" in text(undone)
    assert "Undo this import" not in text(undone)
    assert set(Referral.objects.filter(pk__in=[first, second]).values_list("status", flat=True)) == {
        "pending"
    }


def test_an_import_that_cannot_be_undone_says_which_rows_and_why(as_role, flagged_referral):
    url = applied(as_role("admin"), f"referralkey_ID,status\n{flagged_referral['id']},voided\n")

    page = text(as_role("admin").get(url))
    refused = as_role("agent").post(url + "undo/", {"confirm": "on"})

    assert "This import cannot be undone" in page and "Undo this import" not in page
    assert "line 2" in page and "Voided is final" in page
    assert refused.status_code == 409 and "cannot be reversed" in text(refused)
    assert Referral.objects.get(pk=flagged_referral["id"]).status == "voided"


def test_a_file_applied_before_batches_were_kept_shows_its_result_without_undo(as_role, flagged_referral):
    url = applied(as_role("admin"), f"referralkey_ID,status\n{flagged_referral['id']},voided\n")
    ImportBatch.objects.all().delete()

    page = as_role("admin").get(url)

    assert page.status_code == 200 and "1 changed" in text(page) and "Undo this import" not in text(page)
