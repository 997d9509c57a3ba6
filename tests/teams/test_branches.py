import pytest
from django.urls import reverse

from playground.teams.models import Branch, Membership, Team
from tests.conftest import TOKEN, use_team

from .conftest import OTHER_TOKEN

pytestmark = pytest.mark.django_db
URL = reverse("teams:branches")


def add_data(team, **overrides):
    data = {
        "name": "Preview",
        "neon_branch_id": "br-preview-q1w2e3r4",
        "parent": "",
        "base_url": "http://127.0.0.1:8001/",
        "token": OTHER_TOKEN,
    }
    data.update(overrides)
    return data


def edit_url(branch):
    return reverse("teams:edit", args=[branch.code])


def delete_url(branch):
    return reverse("teams:delete", args=[branch.code])


def check_url(branch):
    return reverse("teams:check", args=[branch.code])


def secrets_of(branch):
    return [TOKEN, OTHER_TOKEN, branch.token_encrypted]


def assert_no_secret(response, branch=None):
    html = response.content.decode()
    for secret in [TOKEN, OTHER_TOKEN] + ([branch.token_encrypted] if branch else []):
        assert secret not in html


def test_the_page_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lists_the_branches_of_the_users_teams_with_the_token_hint_only(client, alice, stored_branch):
    client.force_login(alice)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Main" in html
    assert "br-main-a1b2c3d4" in html
    assert "http://127.0.0.1:9" in html
    assert "nt_live_...abcd" in html
    assert "not checked" in html
    assert "alice" in html
    assert_no_secret(response, stored_branch)


def test_a_simulator_branch_is_labelled(client, alice, stored_branch):
    stored_branch.is_simulator = True
    stored_branch.save()
    client.force_login(alice)
    assert 'class="badge badge-sim"' in client.get(URL).content.decode()


def test_a_failed_check_shows_its_error_and_time(client, alice, stored_branch):
    from django.utils import timezone

    stored_branch.last_checked = timezone.now()
    stored_branch.last_check_error = "HTTP 401: invalid or missing credential"
    stored_branch.save()
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert "failed" in html
    assert "HTTP 401: invalid or missing credential" in html


def test_the_list_runs_a_fixed_number_of_queries(client, alice, team, stored_branch, django_assert_num_queries):
    for i in range(5):
        b = Branch(team=team, name=f"b{i}", base_url="http://127.0.0.1:9", parent=stored_branch, created_by=alice)
        b.set_token(TOKEN)
        b.save()
    client.force_login(alice)
    # session, user, memberships (the current team and the switcher), branches, then the
    # form's parent choices.
    with django_assert_num_queries(5):
        assert client.get(URL).status_code == 200


def test_an_owner_adds_a_branch_and_its_token_is_stored_encrypted(client, alice, team, caplog):
    client.force_login(alice)
    response = client.post(URL, add_data(team), follow=True)
    assert response.status_code == 200
    branch = Branch.objects.get(team=team, name="Preview")
    assert branch.token() == OTHER_TOKEN
    assert OTHER_TOKEN not in branch.token_encrypted
    assert branch.token_hint == "nt_live_...zyxw"
    assert branch.base_url == "http://127.0.0.1:8001"
    assert branch.neon_branch_id == "br-preview-q1w2e3r4"
    assert branch.created_by == alice
    assert "nt_live_...zyxw" in response.content.decode()
    assert_no_secret(response, branch)
    assert OTHER_TOKEN not in caplog.text


def test_a_parent_from_the_same_team_is_kept(client, alice, team, stored_branch):
    client.force_login(alice)
    client.post(URL, add_data(team, parent=str(stored_branch.code)))
    assert Branch.objects.get(name="Preview").parent == stored_branch


def test_a_parent_from_another_team_is_refused(client, alice, team, stored_branch):
    other = Team.objects.create(name="Acme", slug="acme")
    Membership.objects.create(user=alice, team=other, role=Membership.Role.ADMIN)
    client.force_login(alice)
    use_team(client, other)
    response = client.post(URL, add_data(other, parent=str(stored_branch.code)))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Branch.objects.filter(name="Preview").exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"base_url": "https://169.254.169.254"}, "link-local"),
        ({"base_url": "http://8.8.8.8"}, "must use https"),
        ({"base_url": "https://user:pw@8.8.8.8"}, "user name or password"),
        ({"neon_branch_id": "main"}, "br-winter-pond"),
        ({"name": "main"}, "already has a branch"),
        ({"token": ""}, "This field is required"),
        ({"token": OTHER_TOKEN + " extra"}, "must not contain spaces"),
    ],
)
def test_a_bad_branch_is_refused_and_the_token_is_not_sent_back(client, alice, team, stored_branch, overrides, message):
    client.force_login(alice)
    response = client.post(URL, add_data(team, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Branch.objects.filter(name="Preview").exists()
    assert_no_secret(response, stored_branch)


def test_a_member_sees_the_teams_branches_but_cannot_add_to_it(client, bob, team, stored_branch):
    client.force_login(bob)
    use_team(client, team)
    page = client.get(URL).content.decode()
    assert "Main" in page
    assert "Add a branch" not in page
    assert edit_url(stored_branch) not in page
    response = client.post(URL, add_data(team))
    assert response.status_code == 403
    assert not Branch.objects.filter(name="Preview").exists()


def test_the_page_shows_only_the_current_teams_branches(client, bob, team, stored_branch):
    client.force_login(bob)
    # Bob's own team is current until he switches.
    assert "br-main-a1b2c3d4" not in client.get(URL).content.decode()
    use_team(client, team)
    assert "br-main-a1b2c3d4" in client.get(URL).content.decode()


def test_a_user_who_manages_no_team_sees_no_add_form(client, victor, stored_branch):
    Membership.objects.filter(user=victor, team__slug="victor").delete()
    client.force_login(victor)
    use_team(client, stored_branch.team)
    page = client.get(URL).content.decode()
    assert "Main" in page
    assert "Add a branch" not in page
    assert "Only team owners and admins" in page


def test_a_viewer_cannot_add_a_branch_or_check_one(client, victor, team, stored_branch):
    client.force_login(victor)
    use_team(client, team)
    page = client.get(URL).content.decode()
    assert "Main" in page
    assert check_url(stored_branch) not in page
    client.post(URL, add_data(team))
    assert not Branch.objects.filter(name="Preview").exists()
    assert client.post(check_url(stored_branch)).status_code == 403


def test_a_member_cannot_edit_or_delete(client, bob, stored_branch):
    client.force_login(bob)
    assert client.get(edit_url(stored_branch)).status_code == 403
    assert (
        client.post(edit_url(stored_branch), {"name": "Hijacked", "base_url": "http://127.0.0.1:9"}).status_code == 403
    )
    assert client.post(delete_url(stored_branch)).status_code == 403
    stored_branch.refresh_from_db()
    assert stored_branch.name == "Main"


@pytest.mark.parametrize(
    "method, url_of",
    [("get", edit_url), ("post", edit_url), ("get", delete_url), ("post", delete_url), ("post", check_url)],
)
def test_an_outsider_gets_404_for_every_branch_url(client, charlie, stored_branch, method, url_of):
    client.force_login(charlie)
    response = getattr(client, method)(url_of(stored_branch), {"name": "x", "base_url": "http://127.0.0.1:9"})
    assert response.status_code == 404
    assert Branch.objects.filter(pk=stored_branch.pk, name="Main").exists()


def test_an_outsider_does_not_see_the_branch_nor_can_add_to_the_team(client, charlie, team, stored_branch):
    client.force_login(charlie)
    assert "br-main-a1b2c3d4" not in client.get(URL).content.decode()
    client.post(URL, add_data(team))
    assert not Branch.objects.filter(team=team, name="Preview").exists()


def test_the_edit_form_never_renders_the_token(client, alice, stored_branch):
    client.force_login(alice)
    response = client.get(edit_url(stored_branch))
    assert response.status_code == 200
    assert 'value="br-main-a1b2c3d4"' in response.content.decode()
    assert_no_secret(response, stored_branch)


def test_editing_with_a_blank_token_keeps_the_old_one(client, alice, stored_branch):
    client.force_login(alice)
    response = client.post(
        edit_url(stored_branch),
        {"name": "Main renamed", "neon_branch_id": "", "parent": "", "base_url": "http://127.0.0.1:9", "token": ""},
        follow=True,
    )
    assert response.status_code == 200
    stored_branch.refresh_from_db()
    assert stored_branch.name == "Main renamed"
    assert stored_branch.neon_branch_id == ""
    assert stored_branch.token() == TOKEN
    assert_no_secret(response, stored_branch)


def test_editing_with_a_new_token_replaces_it_and_forgets_the_last_check(client, alice, stored_branch):
    from django.utils import timezone

    stored_branch.last_checked = stored_branch.last_ok = timezone.now()
    stored_branch.save()
    client.force_login(alice)
    response = client.post(
        edit_url(stored_branch),
        {"name": "Main", "base_url": "http://127.0.0.1:9", "token": OTHER_TOKEN},
        follow=True,
    )
    stored_branch.refresh_from_db()
    assert stored_branch.token() == OTHER_TOKEN
    assert stored_branch.token_hint == "nt_live_...zyxw"
    assert stored_branch.last_checked is None
    assert_no_secret(response, stored_branch)


def test_an_invalid_edit_does_not_echo_the_new_token(client, alice, stored_branch):
    client.force_login(alice)
    response = client.post(
        edit_url(stored_branch), {"name": "Main", "base_url": "https://10.0.0.1", "token": OTHER_TOKEN}
    )
    assert response.status_code == 200
    assert "private" in response.content.decode()
    assert_no_secret(response, stored_branch)
    stored_branch.refresh_from_db()
    assert stored_branch.token() == TOKEN


def test_a_branch_cannot_become_its_own_ancestor(client, alice, team, stored_branch):
    child = Branch(team=team, name="Child", base_url="http://127.0.0.1:9", parent=stored_branch)
    child.set_token(TOKEN)
    child.save()
    client.force_login(alice)
    response = client.post(
        edit_url(stored_branch), {"name": "Main", "base_url": "http://127.0.0.1:9", "parent": str(child.code)}
    )
    assert "cannot descend from itself" in response.content.decode()
    stored_branch.refresh_from_db()
    assert stored_branch.parent is None


def test_delete_asks_first_then_deletes_on_post(client, alice, stored_branch):
    client.force_login(alice)
    confirm = client.get(delete_url(stored_branch))
    assert confirm.status_code == 200
    assert "Delete branch" in confirm.content.decode()
    assert Branch.objects.filter(pk=stored_branch.pk).exists()
    response = client.post(delete_url(stored_branch))
    assert response.status_code == 302
    assert not Branch.objects.filter(pk=stored_branch.pk).exists()


def test_an_admin_of_the_team_can_manage(client, django_user_model, team, stored_branch):
    admin = django_user_model.objects.create_user("ada", password="x")
    Membership.objects.create(user=admin, team=team, role=Membership.Role.ADMIN)
    client.force_login(admin)
    assert client.get(edit_url(stored_branch)).status_code == 200
    client.post(delete_url(stored_branch))
    assert not Branch.objects.filter(pk=stored_branch.pk).exists()
