"""Shapes of members, invitations and progress in the API. Tokens never leave the e-mail."""

from __future__ import annotations

from rest_framework import serializers

from annotator.ids import MAX_ID
from annotator.models import Membership, Role
from teams.models import Invitation, InvitationState
from teams.services.invitations import INVITABLE_ROLES, MAX_ADDRESSES


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "email", "name", "role", "joined_at"]
        read_only_fields = fields


class RoleChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TransferSerializer(serializers.Serializer):
    user = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The member (user id) who becomes the owner."
    )


class InvitationSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=InvitationState.choices, read_only=True)
    invited_by = serializers.IntegerField(source="invited_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Invitation
        fields = [
            "id", "email", "role", "state", "invited_by", "created_at", "expires_at",
            "sent_at", "send_count", "send_error", "accepted_at", "revoked_at",
        ]  # fmt: skip
        read_only_fields = fields


class InviteSerializer(serializers.Serializer):
    emails = serializers.ListField(child=serializers.CharField(max_length=254), min_length=1, max_length=MAX_ADDRESSES)
    role = serializers.ChoiceField(choices=[(r.value, r.label) for r in INVITABLE_ROLES], default=Role.ANNOTATOR)


class InviteResultSerializer(serializers.Serializer):
    email = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["invited", "reinvited", "already_member", "invalid", "send_failed", "throttled"]
    )
    message = serializers.CharField()
    invitation = InvitationSerializer(allow_null=True)


class InviteResponseSerializer(serializers.Serializer):
    """POST invitations/: one result per address, 201 if any invitation was made, else 200."""

    results = InviteResultSerializer(many=True)


class MemberProgressSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    labelled_images = serializers.IntegerField()
    reviewed_images = serializers.IntegerField()
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    boxes = serializers.IntegerField()
    last_activity = serializers.DateTimeField(allow_null=True)


class DayProgressSerializer(serializers.Serializer):
    date = serializers.DateField()
    user = serializers.IntegerField(allow_null=True)
    labelled_images = serializers.IntegerField()
    reviewed_images = serializers.IntegerField()


class ProgressSerializer(serializers.Serializer):
    since = serializers.DateField()
    members = MemberProgressSerializer(many=True)
    days = DayProgressSerializer(many=True)
