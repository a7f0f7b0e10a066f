import pytest

from config.env import EnvError, env_bool, env_choice, env_int, env_list, env_str


def test_typed_helpers_read_and_default(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL") is True and env_bool("X_MISSING", True) is True
    assert env_int("X_INT", 1) == 42 and env_int("X_MISSING", 7) == 7
    assert env_list("X_LIST", []) == ["a", "b", "c"]
    assert env_choice("X_MISSING", "local", {"local", "s3"}) == "local"


@pytest.mark.parametrize(
    "reader,value",
    [(lambda: env_bool("X"), "maybe"), (lambda: env_int("X", 0), "ten"), (lambda: env_choice("X", "a", {"a"}), "b")],
)
def test_malformed_values_fail_loudly(monkeypatch, reader, value):
    monkeypatch.setenv("X", value)
    with pytest.raises(EnvError, match="X"):
        reader()


def test_production_refuses_the_insecure_secret_key():
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        env={"ANNOTATOR_PRODUCTION": "true", "ALLOWED_HOSTS": "example.com", "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


# --- NAME_FILE: secrets from files (Docker volumes, mounted Kubernetes Secrets) ---------------------


def test_name_file_gives_the_value_when_name_is_unset_or_empty(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("  from-the-file\n")
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET", "default") == "from-the-file"
    # Compose passes an unset docker/.env line as an empty value: that is unset, as in the images.
    monkeypatch.setenv("X_SECRET", "")
    assert env_str("X_SECRET", "default") == "from-the-file"
    (tmp_path / "number").write_text("42\n")
    monkeypatch.setenv("X_INT_FILE", str(tmp_path / "number"))
    assert env_int("X_INT", 1) == 42


def test_an_explicit_value_wins_over_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-the-file")
    monkeypatch.setenv("X_SECRET", "explicit")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "explicit"
    monkeypatch.delenv("X_SECRET_FILE")
    monkeypatch.delenv("X_SECRET")
    assert env_str("X_SECRET", "default") == "default"


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_an_unreadable_or_empty_name_file_fails_loudly(monkeypatch, tmp_path, content):
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(path))
    with pytest.raises(EnvError, match=f"X_SECRET_FILE names '{path}'"):
        env_str("X_SECRET")


def test_settings_read_secrets_from_files_and_stop_on_an_unreadable_one(tmp_path):
    import subprocess
    import sys

    key = tmp_path / "secret_key"
    key.write_text("Zq8-" + "".join(chr(65 + (i * 7) % 26) for i in range(60)) + "x9!@\n")
    (tmp_path / "db_password").write_text("hunter2\n")
    show = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings as s; key = open(os.environ['SECRET_KEY_FILE']).read().strip();"
        "print(s.SECRET_KEY == key, s.DATABASES['default']['PASSWORD'], s.DATABASES['default']['USER'])"
    )
    env = {
        "ANNOTATOR_PRODUCTION": "true", "ALLOWED_HOSTS": "example.com", "PATH": "", "ANNOTATOR_VAR_DIR": str(tmp_path),
        "SECRET_KEY_FILE": str(key), "DATABASE_URL": "postgres://annotator@db.example:5432/annotator",
        "DATABASE_PASSWORD_FILE": str(tmp_path / "db_password"),
    }  # fmt: skip
    done = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "hunter2", "annotator"]
    # A password written in the URL gives way to DATABASE_PASSWORD.
    env["DATABASE_URL"] = "postgres://annotator:old@db.example:5432/annotator"
    done = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.split()[1] == "hunter2", done.stderr
    # A secret file the process cannot read stops it at start-up, naming the variable.
    env["SECRET_KEY_FILE"] = str(tmp_path / "missing")
    done = subprocess.run([sys.executable, "-c", show], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and f"SECRET_KEY_FILE names '{tmp_path / 'missing'}'" in done.stderr


def test_the_bucket_jobs_switch_still_reads_its_deprecated_name(tmp_path):
    """ANNOTATOR_STORAGE_JOBS (the old name) is read when ANNOTATOR_BUCKET_JOBS is unset; the new name wins."""
    import subprocess
    import sys

    show = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings as s; print(s.ANNOTATOR_BUCKET_JOBS)"
    )
    base = {"PATH": "", "ANNOTATOR_VAR_DIR": str(tmp_path)}
    for extra, expected in [
        ({}, "thread"),
        ({"ANNOTATOR_STORAGE_JOBS": "celery"}, "celery"),
        ({"ANNOTATOR_BUCKET_JOBS": "celery"}, "celery"),
        ({"ANNOTATOR_STORAGE_JOBS": "celery", "ANNOTATOR_BUCKET_JOBS": "thread"}, "thread"),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", show], env=base | extra, capture_output=True, text=True, timeout=120
        )
        assert done.stdout.strip() == expected, (extra, done.stderr)
