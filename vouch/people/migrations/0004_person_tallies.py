"""Per-person tallies kept by triggers (vouch.people.tallies): the tables, the triggers, and
every existing person's counts counted once from the tables."""

import django.db.models.deletion
from django.db import migrations, models


def create_triggers_and_recount(apps, schema_editor):
    from vouch.people.tallies import tallies_recount, tally_triggers_ensure

    tally_triggers_ensure(using=schema_editor.connection)
    tallies_recount()


def drop_triggers(apps, schema_editor):
    from vouch.people.tallies import tally_triggers_drop

    tally_triggers_drop(using=schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0003_index_email_trigram'),
        ('referrals', '0006_index_queue_by_status_time'),
        ('rewards', '0005_index_rewards_by_person_coupons_by_given_time'),
        ('emails', '0004_email_template_overrides'),
        ('shares', '0002_index_offers_by_friend_shares_by_advocate'),
        ('events', '0002_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='PersonTally',
            fields=[
                ('person', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='people.person')),
                ('advocate', models.BigIntegerField(db_default=0, default=0)),
                ('friend', models.BigIntegerField(db_default=0, default=0)),
                ('rewards', models.BigIntegerField(db_default=0, default=0)),
                ('given', models.BigIntegerField(db_default=0, default=0)),
                ('emails', models.BigIntegerField(db_default=0, default=0)),
                ('offers', models.BigIntegerField(db_default=0, default=0)),
                ('shares', models.BigIntegerField(db_default=0, default=0)),
                ('events', models.BigIntegerField(db_default=0, default=0)),
            ],
        ),
        migrations.CreateModel(
            name='TallyChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('person_id', models.BigIntegerField()),
                ('advocate', models.BigIntegerField(db_default=0, default=0)),
                ('friend', models.BigIntegerField(db_default=0, default=0)),
                ('rewards', models.BigIntegerField(db_default=0, default=0)),
                ('given', models.BigIntegerField(db_default=0, default=0)),
                ('emails', models.BigIntegerField(db_default=0, default=0)),
                ('offers', models.BigIntegerField(db_default=0, default=0)),
                ('shares', models.BigIntegerField(db_default=0, default=0)),
                ('events', models.BigIntegerField(db_default=0, default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['person_id'], name='tallychange_person')],
            },
        ),
        migrations.RunPython(create_triggers_and_recount, drop_triggers),
    ]
