"""Due work survives a killed worker; coupon top-ups give waiting rewards; Idempotency-Key replays."""

from datetime import timedelta

from conftest import CAMPAIGN
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch import clock
from vouch.emails.models import Email
from vouch.referrals.models import StatusChange, TimedStep
from vouch.rewards.models import Reward
from vouch.worker import WORK, claim, run_once


def test_a_step_claimed_by_a_killed_worker_is_taken_once_after_its_lease(api, campaign):
    api.put("/campaigns/spring", {**CAMPAIGN, "delays": {"auto_approval_hours": 1}})
    _, coupon = share_and_claim(api)
    referral = purchase(api, coupon=coupon).json()["referral"]
    clock.advance(timedelta(hours=2))
    timed = next(w for w in WORK if w.model is TimedStep)

    claimed = claim(timed, batch=10, lease=timedelta(seconds=60))  # the worker dies right after this
    assert len(claimed) == 1
    assert run_once() >= 0
    assert TimedStep.objects.get().done_at is None, "a leased row is left to its worker"

    clock.advance(timedelta(seconds=61))
    run_once()
    run_once()

    step = TimedStep.objects.get()
    assert step.done_at is not None and step.attempts == 2
    approvals = StatusChange.objects.filter(referral_id=referral["id"], to_status="approved")
    assert approvals.count() == 1
    assert Reward.objects.get(referral_id=referral["id"]).status == "given"


def test_a_timed_step_is_skipped_when_staff_moved_the_referral_first(api, campaign):
    api.put("/campaigns/spring", {**CAMPAIGN, "delays": {"auto_approval_hours": 1}})
    _, coupon = share_and_claim(api)
    referral = purchase(api, coupon=coupon).json()["referral"]
    api.post(f"/referrals/{referral['id']}/status", {"status": "voided", "reason": "fraud ring"})

    clock.advance(timedelta(hours=2))
    run_once()

    assert TimedStep.objects.get().outcome.startswith("skipped: the referral is voided")
    assert api.get(f"/referrals/{referral['id']}").json()["status"] == "voided"


def test_the_worker_sends_queued_emails_once(api, campaign, mailoutbox):
    _, coupon = share_and_claim(api)
    purchase(api, coupon=coupon)

    run_once()
    run_once()

    subjects = sorted(m.subject for m in mailoutbox)
    assert subjects == ["Stephanie sent you an offer", "Your referral reward from Spring referral"]
    assert set(Email.objects.values_list("status", flat=True)) == {"sent"}


def test_resend_creates_a_second_email_pointing_to_the_first(api, campaign, mailoutbox):
    _, coupon = share_and_claim(api)
    purchase(api, coupon=coupon)
    paid = Email.objects.get(type="advocate_reward_paid")

    response = api.post(f"/emails/{paid.pk}/resend")
    run_once()

    assert response.status_code == 201
    assert response.json()["resent_from"] == paid.pk
    assert response.json()["subject"] == paid.subject
    assert Email.objects.filter(type="advocate_reward_paid").count() == 2
    assert api.post("/emails/999999/resend").status_code == 404


def test_empty_coupon_list_leaves_reward_waiting_until_an_upload_gives_it(api, site):
    body = {
        **CAMPAIGN,
        "incentives": {"advocate": {"kind": "coupon", "coupon_list": "empty-list", "value": "5"}},
    }
    assert api.post("/campaigns", body).status_code == 201
    from conftest import stock

    stock(site, "friend-codes", ["FRIEND1", "FRIEND2"])
    _, first = share_and_claim(api, friend="a@example.com")
    _, second = share_and_claim(api, friend="b@example.com")
    one = purchase(api, order="O1", email="a@example.com", coupon=first).json()["referral"]
    two = purchase(api, order="O2", email="b@example.com", coupon=second).json()["referral"]
    assert one["rewards"][0]["status"] == "waiting_for_coupon"
    assert "not enough coupons" in one["rewards"][0]["reason"]

    response = api.post(
        "/coupon-lists/empty-list/coupons", {"codes": [" new1 ", "NEW1", "x", "new2", "new3"]}
    )

    assert response.status_code == 200
    result = response.json()
    assert result["added"] == 3
    assert result["already_there"] == ["NEW1"]
    assert result["invalid"][0]["position"] == 3
    assert result["rewards_given"] == [one["rewards"][0]["id"], two["rewards"][0]["id"]]
    assert result["remaining"] == 1
    codes = [api.get(f"/referrals/{r['id']}").json()["rewards"][0]["code"] for r in (one, two)]
    assert codes == ["NEW1", "NEW2"]


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(api, campaign):
    body = {"campaign": "spring", "advocate": {"email": "ann@example.com"}, "channel": "link"}
    first = api.post("/shares", body, **{"Idempotency-Key": "k-1"})
    again = api.post("/shares", body, **{"Idempotency-Key": "k-1"})
    other = api.post("/shares", {**body, "channel": "sms"}, **{"Idempotency-Key": "k-1"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    from vouch.shares.models import Share

    assert Share.objects.count() == 1
    clock.advance(timedelta(hours=25))
    assert api.post("/shares", body, **{"Idempotency-Key": "k-1"}).json() != first.json()


def test_an_email_whose_worker_died_mid_send_is_not_sent_again(api, campaign, mailoutbox):
    _, coupon = share_and_claim(api)
    purchase(api, coupon=coupon)
    paid = Email.objects.get(type="advocate_reward_paid")
    # A worker recorded its attempt, handed the email to the ESP, and was killed before recording it.
    Email.objects.filter(pk=paid.pk).update(send_started_at=clock.now(), attempts=1)

    run_once()

    paid.refresh_from_db()
    assert [m.subject for m in mailoutbox] == ["Stephanie sent you an offer"]
    assert paid.status == "sent"
    assert "not sent again" in paid.reason


def test_a_failing_send_is_retried_with_backoff(api, campaign, mailoutbox, settings):
    settings.EMAIL_BACKEND = "tests.e2e.failing_backend.EmailBackend"
    _, coupon = share_and_claim(api)
    purchase(api, coupon=coupon)

    run_once()

    failed = Email.objects.get(type="advocate_reward_paid")
    assert failed.status == "queued"
    assert failed.send_started_at is None
    assert "ESP unavailable" in failed.last_error
    assert failed.due_at > clock.now()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock.advance(timedelta(minutes=5))
    run_once()
    failed.refresh_from_db()
    assert failed.status == "sent"
