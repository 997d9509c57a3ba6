from django.urls import path

from . import model_views, price_views, views

app_name = "catalog"
urlpatterns = [
    path("", views.index, name="index"),
    path("prices/", price_views.prices, name="prices"),
    path("prices/remove/", price_views.price_remove, name="price_remove"),
    # Last: a model id is any other single path segment.
    path("<str:model_id>/", model_views.model_detail, name="model"),
]
