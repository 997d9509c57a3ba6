"""Every new user gets a personal team they own, so every object has a team from day one."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.text import slugify

from .models import Membership, Team


def unique_team_slug(base):
    base = slugify(base)[:140] or "team"
    slug, n = base, 1
    # A team named after someone else may already hold the slug; suffixes keep it unique.
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="teams.personal_team")
def create_personal_team(sender, instance, created, raw=False, **kwargs):
    if not created or raw:  # raw: loaddata brings its own teams
        return
    with transaction.atomic():
        team = Team.objects.create(
            name=instance.get_username(), slug=unique_team_slug(instance.get_username()), personal=True
        )
        Membership.objects.create(user=instance, team=team, role=Membership.Role.OWNER)
