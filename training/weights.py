"""Where workers find the MobileNetV2 backbone's ImageNet weights, answered without downloading.

A worker looks, in order, at:
1. `ANNOTATOR_BACKBONE_WEIGHTS`: a Keras `.h5` file (used when its name does not say another
   width), or a folder of files named as Keras names them;
2. the Keras cache, `$KERAS_HOME/models/` (default `~/.keras/models/`), where Keras' own download
   and `manage.py fetchweights` put them;
3. with `ANNOTATOR_BACKBONE_DOWNLOAD` (default true), Keras' download when the run starts, which
   needs internet on the worker. Air-gapped installs set it to false: then a missing file is a
   pre-flight error naming the fix instead of a run that fails after it was queued. Left true on
   a machine that turns out to be offline, the pre-flight check finds out too: `download_problem`
   sends one HEAD request to Keras' file (3 s at most, the answer cached for 10 minutes in the
   Django cache), and a file that cannot be reached is the same error.

Any input size can use any of Keras' files for a width (the backbone has no dense layer), so a
file for 224-pixel inputs serves a 320-pixel detector. Imports no TensorFlow: the pre-flight
check runs on the web tier; `is_backbone_file` needs h5py, which only workers install.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

IMAGENET = "imagenet"  # the setting's value when no file is configured: Keras' download
KERAS_ROWS = (224, 192, 160, 128, 96)  # the input sizes Keras publishes weights for, preferred first
DOWNLOAD_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
# Where pre-flight checks that Keras' download would work: Keras' own folder, which is where a
# worker's download goes (a mirror given to fetchweights does not change it). Tests point it at
# localhost, so no test reaches the internet.
PROBE_URL = DOWNLOAD_URL
PROBE_TIMEOUT_SECONDS = 3.0
PROBE_CACHE_SECONDS = 600  # one probe per 10 minutes, not one per form change on the Train page
# Keras' published file for the default width, as docker/Dockerfile checks it.
KNOWN_SHA256 = {
    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5": (
        "279052de2cfa801003aa6cc25cc4d007d35dd0b76f06935268c79788b7642d05"
    ),
}
_KERAS_NAME = re.compile(r"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_(\d+(?:\.\d+)?)_(\d+)_no_top\.h5$")


def file_name(alpha: float, rows: int = 224) -> str:
    """Keras' name for the no-top weights of width `alpha` (what its cache and download use)."""
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


def keras_cache_dir() -> Path:
    """Keras' cache folder for model weights (keras.utils.get_file's `models` subfolder)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def configured() -> Path | None:
    """ANNOTATOR_BACKBONE_WEIGHTS as a path, or None when it leaves the weights to Keras."""
    value = settings.ANNOTATOR_BACKBONE_WEIGHTS
    return None if not value or value == IMAGENET else Path(value)


def store_dir() -> Path:
    """Where `fetchweights` puts files: the configured folder, else the Keras cache."""
    folder = configured()
    return folder if folder is not None and folder.is_dir() else keras_cache_dir()


def find(alpha: float) -> Path | None:
    """A local weights file for width `alpha`, or None."""
    candidates: list[Path] = []
    folder = configured()
    if folder is not None and folder.is_file():
        match = _KERAS_NAME.search(folder.name)
        if match is None or float(match.group(1)) == float(alpha):
            candidates.append(folder)
    folders = [folder] if folder is not None and folder.is_dir() else []
    for base in [*folders, keras_cache_dir()]:
        candidates += [base / file_name(alpha, rows) for rows in KERAS_ROWS]
    return next((path for path in candidates if path.is_file()), None)


def for_worker(alpha: float) -> str | None:
    """The `weights` argument for training/ml: a local file, Keras' download, or None (none allowed)."""
    found = find(alpha)
    if found is not None:
        return str(found)
    return IMAGENET if settings.ANNOTATOR_BACKBONE_DOWNLOAD else None


def download_problem(alpha: float) -> str | None:
    """Why Keras' download of the weights for `alpha` would fail from this machine, or None when
    its file answers. One HEAD request of at most PROBE_TIMEOUT_SECONDS; the answer, good or bad,
    is cached for PROBE_CACHE_SECONDS (so a machine that goes online is believed within 10 minutes)."""
    url = PROBE_URL.rstrip("/") + "/" + file_name(alpha)
    key = "annotator:weights-probe:" + hashlib.sha256(url.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    problem = _probe(url)
    cache.set(key, problem or "", PROBE_CACHE_SECONDS)
    return problem


def _probe(url: str) -> str | None:
    # A thread with a deadline, because urlopen's timeout does not bound the DNS lookup, which on
    # an offline machine can hang longer than anyone should wait for the Train page.
    host = urllib.parse.urlsplit(url).netloc
    answer: list[str | None] = []
    thread = threading.Thread(target=lambda: answer.append(_head(url, host)), daemon=True)
    thread.start()
    thread.join(PROBE_TIMEOUT_SECONDS)
    return answer[0] if answer else f"{host} did not answer within {PROBE_TIMEOUT_SECONDS:g} s"


def _head(url: str, host: str) -> str | None:
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "Annotator pre-flight"})
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS):
            return None
    except urllib.error.HTTPError as error:
        return f"{host} answered {error.code} {error.reason} for {url.rsplit('/', 1)[-1]}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return f"{host} cannot be reached from this machine ({reason})"


def how_to_fix(alpha: float) -> str:
    return (
        f"Run `manage.py fetchweights --alpha {alpha}` on the worker (it downloads them once), or, without "
        f"internet, `manage.py fetchweights --alpha {alpha} --from FILE` with Keras' {file_name(alpha)}; "
        "or point ANNOTATOR_BACKBONE_WEIGHTS at that file; or allow training from scratch (much weaker models)."
    )


def make_divisible(value: float, divisor: int = 8) -> int:
    """MobileNetV2's channel rounding (keras.applications.mobilenet_v2._make_divisible)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def is_backbone_file(path: Path, alpha: float) -> str | None:
    """Why `path` is not Keras' no-top MobileNetV2 weights of width `alpha`, or None when it is.

    Reads the file's layer list and one kernel shape: the last block's width (320 * alpha channels
    into `Conv_1`) tells the widths apart, and a `Logits` layer gives away a with-top file.
    """
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            layers = [n.decode() if isinstance(n, bytes) else str(n) for n in h5.attrs.get("layer_names", [])]
            if "Conv_1" not in layers:
                return f"{path} is not a Keras MobileNetV2 weights file (no Conv_1 layer)"
            if "Logits" in layers:
                return f"{path} holds the classification top; use the no-top file ({file_name(alpha)})"
            kernels: list[tuple[int, ...]] = []
            h5["Conv_1"].visititems(lambda name, obj: kernels.append(obj.shape) if name.endswith("kernel:0") else None)
    except OSError as error:
        return f"{path} is not an HDF5 file ({error})"
    expected = make_divisible(320 * alpha)
    if not kernels or len(kernels[0]) != 4 or kernels[0][2] != expected:
        found = kernels[0][2] if kernels and len(kernels[0]) == 4 else "?"
        return f"{path} is for another width: its last block has {found} channels, alpha {alpha} needs {expected}"
    return None
