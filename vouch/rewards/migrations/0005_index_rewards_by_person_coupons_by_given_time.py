from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rewards", "0004_coupon_list_low_stock_notified")]

    operations = [
        migrations.AddIndex(
            model_name="reward",
            index=models.Index(fields=["site", "person", "id"], name="reward_person_newest"),
        ),
        migrations.AddIndex(
            model_name="coupon",
            index=models.Index(fields=["coupon_list", "given_at"], name="coupon_given"),
        ),
    ]
