from django.urls import path

from teams.views import accept, progress, review, team

app_name = "teams"

P = "projects/<id:project_id>/"

urlpatterns = [
    path("invitations/<str:token>/", accept.accept_invitation, name="accept"),
    path(P + "team/", team.team, name="team"),
    path(P + "team/invite/", team.invite, name="invite"),
    path(P + "team/members/<id:user_id>/role/", team.member_role, name="member-role"),
    path(P + "team/members/<id:user_id>/remove/", team.member_remove, name="member-remove"),
    path(P + "team/invitations/<id:invitation_id>/resend/", team.invitation_resend, name="invitation-resend"),
    path(P + "team/invitations/<id:invitation_id>/revoke/", team.invitation_revoke, name="invitation-revoke"),
    path(P + "team/transfer/", team.transfer, name="transfer"),
    path(P + "delete/", team.project_delete, name="project-delete"),
    path(P + "progress/", progress.progress, name="progress"),
    path(P + "review/", review.review, name="review"),
    path(P + "leave/", progress.leave, name="leave"),
]
