"""Quality metrics on real photos: known values, rankings of known distortions, salient variants."""

import math

import cv2
import numpy as np
import pytest
import tensorflow as tf

from semantic_jpeg.evaluation import metrics

from conftest import read_rgb

SIDE = 256  # Crop side: big enough for five MS-SSIM scales, small enough to be fast.
ALL_KEYS = (
  "psnr",
  "ssim",
  "ms_ssim",
  "vifp",
  "psnr_hvs",
  "psnr_hvsm",
  "ssimulacra2",
  "salient_psnr",
  "salient_psnr_hvsm",
  "salient_ssimulacra2",
  "map_weighted_psnr",
)


@pytest.fixture(scope="module")
def parrots() -> np.ndarray:
  return read_rgb("kodim23.png")[128 : 128 + SIDE, 256 : 256 + SIDE].copy()


@pytest.fixture(scope="module")
def lighthouse() -> np.ndarray:
  return read_rgb("kodim21.png")[:SIDE, 256 : 256 + SIDE].copy()


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
  noise = np.random.default_rng(seed).normal(0.0, sigma, image.shape)
  return np.clip(np.round(image + noise), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
  ok, data = cv2.imencode(
    ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
  )
  assert ok
  return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def grid(image: np.ndarray) -> tuple[int, int]:
  return -(-image.shape[0] // 8), -(-image.shape[1] // 8)


def top_half(image: np.ndarray) -> np.ndarray:
  salient = np.zeros(grid(image), dtype=bool)
  salient[: salient.shape[0] // 2] = True
  return salient


def everything(reference: np.ndarray, distorted: np.ndarray) -> dict[str, float]:
  """All metrics, with the salient and map-weighted ones on a known map."""
  salient = top_half(reference)
  return metrics.full_reference(
    reference, distorted, salient_blocks=salient, block_map=np.where(salient, 1.0, 0.25)
  )


def assert_better(better: dict[str, float], worse: dict[str, float]):
  assert better.keys() == worse.keys() == set(ALL_KEYS)
  losers = {k: (better[k], worse[k]) for k in better if not better[k] > worse[k]}
  assert not losers


def test_identical_images_give_each_metric_its_best_value(parrots):
  scores = everything(parrots, parrots)
  assert scores.pop("vifp") == pytest.approx(1.0, abs=1e-9)  # Up to sewar's epsilon.
  assert scores == {
    "psnr": math.inf,
    "ssim": 1.0,
    "ms_ssim": 1.0,
    "psnr_hvs": 100.0,
    "psnr_hvsm": 100.0,
    "ssimulacra2": 100.0,
    "salient_psnr": math.inf,
    "salient_psnr_hvsm": 100.0,
    "salient_ssimulacra2": 100.0,
    "map_weighted_psnr": math.inf,
  }


def test_psnr_of_known_gaussian_noise(parrots):
  distorted = noisy(parrots, 5.0)
  error = distorted.astype(np.float64) - parrots  # Rounded and clipped noise.
  expected = 10 * math.log10(255**2 / np.mean(error**2))
  assert metrics.psnr(parrots, distorted) == pytest.approx(expected, abs=1e-9)
  assert metrics.psnr(parrots, distorted) == pytest.approx(20 * math.log10(255 / 5), abs=0.2)
  assert metrics.psnr(parrots, distorted) == pytest.approx(cv2.PSNR(parrots, distorted), abs=1e-9)


def test_ssim_falls_as_noise_grows(parrots):
  scores = [metrics.ssim(parrots, noisy(parrots, sigma)) for sigma in (2.0, 5.0, 10.0)]
  assert 1.0 > scores[0] > scores[1] > scores[2]


def test_every_metric_prefers_weaker_noise(parrots):
  assert_better(everything(parrots, noisy(parrots, 2.0)), everything(parrots, noisy(parrots, 10.0)))


def test_every_metric_penalises_a_shift_more_the_larger_it_is(lighthouse):
  identical, by_1, by_3 = (
    everything(lighthouse, np.roll(lighthouse, shift, axis=1)) for shift in (0, 1, 3)
  )
  assert_better(identical, by_1)
  assert_better(by_1, by_3)


def test_every_metric_prefers_jpeg_quality_90_to_30(lighthouse):
  assert_better(
    everything(lighthouse, jpeg(lighthouse, 90)), everything(lighthouse, jpeg(lighthouse, 30))
  )


def test_salient_metrics_ignore_damage_outside_salient_blocks(parrots):
  salient = top_half(parrots)
  clean = jpeg(parrots, 50)
  damaged = clean.copy()
  damaged[SIDE // 2 :] = noisy(parrots[SIDE // 2 :], 20.0)
  assert metrics.salient_psnr(parrots, damaged, salient) == metrics.salient_psnr(
    parrots, clean, salient
  )
  assert metrics.salient_psnr_hvsm(parrots, damaged, salient) == metrics.salient_psnr_hvsm(
    parrots, clean, salient
  )
  assert metrics.salient_ssimulacra2(parrots, damaged, salient) == metrics.salient_ssimulacra2(
    parrots, clean, salient
  )
  assert metrics.psnr(parrots, damaged) < metrics.psnr(parrots, clean) - 3

  only_outside = parrots.copy()
  only_outside[SIDE // 2 :] = damaged[SIDE // 2 :]
  assert metrics.salient_psnr(parrots, only_outside, salient) == math.inf
  assert metrics.salient_psnr_hvsm(parrots, only_outside, salient) == 100.0
  assert metrics.salient_ssimulacra2(parrots, only_outside, salient) == 100.0
  assert metrics.psnr(parrots, only_outside) < 40


def test_salient_psnr_hvsm_tiles_are_the_jpeg_blocks(parrots):
  damaged = parrots.copy()
  damaged[24:32, 40:48] = 255 - damaged[24:32, 40:48]  # Block (3, 5) only.
  block = np.zeros(grid(parrots), dtype=bool)
  block[3, 5] = True
  assert metrics.salient_psnr_hvsm(parrots, damaged, ~block) == 100.0
  assert metrics.salient_psnr_hvsm(parrots, damaged, block) < 20
  assert metrics.salient_psnr_hvsm(parrots, damaged, np.ones_like(block)) == pytest.approx(
    metrics.psnr_hvsm(parrots, damaged), abs=1e-12
  )


def test_salient_ssimulacra2_is_the_whole_score_when_every_block_is_salient(parrots):
  distorted = jpeg(parrots, 30)
  everywhere = np.ones(grid(parrots), dtype=bool)
  assert metrics.salient_ssimulacra2(parrots, distorted, everywhere) == metrics.ssimulacra2(
    parrots, distorted
  )
  top = metrics.salient_ssimulacra2(parrots, distorted, top_half(parrots))
  assert metrics.ssimulacra2(parrots, distorted) < top < 100.0
  with pytest.raises(ValueError, match="no 8x8 block is salient"):
    metrics.salient_ssimulacra2(parrots, distorted, ~everywhere)


def test_a_prepared_reference_scores_as_a_fresh_one(parrots):
  distorted, other = jpeg(parrots, 30), jpeg(parrots, 70)
  prepared = metrics.prepare_ssimulacra2(parrots)
  for image in (distorted, other, distorted):  # Scoring leaves the prepared reference as it was.
    assert metrics.ssimulacra2(parrots, image, prepared) == metrics.ssimulacra2(parrots, image)
    assert metrics.salient_ssimulacra2(
      parrots, image, top_half(parrots), prepared
    ) == metrics.salient_ssimulacra2(parrots, image, top_half(parrots))
  salient = top_half(parrots)
  assert metrics.full_reference(
    parrots, distorted, salient_blocks=salient, slow=False, prepared=prepared
  ) == metrics.full_reference(parrots, distorted, salient_blocks=salient, slow=False)


def test_salient_errors_only_takes_the_salient_blocks_from_the_distorted_image(parrots):
  distorted = jpeg(parrots, 30)
  composite = metrics.salient_errors_only(parrots, distorted, top_half(parrots))
  np.testing.assert_array_equal(composite[: SIDE // 2], distorted[: SIDE // 2])
  np.testing.assert_array_equal(composite[SIDE // 2 :], parrots[SIDE // 2 :])


def test_psnr_hvs_skips_partial_edge_blocks(parrots):
  distorted = jpeg(parrots, 30)
  edge, inner = (slice(0, 77), slice(0, 101)), (slice(0, 72), slice(0, 96))
  for metric in (metrics.psnr_hvs, metrics.psnr_hvsm):
    assert metric(parrots[edge], distorted[edge]) == metric(parrots[inner], distorted[inner])
  only_edge = np.zeros((10, 13), dtype=bool)
  only_edge[9, :] = True
  with pytest.raises(ValueError, match="complete"):
    metrics.salient_psnr_hvsm(parrots[edge], distorted[edge], only_edge)


def test_map_weighted_psnr(parrots):
  distorted = jpeg(parrots, 30)
  psnr = metrics.psnr(parrots, distorted)
  assert metrics.map_weighted_psnr(parrots, distorted, np.ones(grid(parrots))) == pytest.approx(
    psnr, abs=1e-9
  )
  assert metrics.map_weighted_psnr(parrots, distorted, np.zeros(grid(parrots))) == psnr
  salient = top_half(parrots)
  assert metrics.map_weighted_psnr(parrots, distorted, salient.astype(float)) == pytest.approx(
    metrics.salient_psnr(parrots, distorted, salient), abs=1e-9
  )
  with pytest.raises(ValueError, match=r"\[0, 1\]"):
    metrics.map_weighted_psnr(parrots, distorted, np.full(grid(parrots), 1.5))


def test_block_mask_crops_edge_blocks():
  blocks = np.zeros((10, 13), dtype=bool)  # ceil(77 / 8), ceil(101 / 8).
  blocks[9, 12] = blocks[0, 0] = True
  mask = metrics.block_mask(blocks, 77, 101)
  assert mask.shape == (77, 101) and mask.dtype == bool
  assert mask[72:, 96:].all() and mask[:8, :8].all() and mask.sum() == 5 * 5 + 8 * 8
  with pytest.raises(ValueError, match="block grid"):
    metrics.block_mask(blocks[:9], 77, 101)
  with pytest.raises(ValueError, match="bool"):
    metrics.block_mask(blocks.astype(float), 77, 101)


def test_ms_ssim_uses_the_scales_that_fit_small_images(parrots):
  small, distorted = parrots[:100, :120], jpeg(parrots, 30)[:100, :120]
  weights = np.array(metrics.MS_SSIM_WEIGHTS[:4])  # 100, 50, 25, 13 px; 7 px is below 11.
  expected = tf.image.ssim_multiscale(small, distorted, 255, power_factors=weights / weights.sum())
  assert metrics.ms_ssim(small, distorted) == pytest.approx(float(expected), abs=1e-6)
  with pytest.raises(ValueError, match="11x11"):
    metrics.ms_ssim(small[:10], distorted[:10])
  with pytest.raises(ValueError, match="41x41"):  # sewar would return a wrong value.
    metrics.vifp(small[:40], distorted[:40])


def test_grayscale_images_work_and_match_their_rgb_replica(parrots):
  gray = cv2.cvtColor(parrots, cv2.COLOR_RGB2GRAY)
  distorted = cv2.cvtColor(jpeg(parrots, 30), cv2.COLOR_RGB2GRAY)
  scores = metrics.full_reference(
    gray, distorted, salient_blocks=top_half(gray), block_map=np.ones(grid(gray))
  )
  assert set(scores) == set(ALL_KEYS) and all(math.isfinite(v) for v in scores.values())
  replica, distorted_replica = np.dstack([gray] * 3), np.dstack([distorted] * 3)
  assert metrics.psnr(gray, distorted) == pytest.approx(
    metrics.psnr(replica, distorted_replica), abs=1e-9
  )
  assert metrics.ssimulacra2(gray, distorted) == metrics.ssimulacra2(replica, distorted_replica)
  assert metrics.vifp(gray, distorted) == metrics.vifp(
    replica, distorted_replica
  )  # vifp is on luma.


@pytest.mark.parametrize(
  "name",
  ["psnr", "ssim", "ms_ssim", "vifp", "psnr_hvs", "psnr_hvsm", "ssimulacra2", "full_reference"],
)
def test_bad_inputs_raise_value_error(parrots, name):
  metric = getattr(metrics, name)
  with pytest.raises(ValueError, match="differ in shape"):
    metric(parrots, parrots[:-8])
  with pytest.raises(ValueError, match="not uint8"):
    metric(parrots, parrots.astype(np.float32))
  with pytest.raises(ValueError, match=r"not \[H, W\]"):
    metric(parrots[..., :2], parrots[..., :2])


def test_psnr_mask_must_select_pixels(parrots):
  with pytest.raises(ValueError, match="no pixel"):
    metrics.psnr(parrots, parrots, np.zeros(parrots.shape[:2], dtype=bool))
  with pytest.raises(ValueError, match="not bool"):
    metrics.psnr(parrots, parrots, np.ones(parrots.shape, dtype=bool))


def test_full_reference_keys(parrots):
  small = parrots[:64, :64]  # Big enough for every metric, vifp included.
  assert tuple(metrics.full_reference(small, small)) == ALL_KEYS[:7]
  assert metrics.PAPER_METRICS == ALL_KEYS[:6]
  fast = metrics.full_reference(small, small, slow=False)
  assert tuple(fast) == ("psnr", "ssim", "psnr_hvs", "psnr_hvsm", "ssimulacra2")
  salient = np.ones(grid(small), dtype=bool)
  assert tuple(metrics.full_reference(small, small, salient_blocks=salient, slow=False)) == (
    tuple(fast) + ("salient_psnr", "salient_psnr_hvsm", "salient_ssimulacra2")
  )
  assert tuple(metrics.full_reference(small, small, block_map=np.ones(grid(small)))) == (
    ALL_KEYS[:7] + ("map_weighted_psnr",)
  )
