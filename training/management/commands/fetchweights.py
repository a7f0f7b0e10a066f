"""`manage.py fetchweights [--alpha 0.5] [--from FILE | --url BASE]`: the backbone's ImageNet
weights where workers find them (training/weights.py), for air-gapped installs and first runs.

`--from FILE` copies a file brought in by hand, after checking it is Keras' no-top MobileNetV2 of
that width (h5 layers and shapes, and sha256 where Keras' figure is known); otherwise the file is
downloaded (from Keras' own address, or `--url`, an internal mirror) and checked the same way.
Files land under their Keras name in ANNOTATOR_BACKBONE_WEIGHTS when that is a folder, else in
the Keras cache, written to a temporary name first so a worker never sees half a file.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training import weights
from training.hyperparameters import ALPHAS

DOWNLOAD_TIMEOUT_SECONDS = 60


class Command(BaseCommand):
    help = "Put the MobileNetV2 ImageNet weights where training workers find them (download, or copy a file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alpha", type=float, choices=ALPHAS, default=0.5, help="Backbone width (default 0.5).")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--from", dest="source", type=Path, help="Copy this .h5 file instead of downloading.")
        source.add_argument("--url", default=weights.DOWNLOAD_URL, help="Download from this folder URL (a mirror).")
        parser.add_argument("--force", action="store_true", help="Replace weights that are already there.")

    def handle(self, *args: Any, **options: Any) -> None:
        alpha = options["alpha"]
        target = weights.store_dir() / weights.file_name(alpha)
        found = weights.find(alpha)
        if found is not None and not options["force"] and options["source"] is None:
            self.stdout.write(f"Already there: {found}")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".fetching-", suffix=".h5", delete=False) as out:
            partial = Path(out.name)
        try:
            if options["source"] is not None:
                self._copy(options["source"], partial)
            else:
                self._download(options["url"].rstrip("/") + "/" + weights.file_name(alpha), partial)
            self._check(partial, alpha, target.name)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(str(target))

    def _copy(self, source: Path, partial: Path) -> None:
        if not source.is_file():
            raise CommandError(f"No file {source}.")
        shutil.copyfile(source, partial)

    def _download(self, url: str, partial: Path) -> None:
        self.stderr.write(f"Downloading {url}")
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as answer, partial.open("wb") as out:
                shutil.copyfileobj(answer, out)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise CommandError(
                f"Could not download {url} ({error}). Without internet, copy Keras' file onto this machine and "
                "run `manage.py fetchweights --from FILE`."
            ) from None

    def _check(self, path: Path, alpha: float, name: str) -> None:
        if problem := weights.is_backbone_file(path, alpha):
            raise CommandError(problem.replace(str(path), "The file"))
        known = weights.KNOWN_SHA256.get(name)
        if known and hashlib.sha256(path.read_bytes()).hexdigest() != known:
            raise CommandError(f"The file's sha256 is not that of Keras' published {name}.")
