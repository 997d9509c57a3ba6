"""Load the model catalog (gateway/catalog.json) into GatewayModel and ModelPrice."""

from django.db import migrations


def load_catalog(apps, schema_editor):
    from gateway.catalog import seed

    # Historical models: the migration state, not today's classes.
    seed(apps.get_model("gateway", "GatewayModel"), apps.get_model("gateway", "ModelPrice"))


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0001_initial"),
    ]

    operations = [
        # Unapplying leaves the rows: other tables (the request log) may refer to them.
        migrations.RunPython(load_catalog, migrations.RunPython.noop),
    ]
