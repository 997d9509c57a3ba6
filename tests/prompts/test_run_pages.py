"""Run permalinks and the runs list, for every role; charlie gets 404."""

import pytest
from django.urls import reverse

from playground.compare.models import Run
from playground.teams.models import Branch

from .test_prompt_pages import make_run

pytestmark = pytest.mark.django_db

ROLES = ["alice", "admin", "bob", "victor"]


@pytest.fixture
def run(team, bob, stored_branch, v2):
    return make_run(team, bob, stored_branch, v2, cost="0.000123", text="# Title\n\n**bold** <script>x</script>")


@pytest.mark.parametrize("who", ROLES)
def test_every_member_reads_the_permalink(login, users, team, run, v2, who):
    page = login(users[who], team).get(reverse("runs:detail", args=[run.code])).content.decode()
    assert "<strong>bold</strong>" in page and "<script>x" not in page
    assert "$0.000123" in page and "TTFT" in page and "Main" in page and "bob" in page
    assert reverse("prompts:version", args=[v2.code]) in page
    assert ("Run again" in page) == (who != "victor")


def test_every_run_url_is_404_for_an_outsider(login, charlie, run, stored_branch):
    c = login(charlie)
    assert c.get(reverse("runs:detail", args=[run.code])).status_code == 404
    assert c.post(reverse("runs:open", args=[run.code])).status_code == 404
    assert c.post(reverse("runs:again", args=[run.code]), {"branch": str(stored_branch.code)}).status_code == 404
    assert str(run.code) not in c.get(reverse("runs:index")).content.decode()


def test_run_again_on_another_branch_fills_compare_linked_to_the_first(login, bob, team, run, alice, catalog):
    other = Branch(team=team, name="Preview", base_url="http://127.0.0.1:9", created_by=alice)
    other.set_token("nt_live_other_token_000000000000")
    other.save()
    c = login(bob, team)
    response = c.post(reverse("runs:again", args=[run.code]), {"branch": str(other.code)})
    page = c.get(response["Location"]).content.decode()
    assert f'name="rerun_of" value="{run.code}"' in page
    assert f'<option value="{other.code}" selected>' in page
    assert ">q</textarea>" in page


@pytest.mark.parametrize("who, status", [("victor", 403), ("bob", 404)])
def test_run_again_refuses_viewers_and_foreign_branches(login, users, team, run, who, status, charlie):
    from playground.teams.models import Team

    foreign = Branch.objects.create(team=Team.objects.get(slug="charlie"), name="x", base_url="http://127.0.0.1:9")
    c = login(users[who], team)
    assert c.post(reverse("runs:again", args=[run.code]), {"branch": str(foreign.code)}).status_code == status
    assert "compare_prefill" not in c.session


@pytest.mark.parametrize("who", ROLES)
def test_open_in_compare_from_a_run(login, users, team, run, who, catalog):
    c = login(users[who], team)
    response = c.post(reverse("runs:open", args=[run.code]))
    assert ">q</textarea>" in c.get(response["Location"]).content.decode()


def test_the_list_filters_by_person_and_prompt(login, alice, bob, team, run, stored_branch, prompt):
    plain = Run.objects.create(team=team, user=alice, branch=stored_branch, messages=[])
    c = login(alice, team)
    url = reverse("runs:index")
    page = c.get(url).content.decode()
    assert str(run.code) in page and str(plain.code) in page
    page = c.get(url, {"person": "alice"}).content.decode()
    assert str(run.code) not in page and str(plain.code) in page
    page = c.get(url, {"prompt": str(prompt.code)}).content.decode()
    assert str(run.code) in page and str(plain.code) not in page


def test_the_usage_log_and_request_page_link_to_their_run(login, alice, team, run):
    c = login(alice, team)
    link = reverse("runs:detail", args=[run.code])
    assert link in c.get(reverse("usage:index")).content.decode()
    completion = run.completions.get()
    assert link in c.get(reverse("usage:request", args=[completion.code])).content.decode()


@pytest.mark.parametrize("who", ROLES)
def test_every_member_reads_the_runs_list(login, users, team, run, who):
    page = login(users[who], team).get(reverse("runs:index")).content.decode()
    assert reverse("runs:detail", args=[run.code]) in page
    assert "Summary v2" in page


def test_the_runs_pages_need_a_login(client, run):
    assert client.get(reverse("runs:index")).status_code == 302
    assert client.get(reverse("runs:detail", args=[run.code])).status_code == 302
