"""Browser pages on tenant hosts."""

from django.urls import path

from .web import (
    home_page,
    invitation_page,
    login_page,
    logout_page,
    password_reset_confirm_page,
    password_reset_page,
)

urlpatterns = [
    path("login/", login_page, name="login"),
    path("password/reset/", password_reset_page, name="password-reset"),
    path("password/reset/<str:token>/", password_reset_confirm_page, name="password-reset-confirm"),
    path("invitations/<str:token>/", invitation_page, name="invitation"),
    path("logout/", logout_page, name="logout"),
    path("", home_page, name="home"),
]
