"""A person's counts (the person page's header and pagers) are exact: the tally triggers count
every row however it was written, moved or deleted, and folding changes nothing a reader sees."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from vouch.emails.models import Email
from vouch.events.models import Event
from vouch.ops.demo import demo_load
from vouch.people.models import Person, PersonTally, TallyChange
from vouch.people.tallies import COUNTED, tallies_fold, tallies_of, tallies_recount
from vouch.referrals.models import Referral
from vouch.rewards.models import Reward
from vouch.shares.models import Offer, Share


def counted_by_the_orm(person_id: int) -> dict[str, int]:
    return {
        "advocate": Referral.objects.filter(advocate_id=person_id).count(),
        "friend": Referral.objects.filter(friend_id=person_id).count(),
        "rewards": Reward.objects.filter(person_id=person_id).count(),
        "given": Reward.objects.filter(person_id=person_id, status="given").count(),
        "emails": Email.objects.filter(person_id=person_id).count(),
        "offers": Offer.objects.filter(friend_id=person_id).count(),
        "shares": Share.objects.filter(advocate_id=person_id).count(),
        "events": Event.objects.filter(person_id=person_id).count(),
    }


def assert_exact(people: list[int]) -> None:
    tallies = tallies_of(person_ids=people)
    for person_id in people:
        assert tallies[person_id] == counted_by_the_orm(person_id), person_id


def fold_all() -> int:
    folded = 0
    while step := tallies_fold(limit=7):
        folded += step
    return folded


@pytest.mark.django_db
def test_counts_are_exact_after_the_demo_walk_before_and_after_folding_and_after_a_recount():
    result = demo_load(out=lambda line: None)
    people = list(Person.objects.filter(site=result.site).values_list("id", flat=True))
    pending = TallyChange.objects.count()
    assert pending > len(people)  # the walk's rows were counted as they were written

    assert_exact(people)
    assert fold_all() == pending
    assert not TallyChange.objects.exists()
    assert PersonTally.objects.filter(person_id__in=people).exists()
    assert_exact(people)

    tallies_recount(site_id=result.site.pk)
    assert_exact(people)


@pytest.mark.django_db
def test_a_row_moved_to_another_person_or_status_or_deleted_moves_its_count(site):
    demo_load(site_slug="tallied", out=lambda line: None)
    referral = Referral.objects.filter(site__slug="tallied", friend__isnull=False).first()
    given = Reward.objects.filter(site__slug="tallied", status="given").first()
    event = Event.objects.filter(site__slug="tallied", person__isnull=False).first()
    stranger = Person.objects.create(
        site=referral.site, email="stranger@example.com", created_at=referral.created_at
    )
    touched = [referral.advocate_id, referral.friend_id, given.person_id, event.person_id, stranger.pk]
    fold_all()

    Reward.objects.filter(pk=given.pk).update(status="voided")
    referral.friend = stranger
    referral.save()
    Event.objects.filter(pk=event.pk).update(person=None)
    assert_exact(touched)

    Reward.objects.filter(pk=given.pk).update(status="given")
    Referral.objects.filter(pk=referral.pk).delete()  # and its rewards with it
    assert_exact(touched)
    fold_all()
    assert_exact(touched)


@pytest.mark.django_db
def test_the_fold_drops_the_changes_of_a_person_deleted_since():
    result = demo_load(out=lambda line: None)
    advocate = Referral.objects.filter(site=result.site).first().advocate
    gone = advocate.pk
    Referral.objects.filter(advocate=advocate).delete()
    Offer.objects.filter(friend=advocate).delete()
    advocate.delete()

    fold_all()
    assert not TallyChange.objects.exists()
    assert not PersonTally.objects.filter(person_id=gone).exists()


@pytest.mark.django_db
def test_every_counted_table_has_its_tally_trigger_after_migrating():
    """SQLite drops a table's triggers when a migration rebuilds it; post_migrate puts them back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT event_object_table FROM information_schema.triggers "
                "WHERE trigger_name LIKE 'tally_%%'"
            )
        else:
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tally_%'"
            )
        tables = {row[0] for row in cursor.fetchall()}
    assert tables == {counted.table for counted in COUNTED}


@pytest.mark.django_db
def test_the_tallies_command_finds_a_drifted_count_and_recount_repairs_it():
    result = demo_load(out=lambda line: None)
    referral = Referral.objects.filter(site=result.site).first()
    fold_all()
    PersonTally.objects.filter(person_id=referral.advocate_id).update(advocate=F("advocate") + 5)

    out = StringIO()
    call_command("tallies", "--site", result.site.slug, stdout=out)
    assert f"person {referral.advocate_id}: advocate" in out.getvalue()
    assert "1 of " in out.getvalue() and "run with --recount" in out.getvalue()

    out = StringIO()
    call_command("tallies", "--site", result.site.slug, "--recount", stdout=out)
    assert "people's counts match the tables" in out.getvalue()
    assert_exact([referral.advocate_id])
