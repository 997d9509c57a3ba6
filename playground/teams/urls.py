from django.urls import path

from . import views

app_name = "teams"
urlpatterns = [
    path("", views.branches, name="branches"),
    path("", views.branches, name="index"),  # every section has an index (the team switch returns there)
    path("<uuid:code>/edit/", views.branch_edit, name="edit"),
    path("<uuid:code>/delete/", views.branch_delete, name="delete"),
    path("<uuid:code>/check/", views.branch_check, name="check"),
]
