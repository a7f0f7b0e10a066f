"""REST endpoints for a project's members, invitations and progress."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator.api.errors import ApiError, error_response
from annotator.api.params import int_param
from annotator.api.schema import errors
from annotator.api.views import ProjectScopedMixin
from annotator.models import Membership
from annotator.permissions import Action
from teams.api.serializers import (
    InvitationSerializer,
    InviteResponseSerializer,
    InviteResultSerializer,
    InviteSerializer,
    MemberSerializer,
    ProgressSerializer,
    RoleChangeSerializer,
    TransferSerializer,
)
from teams.models import Invitation
from teams.services import invitations as invitation_service
from teams.services import members as member_service
from teams.services.progress import team_progress


class MemberListView(ProjectScopedMixin, APIView):
    serializer_class = MemberSerializer

    @extend_schema(responses={200: MemberSerializer(many=True)})
    def get(self, request: Request, project_id: int) -> Response:
        members = self.project.memberships.select_related("user").order_by("created_at")
        return Response(MemberSerializer(members, many=True).data)


class MemberDetailView(ProjectScopedMixin, APIView):
    actions = {"PATCH": Action.MANAGE_MEMBERS, "DELETE": Action.MANAGE_MEMBERS}
    serializer_class = MemberSerializer

    def _membership(self, user_id: int) -> Membership:
        return get_object_or_404(self.project.memberships.select_related("user", "project"), user_id=user_id)

    def get(self, request: Request, project_id: int, user_id: int) -> Response:
        return Response(MemberSerializer(self._membership(user_id)).data)

    @extend_schema(request=RoleChangeSerializer, responses={200: MemberSerializer})
    def patch(self, request: Request, project_id: int, user_id: int) -> Response:
        membership = self._membership(user_id)
        serializer = RoleChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = member_service.change_role(current_user(request), membership, serializer.validated_data["role"])
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None, **errors(409)})
    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        member_service.remove_member(current_user(request), self._membership(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeaveView(ProjectScopedMixin, APIView):
    """Leave the project yourself (the last owner must transfer ownership first)."""

    actions = {"POST": Action.LEAVE}

    @extend_schema(request=None, responses={204: None, **errors(409)})
    def post(self, request: Request, project_id: int) -> Response:
        member_service.leave(self.project, current_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TransferOwnershipView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.TRANSFER_OWNERSHIP}
    serializer_class = TransferSerializer

    @extend_schema(request=TransferSerializer, responses={200: MemberSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        serializer = TransferSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = member_service.transfer_ownership(
            self.project, current_user(request), serializer.validated_data["user"]
        )
        return Response(MemberSerializer(membership).data)


class InvitationListView(ProjectScopedMixin, APIView):
    # Invitations name people who are not members yet: only those who may invite see them.
    actions = {"GET": Action.INVITE, "POST": Action.INVITE}
    serializer_class = InvitationSerializer

    @extend_schema(
        parameters=[OpenApiParameter("state", str, description="pending, expired, accepted or revoked")],
        responses={200: InvitationSerializer(many=True)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        invitations = list(Invitation.objects.filter(project=self.project))
        if wanted := request.query_params.get("state"):
            invitations = [i for i in invitations if i.state == wanted]
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        request=InviteSerializer,
        responses={201: InviteResponseSerializer, 200: InviteResponseSerializer},
        description="400 `invalid_addresses` (with `results`) when no address is valid.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcomes = invitation_service.invite(self.project, current_user(request), data["emails"], data["role"])
        results = InviteResultSerializer(outcomes, many=True).data
        if all(o.status == "invalid" for o in outcomes):
            return error_response("invalid_addresses", "None of the addresses is valid.", 400, results=results)
        made = any(o.invitation is not None and o.status != "throttled" for o in outcomes)
        return Response({"results": results}, status=status.HTTP_201_CREATED if made else status.HTTP_200_OK)


class InvitationDetailView(ProjectScopedMixin, APIView):
    actions = {"GET": Action.INVITE, "DELETE": Action.INVITE}
    serializer_class = InvitationSerializer

    def get(self, request: Request, project_id: int, invitation_id: int) -> Response:
        return Response(InvitationSerializer(get_object_or_404(self.project.invitations, pk=invitation_id)).data)

    @extend_schema(
        description="Revoke: the link stops working; the row stays for the record.",
        responses={204: None, **errors(409)},
    )
    def delete(self, request: Request, project_id: int, invitation_id: int) -> Response:
        invitation_service.revoke(get_object_or_404(self.project.invitations, pk=invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.INVITE}

    @extend_schema(
        request=None,
        responses={200: InvitationSerializer, **errors(409, 429, 502)},
        description="429 `resend_throttled` (with `retry_after` seconds, also in `Retry-After`): "
        "one e-mail a minute per invitation, five an hour.",
    )
    def post(self, request: Request, project_id: int, invitation_id: int) -> Response:
        invitation = get_object_or_404(self.project.invitations, pk=invitation_id)
        error = invitation_service.resend(invitation)
        if error:
            raise ApiError("send_failed", error, 502)
        return Response(InvitationSerializer(invitation).data)


class ProgressView(ProjectScopedMixin, APIView):
    serializer_class = ProgressSerializer

    @extend_schema(parameters=[OpenApiParameter("days", int, description="Per-day counts for this many days (14).")])
    def get(self, request: Request, project_id: int) -> Response:
        days = int_param(request, "days", code="invalid_days")  # beyond MAX_DAYS: clamped by the service
        return Response(ProgressSerializer(team_progress(self.project, 14 if days is None else days)).data)
