"""Prices for catalog models that had none, from public list prices (gateway/catalog.json names
each source and date; docs/prices.md how each was checked). Adds a ModelPrice version per model."""

from django.db import migrations


def load_catalog(apps, schema_editor):
    from gateway.catalog import seed

    seed(apps.get_model("gateway", "GatewayModel"), apps.get_model("gateway", "ModelPrice"))


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0003_model_quirks"),
    ]

    operations = [
        migrations.RunPython(load_catalog, migrations.RunPython.noop),
    ]
