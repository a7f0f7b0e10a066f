"""The formats package stays plain Python: no Django, no TensorFlow at import time."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_importing_formats_loads_neither_django_nor_tensorflow() -> None:
    code = (
        "import sys, annotator.formats, annotator.formats.tfrecord\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'tensorflow'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
