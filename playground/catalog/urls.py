from django.urls import path

from . import price_views, views

app_name = "catalog"
urlpatterns = [
    path("", views.index, name="index"),
    path("prices/", price_views.prices, name="prices"),
    path("prices/remove/", price_views.price_remove, name="price_remove"),
]
