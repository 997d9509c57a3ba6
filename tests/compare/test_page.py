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


def test_each_model_box_says_whether_the_thinking_budget_is_spent_on_it(client, alice, catalog):
    """The pre-flight adds the thinking budget where the run sends it (runs.plan_model): a
    reasoning model served on Anthropic Messages, as its catalog row says, not its name."""
    import re

    from gateway.models import GatewayModel

    GatewayModel.objects.filter(id="claude-haiku-4-5").update(reasoning=False)
    client.force_login(alice)
    html = client.get(reverse("compare:index")).content.decode()

    def thinking(model_id):
        box = re.search(rf'<input type="checkbox" name="models" value="{re.escape(model_id)}"[^>]*>', html)
        return re.search(r'data-thinking="([^"]*)"', box.group(0)).group(1)

    assert thinking("claude-opus-4-1") == "1"
    assert thinking("claude-haiku-4-5") == ""  # its row says it does not reason
    assert thinking("gpt-5-mini") == ""  # reasons, but not through Anthropic Messages
