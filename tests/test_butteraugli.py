"""The Butteraugli wrapper against libjxl's tool itself; skipped where the tool is not installed."""

import pathlib
import subprocess

import cv2
import numpy as np
import pytest

from semantic_jpeg import errors
from semantic_jpeg.evaluation import butteraugli

from conftest import jpeg_round_trip
from conftest import synthetic

needs_tool = pytest.mark.skipif(not butteraugli.available(), reason=f"needs: {butteraugli.INSTALL}")


@needs_tool
def test_identical_images_are_at_distance_0():
  image = synthetic(48, 64)
  assert butteraugli.distance(image, image.copy()) == butteraugli.Distance(0.0, 0.0)


@needs_tool
def test_matches_the_tool_on_png_files(tmp_path: pathlib.Path):
  reference = synthetic(67, 91)
  distorted = jpeg_round_trip(reference, 40)
  paths = [str(tmp_path / name) for name in ("a.png", "b.png")]
  for image, path in zip((reference, distorted), paths, strict=True):
    cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
  output = subprocess.run(
    [butteraugli.binary(), *paths], check=True, capture_output=True, text=True
  ).stdout
  max_line, pnorm_line = output.splitlines()
  assert butteraugli.max_norm(reference, distorted) == float(max_line)
  assert butteraugli.pnorm3(reference, distorted) == float(pnorm_line.split(":")[1])


@needs_tool
def test_worse_jpeg_is_farther():
  reference = synthetic(64, 96)
  low, high = (
    butteraugli.distance(reference, jpeg_round_trip(reference, quality)) for quality in (20, 90)
  )
  assert low.pnorm3 > high.pnorm3 > 0 and low.max_norm > high.max_norm > 0
  assert high.pnorm3 < high.max_norm


@needs_tool
def test_gray_equals_its_rgb_replica():
  reference = cv2.cvtColor(synthetic(40, 40), cv2.COLOR_RGB2GRAY)
  distorted = jpeg_round_trip(reference, 30)
  replica = [cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) for image in (reference, distorted)]
  assert butteraugli.distance(reference, distorted) == butteraugli.distance(*replica)


@needs_tool
def test_distance_map_reproduces_the_tools_norms_and_places_the_errors():
  """The map read back from the tool's heat map gives its max-norm and 3-norm, and a change to
  the top rows only shows there; weighting by those rows raises the 3-norm."""
  reference = synthetic(96, 128)
  distorted = jpeg_round_trip(reference, 25)
  distances, norms = butteraugli.distance_map(reference, distorted)
  expected = butteraugli.distance(reference, distorted)
  assert norms == expected
  assert distances.shape == reference.shape[:2]
  assert distances.max() == pytest.approx(expected.max_norm, rel=1e-5)
  assert butteraugli.weighted_pnorm3(distances) == pytest.approx(expected.pnorm3, rel=1e-5)
  top_only = reference.copy()
  top_only[:32] = distorted[:32]
  partial = butteraugli.distance_map(reference, top_only)[0]
  assert partial[:24].mean() > 10 * partial[48:].mean()
  weights = np.zeros(reference.shape[:2])
  weights[:32] = 1.0
  assert butteraugli.weighted_pnorm3(partial, weights) > butteraugli.weighted_pnorm3(partial)
  with pytest.raises(ValueError, match="weights"):
    butteraugli.weighted_pnorm3(partial, np.zeros_like(weights))
  whole, mapped, gaze = butteraugli.region_norms(
    reference, top_only, np.array([[1.0] * 16] * 4 + [[0.0] * 16] * 8), weights
  )
  assert whole == butteraugli.pnorm3(reference, top_only) and gaze > mapped * 0.99 > whole


@pytest.mark.parametrize(
  ("reference", "distorted", "error"),
  [
    (np.zeros((16, 16, 3), np.float32), np.zeros((16, 16, 3), np.uint8), errors.ImageError),
    (np.zeros((16, 16, 3), np.uint8), np.zeros((16, 17, 3), np.uint8), errors.ImageError),
    (np.zeros((7, 16), np.uint8), np.zeros((7, 16), np.uint8), errors.ImageError),
  ],
)
def test_rejects_bad_input(reference, distorted, error):
  with pytest.raises(error):
    butteraugli.pnorm3(reference, distorted)


def test_missing_tool_raises_a_typed_error(monkeypatch, tmp_path):
  monkeypatch.setenv(butteraugli.BINARY_VARIABLE, "")
  monkeypatch.setenv("PATH", str(tmp_path))
  assert not butteraugli.available()
  image = synthetic(16, 16)
  with pytest.raises(butteraugli.ButteraugliUnavailableError, match="libjxl-devtools"):
    butteraugli.pnorm3(image, image)


@pytest.mark.parametrize(
  ("script", "message"),
  [
    ('echo "not a number"', "unexpected output"),
    ('echo "Width mismatch" >&2; exit 1', "exited with 1: Width mismatch"),
  ],
)
def test_tool_failure_raises(monkeypatch, tmp_path, script, message):
  fake = tmp_path / "butteraugli_main"
  fake.write_text(f"#!/bin/sh\n{script}\n")
  fake.chmod(0o755)
  monkeypatch.setenv(butteraugli.BINARY_VARIABLE, str(fake))
  image = synthetic(16, 16)
  with pytest.raises(butteraugli.ButteraugliError, match=message):
    butteraugli.max_norm(image, image)
