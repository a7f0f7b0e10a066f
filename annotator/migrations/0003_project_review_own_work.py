from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotator", "0002_project_one_owner")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="reviewers_review_own_work",
            field=models.BooleanField(
                default=False, help_text="Reviewers may approve or reject images they labelled themselves."
            ),
        ),
    ]
