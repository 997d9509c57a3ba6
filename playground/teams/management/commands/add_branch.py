"""Register a branch from the variables `neon env pull` writes:

    NEON_AI_GATEWAY_BASE_URL=... NEON_AI_GATEWAY_TOKEN=... python manage.py add_branch main --team acme

Only the new branch's code goes to stdout, so scripts can capture it.
"""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from playground.teams.models import Branch, Team
from playground.teams.validation import validate_base_url, validate_neon_branch_id


class Command(BaseCommand):
    help = "Add a branch to a team from NEON_AI_GATEWAY_BASE_URL and NEON_AI_GATEWAY_TOKEN; prints its code."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Name of the branch in the playground.")
        parser.add_argument("--team", required=True, help="Slug of the team that owns the branch.")
        parser.add_argument("--parent", help="Name of the parent branch in the same team.")
        parser.add_argument("--neon-branch-id", default="", help="Neon branch id, like br-winter-pond-aptw82ef.")
        parser.add_argument("--simulator", action="store_true", help="Label the branch as a gateway simulator.")

    def handle(self, *args, name, team, parent, neon_branch_id, simulator, **options):
        base_url = os.environ.get("NEON_AI_GATEWAY_BASE_URL", "").strip()
        token = os.environ.get("NEON_AI_GATEWAY_TOKEN", "").strip()
        # With --parent and no token the branch uses its parent's credential, which works
        # on every branch forked from the one it was made on.
        required = [("NEON_AI_GATEWAY_BASE_URL", base_url)]
        if not parent:
            required.append(("NEON_AI_GATEWAY_TOKEN", token))
        missing = [var for var, value in required if not value]
        if missing:
            raise CommandError(f"Set {' and '.join(missing)} in the environment (`neon env pull` writes them).")
        name = name.strip()
        if not name:
            raise CommandError("The branch name must not be empty.")
        try:
            base_url = validate_base_url(base_url)
            neon_branch_id = validate_neon_branch_id(neon_branch_id)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        try:
            team_obj = Team.objects.get(slug=team)
        except Team.DoesNotExist:
            raise CommandError(f"No team with slug {team!r}.") from None
        parent_obj = None
        if parent:
            try:
                parent_obj = Branch.objects.get(team=team_obj, name=parent)
            except Branch.DoesNotExist:
                raise CommandError(f"Team {team!r} has no branch named {parent!r}.") from None
        if Branch.objects.filter(team=team_obj, name__iexact=name).exists():
            raise CommandError(f"Team {team!r} already has a branch named {name!r}.")
        branch = Branch(
            team=team_obj,
            name=name,
            neon_branch_id=neon_branch_id,
            parent=parent_obj,
            base_url=base_url,
            is_simulator=simulator,
            inherit_token=not token,
        )
        if token:
            branch.set_token(token)
        try:
            with transaction.atomic():
                branch.save()
        except IntegrityError:
            # Another process added the same name since the check above.
            raise CommandError(f"Team {team!r} already has a branch named {name!r}.") from None
        self.stdout.write(str(branch.code))
