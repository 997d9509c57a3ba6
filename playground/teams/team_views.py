"""Teams: create, rename, switch, members and roles, invitations, the audit log.

Every view finds the team through `get_team_for_user` (404 for outsiders) and checks the
member's role against the rules in roles.py (403 when the role is too low).
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import audit, roles
from .access import get_membership, get_team_for_user
from .current import memberships, set_current_team
from .forms import InvitationForm, SignupForm, TeamForm
from .models import AuditEvent, Invitation, Membership, Team
from .signals import unique_team_slug

Action = AuditEvent.Action


def _require(membership, action, message="Your role in this team does not allow this."):
    if not membership.can(action):
        raise PermissionDenied(message)


def _team_url(team):
    return reverse("team:detail", args=[team.slug])


@login_required
@require_http_methods(["GET", "POST"])
def index(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        with transaction.atomic():
            team = Team.objects.create(name=name, slug=unique_team_slug(name))
            Membership.objects.create(user=request.user, team=team, role=Membership.Role.OWNER)
        set_current_team(request, team)
        messages.success(request, f"Team “{team.name}” created. Invite people from its page.")
        return redirect(_team_url(team))
    rows = [(m, m.team.memberships.count()) for m in memberships(request)]
    return render(request, "teams/teams.html", {"rows": rows, "form": form})


@login_required
@require_POST
def switch(request):
    team = get_team_for_user(request.user, request.POST.get("team") or "")
    return set_current_team(request, team, redirect(_after_switch(request, request.POST.get("next") or "")))


def _after_switch(request, target):
    """Back to the page the switch was made on, or to its section's list when that page
    shows one object (of the team left behind)."""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return reverse("compare:index")
    try:
        match = resolve(target)
    except Resolver404:
        return reverse("compare:index")
    if match.kwargs:
        try:
            return reverse(f"{match.namespace}:index")
        except NoReverseMatch:
            return reverse("compare:index")
    return target


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


@login_required
@require_GET
def detail(request, slug):
    team = get_team_for_user(request.user, slug)
    membership = get_membership(request.user, team)
    members = list(team.memberships.select_related("user").order_by("user__username"))
    owners = sum(1 for m in members if m.role == Membership.Role.OWNER)
    can_invite = membership.can("invite")
    invitations = list(team.invitations.select_related("created_by", "used_by")[:50]) if can_invite else []
    assignable = roles.assignable_roles(membership.role)
    return render(
        request,
        "teams/team.html",
        {
            "team": team,
            "membership": membership,
            "members": [
                {
                    "m": m,
                    "is_me": m.user_id == request.user.pk,
                    # Owners are changed only by owners; the last owner keeps the role.
                    "editable": bool(assignable)
                    and (m.role != Membership.Role.OWNER or membership.can("manage_owners"))
                    and not (m.role == Membership.Role.OWNER and owners == 1),
                }
                for m in members
            ],
            "owners": owners,
            "role_choices": [(r, label) for r, label in Membership.Role.choices if r in assignable],
            "invitations": invitations,
            "invite_form": InvitationForm(roles=assignable) if can_invite else None,
            "rename_form": TeamForm(initial={"name": team.name}) if membership.can("rename_team") else None,
            "can_transfer": membership.can("transfer_ownership"),
            "can_audit": membership.can("read_audit"),
            "new_link": request.session.pop("new_invitation_link", None),
        },
    )


@login_required
@require_POST
def rename(request, slug):
    team = get_team_for_user(request.user, slug)
    _require(get_membership(request.user, team), "rename_team")
    form = TeamForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["name"]))
        return redirect(_team_url(team))
    old, team.name = team.name, form.cleaned_data["name"]
    team.save(update_fields=["name"])
    audit.record(request, team, Action.TEAM_RENAMED, f"{old} → {team.name}")
    messages.success(request, f"Team renamed to “{team.name}”.")
    return redirect(_team_url(team))


def _target(team, request):
    """The membership named by the form's `user` field, in this team, or 404."""
    try:
        return Membership.objects.select_related("user").get(team=team, user__username=request.POST.get("user") or "")
    except Membership.DoesNotExist:
        raise Http404("No such member") from None


def _owner_count(team):
    return team.memberships.filter(role=Membership.Role.OWNER).count()


@login_required
@require_POST
def change_role(request, slug):
    team = get_team_for_user(request.user, slug)
    actor = get_membership(request.user, team)
    _require(actor, "manage_members")
    with transaction.atomic():
        target = _target(team, request)
        role = request.POST.get("role")
        if role not in roles.assignable_roles(actor.role):
            messages.error(request, "You cannot give that role.")
            return redirect(_team_url(team))
        if target.role == Membership.Role.OWNER:
            _require(actor, "manage_owners", "Only owners can change an owner's role.")
            if role != Membership.Role.OWNER and _owner_count(team) == 1:
                messages.error(request, "The team's last owner stays an owner: make someone else owner first.")
                return redirect(_team_url(team))
        if role == target.role:
            return redirect(_team_url(team))
        old, target.role = target.role, role
        target.save(update_fields=["role"])
        audit.record(request, team, Action.ROLE_CHANGED, f"{target.user.get_username()}: {old} → {role}")
    messages.success(request, f"{target.user.get_username()} is now {role}.")
    return redirect(_team_url(team))


@login_required
@require_POST
def remove(request, slug):
    team = get_team_for_user(request.user, slug)
    actor = get_membership(request.user, team)
    _require(actor, "manage_members")
    target = _target(team, request)
    if target.user_id == request.user.pk:
        return leave(request, slug)
    if target.role == Membership.Role.OWNER:
        _require(actor, "manage_owners", "Only owners can remove an owner.")
    name = target.user.get_username()
    target.delete()
    audit.record(request, team, Action.REMOVED, name)
    messages.success(request, f"{name} was removed from {team.name}.")
    return redirect(_team_url(team))


@login_required
@require_POST
def leave(request, slug):
    team = get_team_for_user(request.user, slug)
    membership = get_membership(request.user, team)
    with transaction.atomic():
        if membership.role == Membership.Role.OWNER and _owner_count(team) == 1:
            messages.error(request, "You are the last owner: transfer ownership before you leave.")
            return redirect(_team_url(team))
        membership.delete()
        audit.record(request, team, Action.LEFT, request.user.get_username())
    messages.success(request, f"You left {team.name}.")
    return redirect("team:index")


@login_required
@require_POST
def transfer(request, slug):
    team = get_team_for_user(request.user, slug)
    actor = get_membership(request.user, team)
    _require(actor, "transfer_ownership")
    target = _target(team, request)
    if target.pk == actor.pk:
        return redirect(_team_url(team))
    with transaction.atomic():
        target.role = Membership.Role.OWNER
        target.save(update_fields=["role"])
        actor.role = Membership.Role.ADMIN
        actor.save(update_fields=["role"])
        audit.record(request, team, Action.OWNERSHIP_TRANSFERRED, f"{request.user.get_username()} → {target.user}")
    messages.success(request, f"{target.user.get_username()} now owns {team.name}; you are an admin.")
    return redirect(_team_url(team))


@login_required
@require_POST
def invite(request, slug):
    team = get_team_for_user(request.user, slug)
    actor = get_membership(request.user, team)
    _require(actor, "invite")
    form = InvitationForm(request.POST, roles=roles.assignable_roles(actor.role))
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(_team_url(team))
    data = form.cleaned_data
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    invitation = Invitation.objects.create(
        team=team,
        role=data["role"],
        token_hash=_hash(token),
        email=data["email"],
        created_by=request.user,
        created=now,
        expires=now + timedelta(days=data["days"]),
    )
    link = request.build_absolute_uri(reverse("invitation", args=[token]))
    audit.record(
        request, team, Action.INVITED, f"as {invitation.role}" + (f" ({invitation.email})" if invitation.email else "")
    )
    if invitation.email:
        send_mail(
            f"Join {team.name} on Gateway Playground",
            f"{request.user.get_username()} invites you to the team {team.name} as {invitation.role}.\n\n"
            f"Open this link to join (it works once, until {invitation.expires:%Y-%m-%d %H:%M} UTC):\n{link}\n",
            settings.DEFAULT_FROM_EMAIL,
            [invitation.email],
        )
        messages.success(request, f"Invitation sent to {invitation.email}.")
    # Shown once: only the hash is stored.
    request.session["new_invitation_link"] = link
    return redirect(_team_url(team))


@login_required
@require_POST
def revoke_invitation(request, slug, code):
    team = get_team_for_user(request.user, slug)
    _require(get_membership(request.user, team), "invite")
    updated = Invitation.objects.pending().filter(team=team, code=code).update(revoked_at=timezone.now())
    if updated:
        audit.record(request, team, Action.INVITATION_REVOKED)
        messages.success(request, "Invitation revoked: its link no longer works.")
    else:
        messages.error(request, "That invitation was already used, revoked or expired.")
    return redirect(_team_url(team))


@login_required
@require_GET
def audit_log(request, slug):
    team = get_team_for_user(request.user, slug)
    _require(get_membership(request.user, team), "read_audit", "Only owners and admins can read the audit log.")
    events = team.audit_events.select_related("actor")[:500]
    return render(request, "teams/audit.html", {"team": team, "events": events})


def _join(request, invitation, user):
    """Use the invitation for `user` (row locked: a link works once). Returns an error or None."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state != "pending":
            return f"This invitation was {invitation.state}."
        if Membership.objects.filter(team=invitation.team, user=user).exists():
            return f"You are already in {invitation.team.name}; the invitation is left for someone else."
        Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
        invitation.used_at = timezone.now()
        invitation.used_by = user
        invitation.save(update_fields=["used_at", "used_by"])
        AuditEvent.objects.create(
            team=invitation.team,
            actor=user,
            action=Action.JOINED,
            detail=f"{user.get_username()} as {invitation.role}",
            ip=audit.client_address(request),
        )
    return None


@require_http_methods(["GET", "POST"])
def accept(request, token):
    """An invitation link: log in or sign up (even when signup is closed), then join."""
    invitation = Invitation.objects.select_related("team", "created_by").filter(token_hash=_hash(token)).first()
    if invitation is None or invitation.state != "pending":
        state = invitation.state if invitation else "unknown"
        messages_by_state = {
            "used": "This invitation link was already used. Ask for a new one.",
            "revoked": "This invitation was revoked. Ask for a new one.",
            "expired": "This invitation has expired. Ask for a new one.",
            "unknown": "This invitation link is not valid.",
        }
        return render(request, "teams/invitation.html", {"error": messages_by_state[state]}, status=410)
    context = {"invitation": invitation}
    if request.user.is_authenticated:
        if request.method == "POST":
            error = _join(request, invitation, request.user)
            if error:
                messages.error(request, error)
                return redirect(_team_url(invitation.team) if "already" in error else "team:index")
            set_current_team(request, invitation.team)
            messages.success(request, f"You joined {invitation.team.name} as {invitation.role}.")
            return redirect(_team_url(invitation.team))
        return render(request, "teams/invitation.html", context)
    signup_form = SignupForm(prefix="signup")
    login_form = AuthenticationForm(request, prefix="login")
    if request.method == "POST":
        if "signup" in request.POST:
            signup_form = SignupForm(request.POST, prefix="signup")
            if signup_form.is_valid():
                try:
                    with transaction.atomic():
                        user = signup_form.save()
                        error = _join(request, invitation, user)
                        if error:
                            raise _JoinFailed(error)
                except _JoinFailed as exc:
                    messages.error(request, str(exc))
                    return redirect(request.path)
                except IntegrityError:  # the same name signed up a moment ago
                    messages.error(request, "That username is taken.")
                    return redirect(request.path)
                return _logged_in(request, user, invitation)
        else:
            login_form = AuthenticationForm(request, data=request.POST, prefix="login")
            if login_form.is_valid():
                user = login_form.get_user()
                error = _join(request, invitation, user)
                login(request, user)
                if error:
                    messages.error(request, error)
                    return redirect("team:index")
                return _logged_in(request, user, invitation, logged=True)
    context.update(signup_form=signup_form, login_form=login_form)
    return render(request, "teams/invitation.html", context)


class _JoinFailed(Exception):
    pass


def _logged_in(request, user, invitation, logged=False):
    if not logged:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    set_current_team(request, invitation.team)
    messages.success(request, f"Welcome to {invitation.team.name}: you joined as {invitation.role}.")
    return redirect(_team_url(invitation.team))
