"""Exactly one owner per project: mend what racing membership changes left, then forbid a second owner.

Before this migration a transfer racing another change could leave a project
with two owner rows or none. The owner to keep is the one `Project.owner`
names (every transfer set it last): that member becomes owner — added as a
member if they are not one — and any other owner is demoted to admin.
"""

from django.db import migrations, models


def one_owner_per_project(apps, schema_editor) -> None:
    Project = apps.get_model("annotator", "Project")
    Membership = apps.get_model("annotator", "Membership")
    owner_rows = Membership.objects.filter(role="owner")
    single = owner_rows.values("project_id").annotate(n=models.Count("id")).filter(n=1).values("project_id")
    consistent = set(
        owner_rows.filter(project_id__in=single, user_id=models.F("project__owner_id")).values_list(
            "project_id", flat=True
        )
    )
    for project in Project.objects.exclude(pk__in=consistent).only("pk", "owner_id").iterator():
        owner_rows.filter(project=project).exclude(user_id=project.owner_id).update(role="admin")
        updated = Membership.objects.filter(project=project, user_id=project.owner_id).update(role="owner")
        if not updated:
            Membership.objects.create(project=project, user_id=project.owner_id, role="owner")
    if schema_editor.connection.vendor == "postgresql":
        # PostgreSQL will not build an index on a table with deferred foreign-key checks still
        # pending from the rows above; run them now (this migration's transaction only).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [("annotator", "0001_initial")]

    operations = [
        migrations.RunPython(one_owner_per_project, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.UniqueConstraint(
                condition=models.Q(role="owner"), fields=("project",), name="membership_one_owner"
            ),
        ),
    ]
