from django.urls import path

from teams.api import views

app_name = "teams-api"

P = "projects/<id:project_id>/"

urlpatterns = [
    path(P + "members/", views.MemberListView.as_view(), name="member-list"),
    path(P + "members/<id:user_id>/", views.MemberDetailView.as_view(), name="member-detail"),
    path(P + "leave/", views.LeaveView.as_view(), name="leave"),
    path(P + "transfer-ownership/", views.TransferOwnershipView.as_view(), name="transfer-ownership"),
    path(P + "invitations/", views.InvitationListView.as_view(), name="invitation-list"),
    path(P + "invitations/<id:invitation_id>/", views.InvitationDetailView.as_view(), name="invitation-detail"),
    path(P + "invitations/<id:invitation_id>/resend/", views.InvitationResendView.as_view(), name="invitation-resend"),
    path(P + "progress/", views.ProgressView.as_view(), name="progress"),
]
