"""PLAYGROUND_SIGNUP (open, invite, closed) and the throttle on failed logins."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from playground.teams.signup import INVITATION_SESSION_KEY

pytestmark = pytest.mark.django_db
NEW = {"username": "dora", "password1": "a-long-pass-phrase-42", "password2": "a-long-pass-phrase-42"}


def test_open_lets_anyone_sign_up_and_the_login_page_says_so(client, settings, django_user_model):
    settings.PLAYGROUND_SIGNUP = "open"
    assert f'href="{reverse("signup")}"' in client.get(reverse("login")).content.decode()
    assert client.post(reverse("signup"), NEW).status_code == 302
    assert django_user_model.objects.filter(username="dora").exists()


def test_closed_refuses_the_signup_page_with_a_clear_message(client, settings, django_user_model):
    settings.PLAYGROUND_SIGNUP = "closed"
    page = client.get(reverse("signup"))
    assert page.status_code == 403 and "Sign-up is closed" in page.content.decode()
    assert client.post(reverse("signup"), NEW).status_code == 403
    assert not django_user_model.objects.filter(username="dora").exists()
    assert f'href="{reverse("signup")}"' not in client.get(reverse("login")).content.decode()


def test_invite_refuses_signup_without_an_invitation(client, settings, django_user_model):
    settings.PLAYGROUND_SIGNUP = "invite"
    page = client.get(reverse("signup"))
    assert page.status_code == 403 and "invitation" in page.content.decode()
    assert client.post(reverse("signup"), NEW).status_code == 403
    assert not django_user_model.objects.filter(username="dora").exists()


def test_invite_lets_someone_sent_by_an_invitation_sign_up_and_returns_them_to_it(client, settings, django_user_model):
    settings.PLAYGROUND_SIGNUP = "invite"
    session = client.session
    session[INVITATION_SESSION_KEY] = "the-invitation-token"
    session.save()
    response = client.post(reverse("signup"), NEW)
    assert response.status_code == 302
    assert response["Location"] == reverse("invitation", args=["the-invitation-token"])
    assert django_user_model.objects.filter(username="dora").exists()
    assert INVITATION_SESSION_KEY not in client.session


@pytest.mark.parametrize("mode", ["closed", "invite"])
def test_an_invitation_link_still_signs_up_when_signup_is_not_open(client, settings, team, alice, mode):
    import hashlib
    import secrets
    from datetime import timedelta

    from playground.teams.models import Invitation, Membership

    settings.PLAYGROUND_SIGNUP = mode
    token = secrets.token_urlsafe(16)
    Invitation.objects.create(
        team=team,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        expires=timezone.now() + timedelta(days=1),
        created_by=alice,
    )
    url = reverse("invitation", args=[token])
    response = client.post(
        url,
        {
            "signup": "1",
            "signup-username": "dora",
            "signup-password1": NEW["password1"],
            "signup-password2": NEW["password2"],
        },
    )
    assert response.status_code == 302
    assert Membership.objects.filter(team=team, user__username="dora").exists()


def test_createsuperuser_works_when_signup_is_closed(settings, monkeypatch, django_user_model):
    settings.PLAYGROUND_SIGNUP = "closed"
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-pass-phrase-42")
    call_command("createsuperuser", interactive=False, username="root", email="root@example.com", verbosity=0)
    assert django_user_model.objects.get(username="root").is_superuser


# --- the throttle ------------------------------------------------------------------------------------------


def log_in(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_an_account_is_locked_after_repeated_failures_with_a_clear_message(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "alice", "wrong").status_code == 200  # the form again, "incorrect"
    locked = log_in(client, "alice", "wrong")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed logins" in html and "Try again in 15 minutes" in html
    # Even the right password from another address waits: the account is locked.
    again = log_in(client, "alice", "pw-alice-123", address="10.9.9.9")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_an_address_is_locked_after_failures_on_many_accounts(client, alice, bob, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess-{i}", "wrong", address="10.6.6.6")
    assert log_in(client, "bob", "pw-bob-123", address="10.6.6.6").status_code == 429
    # The same account from another address is not locked.
    assert log_in(client, "bob", "pw-bob-123", address="10.0.0.2").status_code == 302


def test_a_successful_login_resets_the_count(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "pw-alice-123").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "pw-alice-123").status_code == 302
