from django.urls import path

from . import views

app_name = "usage"
urlpatterns = [
    path("", views.index, name="index"),
    path("requests/<uuid:code>/", views.request_detail, name="request"),
]
