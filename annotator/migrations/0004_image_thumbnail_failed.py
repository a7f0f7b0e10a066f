from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotator", "0003_project_review_own_work")]

    operations = [
        migrations.AddField(
            model_name="image",
            name="thumbnail_error",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="image",
            name="thumbnail_error_etag",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
