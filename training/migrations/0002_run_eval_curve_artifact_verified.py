# Evaluation during training (Run.eval_curve) and exports offered unverified (Artifact.verified).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("training", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="run",
            name="eval_curve",
            field=models.JSONField(default=list),
        ),
        migrations.AddField(
            model_name="artifact",
            name="verified",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="artifact",
            name="verification_error",
            field=models.TextField(blank=True),
        ),
    ]
