# Joins two branches written side by side: the sync change log (0004) and the deprovision
# request field (0005, which depends on 0003). Neither touches the other's tables.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0004_syncchange"),
        ("inventory", "0005_deprovision_request"),
    ]

    operations = []
