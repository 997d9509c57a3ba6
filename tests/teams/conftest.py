import pytest

# A second credential, distinct from conftest.TOKEN, so tests can tell them apart.
OTHER_TOKEN = "nt_live_second_secret_token_9876zyxw"


@pytest.fixture
def victor(django_user_model, team):
    """A viewer in alice's team: may read, may not run or manage."""
    from playground.teams.models import Membership

    user = django_user_model.objects.create_user("victor", "victor@example.com", "pw-victor-123")
    Membership.objects.create(user=user, team=team, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def stored_branch(team, alice):
    """A branch of alice's team that no test calls (the port is closed)."""
    from playground.teams.models import Branch
    from tests.conftest import TOKEN

    branch = Branch(
        team=team, name="Main", base_url="http://127.0.0.1:9", neon_branch_id="br-main-a1b2c3d4", created_by=alice
    )
    branch.set_token(TOKEN)
    branch.save()
    return branch
