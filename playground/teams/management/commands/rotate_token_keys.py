"""Re-encrypt every stored gateway token with the newest key.

Rotation: put the new key first in PLAYGROUND_TOKEN_KEYS (keep the old one after it),
deploy, run this command, then drop the old key.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from playground.teams import crypto
from playground.teams.models import Branch

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt every branch token with the first key of PLAYGROUND_TOKEN_KEYS."

    def handle(self, *args, **options):
        count = 0
        batch = []
        with transaction.atomic():
            for branch in Branch.objects.only("id", "token_encrypted").order_by("id").iterator(chunk_size=BATCH):
                if not branch.token_encrypted:
                    continue
                branch.token_encrypted = crypto.rotate(branch.token_encrypted)
                batch.append(branch)
                if len(batch) >= BATCH:
                    Branch.objects.bulk_update(batch, ["token_encrypted"])
                    count += len(batch)
                    batch = []
            if batch:
                Branch.objects.bulk_update(batch, ["token_encrypted"])
                count += len(batch)
        self.stdout.write(f"Re-encrypted {count} token{'s' if count != 1 else ''} with the newest key.")
