"""Budgets (a meter, a banner past the warning, an optional hard stop at run start) and the
rate limit (tokens in the last minute against the team's setting; a run that may cross it
says so before it starts)."""

import asyncio
import time
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import timezone

from playground.compare.models import Completion
from playground.usage.models import Budget, TeamLimits
from tests.compare.test_consumer import connect, receive_until, run_frame


@pytest.fixture
def spent(finish):
    """spent(amount, branch=...): a finished request of that cost this month."""

    def make(amount, **fields):
        return finish(cost=Decimal(amount), started=timezone.now(), **fields)

    return make


@pytest.mark.django_db
def test_the_meters_show_spend_against_budgets_and_a_banner_past_the_warning(client, alice, team, gw_branch, spent):
    Budget.objects.create(team=team, monthly_usd=Decimal("10"), warn_percent=50)
    Budget.objects.create(team=team, branch=gw_branch, monthly_usd=Decimal("100"))
    spent("6.00")
    client.force_login(alice)
    response = client.get(reverse("usage:meters"), {"team": team.slug})
    html = response.content.decode()
    assert response.status_code == 200
    assert [m.level for m in response.context["meters"]] == ["warn", "ok"]
    assert 'role="alert"' in html and "60% of the $10.00 budget" in html
    assert "$6.00 of $100.00" in html
    # By branch (as the Compare page asks): the team's budget and that branch's.
    response = client.get(reverse("usage:meters"), {"branch": str(gw_branch.code)})
    assert len(response.context["meters"]) == 2


@pytest.mark.django_db
def test_the_meters_refuse_an_outsider(client, charlie, team, gw_branch):
    client.force_login(charlie)
    assert client.get(reverse("usage:meters"), {"team": team.slug}).status_code == 404
    assert client.get(reverse("usage:meters"), {"branch": str(gw_branch.code)}).status_code == 404
    assert client.get(reverse("usage:budgets"), {"team": team.slug}).status_code == 404


@pytest.mark.django_db
def test_only_owners_and_admins_set_budgets(client, alice, bob, team, gw_branch):
    client.force_login(bob)
    data = {"team": team.slug, "form": "budget", "monthly_usd": "50", "warn_percent": "80", "hard_stop": "on"}
    assert client.post(reverse("usage:budgets"), data).status_code == 403
    assert not Budget.objects.exists()
    client.force_login(alice)
    assert client.post(reverse("usage:budgets"), data).status_code == 302
    assert client.post(reverse("usage:budgets"), {**data, "branch": gw_branch.pk}).status_code == 302
    # One per branch: a second team-wide budget is refused with a message.
    response = client.post(reverse("usage:budgets"), data)
    assert response.status_code == 400 and "already has a budget" in response.content.decode()
    assert Budget.objects.count() == 2
    response = client.post(
        reverse("usage:budgets"), {"team": team.slug, "form": "limits", "tokens_per_minute": "500000"}
    )
    assert response.status_code == 302
    assert TeamLimits.objects.get(team=team).tokens_per_minute == 500000
    budget = Budget.objects.first()
    client.force_login(bob)
    assert client.post(reverse("usage:budget_delete", args=[budget.code])).status_code == 403
    client.force_login(alice)
    assert client.post(reverse("usage:budget_delete", args=[budget.code])).status_code == 302
    assert Budget.objects.count() == 1


@pytest.mark.django_db(transaction=True)
async def test_a_hard_stop_refuses_new_runs_with_a_message(alice, team, branch):
    await Budget.objects.acreate(team=team, monthly_usd=Decimal("1"), hard_stop=True)
    await sync_to_async(_spend)(team, branch, "1.50")
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    frame = await comm.receive_json_from(timeout=10)
    assert frame["type"] == "error"
    assert "monthly budget" in frame["message"] and "$1.50" in frame["message"]
    assert await Completion.objects.filter(status="streaming").acount() == 0
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_budget_without_hard_stop_only_warns(alice, team, branch):
    await Budget.objects.acreate(team=team, monthly_usd=Decimal("1"), hard_stop=False)
    await sync_to_async(_spend)(team, branch, "1.50")
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert frames[0]["type"] == "run.started"
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_run_in_flight_when_the_budget_stops_finishes_and_is_logged(alice, team, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"], content="Go sim:interval_ms=40 sim:chunks=10"))
    started = await comm.receive_json_from(timeout=10)
    assert started["type"] == "run.started"
    await Budget.objects.acreate(team=team, monthly_usd=Decimal("0.01"), hard_stop=True)
    await sync_to_async(_spend)(team, branch, "5")
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert any(f["type"] == "completion.done" for f in frames)
    code = started["completions"][0]["id"]
    assert (await Completion.objects.aget(code=code)).status == "ok"
    # The next one is refused.
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"]))
    assert (await comm.receive_json_from(timeout=10))["type"] == "error"
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_run_that_may_cross_the_rate_limit_says_so_before_it_starts(alice, team, branch):
    await TeamLimits.objects.acreate(team=team, tokens_per_minute=1000)
    comm, _ = await connect(alice)
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini"], max_tokens=600))
    frames = await receive_until(comm, lambda f: f["type"] == "run.done")
    assert not any("rate limit" in n for n in frames[0]["completions"][0]["notes"])
    # The first run's tokens now count in the last minute; this one would cross 1,000.
    await comm.send_json_to(run_frame(branch, ["gpt-5-mini", "gpt-5-nano"], max_tokens=600))
    started = await comm.receive_json_from(timeout=10)
    assert started["type"] == "run.started"
    notes = started["completions"][0]["notes"]
    assert any("may cross the rate limit" in n and "1,000 tokens per minute" in n for n in notes)
    await receive_until(comm, lambda f: f["type"] == "run.done")
    await asyncio.sleep(0)
    await comm.disconnect()


@pytest.mark.django_db
def test_tokens_in_the_last_minute_count_per_model_and_for_the_account(team, finish):
    from datetime import timedelta

    from playground.usage.limits import tokens_last_minute

    now = timezone.now()
    finish(started=now - timedelta(seconds=20), prompt_tokens=100, completion_tokens=50)
    finish(started=now - timedelta(seconds=10), model="gpt-5-nano", prompt_tokens=10, completion_tokens=5)
    finish(started=now - timedelta(minutes=5), prompt_tokens=9999, completion_tokens=1)  # finished long ago
    total, per_model = tokens_last_minute(team)
    assert total == 165
    assert per_model == {"gpt-5-mini": 150, "gpt-5-nano": 15}


def _spend(team, branch, amount):
    from playground.compare.models import Run
    from playground.usage.rollup import record

    run = Run.objects.create(team=team, branch=branch)
    now = timezone.now()
    completion = Completion.objects.create(
        run=run,
        team=team,
        branch=branch,
        model="gpt-5-mini",
        status="ok",
        started=now,
        finished=now,
        cost=Decimal(amount),
        cost_source="computed",
        prompt_tokens=1,
        completion_tokens=1,
    )
    record(completion)


@pytest.mark.django_db
def test_owners_and_admins_set_the_teams_run_confirmation_threshold_and_compare_uses_it(
    client, alice, bob, team, settings
):
    from tests.conftest import use_team

    settings.RUN_CONFIRM_USD = 0.5
    data = {"team": team.slug, "form": "confirm", "run_confirm_usd": "2.25"}
    client.force_login(bob)  # a member
    assert client.post(reverse("usage:budgets"), data).status_code == 403
    team.refresh_from_db()
    assert team.run_confirm_usd is None and team.confirm_usd() == Decimal("0.5")

    client.force_login(alice)
    use_team(client, team)  # the Compare page reads the team chosen in the top bar
    compare = client.get(reverse("compare:index"))
    assert 'data-confirm-usd="0.5"' in compare.content.decode()
    assert client.post(reverse("usage:budgets"), data).status_code == 302
    team.refresh_from_db()
    assert team.run_confirm_usd == Decimal("2.25")
    page = client.get(reverse("usage:budgets"), {"team": team.slug}).content.decode()
    assert 'id="run-confirm"' in page and 'value="2.25"' in page
    compare = client.get(reverse("compare:index"))
    assert 'data-confirm-usd="2.25"' in compare.content.decode()

    # A negative threshold is refused; an empty one falls back to the setting.
    response = client.post(reverse("usage:budgets"), {**data, "run_confirm_usd": "-1"})
    assert response.status_code == 400
    assert client.post(reverse("usage:budgets"), {**data, "run_confirm_usd": ""}).status_code == 302
    team.refresh_from_db()
    assert team.run_confirm_usd is None
    assert 'data-confirm-usd="0.5"' in client.get(reverse("compare:index")).content.decode()


def _run_check(team, branch, max_tokens=10):
    """check_run as a run start calls it: the notes, or RunError."""
    from playground.compare.models import Run
    from playground.usage.limits import check_run

    run = Run(team=team, branch=branch, messages=[{"role": "user", "content": "hi"}], params={"max_tokens": max_tokens})
    return check_run(Run, run=run, branch=branch, completions=[Completion(model="gpt-5-mini")])


@pytest.mark.django_db(transaction=True)
def test_run_starts_read_a_memo_that_adds_the_requests_this_process_finishes(team, gw_branch, finish):
    from playground.compare.relay import save_finished
    from playground.compare.run_frame import RunError

    Budget.objects.create(team=team, monthly_usd=Decimal("1"), hard_stop=True)
    TeamLimits.objects.create(team=team, tokens_per_minute=1000)
    assert _run_check(team, gw_branch) == []
    # Finished here (the relay's write): counted at once, without reading the database again.
    done = finish(record_it=False, status="streaming", cost=None)
    done.status, done.cost, done.prompt_tokens, done.completion_tokens = "ok", Decimal("0.60"), 500, 450
    save_finished([done])
    notes = _run_check(team, gw_branch, max_tokens=100)
    assert any("950 tokens used in the last minute" in n for n in notes)
    done = finish(record_it=False, status="streaming", cost=None)
    done.status, done.cost = "ok", Decimal("0.50")
    save_finished([done])
    with pytest.raises(RunError, match=r"\$1.10 of its \$1.00 monthly budget"):
        _run_check(team, gw_branch)


@pytest.mark.django_db
def test_what_another_process_spent_shows_when_the_memo_expires(team, gw_branch, monkeypatch, settings):
    from playground.compare.run_frame import RunError

    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    Budget.objects.create(team=team, monthly_usd=Decimal("1"), hard_stop=True)
    assert _run_check(team, gw_branch) == []
    _spend(team, gw_branch, "2")  # another process's request: the rollup, no signal here
    assert _run_check(team, gw_branch) == []  # the memo is at most RUN_START_MEMO_SECONDS old
    clock[0] += settings.RUN_START_MEMO_SECONDS + 0.01
    with pytest.raises(RunError, match="monthly budget"):
        _run_check(team, gw_branch)


@pytest.mark.django_db
def test_a_budget_or_limit_saved_here_applies_to_the_next_run_at_once(team, gw_branch):
    from playground.compare.run_frame import RunError

    _spend(team, gw_branch, "2")
    assert _run_check(team, gw_branch) == []
    budget = Budget.objects.create(team=team, monthly_usd=Decimal("1"), hard_stop=True)
    with pytest.raises(RunError):
        _run_check(team, gw_branch)
    budget.delete()
    assert _run_check(team, gw_branch) == []
    TeamLimits.objects.create(team=team, tokens_per_minute=5)
    assert any("may cross the rate limit" in n for n in _run_check(team, gw_branch))
