"""Human eye fixations: loading, ground-truth density maps, and how well a map predicts them.

Conventions (those of pysaliency / the MIT-Tuebingen benchmark unless noted):

- A fixation at (y, x) (row, column, in pixels of the image, float) falls in pixel
  (floor(y), floor(x)): pixel (i, j) spans [i, i + 1) x [j, j + 1).
- Every fixation counts, duplicates included (pysaliency; the MIT Matlab code collapses
  duplicates into a binary fixation map - with ~90 fixations on >= 65k pixels the difference
  is negligible).
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

import collections
import csv
import dataclasses
import math
import os
import warnings

import numpy as np
from PIL import Image

from semantic_jpeg import blocks
from semantic_jpeg.errors import FixationDataError

LN2 = math.log(2.0)
REQUIRED_COLUMNS = ("image", "viewer", "y", "x")
DENSITY_SIGMA = 0.03  # Ground-truth blur: about one degree of visual angle, of the long side.


@dataclasses.dataclass(frozen=True)
class Fixations:
  """The fixations on one image. ys, xs: float pixel coordinates; viewers: int ids."""

  name: str
  height: int
  width: int
  ys: np.ndarray
  xs: np.ndarray
  viewers: np.ndarray

  def __len__(self) -> int:
    return len(self.ys)

  @property
  def shape(self) -> tuple[int, int]:
    return self.height, self.width

  def scaled(self, height: int, width: int) -> "Fixations":
    """The same fixations on the image resized to height x width."""
    return Fixations(
      self.name,
      height,
      width,
      self.ys * (height / self.height),
      self.xs * (width / self.width),
      self.viewers,
    )

  def normalized(self) -> tuple[np.ndarray, np.ndarray]:
    """Positions in [0, 1) x [0, 1) of the image."""
    return self.ys / self.height, self.xs / self.width


def _image_size(path: str) -> tuple[int, int]:
  try:
    with Image.open(path) as image:
      width, height = image.size
  except (OSError, ValueError) as e:
    raise FixationDataError(f"{path}: cannot read the image ({e})") from None
  return height, width


def load_fixations(
  csv_path: str,
  image_dir: str | None = None,
  sizes: dict[str, tuple[int, int]] | None = None,
) -> dict[str, Fixations]:
  """Reads `image, viewer, y, x, ...` rows into Fixations per image, sorted by image name.

  Image sizes come from `sizes` (name -> (height, width)) or from the files in `image_dir`
  (default: `images/` beside the CSV). Images in the folder without fixations and rows
  outside their image or unparseable are skipped with a warning.

  Raises:
    FixationDataError: the CSV is missing or lacks a column, a row names an image that does
      not exist, or an image cannot be read.
  """
  if not os.path.isfile(csv_path):
    raise FixationDataError(f"{csv_path}: no such fixation file")
  if image_dir is None and sizes is None:
    image_dir = os.path.join(os.path.dirname(csv_path), "images")
  rows: dict[str, list[tuple[float, float, int]]] = collections.defaultdict(list)
  skipped: collections.Counter = collections.Counter()
  with open(csv_path, newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
      raise FixationDataError(f"{csv_path}: missing column(s) {missing}; has {reader.fieldnames}")
    for line, row in enumerate(reader, start=2):
      try:
        y, x, viewer = float(row["y"]), float(row["x"]), int(row["viewer"])
      except (TypeError, ValueError):
        skipped[f"line {line}: unparseable"] += 1
        continue
      if not (math.isfinite(y) and math.isfinite(x)):
        skipped[f"line {line}: non-finite"] += 1
        continue
      rows[row["image"]].append((y, x, viewer))
  if sizes is None:
    if not os.path.isdir(image_dir):
      raise FixationDataError(f"{image_dir}: no such image folder")
    files = sorted(n for n in os.listdir(image_dir) if not n.startswith("."))
    unknown = sorted(set(rows) - set(files))
    if unknown:
      raise FixationDataError(
        f"{csv_path}: fixations for image(s) not in {image_dir}: "
        f"{unknown[:5]}{' ...' if len(unknown) > 5 else ''}"
      )
    sizes = {n: _image_size(os.path.join(image_dir, n)) for n in files}
  else:
    unknown = sorted(set(rows) - set(sizes))
    if unknown:
      raise FixationDataError(f"fixations for image(s) of unknown size: {unknown[:5]}")
  out = {}
  for name in sorted(sizes):
    height, width = sizes[name]
    fix = np.array(rows.get(name, []), np.float64).reshape(-1, 3)
    inside = (fix[:, 0] >= 0) & (fix[:, 0] < height) & (fix[:, 1] >= 0) & (fix[:, 1] < width)
    if not inside.all():
      warnings.warn(
        f"{name}: skipped {int((~inside).sum())} fixation(s) outside the {height}x{width} image",
        stacklevel=2,
      )
    fix = fix[inside]
    if len(fix) == 0:
      warnings.warn(f"{name}: no fixations, image skipped", stacklevel=2)
      continue
    out[name] = Fixations(name, height, width, fix[:, 0], fix[:, 1], fix[:, 2].astype(int))
  if skipped:
    warnings.warn(
      f"{csv_path}: skipped {sum(skipped.values())} bad row(s), e.g. {next(iter(skipped))}",
      stacklevel=2,
    )
  return out


def folds(names, k: int = 5) -> dict[str, int]:
  """Fixed folds: images sorted by name, fold = index % k."""
  return {name: i % k for i, name in enumerate(sorted(names))}


def pixel_indices(ys, xs, shape) -> tuple[np.ndarray, np.ndarray]:
  """Integer pixel (row, col) of each fixation, clipped into the image."""
  rows = np.clip(np.floor(np.asarray(ys)).astype(int), 0, shape[0] - 1)
  cols = np.clip(np.floor(np.asarray(xs)).astype(int), 0, shape[1] - 1)
  return rows, cols


def fixation_counts(ys, xs, shape) -> np.ndarray:
  """[H, W] number of fixations per pixel."""
  counts = np.zeros(shape, np.float64)
  np.add.at(counts, pixel_indices(ys, xs, shape), 1.0)
  return counts


def _gaussian_rows(centres: np.ndarray, steps: int, sigma: float) -> np.ndarray:
  """[F, steps] Gaussian of each centre evaluated at pixel centres 0.5, 1.5, ..."""
  at = np.arange(steps) + 0.5
  return np.exp(-0.5 * ((at[None, :] - centres[:, None]) / sigma) ** 2)


def density_map(ys, xs, shape, sigma_frac: float = DENSITY_SIGMA) -> np.ndarray:
  """Ground-truth density [H, W]: the fixations blurred by a Gaussian of sigma_frac x long side.

  Exact separable sum of Gaussians centred on the fixated pixels' centres (zero outside the
  image, as the Matlab `imfilter` default), normalised to sum 1. Fast for large images.
  """
  rows, cols = pixel_indices(ys, xs, shape)
  sigma = max(sigma_frac * max(shape), 1e-3)
  gy = _gaussian_rows(rows + 0.5, shape[0], sigma)  # [F, H]
  gx = _gaussian_rows(cols + 0.5, shape[1], sigma)  # [F, W]
  dens = (gy.T.astype(np.float32) @ gx.astype(np.float32)).astype(np.float64)
  total = dens.sum()
  return dens / total if total > 0 else dens


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


def fixated_blocks(fix: Fixations, share: float = 0.25) -> np.ndarray:
  """The 8x8 blocks in the top `share` of the fixation density, as a bool block grid."""
  density = blocks.from_pixels(density_map(fix.ys, fix.xs, fix.shape))
  return density >= np.quantile(density, 1.0 - share)


def other_fixations(data: dict[str, Fixations], name: str) -> tuple[np.ndarray, np.ndarray]:
  """Normalised positions of all fixations on images other than `name` (for sAUC)."""
  ys, xs = [], []
  for other, fix in data.items():
    if other != name:
      y, x = fix.normalized()
      ys.append(y)
      xs.append(x)
  return np.concatenate(ys), np.concatenate(xs)
