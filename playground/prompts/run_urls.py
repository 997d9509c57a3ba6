from django.urls import path

from . import run_views as views

app_name = "runs"
urlpatterns = [
    path("", views.index, name="index"),
    path("<uuid:code>/", views.detail, name="detail"),
    path("<uuid:code>/compare/", views.open_in_compare, name="open"),
    path("<uuid:code>/again/", views.again, name="again"),
]
