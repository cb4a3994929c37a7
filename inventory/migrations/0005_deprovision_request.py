# Identity.deprovision_requested_at: set by a "revoke" decision in a review (reviews app).
# Numbered 0005 because 0004 is taken by work in progress elsewhere; when that lands,
# point this migration's dependency at it (or add a merge migration).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_source_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="identity",
            name="deprovision_requested_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
