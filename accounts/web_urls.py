"""Browser pages on tenant hosts (contract section 10)."""

from django.urls import path

from .web import home_page, login_page, logout_page

urlpatterns = [
    path("login/", login_page, name="login"),
    path("logout/", logout_page, name="logout"),
    path("", home_page, name="home"),
]
