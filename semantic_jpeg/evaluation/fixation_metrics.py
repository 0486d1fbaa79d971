"""How well a map predicts human eye fixations: NSS, CC, AUC-Judd, shuffled AUC, information gain.

- Metrics are computed per image and then averaged over images by the caller.
- `nss`, `cc`, `auc_judd` and `shuffled_auc` take any real-valued map (they are invariant
  to positive affine changes; AUCs to any increasing change). `information_gain` and
  `log_likelihood` take per-pixel log-probabilities (log p summing to 1 over the pixels).

Metrics:
  NSS: mean over fixations of the map standardised to zero mean and unit std (population std).
  CC: Pearson correlation of the map and the ground-truth density (fixations blurred by a
    Gaussian of `sigma_frac` x the long side, zero outside the image).
  AUC-Judd: ROC area with the fixated pixels as positives, all pixels as negatives, thresholds
    at the map values of the fixations (Judd et al. 2009 / MIT benchmark `AUC_Judd`; ties
    handled exactly instead of by random jitter).
  Shuffled AUC: ROC area (Mann-Whitney, ties count half) of the map at this image's fixations
    against the map at the fixations of all other images (positions rescaled to this image's
    size), which discounts centre bias.
  Information gain: mean over fixations of log2 p_model - log2 p_baseline, bits per fixation.
"""

import dataclasses
import math

import numpy as np

from semantic_jpeg.evaluation.fixations import DENSITY_SIGMA
from semantic_jpeg.evaluation.fixations import Fixations
from semantic_jpeg.evaluation.fixations import density_map
from semantic_jpeg.evaluation.fixations import pixel_indices

LN2 = math.log(2.0)


def nss(saliency: np.ndarray, ys, xs) -> float:
  """Normalized scanpath saliency: mean standardised map value at the fixations."""
  s = np.asarray(saliency, np.float64)
  std = s.std()
  if std == 0:
    return 0.0
  values = s[pixel_indices(ys, xs, s.shape)]
  return float(np.mean((values - s.mean()) / std))


def cc(saliency: np.ndarray, density: np.ndarray) -> float:
  """Pearson correlation coefficient between a map and the ground-truth density."""
  a = np.asarray(saliency, np.float64).ravel()
  b = np.asarray(density, np.float64).ravel()
  a = a - a.mean()
  b = b - b.mean()
  denom = math.sqrt(float(a @ a) * float(b @ b))
  return float(a @ b / denom) if denom > 0 else 0.0


def auc_judd(saliency: np.ndarray, ys, xs) -> float:
  """AUC-Judd: thresholds at the fixated values; TP rate over fixations, FP rate over the
  remaining pixels (pixels at or above the threshold minus the fixations there).

  Identical to the MIT code when the fixated values are distinct; ties are handled by taking
  each distinct threshold once (all fixations at or above it), instead of a random jitter,
  so that a constant map scores 0.5."""
  s = np.asarray(saliency, np.float64)
  values = np.sort(s[pixel_indices(ys, xs, s.shape)])
  nfix, npix = len(values), s.size
  if nfix == 0 or npix <= nfix:
    return float("nan")
  thresholds = np.unique(values)[::-1]
  flat = np.sort(s.ravel())
  pix_above = npix - np.searchsorted(flat, thresholds, side="left")
  fix_above = nfix - np.searchsorted(values, thresholds, side="left")
  tp = np.concatenate([[0.0], fix_above / nfix, [1.0]])
  fp = np.concatenate([[0.0], (pix_above - fix_above) / (npix - nfix), [1.0]])
  return float(np.trapezoid(tp, fp))


def roc_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
  """P(pos > neg) + 0.5 P(pos == neg), exact (Mann-Whitney U / (n_pos n_neg))."""
  pos = np.asarray(positives, np.float64).ravel()
  neg = np.sort(np.asarray(negatives, np.float64).ravel())
  if len(pos) == 0 or len(neg) == 0:
    return float("nan")
  below = np.searchsorted(neg, pos, side="left")
  equal = np.searchsorted(neg, pos, side="right") - below
  return float(np.mean(below + 0.5 * equal) / len(neg))


def shuffled_auc(saliency: np.ndarray, ys, xs, other_ys_norm, other_xs_norm) -> float:
  """Shuffled AUC: the map at this image's fixations vs at the other images' fixations.

  other_*_norm: positions of the other images' fixations in [0, 1) (row / height, col / width);
  they are placed on this image's pixel grid.
  """
  s = np.asarray(saliency, np.float64)
  pos = s[pixel_indices(ys, xs, s.shape)]
  neg = s[
    pixel_indices(
      np.asarray(other_ys_norm) * s.shape[0], np.asarray(other_xs_norm) * s.shape[1], s.shape
    )
  ]
  return roc_auc(pos, neg)


def log_likelihood(log_density: np.ndarray, ys, xs) -> float:
  """Mean log2-likelihood of the fixations relative to a uniform map, bits per fixation.

  log_density: per-pixel natural log probabilities (summing to one over the image)."""
  ld = np.asarray(log_density, np.float64)
  return float(np.mean(ld[pixel_indices(ys, xs, ld.shape)]) / LN2 + math.log2(ld.size))


def information_gain(log_density: np.ndarray, baseline_log_density: np.ndarray, ys, xs) -> float:
  """Information gain over a baseline (usually the centre bias), bits per fixation."""
  return log_likelihood(log_density, ys, xs) - log_likelihood(baseline_log_density, ys, xs)


def normalize_log_density(log_map: np.ndarray) -> np.ndarray:
  """Subtracts the log-sum-exp so the map is a per-pixel log probability."""
  m = np.asarray(log_map, np.float64)
  top = m.max()
  return m - (top + math.log(np.exp(m - top).sum()))


def map_to_log_density(saliency: np.ndarray, uniform_weight: float = 0.05) -> np.ndarray:
  """A non-negative saliency map as a density: (1 - w) map / sum + w / n, in log space.

  For information gain of maps that are not densities (CAM, today's map); `uniform_weight`
  should be fitted on training images."""
  s = np.clip(np.asarray(saliency, np.float64), 0.0, None)
  total = s.sum()
  p = s / total if total > 0 else np.full(s.shape, 1.0 / s.size)
  return np.log((1.0 - uniform_weight) * p + uniform_weight / s.size)


def centre_gaussian_log_density(
  shape, sigma_y: float, sigma_x: float, uniform_weight: float = 0.0
) -> np.ndarray:
  """Per-pixel log density of a centred Gaussian, sigmas as fractions of height / width,
  mixed with a uniform density."""
  h, w = shape
  gy = -0.5 * (((np.arange(h) + 0.5) / h - 0.5) / sigma_y) ** 2
  gx = -0.5 * (((np.arange(w) + 0.5) / w - 0.5) / sigma_x) ** 2
  log_g = normalize_log_density(gy[:, None] + gx[None, :])
  if uniform_weight <= 0:
    return log_g
  return np.logaddexp(
    math.log1p(-uniform_weight) + log_g, math.log(uniform_weight) - math.log(h * w)
  )


def all_metrics(
  saliency: np.ndarray,
  fix: Fixations,
  other_ys_norm,
  other_xs_norm,
  log_density: np.ndarray | None = None,
  baseline_log_density: np.ndarray | None = None,
  sigma_frac: float = DENSITY_SIGMA,
) -> dict[str, float]:
  """NSS, CC, AUC-Judd, sAUC (and IG, LL when densities are given) of one map on one image.

  All maps must have the fixations' image shape."""
  if saliency.shape != fix.shape:
    raise ValueError(f"{fix.name}: map shape {saliency.shape} != image shape {fix.shape}")
  out = {
    "NSS": nss(saliency, fix.ys, fix.xs),
    "CC": cc(saliency, density_map(fix.ys, fix.xs, fix.shape, sigma_frac)),
    "AUC-Judd": auc_judd(saliency, fix.ys, fix.xs),
    "sAUC": shuffled_auc(saliency, fix.ys, fix.xs, other_ys_norm, other_xs_norm),
  }
  if log_density is not None:
    out["LL"] = log_likelihood(log_density, fix.ys, fix.xs)
    if baseline_log_density is not None:
      out["IG"] = information_gain(log_density, baseline_log_density, fix.ys, fix.xs)
  return out


@dataclasses.dataclass(frozen=True)
class CentreGaussian:
  """A centred Gaussian (sigmas as fractions of height and width) mixed with a uniform map."""

  sigma_y: float
  sigma_x: float
  uniform: float

  def log_density(self, shape: tuple[int, int]) -> np.ndarray:
    return centre_gaussian_log_density(shape, self.sigma_y, self.sigma_x, self.uniform)


_SIGMAS = np.round(np.arange(0.08, 0.451, 0.01), 3)
_UNIFORM = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def fit_centre_gaussian(training: list[Fixations]) -> CentreGaussian:
  """The centred Gaussian (and uniform share) of highest mean log-likelihood on `training`.

  A grid search (sigmas 0.08..0.45, uniform shares 0..0.5), exact from separable sums.
  """
  total = np.zeros((len(_SIGMAS), len(_SIGMAS), len(_UNIFORM)))
  for fix in training:
    total += _gaussian_log_likelihoods(fix)
  i, j, k = np.unravel_index(np.argmax(total), total.shape)
  return CentreGaussian(float(_SIGMAS[i]), float(_SIGMAS[j]), _UNIFORM[k])


def _gaussian_log_likelihoods(fix: Fixations) -> np.ndarray:
  """Mean log2-likelihood per fixation of every grid Gaussian: [sigma_y, sigma_x, uniform]."""
  height, width = fix.shape
  rows, cols = pixel_indices(fix.ys, fix.xs, fix.shape)

  def profiles(steps: int) -> np.ndarray:
    at = ((np.arange(steps) + 0.5) / steps - 0.5)[None, :] / _SIGMAS[:, None]
    return np.exp(-0.5 * at * at)  # [sigmas, steps]

  gy, gx = profiles(height), profiles(width)
  mass = np.outer(gy.sum(1), gx.sum(1))  # [sigma_y, sigma_x]
  at = np.einsum("sf,tf->stf", gy[:, rows], gx[:, cols]) / mass[..., None]
  uniform = np.array(_UNIFORM)[None, None, :, None]
  mixed = (1 - uniform) * at[:, :, None, :] + uniform / (height * width)
  return np.log2(mixed * height * width).mean(-1)


def fit_uniform_weight(maps: list[tuple[np.ndarray, Fixations]]) -> float:
  """The uniform share that gives non-density maps (see `map_to_log_density`) the highest
  mean log-likelihood of their fixations."""
  scores = [
    np.mean([log_likelihood(map_to_log_density(m, w), f.ys, f.xs) for m, f in maps])
    for w in _UNIFORM[1:]
  ]
  return _UNIFORM[1 + int(np.argmax(scores))]
