"""Blind votes on runs, the leaderboard page and its chart."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from playground.compare.models import Completion, Run, Vote

pytestmark = pytest.mark.django_db


def make_run(team, user, models, *, costs=None, status=Completion.Status.OK, latency_ms=1000):
    run = Run.objects.create(team=team, user=user, messages=[{"role": "user", "content": "hi"}])
    now = timezone.now()
    completions = []
    for n, model in enumerate(models):
        completions.append(
            Completion.objects.create(
                run=run,
                team=team,
                user=user,
                model=model,
                status=status,
                started=now + timedelta(microseconds=n),
                finished=now + timedelta(milliseconds=latency_ms + n),
                cost=None if costs is None else costs[n],
                output_text=f"answer from {model}",
            )
        )
    return run, completions


def vote(client, run, verdict, winner=None):
    data = {"verdict": verdict}
    if winner is not None:
        data["winner"] = str(winner.code)
    return client.post(reverse("compare:vote", args=[run.code]), data)


def test_a_vote_for_the_best_panel_is_stored_and_reveals_the_models(client, alice, team):
    run, (a, b, c) = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5", "gemini-2-5-flash"])
    client.force_login(alice)
    response = vote(client, run, "best", b)
    assert response.status_code == 200
    body = response.json()
    assert body["models"] == {
        str(a.code): "gpt-5-mini",
        str(b.code): "claude-haiku-4-5",
        str(c.code): "gemini-2-5-flash",
    }
    assert body["winner"] == str(b.code)
    stored = Vote.objects.get()
    assert (stored.run, stored.team, stored.user, stored.verdict, stored.winner) == (run, team, alice, "best", b)
    assert stored.shown == ["gpt-5-mini", "claude-haiku-4-5", "gemini-2-5-flash"]


def test_a_second_vote_replaces_the_first(client, alice, team):
    run, (a, b) = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"])
    client.force_login(alice)
    assert vote(client, run, "best", a).status_code == 200
    assert vote(client, run, "both_bad").status_code == 200
    assert list(Vote.objects.values_list("verdict", "winner")) == [("both_bad", None)]


def test_a_teammate_votes_on_the_same_run_separately(client, alice, bob, team):
    run, (a, b) = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"])
    client.force_login(alice)
    vote(client, run, "best", a)
    client.force_login(bob)
    assert vote(client, run, "tie").status_code == 200
    assert Vote.objects.count() == 2


def test_a_tie_needs_exactly_two_models(client, alice, team):
    run, _ = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5", "gemini-2-5-flash"])
    client.force_login(alice)
    response = vote(client, run, "tie")
    assert response.status_code == 400
    assert "choose the best" in response.json()["error"]
    assert not Vote.objects.exists()


def test_it_refuses_a_winner_from_another_run(client, alice, team):
    run, _ = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"])
    _, (other, _) = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"])
    client.force_login(alice)
    assert vote(client, run, "best", other).status_code == 400


def test_it_refuses_a_vote_while_an_answer_streams(client, alice, team):
    run, _ = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"], status=Completion.Status.STREAMING)
    client.force_login(alice)
    response = vote(client, run, "tie")
    assert response.status_code == 400
    assert "Wait" in response.json()["error"]


def test_it_refuses_a_single_model_run(client, alice, team):
    run, (a,) = make_run(team, alice, ["gpt-5-mini"])
    client.force_login(alice)
    assert vote(client, run, "best", a).status_code == 400


def test_it_refuses_an_outsider(client, alice, charlie, team):
    run, (a, _) = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"])
    client.force_login(charlie)
    assert vote(client, run, "best", a).status_code == 404
    assert not Vote.objects.exists()


def test_voting_needs_a_post(client, alice, team):
    run, _ = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"])
    client.force_login(alice)
    assert client.get(reverse("compare:vote", args=[run.code])).status_code == 405


def seed_votes(team, user):
    """gpt-5-mini wins three of four against claude-haiku-4-5, which beats gemini once."""
    for winner in ("gpt-5-mini", "gpt-5-mini", "gpt-5-mini", "claude-haiku-4-5"):
        run, completions = make_run(
            team, user, ["gpt-5-mini", "claude-haiku-4-5"], costs=[Decimal("0.002"), Decimal("0.001")]
        )
        Vote.objects.create(
            run=run, team=team, user=user, verdict="best", winner=next(c for c in completions if c.model == winner)
        )
    run, (haiku, gemini) = make_run(
        team, user, ["claude-haiku-4-5", "gemini-2-5-flash"], costs=[Decimal("0.003"), None], latency_ms=3000
    )
    Vote.objects.create(run=run, team=team, user=user, verdict="best", winner=haiku)


def test_the_leaderboard_ranks_models_by_strength(client, alice, team, django_assert_num_queries):
    seed_votes(team, alice)
    client.force_login(alice)
    # Session, user, memberships, votes with winners, their runs, the runs' completions.
    with django_assert_num_queries(6):
        response = client.get(reverse("compare:leaderboard"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.model for r in rows] == ["gpt-5-mini", "claude-haiku-4-5", "gemini-2-5-flash"]
    assert [r.votes for r in rows] == [4, 5, 1]
    assert rows[0].low < rows[0].rating < rows[0].high
    haiku = rows[1]
    # Costs 0.001 four times and 0.003 once; latencies 1001 ms four times (second panel) and 3000 ms once.
    assert haiku.median_cost == Decimal("0.001")
    assert haiku.median_latency_ms == 1001
    assert rows[2].median_cost is None
    assert response.context["vote_count"] == 5
    assert response.context["unpriced"] == ["gemini-2-5-flash"]
    # Both priced models are on the front: the stronger one is also the dearer.
    assert [r.pareto for r in rows] == [True, True, False]
    assert b"gemini-2-5-flash" in response.content and b"Pareto" in response.content


def test_the_leaderboard_shows_only_the_users_team(client, alice, charlie, team):
    seed_votes(team, alice)
    client.force_login(charlie)
    response = client.get(reverse("compare:leaderboard"))
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert b"No votes yet" in response.content
    assert client.get(reverse("compare:leaderboard"), {"team": team.slug}).status_code == 404


def test_the_chart_plots_strength_against_cost_with_the_front(client, alice, team):
    seed_votes(team, alice)
    client.force_login(alice)
    response = client.get(reverse("compare:leaderboard_chart"), {"team": team.slug})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert "gpt-5-mini" in svg and "claude-haiku-4-5" in svg and "Pareto front" in svg
    assert "gemini-2-5-flash" not in svg  # no known cost: listed under the chart instead
    assert "<script" not in svg


def test_the_chart_refuses_an_outsider(client, alice, charlie, team):
    seed_votes(team, alice)
    client.force_login(charlie)
    assert client.get(reverse("compare:leaderboard_chart"), {"team": team.slug}).status_code == 404


def test_a_run_exports_as_markdown_and_json(client, alice, team):
    run, (a, b) = make_run(team, alice, ["gpt-5-mini", "claude-haiku-4-5"], costs=[Decimal("0.002"), None])
    run.threads = {"gpt-5-mini": [{"role": "user", "content": "Earlier ```question```"}]}
    run.save()
    client.force_login(alice)
    response = client.get(reverse("compare:export", args=[run.code, "json"]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.code}.json"'
    data = response.json()
    assert [c["model"] for c in data["completions"]] == ["gpt-5-mini", "claude-haiku-4-5"]
    assert data["completions"][0]["cost_usd"] == "0.0020000000"
    assert data["threads"] == run.threads
    response = client.get(reverse("compare:export", args=[run.code, "md"]))
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/markdown")
    assert "## gpt-5-mini" in text and "answer from claude-haiku-4-5" in text and "Earlier turns" in text
    assert client.get(reverse("compare:export", args=[run.code, "csv"])).status_code == 404


def test_an_outsider_cannot_export_a_run(client, alice, charlie, team):
    run, _ = make_run(team, alice, ["gpt-5-mini"])
    client.force_login(charlie)
    assert client.get(reverse("compare:export", args=[run.code, "json"])).status_code == 404


def test_the_leaderboard_can_show_the_votes_on_one_prompt_version(client, alice, team):
    import uuid

    seed_votes(team, alice)
    version = uuid.uuid4()
    run, (mini, nano) = make_run(team, alice, ["gpt-5-mini", "gpt-5-nano"])
    run.prompt_version = version
    run.save()
    Vote.objects.create(run=run, team=team, user=alice, verdict="best", winner=nano)
    client.force_login(alice)
    response = client.get(reverse("compare:leaderboard"), {"prompt_version": str(version)})
    assert response.context["vote_count"] == 1
    assert [r.model for r in response.context["rows"]] == ["gpt-5-nano", "gpt-5-mini"]
    assert client.get(reverse("compare:leaderboard"), {"prompt_version": "nonsense"}).context["vote_count"] == 0
    assert client.get(reverse("compare:leaderboard")).context["vote_count"] == 6


def test_the_markdown_export_marks_an_estimated_or_partly_estimated_cost(client, alice, team):
    run, completions = make_run(
        team, alice, ["gpt-5-mini", "claude-sonnet-4-6", "gpt-5-nano"], costs=[Decimal("0.002")] * 3
    )
    for completion, source in zip(completions, ["computed", "partly_estimated", "estimated"], strict=True):
        completion.cost_source = source
        completion.save()
    client.force_login(alice)
    text = client.get(reverse("compare:export", args=[run.code, "md"])).content.decode()
    facts = {
        line.split("## ")[1]: text.split(line, 1)[1].strip().splitlines()[0]
        for line in text.splitlines()
        if line.startswith("## ") and line[3:] in ("gpt-5-mini", "claude-sonnet-4-6", "gpt-5-nano")
    }
    assert "~$" not in facts["gpt-5-mini"]
    assert "~$0.002" in facts["claude-sonnet-4-6"] and "~$0.002" in facts["gpt-5-nano"]
