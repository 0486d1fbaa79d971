"""Colour conversion, subsampling, block DCT and quantization against libjpeg-turbo itself."""

import jpeglib
import numpy as np
import pytest

from semantic_jpeg.codec import colour
from semantic_jpeg.codec import dct
from semantic_jpeg.codec import quantize
from semantic_jpeg.codec import turbo

from conftest import read_rgb


def _libjpeg_levels(tmp_path, image: np.ndarray, quality: int, subsampling: str):
  """Quantized coefficients and tables of OpenCV's (libjpeg-turbo's) JPEG of `image`."""
  path = tmp_path / "opencv.jpg"
  path.write_bytes(turbo.encode(image, quality, subsampling))
  jpeg = jpeglib.read_dct(str(path))
  return [jpeg.Y, jpeg.Cb, jpeg.Cr], jpeg.qt


@pytest.mark.parametrize("subsampling", ["420", "444"])
@pytest.mark.parametrize("shape", [(77, 101), (64, 96), (9, 17)])
def test_our_levels_match_libjpeg_turbo(tmp_path, subsampling, shape):
  image = np.ascontiguousarray(read_rgb("kodim23.png")[: shape[0], : shape[1]])
  theirs, tables = _libjpeg_levels(tmp_path, image, 75, subsampling)
  np.testing.assert_array_equal(tables[0], quantize.scaled_table(quantize.LUMA_TABLE, 75))
  np.testing.assert_array_equal(tables[1], quantize.scaled_table(quantize.CHROMA_TABLE, 75))
  planes = colour.to_planes(image, subsampling)
  assert [p.shape[0] // 8 for p in planes] == [t.shape[0] for t in theirs]
  for index, (plane, levels) in enumerate(zip(planes, theirs)):
    basic = quantize.LUMA_TABLE if index == 0 else quantize.CHROMA_TABLE
    ours = quantize.quantize(dct.forward(plane), quantize.scaled_table(basic, 75))
    # libjpeg's integer DCT rounds differently in rare cases, by one level at most.
    assert np.abs(ours.astype(int) - levels).max() <= 1
    assert np.mean(ours == levels) > 0.998


@pytest.mark.parametrize("quality", [1, 10, 49, 50, 51, 90, 100])
def test_scaled_tables_match_libjpeg_at_integer_qualities(tmp_path, quality):
  image = np.ascontiguousarray(read_rgb("kodim21.png")[:16, :16])
  _, tables = _libjpeg_levels(tmp_path, image, quality, "420")
  np.testing.assert_array_equal(tables[0], quantize.scaled_table(quantize.LUMA_TABLE, quality))


def test_fractional_quality_tables_lie_between_integer_ones():
  low, mid, high = (quantize.scaled_table(quantize.LUMA_TABLE, q) for q in (60, 60.5, 61))
  assert (mid <= low).all() and (mid >= high).all() and (mid != low).any()


def test_staggered_tables_move_a_few_entries_per_small_step():
  """Small knob steps change few entries, below quality 50 too, so sizes move in small steps."""
  tables = [quantize.staggered_table(quantize.ROBIDOUX_TABLE, q) for q in np.arange(20, 95, 0.01)]
  changed = [int((a != b).sum()) for a, b in zip(tables, tables[1:])]
  assert max(changed) <= 8 and sum(changed) > 1000
  assert all((b <= a).all() for a, b in zip(tables, tables[1:]))  # Finer as the knob rises.


def test_dct_round_trip_is_exact_to_float_precision():
  plane = read_rgb("kodim04.png")[:64, :64, 1].astype(np.float32)
  coefficients = dct.forward(plane)
  assert coefficients.shape == (8, 8, 8, 8)
  np.testing.assert_allclose(dct.inverse(coefficients), plane, atol=1e-3)
  np.testing.assert_allclose(
    coefficients[..., 0, 0], 8 * (plane.reshape(8, 8, 8, 8).mean(axis=(1, 3)) - 128), atol=1e-3
  )


def test_deadzone_keeps_only_what_the_block_table_keeps():
  coefficients = np.array([[[[40.0, 6.0], [-13.0, 2.0]]]]).repeat(4, 2).repeat(4, 3)
  base = np.full((8, 8), 4)
  block_tables = np.full((1, 1, 8, 8), 26)  # Keeps |c| >= 13.
  levels = quantize.deadzone_quantize(coefficients, base, block_tables)
  assert levels[0, 0, 0, 0] == 10 and levels[0, 0, 7, 0] == -3  # 40 / 4, -13 / 4 rounded.
  assert levels[0, 0, 0, 7] == 0 and levels[0, 0, 7, 7] == 0  # 6 and 2 are below 13.


def test_levels_are_clipped_to_the_baseline_range():
  huge = np.full((1, 1, 8, 8), 1e6)
  levels = quantize.quantize(huge, np.ones((8, 8)))
  assert levels.dtype == np.int16
  assert levels[0, 0, 0, 0] == 1023 and levels[0, 0, 0, 1] == 1023
  assert quantize.quantize(-huge, np.ones((8, 8)))[0, 0, 0, 0] == -1024


def test_grayscale_gives_one_plane_and_block_grid_counts_like_libjpeg():
  assert len(colour.to_planes(np.zeros((9, 17), np.uint8), "420")) == 1
  assert colour.block_grid(77, 101, "420") == [(10, 13), (5, 7), (5, 7)]
  assert colour.block_grid(77, 101, "444") == [(10, 13)] * 3


def test_fancy_upsampling_matches_libjpeg_turbos_decoder(tmp_path):
  """Our model of the decoder's chroma upsampling is libjpeg-turbo's, to its rounding."""
  path = tmp_path / "opencv.jpg"
  path.write_bytes(turbo.encode(read_rgb("kodim23.png")[:64, :96], 95))
  coefficients = jpeglib.read_dct(str(path))
  half = dct.inverse(coefficients.Cb.astype(np.float64) * coefficients.qt[1])
  decoded = jpeglib.read_spatial(str(path), out_color_space=jpeglib.Colorspace.JCS_YCbCr).spatial[
    ..., 1
  ]
  ours = colour.fancy_upsample_h2v2(np.clip(np.round(half), 0, 255))
  assert np.abs(ours - decoded).max() <= 1.5 and np.abs(ours - decoded).mean() < 0.6


def test_fitted_chroma_is_closer_after_the_decoders_upsampling():
  image = read_rgb("kodim23.png")
  _, cb, _ = colour.rgb_to_ycbcr(image)
  box = colour.downsample_h2v2(cb)
  fitted = colour.fit_h2v2(cb)
  error = [np.sqrt(np.mean((colour.fancy_upsample_h2v2(c) - cb) ** 2)) for c in (box, fitted)]
  assert error[1] < 0.9 * error[0]
  assert fitted.dtype == np.float32 and fitted.shape == box.shape
  assert fitted.min() >= 0 and fitted.max() <= 255
  flat = np.full((16, 16), 77.0, np.float32)
  np.testing.assert_allclose(colour.fit_h2v2(flat), 77.0)  # Nothing to correct.


def test_the_fits_2x2_means_are_numpys_bit_for_bit():
  rng = np.random.default_rng(0)
  plane = rng.integers(0, 256, (64, 96)) - rng.uniform(0, 255, (64, 96)) * rng.choice(
    [1e-3, 1e5], (64, 96)
  )
  expected = plane.reshape(32, 2, 48, 2).mean(axis=(1, 3))
  np.testing.assert_array_equal(colour._mean_2x2(plane), expected)  # pylint: disable=protected-access


def test_the_fits_residual_means_are_the_array_forms_bit_for_bit():
  rng = np.random.default_rng(1)
  plane = rng.uniform(0, 255, (34, 50)).astype(np.float32)
  fitted = rng.uniform(0, 255, (17, 25))
  residual = plane.astype(np.float64) - colour.fancy_upsample_h2v2(fitted)
  expected = colour._mean_2x2(residual)  # pylint: disable=protected-access
  np.testing.assert_array_equal(colour._residual_mean(plane, fitted), expected)  # pylint: disable=protected-access
