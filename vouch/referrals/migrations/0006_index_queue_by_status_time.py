from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0005_import_batches_for_undo")]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["site", "status", "status_changed_at"], name="referral_queue"),
        ),
    ]
