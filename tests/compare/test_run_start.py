"""A run start reads from this process's memos when warm (no database, no thread hop), and a
grant, price or limit changed in this process applies to the very next run."""

import asyncio
import time
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import DatabaseError, connection
from django.http import Http404

from playground.compare import run_frame, runs
from playground.teams import access, pricing
from playground.teams.models import Branch, Membership, TeamModelPrice

from ..conftest import TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


def request_for(branch, models=("gpt-5-mini",)):
    return run_frame.parse_run_frame(
        {
            "type": "run",
            "branch": str(branch.code),
            "models": list(models),
            "messages": [{"role": "user", "content": "hi"}],
        }
    )


@pytest.fixture
def hops(monkeypatch):
    """How many run starts went to a thread (the database)."""
    count = []
    real = runs.sync_to_async

    def counting(function, **kwargs):
        call = real(function, **kwargs)

        def counted(*args):
            # On a run-start thread the function comes as the wrapper's first argument.
            target = args[0] if function is runs._with_healthy_connections else function
            count.append(target.__name__)
            return call(*args)

        return counted

    monkeypatch.setattr(runs, "sync_to_async", counting)
    return count


async def test_a_warm_run_start_reads_no_database_and_hops_to_no_thread(alice, branch, hops):
    prepared = await runs.prepare_run(alice, request_for(branch))
    assert len(hops) == 1  # cold: the memos are filled on a thread
    again = await runs.prepare_run(alice, request_for(branch, ["gpt-5-mini", "claude-haiku-4-5"]))
    assert len(hops) == 1
    assert [c.model for c in again.completions] == ["gpt-5-mini", "claude-haiku-4-5"]
    assert again.gateway.token == TOKEN and again.run.branch == branch
    assert prepared.run.code != again.run.code
    assert again.completions[0].price == prepared.completions[0].price


async def test_runs_that_start_cold_together_read_the_database_once(alice, branch, hops):
    prepared = await asyncio.gather(*(runs.prepare_run(alice, request_for(branch)) for _ in range(6)))
    assert len(hops) == 1
    assert len({p.run.code for p in prepared}) == 6


async def test_a_removed_member_is_refused_at_once(bob, branch, hops):
    await runs.prepare_run(bob, request_for(branch))
    await sync_to_async(Membership.objects.filter(user=bob).delete)()
    with pytest.raises(Http404):
        await runs.prepare_run(bob, request_for(branch))


async def test_a_member_made_viewer_is_refused_at_once(bob, branch):
    await runs.prepare_run(bob, request_for(branch))
    membership = await Membership.objects.aget(user=bob, team=branch.team)
    membership.role = Membership.Role.VIEWER
    await membership.asave()
    with pytest.raises(run_frame.RunError, match="Viewers cannot start runs"):
        await runs.prepare_run(bob, request_for(branch))


async def test_a_deleted_branch_and_a_new_token_apply_at_once(alice, branch):
    await runs.prepare_run(alice, request_for(branch))
    fresh = await Branch.objects.aget(pk=branch.pk)
    fresh.set_token("nt_live_another_token_000000000000000000")
    await fresh.asave()
    prepared = await runs.prepare_run(alice, request_for(branch))
    assert prepared.gateway.token == "nt_live_another_token_000000000000000000"
    await fresh.adelete()
    with pytest.raises(Http404):
        await runs.prepare_run(alice, request_for(branch))


def skip_ahead(monkeypatch, seconds):
    """The monotonic clock, `seconds` later (it still runs: the event loop reads it too)."""
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + seconds)


def remove_without_signals(user):
    """A membership removed as another server process would: this process hears nothing."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM teams_membership WHERE user_id = %s", [user.pk])


async def test_a_grant_changed_by_another_process_holds_at_most_the_memo_time(bob, branch, monkeypatch):
    await runs.prepare_run(bob, request_for(branch))
    await sync_to_async(remove_without_signals)(bob)
    await runs.prepare_run(bob, request_for(branch))  # within RUN_START_MEMO_SECONDS: still granted
    skip_ahead(monkeypatch, 5.1)
    with pytest.raises(Http404):
        await runs.prepare_run(bob, request_for(branch))


async def test_no_memo_when_its_time_is_zero(bob, branch, settings):
    settings.RUN_START_MEMO_SECONDS = 0
    await runs.prepare_run(bob, request_for(branch))
    await sync_to_async(remove_without_signals)(bob)
    with pytest.raises(Http404):
        await runs.prepare_run(bob, request_for(branch))


async def test_refusals_are_not_memoised(bob, branch):
    membership = await Membership.objects.aget(user=bob, team=branch.team)
    membership.role = Membership.Role.VIEWER
    await membership.asave()
    with pytest.raises(run_frame.RunError):
        await runs.prepare_run(bob, request_for(branch))
    membership.role = Membership.Role.MEMBER
    await membership.asave()
    assert (await runs.prepare_run(bob, request_for(branch))).completions


def test_the_memo_never_grows_past_its_bound(alice, branch, monkeypatch):
    monkeypatch.setattr(access, "RUNNER_MEMO_MAX", 3)
    for _ in range(10):
        access.runner_branch(alice, branch.code)
        access.runner_branch(alice, str(branch.code).upper())  # spellings of one code: one entry
    assert len(access._runners) == 1
    other = Branch.objects.create(team=branch.team, name="Other", base_url=branch.base_url, created_by=alice)
    other.set_token(TOKEN)
    other.save()
    for b in [other, branch, other]:
        access.runner_branch(alice, b.code)
    assert len(access._runners) <= 3


async def test_a_team_price_saved_here_applies_to_the_next_run(alice, branch):
    before = (await runs.prepare_run(alice, request_for(branch))).completions[0].price
    await TeamModelPrice.objects.acreate(team_id=branch.team_id, model_id="gpt-5-mini", input=Decimal("9.5"))
    after = (await runs.prepare_run(alice, request_for(branch))).completions[0].price
    assert after["input"] == "9.500000" and after["override"] is True
    assert before["input"] != after["input"]
    assert pricing.team_overrides(branch.team_id)["gpt-5-mini"].input == Decimal("9.5")


async def test_a_team_price_another_process_saved_applies_within_the_memo_time(alice, branch, monkeypatch):
    from django.core.cache import cache

    await runs.prepare_run(alice, request_for(branch))

    def save_elsewhere():
        # What another process does: the row, and its receiver clearing the shared cache.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO teams_teammodelprice (team_id, model_id, input, note, created) "
                "VALUES (%s, 'gpt-5-mini', 7.25, '', CURRENT_TIMESTAMP)",
                [branch.team_id],
            )
        cache.delete(pricing._cache_key(branch.team_id))

    await sync_to_async(save_elsewhere)()
    price = (await runs.prepare_run(alice, request_for(branch))).completions[0].price
    assert not price.get("override")  # this process's memo: at most RUN_START_MEMO_SECONDS old
    skip_ahead(monkeypatch, 5.1)
    price = (await runs.prepare_run(alice, request_for(branch))).completions[0].price
    assert price["override"] is True and price["input"] == "7.250000"


def test_a_grant_read_while_it_was_being_revoked_is_not_kept(bob, branch, monkeypatch):
    """The revocation lands between the read and the memo: the memo must not keep the grant."""
    real = access.get_branch_for_runner

    def read_then_revoked(user, code):
        granted = real(user, code)
        Membership.objects.filter(user=bob).delete()  # another thread's change, mid-read
        return granted

    monkeypatch.setattr(access, "get_branch_for_runner", read_then_revoked)
    access.runner_branch(bob, branch.code)  # this read was still a grant
    monkeypatch.setattr(access, "get_branch_for_runner", real)
    assert not access.runner_memoised(bob, branch.code)
    with pytest.raises(Http404):
        access.runner_branch(bob, branch.code)


def test_the_memo_is_dropped_again_when_the_change_commits(bob, branch):
    from django.db import transaction

    access.runner_branch(bob, branch.code)
    with transaction.atomic():
        membership = Membership.objects.get(user=bob, team=branch.team)
        membership.role = Membership.Role.VIEWER
        membership.save()
        assert not access.runner_memoised(bob, branch.code)
        # Another thread reads before this commits: it still sees the old role, and keeps it.
        access._runners[(bob.pk, branch.code)] = (time.monotonic() + 60, branch)
    assert not access.runner_memoised(bob, branch.code)
    with pytest.raises(run_frame.RunError, match="Viewers"):
        async_to_sync(runs.prepare_run)(bob, request_for(branch))


async def settled_refreshes():
    while runs._refresh_tasks:
        await asyncio.gather(*runs._refresh_tasks)


async def test_memos_past_half_their_time_are_read_again_while_runs_go_on(alice, branch, hops, monkeypatch):
    await runs.prepare_run(alice, request_for(branch))
    assert hops == ["_prepare_run"]  # cold
    skip_ahead(monkeypatch, 3)  # past half of RUN_START_MEMO_SECONDS (5)
    assert (await runs.prepare_run(alice, request_for(branch))).completions  # from the memos, at once
    await settled_refreshes()
    assert hops == ["_prepare_run", "_read_memos_again"]  # read again, the run not waiting
    skip_ahead(monkeypatch, 3)  # 6 s on: past the first read's time, within the second's
    assert (await runs.prepare_run(alice, request_for(branch))).completions
    assert hops[-1] == "_read_memos_again" and hops.count("_prepare_run") == 1  # never cold again


async def test_a_grant_revoked_elsewhere_is_dropped_by_the_read_ahead(bob, branch, hops, monkeypatch):
    await runs.prepare_run(bob, request_for(branch))
    await sync_to_async(remove_without_signals)(bob)
    skip_ahead(monkeypatch, 3)
    await runs.prepare_run(bob, request_for(branch))  # the memo still grants it, and is read again
    await settled_refreshes()
    with pytest.raises(Http404):  # well before the memo's own time ran out
        await runs.prepare_run(bob, request_for(branch))


async def test_fresh_memos_are_not_read_again(alice, branch, hops):
    await runs.prepare_run(alice, request_for(branch))
    await runs.prepare_run(alice, request_for(branch))
    await settled_refreshes()
    assert hops == ["_prepare_run"]


@pytest.fixture
async def warm(settings):
    """Memos of 0.4 s, and the event loop's keeper of warm run starts stopped at the end."""
    settings.RUN_START_MEMO_SECONDS = 0.4
    settings.RUN_START_WARM_SECONDS = 60
    yield settings
    keeper = runs._keepers.get(asyncio.get_running_loop())
    if keeper is not None and keeper.task is not None:
        keeper.task.cancel()


@pytest.mark.parametrize(("keep_for", "cold_starts"), [(60, 1), (0, 2)])
async def test_a_branch_that_ran_lately_starts_warm_past_the_memo_time(
    alice, branch, hops, warm, keep_for, cold_starts
):
    warm.RUN_START_WARM_SECONDS = keep_for
    await runs.prepare_run(alice, request_for(branch))
    await asyncio.sleep(1.0)  # 2.5 times the memos' time, nothing run meanwhile

    assert (await runs.prepare_run(alice, request_for(branch))).completions
    assert hops.count("_prepare_run") == cold_starts
    if keep_for:
        assert "_read_memos_again" in hops  # in the background, before they ran out


async def test_a_branch_that_has_not_run_for_the_warm_time_is_let_go(alice, branch, hops, warm):
    warm.RUN_START_WARM_SECONDS = 0.3
    await runs.prepare_run(alice, request_for(branch))
    keeper = runs._keepers[asyncio.get_running_loop()]
    await asyncio.wait_for(keeper.task, 5)  # it ends once no branch is kept

    assert keeper.last_runs == {}
    await asyncio.sleep(0.5)  # past the time of the last memos it read
    await runs.prepare_run(alice, request_for(branch))
    assert hops.count("_prepare_run") == 2  # cold again


async def test_a_grant_revoked_elsewhere_stops_the_keeping_warm(bob, branch, hops, warm):
    await runs.prepare_run(bob, request_for(branch))
    await sync_to_async(remove_without_signals)(bob)
    keeper = runs._keepers[asyncio.get_running_loop()]
    await asyncio.wait_for(keeper.task, 5)  # its read refused the grant: nothing left to keep

    assert keeper.last_runs == {}
    assert "_read_memos_again" in hops
    with pytest.raises(Http404):
        await runs.prepare_run(bob, request_for(branch))


async def test_a_database_that_cannot_be_read_stops_the_keeping_warm_with_one_warning(
    alice, branch, warm, monkeypatch, caplog
):
    await runs.prepare_run(alice, request_for(branch))

    def unreadable(*args):
        raise DatabaseError("the database is away")

    monkeypatch.setattr(runs, "_read_memos_again", unreadable)
    keeper = runs._keepers[asyncio.get_running_loop()]
    await asyncio.wait_for(keeper.task, 5)  # one failed read: nothing left to keep

    assert keeper.last_runs == {}
    assert [r.message for r in caplog.records if r.name == "playground.compare.runs"] == [
        "Could not read a run start's memos again"
    ]


async def test_a_team_whose_people_ran_lately_has_its_memos_read_once_a_round(
    alice, bob, branch, hops, warm, monkeypatch
):
    warm.RUN_START_MEMO_SECONDS = 5  # rounds 1.25 s apart
    read = []
    real = runs.memo.refresh
    monkeypatch.setattr(runs.memo, "refresh", lambda branch: (read.append(branch.code), real(branch)))
    await runs.prepare_run(alice, request_for(branch))
    await runs.prepare_run(bob, request_for(branch))
    read.clear()
    both = asyncio.Event()
    real_read_again = runs._WarmKeeper.read_again

    async def read_again(self, key, user, branch_memos):
        done = await real_read_again(self, key, user, branch_memos)
        if hops.count("_read_memos_again") == 2:
            both.set()
        return done

    monkeypatch.setattr(runs._WarmKeeper, "read_again", read_again)
    skip_ahead(monkeypatch, 3)  # both grants past half their time: the next round reads them
    await asyncio.wait_for(both.wait(), 5)

    assert read == [branch.code]  # the two grants read again, the team's memos once for both
    assert access.runner_memoised(alice, str(branch.code)) and access.runner_memoised(bob, str(branch.code))
