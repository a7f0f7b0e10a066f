"""The bucket feature has one name (#15): StorageConnection -> BucketConnection, and the
project's reverse accessor `project.storage` -> `project.bucket_connection`.

RenameModel keeps the rows (it renames the table); the related_name change touches no column.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0006_job_kernel"),
    ]

    operations = [
        migrations.RenameModel(old_name="StorageConnection", new_name="BucketConnection"),
        migrations.AlterField(
            model_name="bucketconnection",
            name="project",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="bucket_connection",
                to="annotator.project",
            ),
        ),
    ]
