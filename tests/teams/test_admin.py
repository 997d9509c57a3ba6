import pytest
from django.urls import reverse

from playground.compare.models import Completion, Run
from tests.conftest import TOKEN

from .conftest import OTHER_TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(root)
    return client


def test_the_branch_change_page_shows_the_hint_but_never_the_token(admin_client, stored_branch):
    response = admin_client.get(reverse("admin:teams_branch_change", args=[stored_branch.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "nt_live_...abcd" in html
    assert TOKEN not in html
    assert stored_branch.token_encrypted not in html
    assert 'name="token_encrypted"' not in html
    assert 'name="token_hint"' not in html


def test_the_branch_list_never_shows_the_token(admin_client, stored_branch):
    html = admin_client.get(reverse("admin:teams_branch_changelist")).content.decode()
    assert "Main" in html
    assert TOKEN not in html
    assert stored_branch.token_encrypted not in html


def test_the_admin_can_replace_a_token_without_seeing_the_old_one(admin_client, stored_branch):
    url = reverse("admin:teams_branch_change", args=[stored_branch.pk])
    response = admin_client.post(
        url,
        {
            "team": stored_branch.team_id,
            "name": "Main",
            "neon_branch_id": "",
            "base_url": "http://127.0.0.1:9",
            "new_token": OTHER_TOKEN,
            "model_ids": "[]",
        },
    )
    assert response.status_code == 302
    stored_branch.refresh_from_db()
    assert stored_branch.token() == OTHER_TOKEN
    assert OTHER_TOKEN not in admin_client.get(url).content.decode()


def test_the_request_log_is_read_only_in_the_admin(admin_client, alice, team, stored_branch):
    run = Run.objects.create(team=team, user=alice, branch=stored_branch)
    completion = Completion.objects.create(run=run, team=team, user=alice, branch=stored_branch, model="gpt-5-mini")
    assert admin_client.get(reverse("admin:compare_completion_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:compare_completion_change", args=[completion.pk]))
    assert page.status_code == 200
    assert TOKEN not in page.content.decode()
    assert admin_client.get(reverse("admin:compare_completion_add")).status_code == 403
    assert admin_client.get(reverse("admin:compare_run_change", args=[run.pk])).status_code == 200
    assert admin_client.post(reverse("admin:compare_run_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


def test_teams_and_memberships_are_in_the_admin(admin_client, team):
    assert admin_client.get(reverse("admin:teams_team_change", args=[team.pk])).status_code == 200
    assert admin_client.get(reverse("admin:teams_membership_changelist")).status_code == 200
