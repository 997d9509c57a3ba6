from decimal import Decimal

import pytest
from django.utils import timezone


@pytest.fixture
def gw_branch(team, alice):
    from playground.teams.models import Branch

    branch = Branch(team=team, name="Main", base_url="http://127.0.0.1:9", created_by=alice)
    branch.set_token("nt_live_usage_tests_token_0000")
    branch.save()
    return branch


@pytest.fixture
def finish(team, alice, gw_branch):
    """finish(model=..., **fields): a finished request of alice's, recorded in the rollup."""
    from playground.compare.models import Completion, Run
    from playground.usage.rollup import record

    run = Run.objects.create(team=team, user=alice, branch=gw_branch)

    def make(model="gpt-5-mini", record_it=True, **fields):
        started = fields.pop("started", None) or timezone.now()
        owner = {
            "team": fields.pop("team", team),
            "user": fields.pop("user", alice),
            "branch": fields.pop("branch", gw_branch),
        }
        values = {
            "status": Completion.Status.OK,
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "cost": Decimal("0.000065"),
            "cost_source": Completion.CostSource.COMPUTED,
            "finished": started + timezone.timedelta(milliseconds=850),
        }
        values.update(fields)
        completion = Completion.objects.create(run=run, model=model, started=started, **owner, **values)
        if record_it:
            record(completion)
        return completion

    return make
