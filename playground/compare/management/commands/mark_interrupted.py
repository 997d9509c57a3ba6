from django.core.management.base import BaseCommand

from playground.compare.runs import mark_interrupted


class Command(BaseCommand):
    help = "Mark requests a crash left `streaming` as `interrupted` (run before starting a single server)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            help="Only rows started more than this many seconds ago (safe while other servers run).",
        )

    def handle(self, *args, older_than=None, **options):
        count = mark_interrupted(older_than)
        self.stdout.write(f"{count} interrupted request(s) marked.")
