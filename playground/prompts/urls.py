from django.urls import path

from . import share_views, views

app_name = "prompts"
urlpatterns = [
    path("", views.index, name="index"),
    path("save/", views.save, name="save"),
    path("import/", views.import_view, name="import"),
    path("<uuid:code>/", views.detail, name="detail"),
    path("<uuid:code>/delete/", views.delete, name="delete"),
    path("<uuid:code>/versions/", views.new_version, name="new_version"),
    path("<uuid:code>/diff/", views.diff, name="diff"),
    path("<uuid:code>/fork/", views.fork, name="fork"),
    path("<uuid:code>/export/", views.export, name="export"),
    path("<uuid:code>/share/", share_views.create, name="share"),
    path("<uuid:code>/share/<uuid:link>/revoke/", share_views.revoke, name="unshare"),
    path("versions/<uuid:code>/", views.version, name="version"),
    path("versions/<uuid:code>/compare/", views.open_in_compare, name="open"),
    path("versions/<uuid:code>/showcase/", views.showcase, name="showcase"),
]

share_urlpatterns = [
    path("<str:token>/", share_views.public, name="share"),
    path("<str:token>/fork/", share_views.fork, name="share_fork"),
]
