"""Our SSIMULACRA 2 against the `ssimulacra2` package it reproduces (a few seconds)."""

import io

import cv2
import numpy as np
from PIL import Image
import pytest
import ssimulacra2

from semantic_jpeg import errors
from semantic_jpeg.codec import ssimulacra2 as ssimulacra2_fast

from conftest import jpeg_round_trip
from conftest import read_rgb
from conftest import synthetic

TOLERANCE = 0.01  # Largest |ours - package| allowed, in score points (measured: 0.0003).


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
  return read_rgb("kodim23.png")


def package_score(reference: np.ndarray, distorted: np.ndarray) -> float:
  """The package's score; it reads files, so in-memory PPM/PGM."""
  files = []
  for image in (reference, distorted):
    files.append(io.BytesIO())
    Image.fromarray(image).save(files[-1], format="PPM")
    files[-1].seek(0)
  return float(ssimulacra2.compute_ssimulacra2(*files))


@pytest.mark.parametrize(
  ("top", "left", "height", "width", "quality"),
  [
    (0, 0, 160, 224, 20),  # Even sizes, heavy compression.
    (200, 300, 131, 197, 60),  # Odd sizes: partial 2x2 blocks.
    (100, 50, 67, 45, 85),  # Small: 3 scales, weights taken in order.
  ],
)
def test_matches_package_on_jpeg(photo, top, left, height, width, quality):
  reference = np.ascontiguousarray(photo[top : top + height, left : left + width])
  distorted = jpeg_round_trip(reference, quality)
  assert ssimulacra2_fast.ssimulacra2(reference, distorted) == pytest.approx(
    package_score(reference, distorted), abs=TOLERANCE
  )


@pytest.mark.parametrize(
  "distort",
  [
    lambda image: cv2.GaussianBlur(image, (0, 0), 2.0),
    lambda image: np.flipud(image).copy(),
    lambda image: 255 - image,
  ],
  ids=["blur", "flipped", "inverted"],
)
def test_matches_package_on_other_distortions(distort):
  reference = synthetic(90, 150)
  distorted = distort(reference)
  assert ssimulacra2_fast.ssimulacra2(reference, distorted) == pytest.approx(
    package_score(reference, distorted), abs=TOLERANCE
  )


def test_matches_package_on_gray():
  reference = cv2.cvtColor(synthetic(72, 96), cv2.COLOR_RGB2GRAY)
  distorted = jpeg_round_trip(reference, 40)
  assert ssimulacra2_fast.ssimulacra2(reference, distorted) == pytest.approx(
    package_score(reference, distorted), abs=TOLERANCE
  )


def test_gray_equals_its_rgb_replica():
  reference = cv2.cvtColor(synthetic(40, 56), cv2.COLOR_RGB2GRAY)
  distorted = jpeg_round_trip(reference, 50)
  replica = [cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) for image in (reference, distorted)]
  assert ssimulacra2_fast.ssimulacra2(reference, distorted) == ssimulacra2_fast.ssimulacra2(
    *replica
  )


@pytest.mark.parametrize("shape", [(8, 8, 3), (150, 77, 3), (33, 70)])
def test_identical_images_score_100(shape):
  image = synthetic(*shape[:2])
  image = image if len(shape) == 3 else image[..., 0].copy()
  assert ssimulacra2_fast.ssimulacra2(image, image.copy()) == 100.0


def test_monotone_in_jpeg_quality(photo):
  reference = np.ascontiguousarray(photo[:256, :256])
  scorer = ssimulacra2_fast.Reference(reference)
  scores = [
    scorer.score(jpeg_round_trip(reference, quality)) for quality in (10, 30, 50, 70, 90, 98)
  ]
  assert scores == sorted(scores) and len(set(scores)) == len(scores)
  assert scores[-1] < 100.0


def test_reference_reuse_equals_one_off_scores():
  reference = synthetic(120, 80)
  scorer = ssimulacra2_fast.Reference(reference)
  for quality in (25, 75, 25):
    distorted = jpeg_round_trip(reference, quality)
    assert scorer.score(distorted) == ssimulacra2_fast.ssimulacra2(reference, distorted)


@pytest.mark.parametrize(
  ("reference", "distorted", "error"),
  [
    (np.zeros((16, 16, 3), np.float32), np.zeros((16, 16, 3), np.uint8), errors.ImageError),
    (np.zeros((16, 16, 3), np.uint8), np.zeros((16, 17, 3), np.uint8), errors.ImageError),
    (np.zeros((16, 16, 4), np.uint8), np.zeros((16, 16, 4), np.uint8), errors.ImageError),
    (np.zeros((7, 16, 3), np.uint8), np.zeros((7, 16, 3), np.uint8), errors.ImageError),
  ],
)
def test_rejects_bad_input(reference, distorted, error):
  with pytest.raises(error):
    ssimulacra2_fast.ssimulacra2(reference, distorted)
