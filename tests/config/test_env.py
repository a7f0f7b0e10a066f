import pytest

from config.env import EnvError, env_bool, env_choice, env_int, env_list


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
