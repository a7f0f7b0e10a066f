from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import obtain_auth_token

from annotator.api import views

app_name = "api"

P = "projects/<int:project_id>/"
I = P + "images/<int:image_id>/"  # noqa: E741

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path(P, views.ProjectDetailView.as_view(), name="project-detail"),
    path(P + "labels/", views.LabelListView.as_view(), name="label-list"),
    path(P + "labels/<int:label_id>/", views.LabelDetailView.as_view(), name="label-detail"),
    path(P + "images/", views.ImageListView.as_view(), name="image-list"),
    path(P + "images/counts/", views.ImageCountsView.as_view(), name="image-counts"),
    path(I, views.ImageDetailView.as_view(), name="image-detail"),
    path(I + "annotations/", views.AnnotationsView.as_view(), name="image-annotations"),
    path(I + "file/", views.ImageFileView.as_view(), name="image-file"),
    path(I + "thumbnail/", views.ImageThumbnailView.as_view(), name="image-thumbnail"),
]
