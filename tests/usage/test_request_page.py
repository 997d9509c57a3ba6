"""The page of one logged request: its usage, cost lines, price and text."""

from decimal import Decimal

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(finish):
    return finish(
        usage_raw={"prompt_tokens": 1200, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 200}},
        cost_lines=[
            {"bucket": "input", "tokens": 1000, "rate": "0.25", "cost": "0.00025", "tier": None},
            {"bucket": "cache_read", "tokens": 200, "rate": "0.025", "cost": "0.000005", "tier": None},
            {"bucket": "output", "tokens": 300, "rate": "2", "cost": "0.0006", "tier": None},
        ],
        cost=Decimal("0.000855"),
        price={"input": "0.25", "output": "2", "source": "models.dev snapshot f3fc692", "effective": "2026-07-02"},
        output_text="Branching is **cheap**.",
        rate_limit={"x-ratelimit-remaining-tokens": "199000"},
    )


def test_it_shows_how_the_cost_was_worked_out(client, alice, logged):
    client.force_login(alice)
    response = client.get(reverse("usage:request", args=[logged.code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "cache_read" in html and "0.000005" in html
    assert "$0.000855" in html
    assert "models.dev snapshot f3fc692" in html
    assert "x-ratelimit-remaining-tokens" in html
    assert "&quot;cached_tokens&quot;: 200" in html
    # The answer is shown as text, never as markup from the model.
    assert "Branching is **cheap**." in html


def test_a_teammate_sees_it(client, bob, logged):
    client.force_login(bob)
    assert client.get(reverse("usage:request", args=[logged.code])).status_code == 200


def test_it_refuses_an_outsider(client, charlie, logged):
    client.force_login(charlie)
    assert client.get(reverse("usage:request", args=[logged.code])).status_code == 404


def test_it_refuses_anonymous_users(client, logged):
    response = client.get(reverse("usage:request", args=[logged.code]))
    assert response.status_code == 302


def test_the_usage_log_links_each_request(client, alice, logged):
    client.force_login(alice)
    html = client.get(reverse("usage:index")).content.decode()
    assert reverse("usage:request", args=[logged.code]) in html


def test_the_token_is_not_on_the_page(client, alice, logged, gw_branch):
    client.force_login(alice)
    html = client.get(reverse("usage:request", args=[logged.code])).content.decode()
    assert gw_branch.token() not in html
    assert gw_branch.token_encrypted not in html


def test_the_answer_is_rendered_markdown_with_the_raw_text_behind_a_switch(client, alice, logged):
    client.force_login(alice)
    html = client.get(reverse("usage:request", args=[logged.code])).content.decode()
    assert '<div class="answer-rendered markdown"><p>Branching is <strong>cheap</strong>.</p>' in html
    assert '<pre class="msg-text answer-raw">Branching is **cheap**.</pre>' in html
    assert 'id="raw-switch" role="switch"' in html


def test_model_markup_in_the_answer_is_not_rendered(client, alice, finish):
    c = finish(output_text='<img src=x onerror="alert(1)"> [link](javascript:alert(2))')
    client.force_login(alice)
    html = client.get(reverse("usage:request", args=[c.code])).content.decode()
    assert "<img" not in html and 'href="javascript' not in html


def test_the_cost_lines_are_in_dollars_and_add_up_to_the_headline(client, alice, logged):
    client.force_login(alice)
    html = client.get(reverse("usage:request", args=[logged.code])).content.decode()
    lines = html.split("How the cost was worked out")[1].split("</table>")[0]
    assert '<td class="num">$0.25</td><td class="num">$0.00025</td>' in lines
    assert '<td class="num">$2.00</td><td class="num">$0.0006</td>' in lines
    assert 'Total</th><td class="num">$0.000855</td>' in lines
    assert html.count("$0.000855") == 2  # the headline and the total


def test_an_estimated_request_marks_its_tokens_and_total(client, alice, finish):
    c = finish(
        prompt_tokens=None,
        completion_tokens=None,
        cost=Decimal("0.0000735"),
        cost_source="estimated",
        cost_lines=[
            {"bucket": "input", "tokens": 15, "rate": "0.5", "cost": "0.0000075", "tier": None},
            {"bucket": "output", "tokens": 22, "rate": "3", "cost": "0.000066", "tier": None},
        ],
    )
    client.force_login(alice)
    html = client.get(reverse("usage:request", args=[c.code])).content.decode()
    assert '<td class="num">~15</td>' in html and '<td class="num">~22</td>' in html
    assert 'Total</th><td class="num">~$0.000074</td>' in html


def test_it_counts_a_messages_images_and_shows_the_tool_calls(client, alice, finish):
    image = "data:image/png;base64," + "A" * 400
    logged = finish(
        output_text="", tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
    )
    run = logged.run
    run.messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": image}}],
        }
    ]
    run.params = {"max_tokens": 64, "tools": [{"name": "get_weather", "parameters": {"type": "object"}}]}
    run.save()
    client.force_login(alice)
    html = client.get(reverse("usage:request", args=[logged.code])).content.decode()
    assert "What is this?\n[1 image]" in html and image not in html
    assert "<code>max_tokens=64</code>" in html and "tools=" not in html
    assert "Tool call <code>get_weather</code>" in html and "{&quot;city&quot;: &quot;Oslo&quot;}" in html
    assert "No text." not in html
