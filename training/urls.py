from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    path("projects/<id:project_id>/runs/", views.run_list, name="run-list"),
    path("projects/<id:project_id>/runs/compare/", views.run_compare, name="run-compare"),
    path("projects/<id:project_id>/runs/<id:run_id>/", views.run_detail, name="run-detail"),
]
