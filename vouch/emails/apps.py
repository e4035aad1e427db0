from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "vouch.emails"
    label = "emails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking

        from vouch.emails.tracking import email_tracking_received

        tracking.connect(email_tracking_received, dispatch_uid="vouch.emails.tracking")
