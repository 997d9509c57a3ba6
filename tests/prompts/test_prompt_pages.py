"""The prompt library: every view for every role; charlie (outsider) gets 404 everywhere."""

import io
import json

import pytest
from django.urls import reverse

from playground.compare.models import Completion, Run
from playground.prompts import library
from playground.prompts.models import Prompt, PromptVersion, ShareLink
from playground.teams.models import AuditEvent

pytestmark = pytest.mark.django_db

ROLES = ["alice", "admin", "bob", "victor"]


def compare_post(**extra):
    return {
        "system": "You are terse.",
        "prompt": "Explain {{thing}} to a child.",
        "prior": "[]",
        "temperature": "0.5",
        "max_tokens": "256",
        "models": ["gpt-5-mini", "gemini-2-5-flash"],
        "save_name": "Explainer",
        "save_note": "first try",
        "save_as": "prompt",
        **extra,
    }


# --- outsiders ---------------------------------------------------------------------------


def test_every_prompt_url_is_404_for_an_outsider(login, charlie, prompt, v2, team):
    c = login(charlie)
    link = ShareLink.objects.create(prompt=prompt, team=team, token="tok-abc")
    gets = [
        reverse("prompts:detail", args=[prompt.code]),
        reverse("prompts:diff", args=[prompt.code]),
        reverse("prompts:export", args=[prompt.code]),
        reverse("prompts:version", args=[v2.code]),
    ]
    posts = [
        reverse("prompts:detail", args=[prompt.code]),
        reverse("prompts:delete", args=[prompt.code]),
        reverse("prompts:new_version", args=[prompt.code]),
        reverse("prompts:fork", args=[prompt.code]),
        reverse("prompts:share", args=[prompt.code]),
        reverse("prompts:unshare", args=[prompt.code, link.code]),
        reverse("prompts:open", args=[v2.code]),
        reverse("prompts:showcase", args=[v2.code]),
    ]
    for url in gets:
        assert c.get(url).status_code == 404, url
    for url in posts:
        assert c.post(url, {"name": "x", "team": team.slug}).status_code == 404, url
    # "Save as new version" of a version he cannot see.
    assert (
        c.post(reverse("prompts:save"), compare_post(save_as="version", prompt_version=str(v2.code))).status_code == 404
    )
    assert prompt.versions.count() == 2
    assert Prompt.objects.filter(team=team).count() == 1
    assert "Summary" not in c.get(reverse("prompts:index")).content.decode()
    assert ShareLink.objects.get(pk=link.pk).revoked_at is None


# --- list, search, tags -------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_every_member_reads_the_list_with_search_and_tags(login, users, team, prompt, who):
    c = login(users[who], team)
    url = reverse("prompts:index")
    assert "Summary" in c.get(url).content.decode()
    assert "Summary" in c.get(url, {"q": "notes"}).content.decode()
    assert "Summary" not in c.get(url, {"q": "nothing like it"}).content.decode()
    assert "Summary" in c.get(url, {"tag": "support"}).content.decode()
    assert "Summary" not in c.get(url, {"tag": "supp"}).content.decode()


def test_a_version_keeps_as_many_models_as_one_run_takes(bob, team, settings):
    settings.RUN_MAX_MODELS = 10
    p = Prompt.objects.create(team=team, name="Wide", author=bob)
    models = [f"model-{n}" for n in range(12)]
    version = library.add_version(
        p, author=bob, system="", messages=[{"role": "user", "content": "hi"}], params={}, model_ids=models
    )
    assert version.model_ids == models[:10]


def test_a_private_prompt_is_its_authors_alone(login, alice, bob, team):
    p = Prompt.objects.create(team=team, name="Secret plan", author=bob, visibility="private")
    library.add_version(p, author=bob, system="", messages=[{"role": "user", "content": "hi"}], params={}, model_ids=[])
    assert "Secret plan" in login(bob, team).get(reverse("prompts:index")).content.decode()
    c = login(alice, team)
    assert "Secret plan" not in c.get(reverse("prompts:index")).content.decode()
    assert c.get(reverse("prompts:detail", args=[p.code])).status_code == 404


# --- save from Compare --------------------------------------------------------------------


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", True), ("victor", False)])
def test_save_as_prompt_from_compare(login, users, team, who, allowed):
    c = login(users[who], team)
    response = c.post(reverse("prompts:save"), compare_post())
    saved = Prompt.objects.filter(name="Explainer", team=team).first()
    assert (saved is not None) == allowed
    if allowed:
        version = saved.versions.get()
        assert response["Location"] == reverse("prompts:version", args=[version.code])
        assert version.number == 1
        assert version.system == "You are terse."
        assert version.messages == [{"role": "user", "content": "Explain {{thing}} to a child."}]
        assert version.variables == [{"name": "thing", "default": "", "description": ""}]
        assert version.params == {"temperature": 0.5, "max_tokens": 256}
        assert version.model_ids == ["gpt-5-mini", "gemini-2-5-flash"]
        assert version.author == users[who]
    else:
        assert response.status_code == 403


def test_save_keeps_earlier_turns(login, bob, team):
    prior = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    login(bob, team).post(reverse("prompts:save"), compare_post(prior=json.dumps(prior)))
    assert PromptVersion.objects.get().messages == [
        *prior,
        {"role": "user", "content": "Explain {{thing}} to a child."},
    ]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"save_name": " "}, "Give the prompt a name"),
        ({"prompt": " "}, "ends with a user message"),
        ({"temperature": "9"}, "between"),
    ],
)
def test_bad_input_saves_nothing_and_says_why(login, bob, team, overrides, message):
    response = login(bob, team).post(reverse("prompts:save"), compare_post(**overrides), follow=True)
    assert message in response.content.decode()
    assert not Prompt.objects.exists()


def test_save_as_new_version_keeps_variable_defaults(login, bob, team, prompt, v2):
    c = login(bob, team)
    c.post(
        reverse("prompts:save"),
        compare_post(save_as="version", prompt_version=str(v2.code), prompt="Summarise {{topic}} in two lines."),
    )
    v3 = prompt.versions.get(number=3)
    assert v3.variables == [{"name": "topic", "default": "Postgres branching", "description": "What to summarise"}]
    assert v3.author == bob


def test_a_viewer_cannot_save_a_new_version(login, victor, team, prompt, v2):
    response = login(victor, team).post(
        reverse("prompts:save"), compare_post(save_as="version", prompt_version=str(v2.code))
    )
    assert response.status_code == 403
    assert prompt.versions.count() == 2


def test_versions_are_numbered_and_never_change(login, bob, team, prompt, v2):
    before = (v2.system, v2.messages, v2.variables)
    login(bob, team).post(
        reverse("prompts:new_version", args=[prompt.code]),
        {
            "system": "New",
            "turns": "1",
            "role_0": "user",
            "content_0": "Say {{x}}",
            "variable": ["x"],
            "default_x": "hi",
            "note": "n",
        },
    )
    v2.refresh_from_db()
    assert (v2.system, v2.messages, v2.variables) == before
    v3 = prompt.versions.get(number=3)
    assert v3.variables == [{"name": "x", "default": "hi", "description": ""}]


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", True), ("victor", False)])
def test_new_version_needs_a_writer(login, users, team, prompt, who, allowed):
    c = login(users[who], team)
    c.post(reverse("prompts:new_version", args=[prompt.code]), {"turns": "1", "role_0": "user", "content_0": "x"})
    assert prompt.versions.count() == (3 if allowed else 2)


# --- pages, diff ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_every_member_reads_the_prompt_version_and_diff_pages(login, users, team, prompt, v2, who):
    c = login(users[who], team)
    assert "v2" in c.get(reverse("prompts:detail", args=[prompt.code])).content.decode()
    page = c.get(reverse("prompts:version", args=[v2.code])).content.decode()
    assert "Summarise {{topic}} in one line." in page and "What to summarise" in page
    diff = c.get(reverse("prompts:diff", args=[prompt.code]), {"a": 1, "b": 2}).content.decode()
    assert "<del>this.</del>" in diff
    assert "<ins>{{topic}}" in diff


def test_the_word_diff_marks_words_and_escapes_html():
    left, right = library.word_diff("keep <b>old</b> words", "keep <b>new</b> words here")
    assert "&lt;b&gt;" in left and "<b>" not in left
    assert "<del>&lt;b&gt;old&lt;/b&gt;</del>" in left
    assert "<ins>&lt;b&gt;new&lt;/b&gt;</ins>" in right
    assert right.endswith("<ins> here</ins>")


def test_a_missing_version_number_in_the_diff_is_404(login, alice, team, prompt):
    assert login(alice, team).get(reverse("prompts:diff", args=[prompt.code]), {"a": 1, "b": 9}).status_code == 404


# --- open in Compare ------------------------------------------------------------------------


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", True), ("victor", False)])
def test_open_in_compare_fills_the_form_with_the_variables(login, users, team, v2, who, allowed, catalog):
    c = login(users[who], team)
    response = c.post(reverse("prompts:open", args=[v2.code]), {"var_topic": "WAL"})
    if not allowed:
        assert response.status_code == 403
        return
    assert response["Location"] == reverse("compare:index") + "?prefill=1"
    page = c.get(response["Location"]).content.decode()
    assert "Summarise WAL in one line.</textarea>" in page
    assert f'name="prompt_version" value="{v2.code}"' in page
    assert 'value="gpt-5-nano" checked' in page
    # Taken once: a reload is an empty form.
    assert "Summarise WAL" not in c.get(response["Location"]).content.decode()


def test_a_variable_left_empty_uses_its_default_or_is_refused(login, bob, team, prompt):
    p = library.add_version(
        prompt,
        author=bob,
        system="",
        messages=[{"role": "user", "content": "{{a}} and {{b}}"}],
        params={},
        model_ids=[],
        variables=[{"name": "a", "default": "A"}],
    )
    c = login(bob, team)
    response = c.post(reverse("prompts:open", args=[p.code]), {"var_a": "", "var_b": " "}, follow=True)
    assert "The variable b is empty" in response.content.decode()
    assert "compare_prefill" not in c.session
    response = c.post(reverse("prompts:open", args=[p.code]), {"var_b": "B", "var_zz": "1"}, follow=True)
    assert "zz: not a variable of version 3" in response.content.decode()
    c.post(reverse("prompts:open", args=[p.code]), {"var_a": "", "var_b": "B"})
    assert c.session["compare_prefill"]["prompt"] == "A and B"


# --- evidence -------------------------------------------------------------------------------


def make_run(team, user, branch, version, cost="0.001", ttft=100, status="ok", model="gpt-5-mini", text="**Answer**"):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    run = Run.objects.create(
        team=team, user=user, branch=branch, messages=[{"role": "user", "content": "q"}], prompt_version=version.code
    )
    completion = Completion.objects.create(
        run=run,
        team=team,
        user=user,
        branch=branch,
        model=model,
        status=status,
        started=now,
        first_token_at=now + timedelta(milliseconds=ttft),
        finished=now + timedelta(milliseconds=ttft + 1000),
        completion_tokens=50,
        cost=cost,
        output_text=text,
    )
    if status != "streaming":
        # As the relay does when a request ends: the usage pages read the rollup first.
        from playground.usage.rollup import record

        completion.refresh_from_db()  # the values as stored (the cost a Decimal)
        record(completion)
    return run


def test_evidence_shows_medians_and_error_rate_per_model_with_links(login, alice, bob, team, v2, stored_branch):
    runs = [
        make_run(team, bob, stored_branch, v2, cost="0.001", ttft=100),
        make_run(team, bob, stored_branch, v2, cost="0.003", ttft=300),
        make_run(team, alice, stored_branch, v2, cost="0.002", ttft=200, status="error"),
    ]
    _, rows = library.evidence(v2, team)
    assert len(rows) == 1
    row = rows[0]
    assert row["count"] == 3
    assert str(row["median_cost"]) == "0.0020000000"
    assert row["median_ttft"] == 200
    assert row["median_speed"] == 50.0
    assert row["error_rate"] == pytest.approx(1 / 3)
    page = login(alice, team).get(reverse("prompts:version", args=[v2.code])).content.decode()
    for run in runs:
        assert reverse("runs:detail", args=[run.code]) in page
    assert "33%" in page


# --- fork, export, import -------------------------------------------------------------------


def test_fork_into_another_team_keeps_a_link_to_the_source(login, bob, team, prompt):
    from playground.teams.models import Team

    bobs = Team.objects.get(slug="bob")
    c = login(bob, team)
    c.post(reverse("prompts:fork", args=[prompt.code]), {"team": bobs.slug})
    copy = Prompt.objects.get(team=bobs)
    assert copy.forked_from == prompt
    assert copy.versions.count() == 2
    assert copy.versions.get(number=2).variables == prompt.versions.get(number=2).variables


def test_fork_into_a_team_where_one_is_viewer_is_refused(login, bob, team, prompt, django_user_model):
    from playground.teams.models import Membership, Team

    other = Team.objects.create(name="Other", slug="other")
    Membership.objects.create(user=bob, team=other, role="viewer")
    assert login(bob, team).post(reverse("prompts:fork", args=[prompt.code]), {"team": "other"}).status_code == 403
    assert not Prompt.objects.filter(team=other).exists()


def test_export_then_import_round_trips(login, alice, team, prompt):
    c = login(alice, team)
    exported = c.get(reverse("prompts:export", args=[prompt.code]))
    assert exported["Content-Disposition"].startswith("attachment")
    data = json.loads(exported.content)
    assert data["format"] == "gateway-playground.prompt" and len(data["versions"]) == 2
    upload = io.BytesIO(exported.content)
    upload.name = "summary.prompt.json"
    c.post(reverse("prompts:import"), {"file": upload})
    copy = Prompt.objects.exclude(pk=prompt.pk).get()
    assert copy.tags == ["summaries", "support"]
    assert [v.messages for v in copy.versions.order_by("number")] == [
        v.messages for v in prompt.versions.order_by("number")
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not json at all", "not JSON"),
        (b'{"hello": "world"}', "not a prompt export"),
        (b'{"format": "gateway-playground.prompt", "format_version": 1, "name": "x", "versions": []}', "no versions"),
        (
            b'{"format": "gateway-playground.prompt", "format_version": 1, "name": "x", "versions": [{"messages": []}]}',
            "ends with a user message",
        ),
    ],
)
def test_a_file_that_is_not_an_export_changes_nothing(login, alice, team, content, message):
    upload = io.BytesIO(content)
    upload.name = "x.json"
    response = login(alice, team).post(reverse("prompts:import"), {"file": upload}, follow=True)
    assert message in response.content.decode()
    assert not Prompt.objects.exists()


def test_a_viewer_cannot_import(login, victor, team):
    upload = io.BytesIO(b"{}")
    upload.name = "x.json"
    assert login(victor, team).post(reverse("prompts:import"), {"file": upload}).status_code == 403


# --- share links ----------------------------------------------------------------------------


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", False), ("victor", False)])
def test_share_links_are_made_by_admins(login, users, team, prompt, who, allowed):
    response = login(users[who], team).post(reverse("prompts:share", args=[prompt.code]))
    assert ShareLink.objects.exists() == allowed
    assert response.status_code == (302 if allowed else 403)
    if allowed:
        assert AuditEvent.objects.filter(action="share.created").exists()


def test_a_share_link_shows_the_prompt_and_chosen_outputs_to_anyone_and_nothing_private(
    client, login, alice, bob, team, prompt, v2, stored_branch
):
    run = make_run(team, bob, stored_branch, v2, cost="0.004242", text="**Shown answer**")
    hidden = make_run(team, bob, stored_branch, v2, text="Not chosen", model="gpt-5-nano")
    c = login(alice, team)
    c.post(reverse("prompts:showcase", args=[v2.code]), {"completion": str(run.completions.get().code)})
    c.post(reverse("prompts:share", args=[prompt.code]))
    link = ShareLink.objects.get()
    client.logout()
    response = client.get(reverse("shared:share", args=[link.token]))
    assert response.status_code == 200
    assert response["X-Robots-Tag"].startswith("noindex")
    html = response.content.decode()
    assert '<meta name="robots" content="noindex' in html
    assert "Summarise {{topic}} in one line." in html
    assert "<strong>Shown answer</strong>" in html
    for private in ["Not chosen", "0.004242", "$", stored_branch.name, "bob", "alice", "tokens"]:
        assert private not in html, private
    assert hidden


def test_a_revoked_link_is_404_and_a_deleted_prompts_link_says_so(client, login, alice, team, prompt):
    c = login(alice, team)
    c.post(reverse("prompts:share", args=[prompt.code]))
    link = ShareLink.objects.get()
    c.post(reverse("prompts:unshare", args=[prompt.code, link.code]))
    assert AuditEvent.objects.filter(action="share.revoked").exists()
    assert client.get(reverse("shared:share", args=[link.token])).status_code == 404
    c.post(reverse("prompts:share", args=[prompt.code]))
    second = ShareLink.objects.get(revoked_at__isnull=True)
    c.post(reverse("prompts:delete", args=[prompt.code]))
    response = client.get(reverse("shared:share", args=[second.token]))
    assert response.status_code == 410
    assert "was deleted" in response.content.decode()


def test_share_links_are_throttled(client, team, prompt, settings):
    settings.SHARE_RATE_PER_MINUTE = 3
    link = ShareLink.objects.create(prompt=prompt, team=team, token="tok-throttle")
    statuses = [client.get(reverse("shared:share", args=[link.token])).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_shared_prompt_can_be_forked_by_a_stranger_into_their_team(client, login, charlie, team, prompt):
    from playground.teams.models import Team

    link = ShareLink.objects.create(prompt=prompt, team=team, token="tok-fork")
    c = login(charlie)
    c.post(reverse("shared:share_fork", args=[link.token]), {"team": "charlie"})
    copy = Prompt.objects.get(team=Team.objects.get(slug="charlie"))
    assert copy.forked_from is None and "/s/tok-fork/" in copy.forked_from_label
    assert copy.versions.count() == 2


def test_a_private_prompt_cannot_be_shared(login, alice, team, prompt):
    prompt.visibility = "private"
    prompt.save()
    login(alice, team).post(reverse("prompts:share", args=[prompt.code]))
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", True), ("victor", False)])
def test_editing_a_prompts_name_and_tags_needs_a_writer(login, users, team, prompt, who, allowed):
    response = login(users[who], team).post(
        reverse("prompts:detail", args=[prompt.code]), {"name": "Renamed", "tags": "a, b", "visibility": "team"}
    )
    prompt.refresh_from_db()
    assert (prompt.name == "Renamed") == allowed
    assert response.status_code == (302 if allowed else 403)
    if allowed:
        assert prompt.tags == ["a", "b"]


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", False), ("victor", False)])
def test_deleting_a_prompt_is_for_its_author_or_an_admin(login, users, team, prompt, who, allowed):
    response = login(users[who], team).post(reverse("prompts:delete", args=[prompt.code]))
    assert Prompt.objects.filter(pk=prompt.pk).exists() != allowed
    assert response.status_code in (302, 403)


@pytest.mark.parametrize("who, allowed", [("alice", True), ("admin", True), ("bob", True), ("victor", False)])
def test_choosing_outputs_for_the_share_page_needs_a_writer(login, users, team, v2, stored_branch, bob, who, allowed):
    run = make_run(team, bob, stored_branch, v2)
    login(users[who], team).post(
        reverse("prompts:showcase", args=[v2.code]), {"completion": str(run.completions.get().code)}
    )
    assert v2.showcase.exists() == allowed


@pytest.mark.parametrize("who", ROLES)
def test_every_member_may_export_and_fork_into_their_own_team(login, users, team, prompt, who):
    c = login(users[who], team)
    assert c.get(reverse("prompts:export", args=[prompt.code])).status_code == 200
    own = {"alice": "alice", "admin": "ada", "bob": "bob", "victor": "victor"}[who]
    c.post(reverse("prompts:fork", args=[prompt.code]), {"team": own})
    assert Prompt.objects.filter(team__slug=own, forked_from=prompt).exists()


def test_the_prompt_pages_need_a_login(client, prompt, v2):
    for url in [
        reverse("prompts:index"),
        reverse("prompts:detail", args=[prompt.code]),
        reverse("prompts:version", args=[v2.code]),
    ]:
        assert client.get(url).status_code == 302


def test_compare_offers_the_teams_prompts_for_a_new_version(login, bob, team, prompt, catalog):
    c = login(bob, team)
    page = c.get(reverse("compare:index")).content.decode()
    assert f'<option value="{prompt.code}">Summary</option>' in page
    c.post(reverse("prompts:save"), compare_post(save_as="version", save_prompt=str(prompt.code)))
    assert prompt.versions.count() == 3


def test_a_viewer_is_offered_no_prompt_to_save_into(login, victor, team, prompt, catalog):
    page = login(victor, team).get(reverse("compare:index")).content.decode()
    assert f'value="{prompt.code}"' not in page
    assert "Save as prompt" not in page
    response = login(victor, team).post(
        reverse("prompts:save"), compare_post(save_as="version", save_prompt=str(prompt.code))
    )
    assert response.status_code == 403
    assert prompt.versions.count() == 2
