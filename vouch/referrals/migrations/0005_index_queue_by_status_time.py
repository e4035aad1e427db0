from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0004_actor_rule")]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["site", "status", "status_changed_at"], name="referral_queue"),
        ),
    ]
