from django.urls import path

from . import views

urlpatterns = [
    path("health", views.hello),
    path("hello", views.hello),
    path("insert", views.insert),
    path("users", views.users_page),
    path("floor/me", views.me_floor),
    path("floor/users", views.users_floor),
    path("floor/intake", views.intake_floor),
]
