"""Human eye fixations: loading (with warnings for bad rows), folds, ground-truth density maps.

Conventions (those of pysaliency / the MIT-Tuebingen benchmark unless noted):

- A fixation at (y, x) (row, column, in pixels of the image, float) falls in pixel
  (floor(y), floor(x)): pixel (i, j) spans [i, i + 1) x [j, j + 1).
- Every fixation counts, duplicates included (pysaliency; the MIT Matlab code collapses
  duplicates into a binary fixation map - with ~90 fixations on >= 65k pixels the difference
  is negligible).

How well a map predicts them: `fixation_metrics`.
"""

import collections
import csv
import dataclasses
import functools
import math
import os
import warnings

import numpy as np

from semantic_jpeg import blocks
from semantic_jpeg import image_io
from semantic_jpeg.errors import FixationDataError

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
  size = image_io.image_size(path)
  if size == (0, 0):
    raise FixationDataError(f"{path}: cannot read the image")
  return size


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
  if image_dir is None and sizes is None:
    image_dir = os.path.join(os.path.dirname(csv_path), "images")
  rows = _rows(csv_path)
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
    fixations = _fixations(name, *sizes[name], rows.get(name, []))
    if fixations is not None:
      out[name] = fixations
  return out


def for_image(csv_path: str, stem: str, height: int, width: int) -> Fixations:
  """The fixations on the image whose name without extension is `stem`, of the given size
  (an evaluation's photos may be stored in another format than the CSV names).

  Raises:
    FixationDataError: as `load_fixations`, or the image has no fixations inside it.
  """
  rows = _rows(csv_path)
  names = [name for name in rows if name.rsplit(".", 1)[0] == stem]
  fixations = _fixations(stem, height, width, rows[names[0]]) if names else None
  if fixations is None:
    raise FixationDataError(f"{csv_path}: no fixations for {stem!r}")
  return fixations


@functools.cache
def _rows(csv_path: str) -> dict[str, list[tuple[float, float, int]]]:
  """The CSV's (y, x, viewer) rows per image name, read once per process."""
  if not os.path.isfile(csv_path):
    raise FixationDataError(f"{csv_path}: no such fixation file")
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
  if skipped:
    warnings.warn(
      f"{csv_path}: skipped {sum(skipped.values())} bad row(s), e.g. {next(iter(skipped))}",
      stacklevel=3,
    )
  return dict(rows)


def _fixations(name: str, height: int, width: int, rows) -> Fixations | None:
  """The rows inside a height x width image as Fixations (None, with a warning, if none)."""
  fix = np.array(rows, np.float64).reshape(-1, 3)
  inside = (fix[:, 0] >= 0) & (fix[:, 0] < height) & (fix[:, 1] >= 0) & (fix[:, 1] < width)
  if not inside.all():
    warnings.warn(
      f"{name}: skipped {int((~inside).sum())} fixation(s) outside the {height}x{width} image",
      stacklevel=3,
    )
  fix = fix[inside]
  if len(fix) == 0:
    warnings.warn(f"{name}: no fixations, image skipped", stacklevel=3)
    return None
  return Fixations(name, height, width, fix[:, 0], fix[:, 1], fix[:, 2].astype(int))


def folds(names, k: int = 5) -> dict[str, int]:
  """Fixed folds: images sorted by name, fold = index % k."""
  return {name: i % k for i, name in enumerate(sorted(names))}


def pixel_indices(ys, xs, shape) -> tuple[np.ndarray, np.ndarray]:
  """Integer pixel (row, col) of each fixation, clipped into the image."""
  rows = np.clip(np.floor(np.asarray(ys)).astype(int), 0, shape[0] - 1)
  cols = np.clip(np.floor(np.asarray(xs)).astype(int), 0, shape[1] - 1)
  return rows, cols


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


def fixated_blocks(fix: Fixations, share: float = 0.25) -> np.ndarray:
  """The 8x8 blocks in the top `share` of the fixation density, as a bool block grid."""
  return dense_blocks(density_map(fix.ys, fix.xs, fix.shape), share)


def dense_blocks(density: np.ndarray, share: float = 0.25) -> np.ndarray:
  """The 8x8 blocks in the top `share` of a density [H, W] (`density_map`), a bool block grid."""
  return blocks.top_share(blocks.from_pixels(density), share)


def other_fixations(data: dict[str, Fixations], name: str) -> tuple[np.ndarray, np.ndarray]:
  """Normalised positions of all fixations on images other than `name` (for sAUC)."""
  ys, xs = [], []
  for other, fix in data.items():
    if other != name:
      y, x = fix.normalized()
      ys.append(y)
      xs.append(x)
  return np.concatenate(ys), np.concatenate(xs)
