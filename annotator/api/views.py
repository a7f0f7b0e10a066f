"""REST endpoints for projects, labels, images and annotations.

Views stay thin: resolve the project for the user (404 for outsiders, 403 for
a role without the action), call one service, serialise the result.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator.api.bucket_serializers import ProjectCreateWithStorageSerializer, create_project_from_storage_block
from annotator.api.errors import ApiError, error_response
from annotator.api.pagination import KeyCursorPagination, UncertaintyCursorPagination
from annotator.api.params import bool_param, int_param
from annotator.api.schema import errors
from annotator.api.serializers import (
    AnnotationsSerializer,
    ImageCountsSerializer,
    ImageSerializer,
    LabelSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    UploadResultSerializer,
)
from annotator.buckets.thumbnails import ensure_thumbnail
from annotator.ids import MAX_VERSION, parse_count
from annotator.models import Box, Image, ImageStatus, Membership, Project, ProjectType
from annotator.permissions import Action, project_for
from annotator.services import images as image_service
from annotator.services import labels as label_service
from annotator.services import tally
from annotator.services.annotations import StaleVersion, request_fingerprint, save_annotations
from annotator.services.projects import create_label, create_project
from annotator.storage import project_bucket

_METHOD_ACTIONS = {"GET": Action.VIEW, "HEAD": Action.VIEW, "OPTIONS": Action.VIEW}


class ProjectScopedMixin(APIView):
    """Resolves `self.project` for the URL's project id, checking the action for the method."""

    # Per-method actions; unsafe methods must be listed or the request is refused.
    actions: dict[str, Action] = {}

    @classmethod
    def method_actions(cls) -> dict[str, Action]:
        """Method → required action, as enforced below; the permission tests read the same map."""
        return {**_METHOD_ACTIONS, **cls.actions}

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        action = self.method_actions().get(request.method or "")
        if action is None:
            raise ApiError("method_not_allowed", f"{request.method} is not supported here.", 405)
        self.project, self.role = project_for(request.user, self.kwargs["project_id"], action)


class ProjectListView(generics.ListCreateAPIView):
    serializer_class = ProjectSerializer
    pagination_class = None

    def get_queryset(self):
        return Project.objects.for_user(self.request.user).order_by("-created_at")

    def get_serializer_context(self) -> dict:
        roles = dict(Membership.objects.filter(user=current_user(self.request)).values_list("project_id", "role"))
        return {**super().get_serializer_context(), "roles": roles}

    @extend_schema(request=ProjectCreateWithStorageSerializer, responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        serializer = ProjectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name, type_ = serializer.validated_data["name"], serializer.validated_data["type"]
        storage = request.data.get("storage") if isinstance(request.data, dict) else None  # a dict: is_valid passed
        if storage is not None:
            # A project bound to the admin's own bucket, first sync queued (docs/buckets.md).
            project = create_project_from_storage_block(current_user(request), name, type_, storage)
        else:
            project = create_project(current_user(request), name, type_, serializer.validated_data.get("labels", []))
        switches = {
            name: serializer.validated_data[name]
            for name in ("annotators_create_labels", "reviewers_review_own_work")
            if name in serializer.validated_data
        }
        if switches:
            for name, value in switches.items():
                setattr(project, name, value)
            project.save(update_fields=list(switches))
        context = {"roles": {project.pk: "owner"}}
        return Response(ProjectSerializer(project, context=context).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(ProjectScopedMixin, APIView):
    actions = {"PATCH": Action.MANAGE_PROJECT, "DELETE": Action.DELETE_PROJECT}
    serializer_class = ProjectSerializer

    def _data(self) -> dict:
        return ProjectSerializer(self.project, context={"roles": {self.project.pk: self.role}}).data

    def get(self, request: Request, project_id: int) -> Response:
        return Response(self._data())

    def patch(self, request: Request, project_id: int) -> Response:
        serializer = ProjectSerializer(self.project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(self._data())

    def delete(self, request: Request, project_id: int) -> Response:
        self.project.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LabelListView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.CREATE_LABEL}
    serializer_class = LabelSerializer

    @extend_schema(responses=LabelSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        return Response(LabelSerializer(self.project.labels.all(), many=True).data)

    @extend_schema(responses={201: LabelSerializer, **errors(409)})
    def post(self, request: Request, project_id: int) -> Response:
        serializer = LabelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        label = create_label(
            self.project, serializer.validated_data["name"], serializer.validated_data.get("color", "")
        )
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)


class LabelDetailView(ProjectScopedMixin, APIView):
    actions = {"PATCH": Action.MANAGE_LABELS, "DELETE": Action.MANAGE_LABELS}
    serializer_class = LabelSerializer

    def get(self, request: Request, project_id: int, label_id: int) -> Response:
        return Response(LabelSerializer(get_object_or_404(self.project.labels, pk=label_id)).data)

    @extend_schema(responses={200: LabelSerializer, **errors(409)})
    def patch(self, request: Request, project_id: int, label_id: int) -> Response:
        """Rename or recolour (`order` is set for all labels at once: PUT labels/order/)."""
        label = get_object_or_404(self.project.labels, pk=label_id)
        serializer = LabelSerializer(label, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        label = label_service.update_label(label, name=data.get("name"), color=data.get("color") or None)
        return Response(LabelSerializer(label).data)

    def delete(self, request: Request, project_id: int, label_id: int) -> Response:
        """Delete the label with its boxes and classes (POST .../merge/ keeps them under another label)."""
        label_service.delete_label(get_object_or_404(self.project.labels, pk=label_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# The image list's orders and how each pages: by key (the default), or the images the assist model
# was least sure of first (`Image.uncertainty`, docs/assist.md), which holds only predicted images.
IMAGE_ORDERS: dict[str, type[KeyCursorPagination]] = {
    "key": KeyCursorPagination,
    "uncertain": UncertaintyCursorPagination,
}

_FILTERS = [
    OpenApiParameter("status", str, description=f"One or more of {ImageStatus.values}, comma-separated."),
    OpenApiParameter("label", int, description="Images carrying this label (boxes or class)."),
    OpenApiParameter("missing", bool, description="true: only images whose object left the bucket (default false)."),
    OpenApiParameter(
        "auto_labelled", bool, description="true: only images a bulk auto-label wrote and nobody saved since."
    ),
    OpenApiParameter(
        "order",
        str,
        enum=list(IMAGE_ORDERS),
        description="`key` (default), or `uncertain`: the images the assist model predicted, least sure first.",
    ),
]


def image_order(request: Request) -> str:
    """`?order=` of the image list: one of IMAGE_ORDERS, `key` when absent."""
    order = request.query_params.get("order") or "key"
    if order not in IMAGE_ORDERS:
        raise ApiError("invalid_order", f"Unknown order {order!r}; use one of {list(IMAGE_ORDERS)}.")
    return order


def filtered_images(project: Project, request: Request):
    """The project's images under the grid's filters (`status`, `label`, `missing`, `auto_labelled`), unordered.

    Under `order=uncertain` only predicted images are in the list: the others have no place in that order.
    """
    images = Image.objects.filter(project=project)
    params = request.query_params
    # Objects gone from the bucket keep their annotations but leave the default grid.
    missing = bool_param(request, "missing", code="invalid_filter")
    images = images.filter(missing=bool(missing))
    if (auto_labelled := bool_param(request, "auto_labelled", code="invalid_filter")) is not None:
        images = images.filter(auto_labelled=auto_labelled)
    if image_order(request) == "uncertain":
        images = images.filter(uncertainty__isnull=False)
    if wanted := params.get("status"):
        # Several statuses, comma-separated: an annotator's queue is "unlabelled,rejected".
        statuses = wanted.split(",")
        if unknown := [w for w in statuses if w not in ImageStatus.values]:
            raise ApiError("invalid_filter", f"Unknown status {unknown[0]!r}; use one of {ImageStatus.values}.")
        images = images.filter(status__in=statuses)
    if (label := int_param(request, "label", code="invalid_filter")) is not None:
        images = images.carrying_label(label, as_class=project.type == ProjectType.CLASSIFICATION)
    return images


class ImageListView(ProjectScopedMixin, generics.GenericAPIView):
    actions = {"POST": Action.UPLOAD}
    serializer_class = ImageSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        images = filtered_images(self.project, self.request)
        return images.select_related("last_review__reviewer").prefetch_related("labels")

    @property
    def paginator(self) -> KeyCursorPagination:
        """The pagination of the requested order (the schema documents the default, by key)."""
        if not hasattr(self, "_paginator"):
            self._paginator = IMAGE_ORDERS[image_order(self.request)]()
        return self._paginator

    @extend_schema(parameters=_FILTERS, responses=ImageSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []  # None only without a paginator
        ids = [image.pk for image in page]
        counts = dict(Box.objects.filter(image_id__in=ids).values_list("image_id").annotate(n=Count("id")))
        serializer = self.get_serializer(page, many=True, context={"box_counts": counts})
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                "required": ["files"],
            }
        },
        responses={201: UploadResultSerializer, 200: UploadResultSerializer},
        description="Images or zips of images. 201 if any file was added, 200 if all were already there, "
        "400 `upload_rejected` (with `results` and `summary`) if none could be added.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not files:
            raise ApiError("no_files", "Send one or more files in the 'files' field.")
        outcomes = image_service.add_images(self.project, current_user(request), [(f.name, f) for f in files])
        results = [
            {
                "name": o.name,
                "status": o.status,
                **({"code": o.code, "message": o.message} if o.code else {}),
                **({"image": ImageSerializer(o.image).data} if o.image else {}),
            }
            for o in outcomes
        ]
        summary = {s: sum(1 for o in outcomes if o.status == s) for s in ("created", "duplicate", "error")}
        if summary["created"]:
            code: int = status.HTTP_201_CREATED
        elif summary["error"]:
            return error_response(
                "upload_rejected",
                "No file could be added; see each file's reason.",
                400,
                results=results,
                summary=summary,
            )
        else:
            code = status.HTTP_200_OK
        return Response({"summary": summary, "results": results}, status=code)


class ImageCountsView(ProjectScopedMixin, APIView):
    """How many images are in each status and carry each label: the filter bar's numbers.

    Read from the maintained counts (`annotator.services.tally`): one indexed query at any size.
    """

    @extend_schema(responses=ImageCountsSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        return Response(tally.summary(self.project.pk))


class ImageDetailView(ProjectScopedMixin, APIView):
    actions = {"DELETE": Action.DELETE_IMAGES}
    serializer_class = ImageSerializer

    def get(self, request: Request, project_id: int, image_id: int) -> Response:
        return Response(ImageSerializer(get_object_or_404(self.project.images, pk=image_id)).data)

    @extend_schema(responses={204: None, **errors(502)})
    def delete(self, request: Request, project_id: int, image_id: int) -> Response:
        image_service.delete_image(get_object_or_404(self.project.images, pk=image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _base_version(request: Request, serializer: AnnotationsSerializer) -> int:
    if_match = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if if_match:
        if (version := parse_count(if_match, maximum=MAX_VERSION)) is None:
            raise ApiError("invalid_version", 'If-Match must carry the version number, e.g. "3".')
        return version
    if "version" in serializer.validated_data:
        return serializer.validated_data["version"]
    raise ApiError("version_required", "Say which version you edited: an If-Match header or a 'version' field.", 428)


class AnnotationsView(ProjectScopedMixin, APIView):
    """An image's annotations. PUT replaces the whole set if nobody wrote since your version."""

    actions = {"PUT": Action.ANNOTATE}
    serializer_class = AnnotationsSerializer

    def _image(self, image_id: int) -> Image:
        return get_object_or_404(self.project.images.select_related("project"), pk=image_id)

    def _respond(self, image: Image, code: int = 200) -> Response:
        response = Response(AnnotationsSerializer(image).data, status=code)
        response["ETag"] = f'"{image.version}"'
        return response

    def get(self, request: Request, project_id: int, image_id: int) -> Response:
        return self._respond(self._image(image_id))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "If-Match", str, OpenApiParameter.HEADER, description='The version you edited, e.g. "3" (or `version`).'
            ),
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, description="Makes retries of the same write safe."
            ),
        ],
        responses={200: AnnotationsSerializer, **errors(409, 422, 428)},
    )
    def put(self, request: Request, project_id: int, image_id: int) -> Response:
        image = self._image(image_id)
        serializer = AnnotationsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        base_version = _base_version(request, serializer)
        key = request.headers.get("Idempotency-Key", "")
        # What makes a retry the same request: the parsed body with its defaults filled in (so
        # spelling and key order do not matter), the version it is based on, who sends it, where.
        body = {name: value for name, value in serializer.validated_data.items() if name != "version"}
        fingerprint = request_fingerprint(
            method=request.method, path=request.path, user=request.user.pk, base_version=base_version, body=body
        )
        try:
            image = save_annotations(
                image,
                serializer.to_annotation_set(),
                base_version=base_version,
                user=current_user(request),
                idempotency_key=key,
                fingerprint=fingerprint,
            )
        except StaleVersion as stale:
            return error_response(
                "stale_version",
                "Someone saved this image after the version you edited; merge with the current state and retry.",
                409,
                current=AnnotationsSerializer(stale.image).data,
            )
        return self._respond(image)


class _ImageBytesView(ProjectScopedMixin, APIView):
    """Image bytes for browsers: a presigned redirect on S3, a permission-checked stream locally."""

    which = "key"

    @extend_schema(responses={(200, "image/*"): bytes, 302: None, **errors(502)})
    def get(self, request: Request, project_id: int, image_id: int) -> HttpResponseRedirect | FileResponse:
        image = get_object_or_404(self.project.images, pk=image_id)
        key = ensure_thumbnail(image) if self.which == "thumbnail_key" else image.key
        bucket = project_bucket(self.project)
        url = bucket.presigned_url(key, settings.ANNOTATOR_PRESIGNED_URL_SECONDS)
        if url:
            return HttpResponseRedirect(url)
        content_type = image.content_type if key == image.key else "image/jpeg"
        response = FileResponse(bucket.open(key), content_type=content_type)
        response["Cache-Control"] = "private, max-age=3600"
        return response


class ImageFileView(_ImageBytesView):
    which = "key"


class ImageThumbnailView(_ImageBytesView):
    which = "thumbnail_key"
