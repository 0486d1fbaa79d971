"""libjxl's Butteraugli distance of two images: max-norm and 3-norm.

Runs `butteraugli_main`, libjxl's own tool, on the two images written as
PPM (RGB) or PGM (gray) files: the only implementation found that gives
libjxl's numbers without a build from source. Debian and Ubuntu ship it in
libjxl-devtools (`apt-get install -y libjxl-devtools`; Debian 12 has libjxl
0.7.0, whose 3-norms are about 1.8 % below 0.11.2's on Kodak); no PyPI package
computes Butteraugli, and a port of its ~2,100 lines of C++ is not worth the risk.

The images are read as sRGB viewed at 80 nits (the tool's default
intensity target). A gray image scores as its RGB replica.
`max_norm` is what libjxl calls the Butteraugli distance (below ~1: no
visible difference); `pnorm3` averages the per-pixel distance map more
smoothly. Both are 0 for identical images, and larger is worse.

`distance_map` gives the per-pixel distances and `weighted_pnorm3` their 3-norm
under a weight per pixel (the gaze-weighted Butteraugli: weights = a fixation
density). libjxl 0.7's tool writes the map only as its heat-map colours
(`--distmap`, butteraugli.cc's ScoreToRgb); `distance_map` inverts that colour
scale, which is exact up to 12 times its "bad" distance (about 13.9; larger
distances, far beyond any compression this project makes, read as 13.9, so the
weighted norms are then lower bounds). With uniform weights `weighted_pnorm3`
reproduces the tool's own 3-norm (libjxl's ComputeDistanceP: the mean of the
3-, 6- and 12-norms) to 1e-6 on the test images; `region_norms` reports the
tool's own for the whole image.
"""

import dataclasses
import math
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np
import numpy.typing as npt

from semantic_jpeg import blocks
from semantic_jpeg import errors

Image = npt.NDArray[np.uint8]

BINARY = "butteraugli_main"
BINARY_VARIABLE = "BUTTERAUGLI_MAIN"  # Optional path to the binary.
INSTALL = "apt-get install -y libjxl-devtools"
MIN_SIDE = 8  # butteraugli_main returns 0 for anything smaller.
_NUMBER = r"([-+0-9.eE]+|inf|nan)"
_OUTPUT = re.compile(rf"{_NUMBER}\s+3-norm:\s*{_NUMBER}")


class ButteraugliUnavailableError(errors.SemanticJpegError):
  """butteraugli_main is not installed."""


class ButteraugliError(errors.SemanticJpegError):
  """butteraugli_main failed or printed something unexpected."""


@dataclasses.dataclass(frozen=True)
class Distance:
  """Butteraugli distances of one image pair."""

  max_norm: float  # libjxl's "Butteraugli distance".
  pnorm3: float


def pnorm3(reference: Image, distorted: Image) -> float:
  """Butteraugli 3-norm (`butteraugli_main`'s '3-norm: X'); 0 identical."""
  return distance(reference, distorted).pnorm3


def max_norm(reference: Image, distorted: Image) -> float:
  """Butteraugli max-norm (the distance libjxl quotes); 0 identical."""
  return distance(reference, distorted).max_norm


def distance(reference: Image, distorted: Image) -> Distance:
  """Both norms from one run; uint8 RGB [H, W, 3] or gray [H, W], >= 8x8.

  Raises ButteraugliUnavailableError when the tool is missing,
  ButteraugliError when it fails.
  """
  _check_pair(reference, distorted)
  tool = binary()
  with tempfile.TemporaryDirectory(prefix="butteraugli-") as folder:
    paths = [pathlib.Path(folder, name) for name in ("ref.pnm", "dist.pnm")]
    for image, path in zip((reference, distorted), paths, strict=True):
      _write_pnm(image, path)
    result = subprocess.run(
      [tool, *map(str, paths), "--pnorm", "3"], capture_output=True, text=True, check=False
    )
  if result.returncode:
    raise ButteraugliError(
      f"{tool} exited with {result.returncode}: {result.stderr.strip()[-500:]}"
    )
  return _parse(result.stdout)


def distance_map(reference: Image, distorted: Image) -> tuple[np.ndarray, Distance]:
  """Per-pixel Butteraugli distances [H, W] float64 (see the module on how they are read), and
  the tool's own norms from the same run."""
  _check_pair(reference, distorted)
  tool = binary()
  with tempfile.TemporaryDirectory(prefix="butteraugli-") as folder:
    paths = [pathlib.Path(folder, name) for name in ("ref.pnm", "dist.pnm", "map.pfm")]
    for image, path in zip((reference, distorted), paths, strict=False):
      _write_pnm(image, path)
    result = subprocess.run(
      [tool, *map(str, paths[:2]), "--distmap", str(paths[2]), "--pnorm", "3"],
      capture_output=True,
      text=True,
      check=False,
    )
    if result.returncode:
      raise ButteraugliError(
        f"{tool} exited with {result.returncode}: {result.stderr.strip()[-500:]}"
      )
    return _distances(_read_pfm(paths[2])), _parse(result.stdout)


def weighted_pnorm3(distances: np.ndarray, weights: np.ndarray | None = None) -> float:
  """libjxl's 3-norm of a distance map (mean of its 3-, 6- and 12-norms), each mean weighted
  by `weights` [H, W] (non-negative, not all 0; None: uniform, the tool's own 3-norm)."""
  weights = np.ones_like(distances) if weights is None else np.asarray(weights, np.float64)
  if weights.shape != distances.shape or weights.min() < 0 or not weights.sum() > 0:
    raise ValueError(f"weights {weights.shape} must be >= 0, not all 0, of shape {distances.shape}")
  weights = weights / weights.sum()
  cubes = distances.astype(np.float64) ** 3
  return float(
    sum((weights * cubes**power).sum() ** (1.0 / (3 * power)) for power in (1, 2, 4)) / 3.0
  )


def region_norms(
  reference: Image, distorted: Image, block_map: np.ndarray, density: np.ndarray | None = None
) -> tuple[float, float, float | None]:
  """From one run of the tool: its 3-norm, the distance map's 3-norm weighted by a block map
  (each block's value over its pixels) and, given a fixation density [H, W], the gaze-weighted
  3-norm (else None)."""
  distances, norms = distance_map(reference, distorted)
  pixel_map = blocks.to_pixels(block_map, *reference.shape[:2]) + 1e-6  # Never all zero.
  gaze = None if density is None else weighted_pnorm3(distances, density)
  return norms.pnorm3, weighted_pnorm3(distances, pixel_map), gaze


def available() -> bool:
  """Whether `distance` can run."""
  try:
    binary()
  except ButteraugliUnavailableError:
    return False
  return True


def binary() -> str:
  """Path of butteraugli_main: $BUTTERAUGLI_MAIN, else the one on PATH."""
  path = os.environ.get(BINARY_VARIABLE) or shutil.which(BINARY)
  if not path or not os.access(path, os.X_OK):
    raise ButteraugliUnavailableError(
      f"{BINARY} not found (looked at ${BINARY_VARIABLE}, then PATH); install it with: {INSTALL}"
    )
  return path


def _check_pair(reference: Image, distorted: Image) -> None:
  """Raises ImageError unless both fit butteraugli_main."""
  for name, image in (("reference", reference), ("distorted", distorted)):
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
      raise errors.ImageError(
        f"{name} is {getattr(image, 'dtype', type(image))}, not a uint8 array"
      )
    if image.ndim != 2 and (image.ndim != 3 or image.shape[2] != 3):
      raise errors.ImageError(f"{name} has shape {image.shape}, not [H, W] or [H, W, 3]")
  if reference.shape != distorted.shape:
    raise errors.ImageError(
      f"reference {reference.shape} and distorted {distorted.shape} differ in shape"
    )
  if min(reference.shape[:2]) < MIN_SIDE:
    raise errors.ImageError(
      f"butteraugli needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {reference.shape[:2]}"
    )


def _write_pnm(image: Image, path: pathlib.Path) -> None:
  """Binary PPM (P6) for RGB, PGM (P5) for gray: no colour profile, sRGB."""
  height, width = image.shape[:2]
  magic = b"P6" if image.ndim == 3 else b"P5"
  path.write_bytes(
    b"%s\n%d %d\n255\n" % (magic, width, height) + np.ascontiguousarray(image).tobytes()
  )


def _parse(stdout: str) -> Distance:
  """butteraugli_main's output: a line with the max-norm, then '3-norm: X'."""
  match = _OUTPUT.fullmatch(stdout.strip())
  try:
    return Distance(max_norm=float(match.group(1)), pnorm3=float(match.group(2)))
  except (AttributeError, ValueError) as error:
    raise ButteraugliError(f"unexpected output: {stdout!r}") from error


def _fuzzy_class(score: float) -> float:
  """libjxl's ButteraugliFuzzyClass: a distance to a class in [0, 2] (2 best)."""
  scaler = 0.7777
  value = 2.0 / (1.0 + math.exp((score - 1.0) * 4.8))
  return (value - 1.0) * (2.0 - scaler) + scaler if score < 1.0 else value * scaler


def _fuzzy_inverse(seek: float) -> float:
  """libjxl's ButteraugliFuzzyInverse: the distance whose class is `seek` (bisection)."""
  position, step = 0.0, 1.0
  while step >= 1e-10:
    position += -step if _fuzzy_class(position) < seek else step
    step *= 0.5
  return position


# The tool's heat map (butteraugli.cc's ScoreToRgb): colours at 11 even steps of a score in
# [0, 1], each channel written as its square root; the score is piecewise linear in the distance
# below GOOD, between GOOD and BAD, and above BAD (up to 12 BAD).
_HEAT = np.array(
  [[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0], [1, 1, 0], [1, 0, 0], [1, 0, 1]]
  + [[0.5, 0.5, 1], [1, 0.5, 0.5], [1, 1, 0.5], [1, 1, 1]],
  np.float64,
)
_GOOD, _BAD = _fuzzy_inverse(1.5), _fuzzy_inverse(0.5)


def _distances(heat: np.ndarray) -> np.ndarray:
  """Distances from heat-map colours [H, W, 3]: each pixel's nearest point on the colour path."""
  colours = heat.reshape(-1, 3).astype(np.float64) ** 2
  best = np.full(len(colours), np.inf)
  score = np.zeros(len(colours))
  for index in range(len(_HEAT) - 1):
    start, step = _HEAT[index], _HEAT[index + 1] - _HEAT[index]
    mix = np.clip((colours - start) @ step / (step @ step), 0.0, 1.0)
    residual = ((start + mix[:, None] * step - colours) ** 2).sum(axis=1)
    closer = residual < best - 1e-12
    best = np.where(closer, residual, best)
    score = np.where(closer, (index + mix) / len(_HEAT), score)
  distance = np.select(
    [score < 0.3, score < 0.45],
    [score / 0.3 * _GOOD, _GOOD + (score - 0.3) / 0.15 * (_BAD - _GOOD)],
    _BAD + (score - 0.45) / 0.5 * 12.0 * _BAD,
  )
  return distance.reshape(heat.shape[:2])


def _read_pfm(path: pathlib.Path) -> np.ndarray:
  """A PFM file's pixels, top row first, float32 [H, W, C]."""
  with path.open("rb") as f:
    channels = 3 if f.readline().strip() == b"PF" else 1
    width, height = map(int, f.readline().split())
    order = "<f4" if float(f.readline()) < 0 else ">f4"
    data = np.frombuffer(f.read(), order)
  return data.reshape(height, width, channels)[::-1]
