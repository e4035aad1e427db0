from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "vouch.api"
    label = "vouch_api"
    default_auto_field = "django.db.models.BigAutoField"
