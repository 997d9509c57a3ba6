import pytest


@pytest.fixture
def victor(django_user_model, team):
    """A viewer in alice's team."""
    from playground.teams.models import Membership

    user = django_user_model.objects.create_user("victor", "victor@example.com", "pw-victor-123")
    Membership.objects.create(user=user, team=team, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def admin(django_user_model, team):
    from playground.teams.models import Membership

    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    Membership.objects.create(user=user, team=team, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def users(alice, admin, bob, victor, charlie):
    return {"alice": alice, "admin": admin, "bob": bob, "victor": victor, "charlie": charlie}


@pytest.fixture
def prompt(team, alice):
    """A team prompt with two versions; v2 has a variable with a default."""
    from playground.prompts import library
    from playground.prompts.models import Prompt

    p = Prompt.objects.create(team=team, name="Summary", description="Summarise notes", author=alice)
    p.tags = ["summaries", "support"]
    p.save()
    library.add_version(
        p,
        author=alice,
        system="Be brief.",
        messages=[{"role": "user", "content": "Summarise this."}],
        params={"temperature": 0.2},
        model_ids=["gpt-5-mini"],
        note="first",
    )
    library.add_version(
        p,
        author=alice,
        system="Be brief.",
        messages=[{"role": "user", "content": "Summarise {{topic}} in one line."}],
        params={"temperature": 0.2},
        model_ids=["gpt-5-mini", "gpt-5-nano"],
        variables=[{"name": "topic", "default": "Postgres branching", "description": "What to summarise"}],
        note="with a topic",
    )
    return p


@pytest.fixture
def v2(prompt):
    return prompt.versions.get(number=2)


@pytest.fixture
def login(client):
    from tests.conftest import use_team

    def as_user(user, team=None):
        client.force_login(user)
        if team is not None:
            use_team(client, team)
        return client

    return as_user


@pytest.fixture
def stored_branch(team, alice):
    """A branch of alice's team that no test calls (the port is closed)."""
    from playground.teams.models import Branch
    from tests.conftest import TOKEN

    branch = Branch(team=team, name="Main", base_url="http://127.0.0.1:9", created_by=alice)
    branch.set_token(TOKEN)
    branch.save()
    return branch
