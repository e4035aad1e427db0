from django.db import models

from vouch.people.models import Person
from vouch.sites.models import Site


class CouponList(models.Model):
    """A pool of single-use codes."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="coupon_lists")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    low_stock_days = models.PositiveIntegerField(default=7)
    low_stock_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "slug"], name="coupon_list_slug_per_site")]

    def __str__(self) -> str:
        return self.slug


class Coupon(models.Model):
    """A code is given out at most once, ever: `given_at` is set by a guarded update."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    coupon_list = models.ForeignKey(CouponList, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=255)
    given_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["coupon_list", "code"], name="coupon_code_per_list")]
        indexes = [
            models.Index(
                fields=["coupon_list", "id"], condition=models.Q(given_at__isnull=True), name="coupon_free"
            ),
            models.Index(fields=["site", "code"], name="coupon_code"),
            # Codes given in the last 30 days (the coupon lists page's rate of use).
            models.Index(fields=["coupon_list", "given_at"], name="coupon_given"),
        ]


class Role(models.TextChoices):
    ADVOCATE = "advocate"
    FRIEND = "friend"


class Kind(models.TextChoices):
    COUPON = "coupon"
    CREDIT = "credit"
    GIFT_CARD = "gift_card"
    POINTS = "points"


class Status(models.TextChoices):
    PENDING = "pending"
    WAITING_FOR_COUPON = "waiting_for_coupon"
    GIVEN = "given"
    VOIDED = "voided"
    BLOCKED = "blocked"


class Reward(models.Model):
    """What a person gets for a referral. `source` names what created it (`incentive`,
    or `rule:<rule id>/<action>` and, for triggers that repeat, the event); one reward
    per referral, role and source, so a reward is issued at most once."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="rewards")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rewards")
    role = models.CharField(max_length=10, choices=Role.choices)
    source = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    coupon_list = models.ForeignKey(CouponList, null=True, blank=True, on_delete=models.PROTECT)
    coupon = models.OneToOneField(
        Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="reward"
    )
    code = models.CharField(max_length=255, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=60, blank=True)
    send_email = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    given_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referral", "role", "source"], name="reward_once_per_source")
        ]
        indexes = [
            models.Index(fields=["site", "person", "status"], name="reward_person_status"),
            # A person's rewards newest first (the person page), without sorting them all.
            models.Index(fields=["site", "person", "id"], name="reward_person_newest"),
            models.Index(fields=["coupon_list", "status", "created_at"], name="reward_waiting"),
        ]


class RewardStatusChange(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE)
    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
