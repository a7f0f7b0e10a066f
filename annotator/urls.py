from django.urls import path

from annotator import views

app_name = "annotator"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/new/", views.project_new, name="project-new"),
    path("projects/<int:project_id>/", views.project_detail, name="project-detail"),
]
