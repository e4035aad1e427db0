from django.apps import AppConfig


class FraudConfig(AppConfig):
    name = "vouch.fraud"
    label = "fraud"
    default_auto_field = "django.db.models.BigAutoField"
