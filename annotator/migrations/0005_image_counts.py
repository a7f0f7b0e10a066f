from collections import Counter

import django.db.models.deletion
from django.db import migrations, models

STATUSES = ("unlabelled", "labelled", "approved", "rejected")


def count_every_project(apps, schema_editor):
    """The counts as `annotator.services.tally.measure` computes them, for projects that exist."""
    Project = apps.get_model("annotator", "Project")
    Image = apps.get_model("annotator", "Image")
    Box = apps.get_model("annotator", "Box")
    ImageTally = apps.get_model("annotator", "ImageTally")
    through = Image.labels.through
    for project_id in Project.objects.values_list("pk", flat=True).iterator():
        images = Image.objects.filter(project_id=project_id).order_by()
        counts = {f"status:{s}": 0 for s in STATUSES}
        rows = images.filter(missing=False).values_list("status").annotate(n=models.Count("id"))
        counts.update({f"status:{s}": n for s, n in rows})
        counts["missing"] = images.filter(missing=True).count()
        pairs = set()
        for model in (Box, through):
            present = model.objects.filter(image__project_id=project_id, image__missing=False).order_by()
            pairs.update(present.values_list("label_id", "image_id").distinct())
        counts.update({f"label:{label}": n for label, n in Counter(label for label, _ in pairs).items()})
        ImageTally.objects.bulk_create([ImageTally(project_id=project_id, key=k, n=n) for k, n in counts.items()])


class Migration(migrations.Migration):
    dependencies = [("annotator", "0004_image_thumbnail_failed")]

    operations = [
        migrations.CreateModel(
            name="ImageTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=40)),
                ("n", models.BigIntegerField(default=0)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="annotator.project"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("project", "key"), name="image_tally_unique")],
            },
        ),
        migrations.RunPython(count_every_project, migrations.RunPython.noop),
    ]
