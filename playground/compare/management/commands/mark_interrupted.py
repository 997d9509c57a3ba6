from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from playground.compare.lifecycle import mark_interrupted, sweep
from playground.compare.models import Completion


class Command(BaseCommand):
    help = (
        "Mark requests left `streaming` by a server process that is gone as `interrupted`, keeping "
        "their saved text, with an estimated cost, and add them to the daily usage rollup."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--all",
            action="store_true",
            help="Every `streaming` request, whichever process wrote it (only when no server runs).",
        )
        which.add_argument(
            "--older-than",
            type=int,
            default=None,
            help="Every `streaming` request started more than this many seconds ago.",
        )

    def handle(self, *args, all=False, older_than=None, **options):
        if all:
            count = mark_interrupted(Completion.objects.all())
        elif older_than is not None:
            count = mark_interrupted(
                Completion.objects.filter(started__lt=timezone.now() - timedelta(seconds=older_than))
            )
        else:
            # The default is safe while other server processes stream: only rows of gone ones.
            count = sweep()
        self.stdout.write(f"{count} interrupted request(s) marked.")
