"""Access to teams and branches: each helper returns the object or raises Http404 (not a
member: the object does not exist for you) or PermissionDenied (a member whose role may not
do this). Running on a branch is asked at every run start, so `runner_branch` remembers a
grant for a few seconds (dropped when a membership or branch changes).

Apps above teams keep the helpers of their own objects next to them (a logged request:
`playground.compare.access`), built on the same membership rule.
"""

import threading
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.http import Http404

from playground import memo

from .models import Branch, Membership, Team


def memberships_for_user(user):
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("team")


def get_membership(user, team) -> Membership:
    try:
        return Membership.objects.get(user=user, team=team)
    except Membership.DoesNotExist:
        raise Http404("No such team") from None


def get_team_for_user(user, slug) -> Team:
    if not user.is_authenticated:
        raise Http404("No such team")
    try:
        return Team.objects.for_user(user).get(slug=slug)
    except Team.DoesNotExist:
        raise Http404("No such team") from None


def get_branch_for_user(user, code) -> Branch:
    """The branch with this code in one of the user's teams, or 404."""
    if not user.is_authenticated:
        raise Http404("No such branch")
    try:
        return Branch.objects.for_user(user).select_related("team").get(code=code)
    except (Branch.DoesNotExist, ValidationError, ValueError, TypeError):
        # A code that is not a UUID is simply not found.
        raise Http404("No such branch") from None


def _branch_with_role(user, code, allowed):
    """The branch (404 for outsiders) if the user's role passes `allowed`, else 403.

    One query: the run path calls this before every run, so the role comes along with
    the branch instead of in a second query.
    """
    if not user.is_authenticated:
        raise Http404("No such branch")
    try:
        branch = (
            Branch.objects.filter(team__memberships__user=user)
            .annotate(user_role=F("team__memberships__role"))
            .select_related("team")
            .get(code=code)
        )
    except (Branch.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such branch") from None
    if not allowed(Membership(role=branch.user_role)):
        # The user can see the branch, so a 404 would be a lie; say it is forbidden.
        raise PermissionDenied("Your role in this team does not allow this.")
    return branch


def get_branch_for_runner(user, code) -> Branch:
    """A branch the user may send requests through (everyone but viewers)."""
    return _branch_with_role(user, code, lambda m: m.can_run)


# --- What a run start reads ---------------------------------------------------------------
# Every run asks for its branch and the user's role before its first token. A run start reads
# them from this process's memo (compare/runs.py then needs no database hop at all): entries
# are dropped here as soon as a membership, branch, team or user is saved or deleted in this
# process, and are at most RUN_START_MEMO_SECONDS (settings) old for changes made by another
# server process (a member removed there can start runs that much longer; what streams is
# logged as ever). A grant past half that age is read again in the background (playground.memo).
# Only grants are kept: a refusal is asked again every time. A grant read while a change was
# being made is not kept (the generation moved), and the memo is dropped again when the change
# commits, so a read between the save and its commit cannot keep the old grant either.
RUNNER_MEMO_MAX = 10_000

_runners: dict[tuple[int, uuid.UUID], tuple[float, Branch]] = {}
_runners_lock = threading.Lock()
_generation = 0


def _memo_key(user, code) -> tuple[int, uuid.UUID] | None:
    try:
        return (user.pk, uuid.UUID(str(code)))
    except (ValueError, TypeError, AttributeError):
        return None  # not a branch code: never memoised


def _entry(key) -> tuple[float, Branch] | None:
    return _runners.get(key) if key is not None else None


def _fresh_grant(key) -> Branch | None:
    hit = _entry(key)
    return hit[1] if hit is not None and memo.usable(hit[0]) else None


def runner_branch(user, code) -> Branch:
    """`get_branch_for_runner`, from the memo above when the grant is fresh."""
    key = _memo_key(user, code)
    branch = _fresh_grant(key)
    if branch is not None:
        return branch
    if key is None:
        return get_branch_for_runner(user, code)  # not found, said the usual way
    expires = memo.expiry()
    generation = _generation
    try:
        branch = get_branch_for_runner(user, code)
    except Exception:
        # Refused (or unreadable) now: a grant kept from before is not kept any longer.
        with _runners_lock:
            _runners.pop(key, None)
        raise
    with _runners_lock:
        if generation == _generation:
            if len(_runners) >= RUNNER_MEMO_MAX:
                _runners.clear()
            _runners[key] = (expires, branch)
    return branch


def runner_memoised(user, code) -> bool:
    """Whether `runner_branch` would answer from the memo (a run start then tries the loop)."""
    return _fresh_grant(_memo_key(user, code)) is not None


def runner_refresh_due(user, code) -> bool:
    """Whether the memoised grant is past half its time (see playground.memo)."""
    hit = _entry(_memo_key(user, code))
    return hit is not None and memo.due(hit[0])


def forget_runners(**kwargs):
    """Receiver of saves and deletes of what decides a grant: the memo is dropped now, and
    again when the change commits."""
    clear_runners_memo()
    transaction.on_commit(clear_runners_memo)


def clear_runners_memo():
    """Drop every memoised grant (and tests: rolled-back rows reuse ids)."""
    global _generation
    with _runners_lock:
        _runners.clear()
        _generation += 1


for _model in (Membership, Branch, Team, settings.AUTH_USER_MODEL):
    post_save.connect(forget_runners, sender=_model, dispatch_uid=f"teams.forget_runners.save.{_model}")
    post_delete.connect(forget_runners, sender=_model, dispatch_uid=f"teams.forget_runners.delete.{_model}")


def get_branch_for_manager(user, code) -> Branch:
    """A branch the user may edit or delete (owners and admins)."""
    return _branch_with_role(user, code, lambda m: m.can_manage)
