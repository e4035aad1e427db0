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
