"""The reference encoders: mozjpeg's own tables, rate matching, real decoders."""

import io

import jpeglib
import numpy as np
from PIL import Image
import pytest

from semantic_jpeg import libjpeg
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines

from conftest import read_rgb

IMAGE = np.ascontiguousarray(read_rgb("kodim21.png")[:256, :384])


@pytest.mark.parametrize("quality", [20, 50, 75, 95])
def test_integer_qualities_give_mozjpegs_own_tables(tmp_path, quality):
  with libjpeg.jpeglib_file(baselines.MOZJPEG) as path:
    jpeglib.from_spatial(IMAGE).write_spatial(path, qt=quality)
    own = jpeglib.read_dct(path)
    assert own.progressive_mode  # mozjpeg's defaults, not libjpeg's.
    np.testing.assert_array_equal(own.qt, baselines.mozjpeg_tables(quality))


@pytest.mark.parametrize("name", list(baselines.ENCODERS))
def test_rate_matching_stays_under_the_target(name):
  target = turbo.jpeg_size(IMAGE, 50)
  result = baselines.rate_matched(name, IMAGE, target, guess=50)
  assert len(result.data) <= target
  assert len(result.data) >= (0.99 if result.met else 0.95) * target
  if name != "mozjpeg":
    assert result.quality == int(result.quality)
  decoded = turbo.decode(result.data)
  np.testing.assert_array_equal(decoded, np.asarray(Image.open(io.BytesIO(result.data))))
  assert 10 * np.log10(255**2 / np.mean((decoded.astype(float) - IMAGE) ** 2)) > 28


def test_mozjpeg_and_jpegli_beat_libjpeg_turbo_at_equal_size():
  target = turbo.jpeg_size(IMAGE, 50)
  errors = {}
  for name in baselines.ENCODERS:
    decoded = turbo.decode(baselines.rate_matched(name, IMAGE, target).data)
    errors[name] = np.mean((decoded.astype(float) - IMAGE) ** 2)
  assert errors["mozjpeg"] < errors["turbo"] and errors["jpegli"] < errors["turbo"]
