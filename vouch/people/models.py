from django.db import models

from vouch.sites.models import Site


def normalise_email(email: str) -> str:
    return (email or "").replace("\x00", "").strip().lower()


class Person(models.Model):
    """Someone a site knows, keyed by normalised email. Advocate and friend are roles, not kinds."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="people")
    email = models.CharField(max_length=254)
    email_canonical = models.CharField(max_length=254, db_index=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    customer_id = models.CharField(max_length=100, blank=True)
    fields = models.JSONField(default=dict, blank=True)
    segments = models.JSONField(default=list, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "email"], name="person_email_per_site")]
        indexes = [models.Index(fields=["site", "email_canonical"], name="person_canonical")]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ListCounts(models.Model):
    """One column per list the person page counts (vouch.people.tallies.COUNTED)."""

    advocate = models.BigIntegerField(default=0, db_default=0)
    friend = models.BigIntegerField(default=0, db_default=0)
    rewards = models.BigIntegerField(default=0, db_default=0)
    given = models.BigIntegerField(default=0, db_default=0)
    emails = models.BigIntegerField(default=0, db_default=0)
    offers = models.BigIntegerField(default=0, db_default=0)
    shares = models.BigIntegerField(default=0, db_default=0)
    events = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        abstract = True


class PersonTally(ListCounts):
    """How many rows each of a person's lists holds, as of the last fold (vouch.people.tallies).
    Written only by the fold and the recount, never by saving a model."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, primary_key=True, related_name="+")


class TallyChange(ListCounts):
    """One counted row added to (+1) or taken from (-1) a person's list, written by a trigger in
    the transaction that wrote the row; folded into PersonTally by the worker. `person_id` is a
    plain column: a person deleted since leaves changes the fold drops."""

    person_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["person_id"], name="tallychange_person")]
