from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("teams", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="invitation", name="send_attempts", field=models.JSONField(blank=True, default=list)
        ),
    ]
