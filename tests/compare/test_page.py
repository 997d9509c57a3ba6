"""The Compare page offers as many models per run as the server accepts (RUN_MAX_MODELS)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_page_and_its_preselection_follow_run_max_models(client, alice, catalog, settings):
    settings.RUN_MAX_MODELS = 3
    client.force_login(alice)
    wanted = "gpt-5-mini,gpt-5-nano,claude-haiku-4-5,gemini-3-pro,gpt-oss-20b"
    page = client.get(reverse("compare:index"), {"models": wanted})
    assert page.status_code == 200
    assert page.context["selected"] == ["gpt-5-mini", "gpt-5-nano", "claude-haiku-4-5"]
    html = page.content.decode()
    assert 'data-max-models="3"' in html
    assert "0 / 3" in html


def test_it_refuses_anonymous_users(client):
    page = client.get(reverse("compare:index"))
    assert page.status_code == 302
