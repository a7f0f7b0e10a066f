from django.urls import path

from annotator import bucket_views, editor_views, views

app_name = "annotator"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/new/", views.project_new, name="project-new"),
    path("projects/new/bucket/", bucket_views.project_from_bucket, name="project-from-bucket"),
    path("projects/<id:project_id>/", views.project_detail, name="project-detail"),
    path("projects/<id:project_id>/label/", editor_views.editor, name="editor"),
    path("projects/<id:project_id>/storage/", bucket_views.project_bucket, name="project-bucket"),
]
