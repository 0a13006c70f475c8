from django.urls import re_path

from .views import AuditEventListView

urlpatterns = [
    re_path(r"^events/?$", AuditEventListView.as_view(), name="audit-events"),
]
