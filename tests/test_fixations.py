"""Fixation metrics against hand-computed cases, and bad fixation data."""

import math

import numpy as np
from PIL import Image
import pytest

from semantic_jpeg import errors
from semantic_jpeg.evaluation import fixation_metrics as fm
from semantic_jpeg.evaluation import fixations as fx

# --- NSS -------------------------------------------------------------------------------------


def test_nss_hand_computed():
  # Map [[0, 0], [0, 4]]: mean 1, population std sqrt((1+1+1+9)/4) = sqrt(3).
  sal = np.array([[0.0, 0.0], [0.0, 4.0]])
  assert fm.nss(sal, [1.5], [1.2]) == pytest.approx(3 / math.sqrt(3))
  assert fm.nss(sal, [0.0], [0.9]) == pytest.approx(-1 / math.sqrt(3))
  # Two fixations, one on each: mean of the two.
  assert fm.nss(sal, [1.0, 0.0], [1.0, 0.0]) == pytest.approx((3 - 1) / 2 / math.sqrt(3))


def test_nss_counts_duplicates_and_is_affine_invariant():
  sal = np.array([[0.0, 0.0], [0.0, 4.0]])
  twice = fm.nss(sal, [1.0, 1.0, 0.0], [1.0, 1.0, 0.0])
  assert twice == pytest.approx((3 + 3 - 1) / 3 / math.sqrt(3))
  assert fm.nss(7 * sal + 3, [1.0, 1.0, 0.0], [1.0, 1.0, 0.0]) == pytest.approx(twice)


def test_nss_constant_map_is_zero():
  assert fm.nss(np.ones((3, 3)), [1.0], [1.0]) == 0.0


# --- CC --------------------------------------------------------------------------------------


def test_cc_hand_computed():
  a = np.array([[1.0, 2.0], [3.0, 4.0]])
  assert fm.cc(a, a) == pytest.approx(1.0)
  assert fm.cc(a, -a) == pytest.approx(-1.0)
  assert fm.cc(a, 10 * a + 5) == pytest.approx(1.0)
  # a - mean = (-1.5, -.5, .5, 1.5); b = (1, 0, 0, 1) - .5 = (.5, -.5, -.5, .5)
  # sum ab = -.75 + .25 - .25 + .75 = 0 -> uncorrelated.
  assert fm.cc(a, np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(0.0)
  # b = (0, 0, 0, 1): b - mean = (-.25, -.25, -.25, .75); sum ab = .375+.125-.125+1.125 = 1.5
  # |a| = sqrt(5), |b| = sqrt(.75) -> cc = 1.5 / sqrt(3.75)
  b = np.array([[0.0, 0.0], [0.0, 1.0]])
  assert fm.cc(a, b) == pytest.approx(1.5 / math.sqrt(3.75))


# --- AUC-Judd --------------------------------------------------------------------------------


def test_auc_judd_hand_computed():
  # 4 pixels, values 1..4, one fixation on value 3. Threshold 3: 2 pixels >= 3 (3, 4),
  # tp = 1, fp = (2 - 1) / (4 - 1) = 1/3. Curve (0,0) (1/3,1) (1,1): area = 1/6 + 2/3 = 5/6.
  sal = np.array([[1.0, 2.0], [3.0, 4.0]])
  assert fm.auc_judd(sal, [1.0], [0.0]) == pytest.approx(5 / 6)
  # Fixation on the top value: fp = 0 -> area 1. On the lowest: fp = 1 -> area 0.5.
  assert fm.auc_judd(sal, [1.0], [1.0]) == pytest.approx(1.0)
  assert fm.auc_judd(sal, [0.0], [0.0]) == pytest.approx(0.5)


def test_auc_judd_two_fixations():
  # Values 1..4 with fixations on 4 and 2; thresholds 4 then 2.
  # t=4: above=1, tp=.5, fp=(1-1)/2=0; t=2: above=3, tp=1, fp=(3-2)/2=.5.
  # Curve (0,0),(0,.5),(.5,1),(1,1): area = 0 + .5*(.5+1)/2 + .5*1 = .375 + .5 = .875.
  sal = np.array([[1.0, 2.0], [3.0, 4.0]])
  assert fm.auc_judd(sal, [1.0, 0.0], [1.0, 1.0]) == pytest.approx(0.875)


def test_auc_judd_constant_map_is_half():
  assert fm.auc_judd(np.zeros((4, 4)), [1.0, 2.0], [1.0, 3.0]) == pytest.approx(0.5)


# --- shuffled AUC ----------------------------------------------------------------------------


def test_roc_auc_ties_count_half():
  assert fm.roc_auc([3.0], [1.0, 2.0]) == pytest.approx(1.0)
  assert fm.roc_auc([2.0], [1.0, 2.0, 3.0]) == pytest.approx((1 + 0.5) / 3)
  assert fm.roc_auc([1.0, 3.0], [2.0]) == pytest.approx(0.5)


def test_shuffled_auc_hand_computed():
  # 2x2 map; positive fixation on value 4; negatives (normalised) at pixels (0,0) and (1,0)
  # with values 1 and 3 -> AUC 1. Positive on value 2 -> one win (1), one loss (3) -> 0.5.
  sal = np.array([[1.0, 2.0], [3.0, 4.0]])
  neg_y, neg_x = np.array([0.1, 0.6]), np.array([0.2, 0.3])
  assert fm.shuffled_auc(sal, [1.5], [1.5], neg_y, neg_x) == pytest.approx(1.0)
  assert fm.shuffled_auc(sal, [0.5], [1.5], neg_y, neg_x) == pytest.approx(0.5)
  # A centre-bias map scores 0.5 when positives and negatives share positions.
  assert fm.shuffled_auc(sal, [0.0, 1.0], [0.0, 0.0], [0.0, 0.5], [0.0, 0.0]) == 0.5


# --- log-likelihood / information gain -------------------------------------------------------


def test_information_gain_hand_computed():
  uniform = np.log(np.full((2, 2), 0.25))
  half = np.log(np.array([[0.5, 0.5 / 3], [0.5 / 3, 0.5 / 3]]))
  assert fm.log_likelihood(uniform, [0.0], [0.0]) == pytest.approx(0.0)
  # p = 0.5 on a 4-pixel image: log2(0.5 * 4) = 1 bit.
  assert fm.log_likelihood(half, [0.0], [0.0]) == pytest.approx(1.0)
  assert fm.information_gain(half, uniform, [0.0], [0.0]) == pytest.approx(1.0)
  # On a pixel with p = 1/6: log2(4/6).
  assert fm.information_gain(half, uniform, [1.0], [1.0]) == pytest.approx(math.log2(4 / 6))


def test_normalize_and_map_to_log_density():
  m = np.array([[0.0, math.log(3.0)]])
  np.testing.assert_allclose(np.exp(fm.normalize_log_density(m)), [[0.25, 0.75]])
  ld = fm.map_to_log_density(np.array([[0.0, 1.0]]), uniform_weight=0.5)
  np.testing.assert_allclose(np.exp(ld), [[0.25, 0.75]])


def test_centre_gaussian_log_density_sums_to_one():
  ld = fm.centre_gaussian_log_density((5, 7), 0.2, 0.3, uniform_weight=0.1)
  assert np.exp(ld).sum() == pytest.approx(1.0)
  assert np.unravel_index(np.argmax(ld), ld.shape) == (2, 3)


# --- density maps ----------------------------------------------------------------------------


def test_density_map_matches_direct_gaussian():
  shape = (20, 30)
  d = fx.density_map([5.2, 12.7], [3.9, 25.0], shape, sigma_frac=0.1)
  yy, xx = np.mgrid[0:20, 0:30] + 0.5
  sigma = 3.0
  ref = sum(
    np.exp(-0.5 * (((yy - cy) / sigma) ** 2 + ((xx - cx) / sigma) ** 2))
    for cy, cx in ((5.5, 3.5), (12.5, 25.5))
  )
  np.testing.assert_allclose(d, ref / ref.sum(), rtol=1e-5, atol=1e-9)
  assert d.sum() == pytest.approx(1.0)


def test_fixations_fall_in_their_floor_pixel_and_duplicates_count():
  c = np.zeros((2, 2))
  np.add.at(c, fx.pixel_indices([0.9, 0.1, 1.99], [0.5, 0.2, 1.0], (2, 2)), 1.0)
  np.testing.assert_array_equal(c, [[2, 0], [0, 1]])


# --- loading ---------------------------------------------------------------------------------


def _write(tmp_path, text, images=(("a.jpg", 4, 6), ("b.jpg", 5, 5))):
  folder = tmp_path / "images"
  folder.mkdir()
  for name, h, w in images:
    Image.new("RGB", (w, h)).save(folder / name)
  path = tmp_path / "fixations.csv"
  path.write_text(text)
  return str(path)


def test_load_good_rows(tmp_path):
  path = _write(
    tmp_path,
    "image,viewer,y,x,start_s,duration_s\n"
    "a.jpg,1,1.5,2.5,0,0.1\na.jpg,2,3.9,5.9,0,0.1\nb.jpg,1,0,0,0,0.1\n",
  )
  data = fx.load_fixations(path)
  assert list(data) == ["a.jpg", "b.jpg"]
  assert data["a.jpg"].shape == (4, 6)
  np.testing.assert_allclose(data["a.jpg"].ys, [1.5, 3.9])
  np.testing.assert_array_equal(data["a.jpg"].viewers, [1, 2])


def test_load_skips_rows_outside_with_warning(tmp_path):
  path = _write(
    tmp_path, "image,viewer,y,x\na.jpg,1,1,1\na.jpg,1,4.0,1\na.jpg,1,1,-0.1\nb.jpg,1,2,2\n"
  )
  with pytest.warns(UserWarning, match="a.jpg: skipped 2 fixation"):
    data = fx.load_fixations(path)
  assert len(data["a.jpg"]) == 1


def test_load_skips_image_without_fixations(tmp_path):
  path = _write(tmp_path, "image,viewer,y,x\na.jpg,1,1,1\n")
  with pytest.warns(UserWarning, match="b.jpg: no fixations"):
    data = fx.load_fixations(path)
  assert list(data) == ["a.jpg"]


def test_load_skips_unparseable_rows(tmp_path):
  path = _write(
    tmp_path, "image,viewer,y,x\na.jpg,1,1,1\na.jpg,1,oops,1\nb.jpg,1,nan,1\nb.jpg,1,2,2\n"
  )
  with pytest.warns(UserWarning, match="skipped 2 bad row"):
    data = fx.load_fixations(path)
  assert len(data["a.jpg"]) == 1 and len(data["b.jpg"]) == 1


def test_load_errors(tmp_path):
  with pytest.raises(errors.FixationDataError, match="no such fixation file"):
    fx.load_fixations(str(tmp_path / "missing.csv"))
  path = _write(tmp_path, "image,viewer,y\na.jpg,1,1\n")
  with pytest.raises(errors.FixationDataError, match="missing column"):
    fx.load_fixations(path)
  (tmp_path / "fixations.csv").write_text("image,viewer,y,x\nc.jpg,1,1,1\n")
  with pytest.raises(errors.FixationDataError, match="not in"):
    fx.load_fixations(path)


def test_folds_are_fixed():
  f = fx.folds(["c", "a", "b", "e", "d", "f"], k=5)
  assert f == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4, "f": 0}


def test_all_metrics_shape_check():
  f = fx.Fixations("x", 2, 2, np.array([1.0]), np.array([1.0]), np.array([1]))
  with pytest.raises(ValueError, match="map shape"):
    fm.all_metrics(np.zeros((3, 3)), f, [0.1], [0.1])


def test_fitted_centre_gaussian_prefers_the_fixations_spread():
  rng = np.random.default_rng(0)
  near = [
    fx.Fixations("n", 100, 100, 50 + rng.normal(0, 8, 80), 50 + rng.normal(0, 8, 80), np.ones(80))
    for _ in range(3)
  ]
  wide = [
    fx.Fixations("w", 100, 100, rng.uniform(0, 100, 80), rng.uniform(0, 100, 80), np.ones(80))
    for _ in range(3)
  ]
  tight, broad = fm.fit_centre_gaussian(near), fm.fit_centre_gaussian(wide)
  assert tight.sigma_y < 0.12 and tight.sigma_x < 0.12  # Spread 8 px of 100.
  assert broad.sigma_y > 0.3 or broad.uniform >= 0.3
  assert np.exp(tight.log_density((10, 20))).sum() == pytest.approx(1.0)


def test_fixated_blocks_are_where_the_fixations_are():
  fix = fx.Fixations(
    "a", 64, 96, np.array([10.0, 12.0, 11.0]), np.array([80.0, 82.0, 84.0]), np.ones(3)
  )
  top = fx.fixated_blocks(fix)
  assert top.shape == (8, 12) and top.mean() == pytest.approx(0.25, abs=0.02)
  assert top[1, 10] and not top[7, 0]
