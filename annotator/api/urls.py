from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser

from annotator.api import bucket_views, dataset_views, manage_views, navigation, review, views
from annotator.api.parsers import JSONParser

app_name = "api"

P = "projects/<id:project_id>/"
I = P + "images/<id:image_id>/"  # noqa: E741

urlpatterns = [
    # DRF's view names its own parsers; ours refuses JSON nested too deeply (annotator/api/parsers.py).
    path(
        "auth/token/", ObtainAuthToken.as_view(parser_classes=[FormParser, MultiPartParser, JSONParser]), name="token"
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path(P, views.ProjectDetailView.as_view(), name="project-detail"),
    path(P + "labels/", views.LabelListView.as_view(), name="label-list"),
    path(P + "labels/order/", manage_views.LabelOrderView.as_view(), name="label-order"),
    path(P + "labels/<id:label_id>/", views.LabelDetailView.as_view(), name="label-detail"),
    path(P + "labels/<id:label_id>/usage/", manage_views.LabelUsageView.as_view(), name="label-usage"),
    path(P + "labels/<id:label_id>/merge/", manage_views.LabelMergeView.as_view(), name="label-merge"),
    path(P + "images/", views.ImageListView.as_view(), name="image-list"),
    path(P + "images/counts/", views.ImageCountsView.as_view(), name="image-counts"),
    path(P + "images/ids/", manage_views.ImageIdsView.as_view(), name="image-ids"),
    path(P + "images/bulk/delete/", manage_views.BulkDeleteView.as_view(), name="image-bulk-delete"),
    path(P + "images/bulk/no-objects/", manage_views.BulkNegativeView.as_view(), name="image-bulk-negative"),
    path(P + "images/bulk/send-to-review/", manage_views.BulkSendToReviewView.as_view(), name="image-bulk-review"),
    path(I, views.ImageDetailView.as_view(), name="image-detail"),
    path(I + "annotations/", views.AnnotationsView.as_view(), name="image-annotations"),
    path(I + "position/", navigation.ImagePositionView.as_view(), name="image-position"),
    path(I + "file/", views.ImageFileView.as_view(), name="image-file"),
    path(I + "thumbnail/", views.ImageThumbnailView.as_view(), name="image-thumbnail"),
    path(I + "review/", review.ImageReviewView.as_view(), name="image-review"),
    path(P + "review/queue/", review.ReviewQueueView.as_view(), name="review-queue"),
    path(P + "review/queue/summary/", review.ReviewQueueSummaryView.as_view(), name="review-queue-summary"),
    path(P + "review/bulk/", review.BulkReviewView.as_view(), name="review-bulk"),
    path("storage/test/", bucket_views.ConnectionTestView.as_view(), name="storage-test"),
    path(P + "storage/", bucket_views.ProjectStorageView.as_view(), name="project-storage"),
    path(P + "storage/test/", bucket_views.ProjectStorageTestView.as_view(), name="project-storage-test"),
    path(P + "sync/", bucket_views.SyncListView.as_view(), name="sync-list"),
    path(P + "sync/<id:job_id>/", bucket_views.SyncDetailView.as_view(), name="sync-detail"),
    path(P + "annotations-file/", bucket_views.AnnotationsFileView.as_view(), name="annotations-file"),
    path(P + "imports/", dataset_views.ImportListView.as_view(), name="import-list"),
    path(P + "imports/<id:import_id>/", dataset_views.ImportDetailView.as_view(), name="import-detail"),
    path(P + "exports/", dataset_views.ExportListView.as_view(), name="export-list"),
    path(P + "exports/<id:export_id>/", dataset_views.ExportDetailView.as_view(), name="export-detail"),
    path(P + "exports/<id:export_id>/download/", dataset_views.ExportDownloadView.as_view(), name="export-download"),
    path("", include("training.api.urls")),
    path("", include("assist.api.urls")),
]
