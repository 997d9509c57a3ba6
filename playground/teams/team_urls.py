from django.urls import path

from . import team_views as views

app_name = "team"
urlpatterns = [
    path("", views.index, name="index"),
    path("switch/", views.switch, name="switch"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/rename/", views.rename, name="rename"),
    path("<slug:slug>/members/role/", views.change_role, name="role"),
    path("<slug:slug>/members/remove/", views.remove, name="remove"),
    path("<slug:slug>/leave/", views.leave, name="leave"),
    path("<slug:slug>/transfer/", views.transfer, name="transfer"),
    path("<slug:slug>/invitations/", views.invite, name="invite"),
    path("<slug:slug>/invitations/<uuid:code>/revoke/", views.revoke_invitation, name="revoke"),
    path("<slug:slug>/audit/", views.audit_log, name="audit"),
]
