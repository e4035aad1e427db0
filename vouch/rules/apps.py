from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "vouch.rules"
    label = "rules"
    default_auto_field = "django.db.models.BigAutoField"
