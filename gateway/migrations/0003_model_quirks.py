"""What each model accepts, one field per quirk (gateway/quirks.py), filled in from catalog.json.

Rows the catalog file does not list (brought by a sync of the public catalog) get the
quirks their id implies, as a sync would give them today.
"""

from django.db import migrations, models


def fill_quirks(apps, schema_editor):
    from gateway.quirks import QUIRK_DEFAULTS, lookup

    GatewayModel = apps.get_model("gateway", "GatewayModel")
    for row in GatewayModel.objects.all():
        # From catalog.json, or inferred from the id for a model the file does not list.
        quirks = lookup(row.id)
        for name in QUIRK_DEFAULTS:
            value = getattr(quirks, name)
            setattr(row, name, list(value) if isinstance(value, tuple) else value)
        row.save(update_fields=list(QUIRK_DEFAULTS))


class Migration(migrations.Migration):

    dependencies = [
        ('gateway', '0002_load_catalog'),
    ]

    operations = [
        migrations.AddField(
            model_name='gatewaymodel',
            name='content_parts',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='gatewaymodel',
            name='refused_params',
            field=models.JSONField(blank=True, db_default=[], default=list),
        ),
        migrations.AddField(
            model_name='gatewaymodel',
            name='single_sampling_param',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='gatewaymodel',
            name='stream_options',
            field=models.BooleanField(db_default=True, default=True),
        ),
        migrations.AddField(
            model_name='gatewaymodel',
            name='usage_every_chunk',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(fill_quirks, migrations.RunPython.noop),
    ]
