"""Run routes, included into the API's "api" namespace by annotator/api/urls.py."""

from django.urls import path

from training.api import model_views, views

P = "projects/<id:project_id>/"
R = P + "runs/<id:run_id>/"

urlpatterns = [
    path(P + "runs/", views.RunListView.as_view(), name="run-list"),
    path(P + "runs/preflight/", views.PreflightView.as_view(), name="run-preflight"),
    path(P + "runs/hyperparameters/", views.HyperParametersView.as_view(), name="run-hyperparameters"),
    path(R, views.RunDetailView.as_view(), name="run-detail"),
    path(R + "cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path(R + "artifacts/", views.ArtifactListView.as_view(), name="run-artifacts"),
    path(R + "artifacts/<slug:name>/", views.ArtifactDownloadView.as_view(), name="run-artifact"),
    path(R + "web-model/<str:filename>", model_views.WebModelFileView.as_view(), name="run-web-model"),
    path(R + "predict/", model_views.PredictView.as_view(), name="run-predict"),
    # Stable URLs for apps and scripts: `latest` or a run id, then `<format>.zip`.
    path(P + "models/latest/<slug:name>.zip", model_views.LatestModelView.as_view(), name="model-latest"),
    path(P + "models/<id:run_id>/<slug:name>.zip", model_views.RunModelView.as_view(), name="model-by-run"),
]
