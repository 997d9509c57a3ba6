"""Who may do what: one rule per action, and nowhere else.

Each action names the lowest role allowed to do it; roles are ranked owner > admin >
member > viewer, so a role may do everything a lower one may.
"""

VIEWER, MEMBER, ADMIN, OWNER = "viewer", "member", "admin", "owner"
RANK = {VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3}

RULES = {
    # Viewers read: branches, models, usage, prompts, runs, members.
    "read": VIEWER,
    "leave": VIEWER,
    # Members run, write prompts and vote.
    "run": MEMBER,
    "write_prompts": MEMBER,
    "vote": MEMBER,
    # Admins manage branches, members, invitations, share links and prices.
    "manage_branches": ADMIN,
    "manage_members": ADMIN,
    "invite": ADMIN,
    "share": ADMIN,
    "set_prices": ADMIN,
    "rename_team": ADMIN,
    "read_audit": ADMIN,
    # Owners everything: they alone make or unmake owners.
    "manage_owners": OWNER,
    "transfer_ownership": OWNER,
}


def can(role, action) -> bool:
    """Whether `role` may do `action`. An unknown action is refused (a typo must not grant)."""
    needed = RULES.get(action)
    if needed is None:
        raise KeyError(f"No rule for the action {action!r}")
    return RANK.get(role, -1) >= RANK[needed]


def assignable_roles(role):
    """Roles a member with `role` may give to others: owners any, admins up to admin."""
    if can(role, "manage_owners"):
        return [OWNER, ADMIN, MEMBER, VIEWER]
    if can(role, "manage_members"):
        return [ADMIN, MEMBER, VIEWER]
    return []
