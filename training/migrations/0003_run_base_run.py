import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("training", "0002_run_eval_curve_artifact_verified")]
    operations = [
        migrations.AddField(
            model_name="run",
            name="base_run",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="warm_started_runs",
                to="training.run",
            ),
        ),
    ]
