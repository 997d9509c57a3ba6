from django.urls import path

from . import views

app_name = "compare"
urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<uuid:code>/vote/", views.vote, name="vote"),
    path("runs/<uuid:code>/export.<str:kind>", views.export_run, name="export"),
    path("code/", views.get_code, name="code"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard/chart.svg", views.leaderboard_chart, name="leaderboard_chart"),
]
