"""Teams: create, rename, switch, members and roles, invitations and the audit log."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from playground.teams import roles
from playground.teams.models import AuditEvent, Branch, Invitation, Membership, Team
from tests.conftest import TOKEN

from .conftest import OTHER_TOKEN

pytestmark = pytest.mark.django_db


def team_url(team, name="detail", *args):
    return reverse(f"team:{name}", args=[team.slug, *args])


@pytest.fixture
def admin(django_user_model, team):
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    Membership.objects.create(user=user, team=team, role=Membership.Role.ADMIN)
    return user


def role_of(user, team):
    return Membership.objects.get(user=user, team=team).role


# --- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, allowed",
    [
        ("viewer", {"read", "leave"}),
        ("member", {"read", "leave", "run", "write_prompts", "vote"}),
        (
            "admin",
            {"read", "leave", "run", "write_prompts", "vote", "manage_branches", "manage_members", "invite"}
            | {"share", "set_prices", "rename_team", "read_audit"},
        ),
        ("owner", set(roles.RULES)),
    ],
)
def test_each_role_may_do_exactly_its_actions(role, allowed):
    assert {action for action in roles.RULES if roles.can(role, action)} == allowed


def test_an_unknown_action_is_refused_loudly():
    with pytest.raises(KeyError):
        roles.can("owner", "delete_everything")


# --- teams -----------------------------------------------------------------------------


def test_a_user_creates_a_team_owns_it_and_it_becomes_current(client, alice):
    client.force_login(alice)
    response = client.post(reverse("team:index"), {"name": "Acme Labs"}, follow=True)
    team = Team.objects.get(name="Acme Labs")
    assert team.slug == "acme-labs"
    assert role_of(alice, team) == "owner"
    assert '<span id="current-team">Acme Labs</span>' in response.content.decode()


def test_an_empty_team_name_changes_nothing(client, alice):
    client.force_login(alice)
    count = Team.objects.count()
    response = client.post(reverse("team:index"), {"name": "   "})
    assert response.status_code == 200
    assert Team.objects.count() == count


def test_the_switch_is_remembered_and_scopes_the_pages(client, alice, bob, team):
    client.force_login(bob)
    assert '<span id="current-team">bob</span>' in client.get(reverse("teams:branches")).content.decode()
    response = client.post(reverse("team:switch"), {"team": team.slug, "next": reverse("usage:index")})
    assert response["Location"] == reverse("usage:index")
    page = client.get(reverse("teams:branches")).content.decode()
    assert f'<span id="current-team">{team.name}</span>' in page


def test_switching_from_an_objects_page_goes_to_its_list(client, alice, team, stored_branch):
    client.force_login(alice)
    response = client.post(
        reverse("team:switch"), {"team": team.slug, "next": reverse("teams:edit", args=[stored_branch.code])}
    )
    assert response["Location"] == reverse("teams:branches")


def test_switching_never_redirects_off_site(client, alice, team):
    client.force_login(alice)
    response = client.post(reverse("team:switch"), {"team": team.slug, "next": "https://evil.example/"})
    assert response["Location"] == reverse("compare:index")


def test_an_outsider_cannot_switch_to_a_team(client, charlie, team):
    client.force_login(charlie)
    assert client.post(reverse("team:switch"), {"team": team.slug}).status_code == 404


@pytest.mark.parametrize("who, status", [("alice", 302), ("admin", 302), ("bob", 403), ("victor", 403)])
def test_rename_needs_an_admin(client, team, alice, admin, bob, victor, who, status):
    client.force_login({"alice": alice, "admin": admin, "bob": bob, "victor": victor}[who])
    response = client.post(team_url(team, "rename"), {"name": "Renamed"})
    assert response.status_code == status
    team.refresh_from_db()
    assert (team.name == "Renamed") == (status == 302)


def test_every_team_url_is_404_for_an_outsider(client, charlie, team, alice):
    invitation = Invitation.objects.create(
        team=team, token_hash="x" * 64, expires=timezone.now() + timedelta(days=1), created_by=alice
    )
    client.force_login(charlie)
    for name, method in [
        ("detail", "get"),
        ("audit", "get"),
        ("rename", "post"),
        ("role", "post"),
        ("remove", "post"),
        ("leave", "post"),
        ("transfer", "post"),
        ("invite", "post"),
    ]:
        response = getattr(client, method)(team_url(team, name), {"user": "alice", "role": "viewer", "name": "x"})
        assert response.status_code == 404, name
    assert client.post(team_url(team, "revoke", invitation.code)).status_code == 404
    assert role_of(alice, team) == "owner"
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"


# --- members -----------------------------------------------------------------------------


def test_the_members_page_lists_roles_for_every_member(client, alice, bob, victor, team):
    for user in (alice, bob, victor):
        client.force_login(user)
        page = client.get(team_url(team)).content.decode()
        assert 'data-user="alice"' in page and 'data-user="bob"' in page and 'data-user="victor"' in page
    # Viewers and members see no controls.
    assert "Change role" not in page and "Make invitation link" not in page


@pytest.mark.parametrize(
    "who, target, role, allowed",
    [
        ("alice", "bob", "admin", True),
        ("alice", "bob", "owner", True),
        ("admin", "bob", "viewer", True),
        ("admin", "bob", "owner", False),  # only owners make owners
        ("admin", "alice", "member", False),  # nor unmake them
        ("bob", "victor", "member", False),
        ("victor", "bob", "viewer", False),
    ],
)
def test_changing_a_role_follows_the_rules(client, team, alice, admin, bob, victor, who, target, role, allowed):
    users = {"alice": alice, "admin": admin, "bob": bob, "victor": victor}
    before = role_of(users[target], team)
    client.force_login(users[who])
    response = client.post(team_url(team, "role"), {"user": target, "role": role})
    assert response.status_code in (302, 403)
    assert (role_of(users[target], team) == role) == allowed or before == role
    if allowed:
        assert AuditEvent.objects.filter(team=team, action="member.role", detail__contains=target).exists()


def test_the_last_owner_cannot_be_demoted_or_leave(client, alice, team):
    client.force_login(alice)
    client.post(team_url(team, "role"), {"user": "alice", "role": "admin"})
    assert role_of(alice, team) == "owner"
    response = client.post(team_url(team, "leave"), follow=True)
    assert "last owner" in response.content.decode()
    assert role_of(alice, team) == "owner"


def test_a_member_leaves(client, bob, team):
    client.force_login(bob)
    client.post(team_url(team, "leave"))
    assert not Membership.objects.filter(user=bob, team=team).exists()
    assert client.get(team_url(team)).status_code == 404


def test_transfer_makes_the_target_owner_and_the_owner_admin(client, alice, bob, team):
    client.force_login(alice)
    client.post(team_url(team, "transfer"), {"user": "bob"})
    assert role_of(bob, team) == "owner"
    assert role_of(alice, team) == "admin"
    # Now alice may leave: bob owns the team.
    client.post(team_url(team, "leave"))
    assert not Membership.objects.filter(user=alice, team=team).exists()


@pytest.mark.parametrize("who", ["admin", "bob", "victor"])
def test_only_an_owner_transfers(client, team, alice, admin, bob, victor, who):
    client.force_login({"admin": admin, "bob": bob, "victor": victor}[who])
    assert client.post(team_url(team, "transfer"), {"user": who if who != "admin" else "ada"}).status_code == 403
    assert role_of(alice, team) == "owner"


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", False), ("victor", False)])
def test_removing_a_member_needs_an_admin(client, team, alice, admin, bob, victor, who, allowed):
    client.force_login({"alice": alice, "admin": admin, "bob": bob, "victor": victor}[who])
    client.post(team_url(team, "remove"), {"user": "victor" if who != "victor" else "bob"})
    gone = "victor" if who != "victor" else "bob"
    assert Membership.objects.filter(team=team, user__username=gone).exists() != allowed


def test_an_admin_cannot_remove_an_owner(client, team, alice, admin):
    client.force_login(admin)
    assert client.post(team_url(team, "remove"), {"user": "alice"}).status_code == 403
    assert role_of(alice, team) == "owner"


def test_a_member_name_from_another_team_is_404(client, team, alice, charlie):
    client.force_login(alice)
    assert client.post(team_url(team, "remove"), {"user": "charlie"}).status_code == 404


# --- invitations -----------------------------------------------------------------------


def make_link(client, team, **data):
    client.post(team_url(team, "invite"), {"role": "member", "days": 7, "email": "", **data})
    page = client.get(team_url(team)).content.decode()
    match = re.search(r'value="(http://testserver/invite/[^"]+/)"', page)
    assert match, "the new link is shown once"
    return match.group(1).removeprefix("http://testserver")


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", False), ("victor", False)])
def test_inviting_needs_an_admin(client, team, alice, admin, bob, victor, who, allowed):
    client.force_login({"alice": alice, "admin": admin, "bob": bob, "victor": victor}[who])
    response = client.post(team_url(team, "invite"), {"role": "member", "days": 7})
    assert response.status_code == (302 if allowed else 403)
    assert Invitation.objects.filter(team=team).exists() == allowed


def test_an_admin_cannot_invite_an_owner(client, team, admin):
    client.force_login(admin)
    client.post(team_url(team, "invite"), {"role": "owner", "days": 7})
    assert not Invitation.objects.exists()


def test_the_link_is_shown_once_and_only_its_hash_is_stored(client, alice, team):
    client.force_login(alice)
    link = make_link(client, team)
    token = link.split("/")[2]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_hash
    assert invitation.expires - invitation.created == timedelta(days=7)
    assert token not in client.get(team_url(team)).content.decode()
    assert AuditEvent.objects.filter(team=team, action="member.invited").exists()


@pytest.mark.parametrize("signup", ["open", "invite", "closed"])
def test_a_new_person_signs_up_through_the_link_and_joins_even_when_signup_is_closed(
    client, alice, team, settings, signup, django_user_model
):
    settings.PLAYGROUND_SIGNUP = signup
    client.force_login(alice)
    link = make_link(client, team, role="viewer")
    client.logout()
    page = client.get(link).content.decode()
    assert f"Join {team.name}" in page and "viewer" in page
    response = client.post(
        link,
        {
            "signup": "1",
            "signup-username": "dora",
            "signup-password1": "pw-dora-12345",
            "signup-password2": "pw-dora-12345",
        },
        follow=True,
    )
    dora = django_user_model.objects.get(username="dora")
    assert role_of(dora, team) == "viewer"
    assert response.context["user"] == dora
    assert '<span id="current-team">' + team.name in response.content.decode()
    assert Invitation.objects.get().used_by == dora


def test_an_existing_user_logs_in_through_the_link_and_joins(client, alice, team, charlie):
    client.force_login(alice)
    link = make_link(client, team)
    client.logout()
    client.post(link, {"login-username": "charlie", "login-password": "pw-charlie-123"})
    assert role_of(charlie, team) == "member"


def test_a_logged_in_user_joins_with_one_press(client, alice, team, charlie):
    client.force_login(alice)
    link = make_link(client, team, role="admin")
    client.force_login(charlie)
    assert "Join as charlie" in client.get(link).content.decode()
    client.post(link)
    assert role_of(charlie, team) == "admin"


def test_a_used_link_is_refused_and_changes_nothing(client, alice, team, charlie, django_user_model):
    client.force_login(alice)
    link = make_link(client, team)
    client.force_login(charlie)
    client.post(link)
    dora = django_user_model.objects.create_user("dora", "", "pw-dora-12345")
    client.force_login(dora)
    response = client.get(link)
    assert response.status_code == 410
    assert "already used" in response.content.decode()
    client.post(link)
    assert not Membership.objects.filter(user=dora, team=team).exists()


def test_an_expired_link_is_refused(client, alice, team, charlie):
    client.force_login(alice)
    link = make_link(client, team)
    Invitation.objects.update(expires=timezone.now() - timedelta(seconds=1))
    client.force_login(charlie)
    assert "expired" in client.get(link).content.decode()
    client.post(link)
    assert not Membership.objects.filter(user=charlie, team=team).exists()


def test_a_revoked_link_is_refused(client, alice, team, charlie):
    client.force_login(alice)
    link = make_link(client, team)
    client.post(team_url(team, "revoke", Invitation.objects.get().code))
    assert AuditEvent.objects.filter(action="member.invitation_revoked").exists()
    client.force_login(charlie)
    assert "revoked" in client.get(link).content.decode()
    client.post(link)
    assert not Membership.objects.filter(user=charlie, team=team).exists()


def test_a_made_up_link_is_refused(client, charlie):
    client.force_login(charlie)
    response = client.get(reverse("invitation", args=["made-up-token"]))
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_an_email_address_gets_the_link_by_mail(client, alice, team, mailoutbox):
    client.force_login(alice)
    link = make_link(client, team, email="dora@example.com")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dora@example.com"]
    assert link in mailoutbox[0].body
    assert team.name in mailoutbox[0].subject
    assert mail.outbox is mailoutbox


# --- audit log ---------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [("alice", 200), ("admin", 200), ("bob", 403), ("victor", 403)])
def test_the_audit_log_is_for_admins(client, team, alice, admin, bob, victor, who, status):
    client.force_login({"alice": alice, "admin": admin, "bob": bob, "victor": victor}[who])
    assert client.get(team_url(team, "audit")).status_code == status


def test_branch_changes_are_audited_with_address_and_never_a_token(client, alice, team, stored_branch):
    client.force_login(alice)
    client.post(
        reverse("teams:edit", args=[stored_branch.code]),
        {"name": "Main", "base_url": "http://127.0.0.1:8001", "token": OTHER_TOKEN, "neon_branch_id": ""},
        REMOTE_ADDR="203.0.113.9",
    )
    client.post(reverse("teams:delete", args=[stored_branch.code]))
    actions = list(AuditEvent.objects.filter(team=team).values_list("action", flat=True))
    assert {"branch.edited", "branch.token", "branch.base_url", "branch.deleted"} <= set(actions)
    assert AuditEvent.objects.filter(ip="203.0.113.9").count() == 3
    page = client.get(team_url(team, "audit")).content.decode()
    assert "replaced a branch" in page and "203.0.113.9" in page
    assert OTHER_TOKEN not in page and TOKEN not in page
    for detail in AuditEvent.objects.values_list("detail", flat=True):
        assert OTHER_TOKEN not in detail


def test_a_price_set_is_audited(client, alice, team, catalog):
    client.force_login(alice)
    client.post(reverse("catalog:prices"), {"team": team.slug, "model": "gpt-5-mini", "input": "0.1"})
    assert AuditEvent.objects.get(action="price.set").detail.startswith("gpt-5-mini")


# --- branch lineage ----------------------------------------------------------------------


def test_a_branch_may_inherit_its_parents_token(client, alice, team, stored_branch):
    client.force_login(alice)
    client.post(
        reverse("teams:branches"),
        {"name": "Preview", "base_url": "http://127.0.0.1:9", "parent": str(stored_branch.code), "inherit_token": "on"},
    )
    child = Branch.objects.get(name="Preview")
    assert child.inherit_token and not child.token_encrypted
    assert child.token() == TOKEN
    page = client.get(reverse("teams:branches")).content.decode()
    assert "Token: inherited from Main" in page


def test_inheriting_needs_a_parent(client, alice, team):
    client.force_login(alice)
    response = client.post(
        reverse("teams:branches"), {"name": "Preview", "base_url": "http://127.0.0.1:9", "inherit_token": "on"}
    )
    assert "Choose the parent branch" in response.content.decode()
    assert not Branch.objects.filter(name="Preview").exists()


def test_a_grandchild_inherits_through_an_inheriting_parent(team, stored_branch):
    child = Branch.objects.create(team=team, name="c", base_url="http://x", parent=stored_branch, inherit_token=True)
    grandchild = Branch.objects.create(team=team, name="g", base_url="http://x", parent=child, inherit_token=True)
    assert grandchild.credential_branch() == stored_branch
    assert grandchild.token() == TOKEN


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", False), ("victor", False)])
def test_revoking_an_invitation_needs_an_admin(client, team, alice, admin, bob, victor, who, allowed):
    invitation = Invitation.objects.create(
        team=team, token_hash="y" * 64, expires=timezone.now() + timedelta(days=1), created_by=alice
    )
    client.force_login({"alice": alice, "admin": admin, "bob": bob, "victor": victor}[who])
    response = client.post(team_url(team, "revoke", invitation.code))
    assert response.status_code == (302 if allowed else 403)
    assert (Invitation.objects.get(pk=invitation.pk).state == "revoked") == allowed


@pytest.mark.parametrize("who", ["admin", "bob", "victor"])
def test_every_non_owner_may_leave(client, team, admin, bob, victor, who):
    user = {"admin": admin, "bob": bob, "victor": victor}[who]
    client.force_login(user)
    client.post(team_url(team, "leave"))
    assert not Membership.objects.filter(user=user, team=team).exists()
    assert AuditEvent.objects.filter(team=team, action="member.left").exists()


def test_an_owner_may_leave_when_another_owner_remains(client, team, alice, bob):
    Membership.objects.filter(user=bob, team=team).update(role="owner")
    client.force_login(alice)
    client.post(team_url(team, "leave"))
    assert not Membership.objects.filter(user=alice, team=team).exists()


def test_the_teams_page_and_switch_need_a_login(client, team):
    assert client.get(reverse("team:index")).status_code == 302
    assert client.post(reverse("team:switch"), {"team": team.slug}).status_code == 302
    assert client.get(team_url(team)).status_code == 302


def test_the_choice_outlives_the_session(client, bob, team):
    client.force_login(bob)
    client.post(reverse("team:switch"), {"team": team.slug, "next": "/"})
    remembered = client.cookies["current_team"].value
    client.logout()  # the test client drops every cookie here; a browser keeps this one
    client.cookies["current_team"] = remembered
    client.force_login(bob)
    page = client.get(reverse("teams:branches")).content.decode()
    assert f'<span id="current-team">{team.name}</span>' in page


def test_a_remembered_team_one_has_left_is_not_current(client, bob, team):
    client.force_login(bob)
    client.post(reverse("team:switch"), {"team": team.slug, "next": "/"})
    client.post(team_url(team, "leave"))
    page = client.get(reverse("teams:branches")).content.decode()
    assert '<span id="current-team">bob</span>' in page
