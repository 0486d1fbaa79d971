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
