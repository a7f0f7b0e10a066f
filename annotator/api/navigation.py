"""Where an image sits in a filtered list: the editor's "n / N" without loading the list.

The filter and the order are the image list's own (`filtered_images`: status, label, missing,
auto_labelled; `order`: by key, or most uncertain first, ties by key), so the position always
agrees with the order the strip shows.
"""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api.views import _FILTERS, ProjectScopedMixin, filtered_images, image_order


class ImagePositionSerializer(serializers.Serializer):
    position = serializers.IntegerField(
        allow_null=True, help_text="1-based place in the filtered list, in its order; null when the image is not in it."
    )
    total = serializers.IntegerField(help_text="Images in the filtered list.")


class ImagePositionView(ProjectScopedMixin, APIView):
    """GET: the image's place among the project's images under the image list's filters."""

    serializer_class = ImagePositionSerializer

    @extend_schema(parameters=_FILTERS, responses=ImagePositionSerializer)
    def get(self, request: Request, project_id: int, image_id: int) -> Response:
        image = get_object_or_404(self.project.images, pk=image_id)
        images = filtered_images(self.project, request).order_by()
        total = images.count()
        if not images.filter(pk=image.pk).exists():
            return Response({"position": None, "total": total})
        if image_order(request) == "uncertain":
            before = Q(uncertainty__gt=image.uncertainty) | Q(uncertainty=image.uncertainty, key__lt=image.key)
        else:
            before = Q(key__lt=image.key)
        return Response({"position": images.filter(before).count() + 1, "total": total})
