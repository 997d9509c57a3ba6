from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from playground.prompts.urls import share_urlpatterns
from playground.teams import team_views as team_views_invite
from playground.teams import views as team_views
from playground.usage.metrics import metrics_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="compare:index", permanent=False)),
    path("accounts/signup/", team_views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("branches/", include("playground.teams.urls")),
    path("teams/", include("playground.teams.team_urls")),
    path("prompts/", include("playground.prompts.urls")),
    path("runs/", include("playground.prompts.run_urls")),
    path("s/", include((share_urlpatterns, "shared"))),
    path("invite/<str:token>/", team_views_invite.accept, name="invitation"),
    path("compare/", include("playground.compare.urls")),
    path("models/", include("playground.catalog.urls")),
    path("usage/", include("playground.usage.urls")),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
]
