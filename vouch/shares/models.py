from django.db import models

from vouch.campaigns.models import Campaign
from vouch.people.models import Person
from vouch.sites.models import Site


class Channel(models.TextChoices):
    EMAIL = "email"
    LINK = "link"
    SMS = "sms"
    SOCIAL = "social"


class Share(models.Model):
    """An advocate's invitation, reachable at /r/<code>."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="shares")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="shares")
    advocate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="shares")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    code = models.CharField(max_length=32, unique=True)
    friend_email = models.CharField(max_length=254, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    visitor_uuid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["site", "friend_email"], name="share_friend_email"),
            models.Index(fields=["site", "advocate"], name="share_advocate"),
        ]


class Visit(models.Model):
    """A click on a share link: the "Offer unclaimed: clicked" moment."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="visits")
    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="visits")
    visitor_uuid = models.CharField(max_length=64)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["site", "visitor_uuid"], name="visit_visitor"),
            models.Index(fields=["site", "ip", "created_at"], name="visit_ip_time"),
        ]


class Offer(models.Model):
    """A friend's claim of a campaign's offer: the coupon code handed to them and its expiry."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="offers")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="offers")
    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="offers")
    friend = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="offers")
    coupon_code = models.CharField(max_length=255, blank=True)
    coupon = models.OneToOneField(
        "rewards.Coupon", null=True, blank=True, on_delete=models.PROTECT, related_name="offer"
    )
    visitor_uuid = models.CharField(max_length=64, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["share", "friend"], name="offer_once_per_share_friend")
        ]
        indexes = [
            models.Index(fields=["site", "coupon_code"], name="offer_coupon_code"),
            models.Index(fields=["site", "visitor_uuid"], name="offer_visitor"),
            models.Index(fields=["site", "friend"], name="offer_friend"),
        ]
