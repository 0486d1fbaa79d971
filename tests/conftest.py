"""Shared fixtures: the real model (loaded once per session) and the testdata images."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
  from semantic_jpeg import saliency

  return saliency.load_model()


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
