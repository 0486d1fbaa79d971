"""Shared fixtures: the real model (loaded once per session) and the testdata images."""

import atexit
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The traced map's cache (saliency.compiled): one per test session, not the user's, removed when
# the session ends.
if "SEMANTIC_JPEG_CACHE" not in os.environ:
  os.environ["SEMANTIC_JPEG_CACHE"] = _SESSION_CACHE = tempfile.mkdtemp(
    prefix="semantic_jpeg_cache_"
  )
  atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)

# pylint: disable=g-import-not-at-top,wrong-import-position
import cv2
import numpy as np
import pytest

TESTDATA = pathlib.Path(__file__).resolve().parent.parent / "testdata"


def read_rgb(name: str) -> np.ndarray:
  """A testdata image as uint8 RGB."""
  bgr = cv2.imread(str(TESTDATA / name), cv2.IMREAD_COLOR)
  assert bgr is not None, name
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def model():
  """The default map model: the fixation readout and the face prior."""
  from semantic_jpeg import saliency

  return saliency.load_model()


@pytest.fixture(scope="session")
def cam_model(model):
  """The paper's map model (class activation maps), sharing the default model's network."""
  from semantic_jpeg import saliency

  return saliency.MSROIModel(model.classifier, model.face_detector)


def synthetic(height: int, width: int, seed: int = 0) -> np.ndarray:
  """A textured RGB test image: gradients, an edge and noise."""
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[:height, :width]
  base = np.stack(
    [x * 200 / width, y * 200 / height, 100 + 80 * np.sin(x / 5.0) * np.cos(y / 7.0)], axis=2
  )
  base[height // 3 :, width // 2 :] += 40
  return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
  """`image` (RGB or gray) after an OpenCV JPEG round trip at `quality`."""
  bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
  _, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
  decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
  return decoded if image.ndim == 2 else cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


_KILLED_WRITER = """
import os, signal, sys
from semantic_jpeg import files
with files.atomic_path(sys.argv[1]) as tmp:
  tmp.write_bytes(b"half a file")
  os.kill(os.getpid(), signal.SIGKILL)
"""


def leave_killed_writers_temporary(output: pathlib.Path) -> pathlib.Path:
  """Kills (SIGKILL) a process halfway through writing `output`; returns what it left."""
  killed = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(output)], check=False)
  assert killed.returncode == -signal.SIGKILL
  [leftover] = output.parent.glob(f".{output.name}.*")
  return leftover


class Tmpfs:
  """Small tmpfs file systems mounted under a test's folder (root with mount rights only)."""

  def __init__(self, base: pathlib.Path):
    self._base, self._mounted = base, []

  def mount(self, name: str, size: str) -> pathlib.Path:
    """A fresh tmpfs of `size` (mount's spelling: 20k, 1m) at BASE/NAME; skips where none can be."""
    point = self._base / name
    point.mkdir()
    if shutil.which("mount") is None:
      pytest.skip("no mount command here, so no small file system to fill")
    result = subprocess.run(
      ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
      capture_output=True,
      text=True,
      check=False,
    )
    if result.returncode:
      pytest.skip(
        f"cannot mount a tmpfs here (needs root and mount rights): {result.stderr.strip()}"
      )
    self._mounted.append(point)
    return point

  def read_only(self, point: pathlib.Path, attempts: int = 100) -> None:
    """Remounts a tmpfs read-only, waiting while a file on it is open for writing."""
    for _ in range(attempts):
      remount = ["mount", "-o", "remount,ro", str(point)]
      if not subprocess.run(remount, capture_output=True, check=False).returncode:
        return
      time.sleep(0.05)
    raise AssertionError(f"could not remount {point} read-only")

  def unmount_all(self) -> None:
    for point in self._mounted:
      subprocess.run(["umount", "--lazy", str(point)], check=False)


@pytest.fixture
def tmpfs(tmp_path):
  mounts = Tmpfs(tmp_path)
  yield mounts
  mounts.unmount_all()
