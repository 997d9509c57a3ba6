from django.urls import path

from . import budget_views, views

app_name = "usage"
urlpatterns = [
    path("", views.index, name="index"),
    path("requests/<uuid:code>/", views.request_detail, name="request"),
    path("charts/spend.svg", views.spend_chart, name="spend_chart"),
    path("charts/tokens.svg", views.tokens_chart, name="tokens_chart"),
    path("charts/ttft.svg", views.ttft_chart, name="ttft_chart"),
    path("charts/errors.svg", views.errors_chart, name="errors_chart"),
    path("budgets/", budget_views.budgets, name="budgets"),
    path("budgets/<uuid:code>/delete/", budget_views.budget_delete, name="budget_delete"),
    path("meters/", budget_views.meters, name="meters"),
    path("quality/", views.quality, name="quality"),
    path("export.csv", views.export_csv, name="export"),
]
