"""The demo account: user `demo` (password `demo`) with a branch on the local simulator.

Refused unless DEMO_MODE is on, since it creates a user with a published password.
Running it again changes nothing but the simulator URL, if settings moved it.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from playground.teams.models import Branch, Membership, Team

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
# Any nt_live_ token is accepted by the simulator; this one opens nothing real.
DEMO_TOKEN = "nt_live_demo_simulator_not_a_real_token_0000"


class Command(BaseCommand):
    help = "Create the demo user and its Simulator branch (only when PLAYGROUND_DEMO / DEMO_MODE is on)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo runs only in demo mode (set PLAYGROUND_DEMO=1).")
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        team = Team.objects.filter(memberships__user=user, personal=True).first()
        if team is None:
            # A demo user made before the personal-team signal existed.
            team = Team.objects.create(name=DEMO_USERNAME, slug=f"{DEMO_USERNAME}-personal", personal=True)
            Membership.objects.create(user=user, team=team, role=Membership.Role.OWNER)
        branch = Branch.objects.filter(team=team, name="Simulator").first()
        if branch is None:
            branch = Branch(
                team=team, name="Simulator", base_url=settings.SIMULATOR_URL, is_simulator=True, created_by=user
            )
            branch.set_token(DEMO_TOKEN)
            branch.save()
            branch_state = "created"
        elif branch.base_url != settings.SIMULATOR_URL:
            branch.base_url = settings.SIMULATOR_URL
            branch.save(update_fields=["base_url"])
            branch_state = "updated"
        else:
            branch_state = "unchanged"
        self.stdout.write(
            f"Demo user {'created' if created else 'already present'}: log in as "
            f"{DEMO_USERNAME} / password {DEMO_PASSWORD}.\n"
            f"Branch “Simulator” {branch_state}: {branch.base_url} (a local gateway simulator)."
        )
