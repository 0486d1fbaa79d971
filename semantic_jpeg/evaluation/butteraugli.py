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
"""

import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np
import numpy.typing as npt

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
