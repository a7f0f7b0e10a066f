"""Assist routes, included into the API's "api" namespace by annotator/api/urls.py."""

from django.urls import path

from assist.api import views

P = "projects/<id:project_id>/"
I = P + "images/<id:image_id>/"  # noqa: E741

urlpatterns = [
    path(P + "assist/", views.AssistView.as_view(), name="assist"),
    path(P + "predictions/", views.PredictionListView.as_view(), name="prediction-list"),
    path(P + "predictions/<id:prediction_id>/", views.PredictionDetailView.as_view(), name="prediction-detail"),
    path(P + "predictions/<id:prediction_id>/cancel/", views.PredictionCancelView.as_view(), name="prediction-cancel"),
    path(I + "suggestions/", views.ImageSuggestionsView.as_view(), name="image-suggestions"),
    path(I + "suggestions/reject/", views.RejectSuggestionsView.as_view(), name="image-suggestions-reject"),
    path(P + "auto-label/", views.AutoLabelListView.as_view(), name="autolabel-list"),
    path(P + "auto-label/preview/", views.AutoLabelPreviewView.as_view(), name="autolabel-preview"),
    path(P + "auto-label/<id:autolabel_id>/", views.AutoLabelDetailView.as_view(), name="autolabel-detail"),
    path(P + "runs/<id:run_id>/suggestion-stats/", views.SuggestionStatsView.as_view(), name="run-suggestion-stats"),
]
