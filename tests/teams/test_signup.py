import pytest
from django.urls import reverse

from playground.teams.models import Membership, Team

pytestmark = pytest.mark.django_db


def test_signup_creates_the_user_logs_them_in_and_goes_to_compare(client, django_user_model):
    response = client.post(
        reverse("signup"),
        {"username": "dora", "password1": "a-long-pass-phrase-42", "password2": "a-long-pass-phrase-42"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("compare:index")
    user = django_user_model.objects.get(username="dora")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_new_user_owns_a_personal_team_named_after_them(django_user_model):
    user = django_user_model.objects.create_user("erin", password="x")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.team.personal is True
    assert membership.team.slug == "erin"


def test_a_taken_slug_gets_a_suffix(django_user_model):
    Team.objects.create(name="Frank's shop", slug="frank")
    user = django_user_model.objects.create_user("frank", password="x")
    assert Membership.objects.get(user=user).team.slug == "frank-2"


def test_signup_with_mismatched_passwords_shows_the_form_again(client, django_user_model):
    response = client.post(
        reverse("signup"),
        {"username": "gus", "password1": "a-long-pass-phrase-42", "password2": "something-else-42"},
    )
    assert response.status_code == 200
    assert not django_user_model.objects.filter(username="gus").exists()


def test_login_and_signup_pages_link_to_each_other(client):
    login_page = client.get(reverse("login")).content.decode()
    signup_page = client.get(reverse("signup")).content.decode()
    assert f'href="{reverse("signup")}"' in login_page
    assert f'href="{reverse("login")}"' in signup_page


def test_logging_in_goes_to_compare(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("compare:index")
