import uuid
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from playground.teams.models import Branch
from tests.conftest import TOKEN

pytestmark = pytest.mark.django_db


def run(*args, **kwargs):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **kwargs)
    return out.getvalue()


@pytest.fixture
def gateway_env(monkeypatch):
    monkeypatch.setenv("NEON_AI_GATEWAY_BASE_URL", "http://127.0.0.1:8001/")
    monkeypatch.setenv("NEON_AI_GATEWAY_TOKEN", TOKEN)


def test_add_branch_creates_the_branch_and_prints_only_its_code(gateway_env, team):
    out = run("add_branch", "main", "--team", team.slug, "--neon-branch-id", "br-main-a1b2c3d4", "--simulator")
    code = uuid.UUID(out.strip())
    assert out == f"{code}\n"
    branch = Branch.objects.get(code=code)
    assert branch.team == team
    assert branch.name == "main"
    assert branch.base_url == "http://127.0.0.1:8001"
    assert branch.neon_branch_id == "br-main-a1b2c3d4"
    assert branch.is_simulator
    assert branch.token() == TOKEN
    assert TOKEN not in branch.token_encrypted


def test_add_branch_links_a_parent_by_name(gateway_env, team):
    run("add_branch", "main", "--team", team.slug)
    code = run("add_branch", "preview", "--team", team.slug, "--parent", "main").strip()
    assert Branch.objects.get(code=code).parent.name == "main"


@pytest.mark.parametrize("missing", ["NEON_AI_GATEWAY_BASE_URL", "NEON_AI_GATEWAY_TOKEN"])
def test_add_branch_needs_both_variables(gateway_env, monkeypatch, team, missing):
    monkeypatch.delenv(missing)
    with pytest.raises(CommandError, match=missing):
        run("add_branch", "main", "--team", team.slug)
    assert not Branch.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--team", "nobody"], "No team with slug"),
        (["--parent", "ghost"], "no branch named 'ghost'"),
        (["--neon-branch-id", "main"], "br-winter-pond"),
    ],
)
def test_add_branch_explains_bad_arguments(gateway_env, team, args, message):
    if "--team" not in args:
        args = [*args, "--team", team.slug]
    with pytest.raises(CommandError, match=message):
        run("add_branch", "main", *args)


def test_add_branch_refuses_a_duplicate_name(gateway_env, team):
    run("add_branch", "main", "--team", team.slug)
    with pytest.raises(CommandError, match="already has a branch"):
        run("add_branch", "Main", "--team", team.slug)
    assert Branch.objects.count() == 1


def test_add_branch_validates_the_base_url(gateway_env, monkeypatch, team):
    monkeypatch.setenv("NEON_AI_GATEWAY_BASE_URL", "https://10.0.0.8")
    with pytest.raises(CommandError, match="private") as info:
        run("add_branch", "main", "--team", team.slug)
    assert TOKEN not in str(info.value)


def test_rotate_token_keys_re_encrypts_with_the_newest_key(settings, team):
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_KEYS = [key_a]
    branch = Branch(team=team, name="main", base_url="http://127.0.0.1:9")
    branch.set_token(TOKEN)
    branch.save()
    empty = Branch(team=team, name="untokened", base_url="http://127.0.0.1:9", token_encrypted="")
    empty.save()

    settings.TOKEN_KEYS = [key_b]
    with pytest.raises(ImproperlyConfigured):
        Branch.objects.get(pk=branch.pk).token()

    settings.TOKEN_KEYS = [key_b, key_a]
    out = run("rotate_token_keys")
    assert "Re-encrypted 1 token " in out

    settings.TOKEN_KEYS = [key_b]
    branch.refresh_from_db()
    assert branch.token() == TOKEN


def test_seed_demo_is_refused_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        run("seed_demo")
    assert not get_user_model().objects.filter(username="demo").exists()


def test_seed_demo_creates_the_demo_account_once(settings):
    settings.DEMO_MODE = True
    settings.SIMULATOR_URL = "http://127.0.0.1:8001"
    first = run("seed_demo")
    second = run("seed_demo")
    assert "demo / password demo" in first
    assert "already present" in second
    user = get_user_model().objects.get(username="demo")
    assert user.check_password("demo")
    branches = Branch.objects.filter(team__memberships__user=user)
    assert branches.count() == 1
    branch = branches.get()
    assert branch.name == "Simulator"
    assert branch.is_simulator
    assert branch.base_url == "http://127.0.0.1:8001"
    assert branch.token().startswith("nt_live_demo")
    assert branch.token() not in first + second


def test_seed_demo_follows_a_moved_simulator(settings):
    settings.DEMO_MODE = True
    settings.SIMULATOR_URL = "http://127.0.0.1:8001"
    run("seed_demo")
    settings.SIMULATOR_URL = "http://127.0.0.1:9001"
    run("seed_demo")
    assert Branch.objects.get(name="Simulator").base_url == "http://127.0.0.1:9001"


def test_add_branch_with_a_parent_and_no_token_inherits_it(gateway_env, monkeypatch, team):
    run("add_branch", "main", "--team", team.slug)
    monkeypatch.delenv("NEON_AI_GATEWAY_TOKEN")
    code = run("add_branch", "preview", "--team", team.slug, "--parent", "main").strip()
    branch = Branch.objects.get(code=code)
    assert branch.inherit_token and not branch.token_encrypted
    assert branch.token() == TOKEN
