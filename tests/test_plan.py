"""Quality policies and the plan: the block qualities each policy gives on a known map."""

import numpy as np
import pytest

from semantic_jpeg import errors
from semantic_jpeg.codec import plan
from semantic_jpeg.codec import policies
from semantic_jpeg.codec import tuning

RAMP = (np.arange(100, dtype=np.float64) / 99.0).reshape(10, 10)  # Saliency 0 .. 1.


def qualities(name: str, quality: float = policies.PAPER_QUALITY, **params) -> np.ndarray:
  return policies.block_qualities(name, RAMP, quality, params)


def test_continuous_default_is_a_smooth_step_over_the_top_35_percent():
  q = qualities("continuous")
  assert np.all(np.diff(q.ravel()) >= 0)  # Monotone in saliency.
  assert q.min() == pytest.approx(50 - 19) and q.max() == pytest.approx(50 + 19)
  assert np.mean(q > 50) == 0.35  # The top 35 % is favoured ...
  assert np.mean(q >= 68) >= 0.2 and np.mean(q <= 32) >= 0.5  # ... behind a short ramp.


def test_continuous_depends_on_rank_not_on_map_contrast():
  np.testing.assert_array_equal(
    policies.block_qualities("continuous", RAMP, 50, {}),
    policies.block_qualities("continuous", RAMP**3 * 0.2, 50, {}),
  )


def test_uniform_ignores_the_map():
  assert np.all(qualities("uniform", 63.5) == 63.5)


def test_threshold_model_splits_at_the_mean():
  q = qualities("threshold")
  np.testing.assert_array_equal(q, np.where(RAMP > RAMP.mean(), 100, 70))


def test_linear_model_steps_ten_per_tenth_of_the_peak():
  q = qualities("linear").ravel()
  assert q[0] == 30 and q[50] == 30 + 10 * np.floor(10 * 50 / 99) and q[-1] == 100
  assert set(np.diff(q)) <= {0.0, 10.0}


def test_percentile_model_gives_each_decile_its_own_quality():
  q = qualities("percentile").ravel()
  assert q[0] == 20 and q[-1] == 100
  assert list(np.unique(q)) == [20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_discrete_percentile_model_has_four_levels_by_share():
  q = qualities("discrete_percentile").ravel()
  shares = {level: np.mean(q == level) for level in (50, 70, 90, 100)}
  assert shares == pytest.approx({50: 0.2, 70: 0.4, 90: 0.3, 100: 0.1}, abs=0.011)


@pytest.mark.parametrize(
  "name,low,high", [("two_level", 30, 90), ("two_level_high_coverage", 80, 100)]
)
def test_two_level_models_split_at_the_median(name, low, high):
  q = qualities(name).ravel()
  np.testing.assert_array_equal(q, np.where(np.arange(100) < 50, low, high))


def test_paper_levels_move_with_the_knob_and_are_clamped():
  q = qualities("two_level", 70.0)
  assert set(np.unique(q)) == {50.0, 100.0}  # 30 + 20, min(90, 100) + 20 clamped to 100.
  assert qualities("percentile", 1.0).min() == 1.0


def test_unknown_policy_or_parameter_is_an_encode_error():
  with pytest.raises(errors.EncodeError, match="unknown policy"):
    policies.block_qualities("median", RAMP, 50, {})
  with pytest.raises(errors.EncodeError, match="no parameter"):
    policies.block_qualities("uniform", RAMP, 50, {"span": 10})


def test_pixel_maps_are_pooled_to_blocks_edges_included():
  pixels = np.zeros((12, 20))
  pixels[8:, 16:] = 1.0  # The bottom-right partial block is fully salient.
  grid = plan.block_saliency(pixels, 12, 20)
  assert grid.shape == (2, 3) and grid[1, 2] == 1.0 and grid[0, 0] == 0.0
  with pytest.raises(errors.EncodeError, match="matches neither"):
    plan.block_saliency(pixels, 13, 20)


def test_chroma_blocks_take_the_best_of_their_four_luma_blocks():
  luma = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0], [70.0, 80.0, 90.0]])
  np.testing.assert_array_equal(plan.chroma_qualities(luma, "420"), [[50, 60], [80, 90]])
  np.testing.assert_array_equal(plan.chroma_qualities(luma, "444"), luma)


def test_saliency_multipliers_spare_flat_background_blocks():
  flat = np.zeros((2, 64))
  busy = np.full((2, 64), 40.0)
  blocks = np.concatenate([flat, busy])
  weights = np.array([1.0, -1.0, 1.0, -1.0])
  params = tuning.Tuning(background_cap=10.0, flat_energy=200.0)
  multipliers = plan.saliency_multipliers(blocks, weights, params)
  assert multipliers[0] == 1.0  # A flat background block keeps its lambda.
  assert multipliers[1] == pytest.approx(np.exp(-1.0))  # Salient blocks always gain.
  assert multipliers[2] == pytest.approx(np.exp(1600.0 / 1800.0))  # Nearly the full increase.
  assert multipliers[3] == pytest.approx(np.exp(-1.0))


def test_zero_flat_energy_raises_flat_blocks_too():
  flat = np.zeros((1, 64))
  multipliers = plan.saliency_multipliers(
    flat, np.array([1.0]), tuning.Tuning(background_cap=10.0, flat_energy=0.0)
  )
  assert multipliers[0] == pytest.approx(np.e)


def test_the_coefficient_path_has_its_own_strength_cap_and_damping():
  params = tuning.Tuning(
    saliency_strength=((0.1, 1.0), (0.25, 2.0)),
    coefficient_strength=3.0,
    coefficient_background_cap=8.0,
    coefficient_flat_energy=0.0,
  )
  coefficients = params.for_coefficients()
  assert coefficients.saliency_strength == ((0.1, 3.0), (0.25, 6.0))
  assert (coefficients.background_cap, coefficients.flat_energy) == (8.0, 0.0)
  assert coefficients.luma_lambda == params.luma_lambda


def test_zeroing_thresholds_rise_in_the_background_with_strength():
  params = tuning.Tuning(background_deadzone=0.2)
  q = qualities("continuous")
  thresholds = plan.zeroing_thresholds(q, 1.0, params)
  assert thresholds.max() == pytest.approx(0.7) and thresholds.min() == 0.5
  assert (thresholds[q >= 50] == 0.5).all()  # Favoured blocks keep mozjpeg's rule.
  assert (np.diff(thresholds.ravel()) <= 0).all()  # Higher the less salient.
  np.testing.assert_allclose(plan.zeroing_thresholds(q, 2.0, params) - 0.5, 2 * (thresholds - 0.5))
  assert (plan.zeroing_thresholds(q, 0.0, params) == 0.5).all()
  assert (plan.zeroing_thresholds(qualities("uniform", 60.0), 1.0, params) == 0.5).all()


def test_background_cap_bounds_every_increase():
  busy = np.full((3, 64), 40.0)
  weights = np.array([2.0, 0.1, -2.0])
  capped = plan.saliency_multipliers(busy, weights, tuning.Tuning(background_cap=1.5))
  free = plan.saliency_multipliers(busy, weights)
  assert capped[0] == 1.5 < free[0]
  assert capped[1] == free[1] < 1.5 and capped[2] == free[2] == pytest.approx(np.exp(-2.0))


def test_trellis_lambdas_scale_with_strength_and_ignore_the_map_at_zero():
  rng = np.random.default_rng(0)
  coefficients = [rng.normal(0, 30, (4, 4, 8, 8)), rng.normal(0, 5, (2, 2, 8, 8))]
  qualities = np.repeat(np.linspace(31, 69, 4)[:, None], 4, axis=1)
  plain = plan.trellis_lambdas(coefficients, qualities, 0.0)
  weighted = plan.trellis_lambdas(coefficients, qualities, 1.0)
  flat = coefficients[0].reshape(-1, 64)
  np.testing.assert_allclose(plain[0].ravel(), plan.texture_lambdas(flat, 1.0))
  np.testing.assert_array_equal(plain[1], weighted[1])  # Chroma ignores the map.
  assert (weighted[0][0] > plain[0][0]).all() and (weighted[0][-1] < plain[0][-1]).all()
