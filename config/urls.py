from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("annotator.urls")),
    path("", include("training.urls")),
    path("", include("teams.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("annotator.api.urls")),
    path("api/v1/", include("teams.api.urls")),
    path("admin/", admin.site.urls),
]
