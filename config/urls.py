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

# A URL that matches nothing (an unknown path, an id too large to exist) answers the API's
# error envelope under /api/ and the site's page elsewhere.
handler404 = "annotator.api.errors.not_found"
handler400 = "annotator.api.errors.bad_request"
