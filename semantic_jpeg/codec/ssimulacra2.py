"""SSIMULACRA 2, fast, reproducing the `ssimulacra2` package (0.3.0) to within 0.001.

SSIMULACRA 2 (libjxl, Jon Sneyers) compares two sRGB images in the XYB
colour space at 6 scales (each half the last, averaged in linear RGB): per
scale and XYB channel, the mean and 4-norm of an SSIM error map and of two
edge-difference maps (ringing and blurring), weighted and mapped to a score.
100 means identical, about 90 visually lossless, lower is worse (it can go
below 0).

This module computes the numbers of `ssimulacra2.compute_ssimulacra2` (a
pure-Python port, float64) in float32, with OpenCV for the Gaussian blurs
and the 2x down-scaling and numba for the per-pixel maps and their sums,
rearranged to avoid float32 cancellation (see `_map_sums`); the distorted
image goes through in strips of 64 rows, which stay in cache. It copies
the package's choices, also where they are not libjxl's:

- blur: a truncated Gaussian (sigma 1.5, radius 5, weights summing to 1), not
  libjxl's recursive Gaussian. Outside the image it is zero along x (columns)
  and mirrored (`cba|abc`) along y (rows): the package transposes its XYB
  planes, then zero-pads their first axis and lets scipy mirror the second.
- weights: with fewer than 6 scales (a side below 8 * 2**scale) the weights
  are consumed in order, not skipped per scale (as libjxl does too).
- images smaller than 8x8, which the package scores 100, raise ImageError.

`Reference` precomputes what depends on the reference alone, for scoring
many candidates against one original (rate control to a perceptual target).
On 2 cores: about 100-160 ms per megapixel for one score, 45-55 ms per
megapixel for each further candidate against a `Reference`; the package takes
1.5 s. libjxl's own tool differs from the package by about 0.9 points on Kodak
(zero padding on both axes, one more scale for small images); the package is
the definition used here, as it is the one the evaluation and tests use.
"""

import dataclasses

import cv2
import numba
import numpy as np
import numpy.typing as npt

from semantic_jpeg import errors

Image = npt.NDArray[np.uint8]
Planes = npt.NDArray[np.float32]

NUM_SCALES = 6
MIN_SIDE = 8  # A scale narrower or shorter than this ends the pyramid.
_PAD = 5  # Blur radius: scipy's int(truncate 3.33 * sigma 1.5 + 0.5).
_SIGMA = 1.5
_C2 = 0.0009
_STRIP = 64  # Rows of the distorted image processed at a time.

# Opsin absorbance (libjxl opsin_params.h): linear RGB -> cube-root inputs.
_OPSIN_BIAS = 0.0037930732552754493
_OPSIN = np.array(
  [
    [0.30, 1.0 - 0.078 - 0.30, 0.078, _OPSIN_BIAS],
    [0.23, 1.0 - 0.078 - 0.23, 0.078, _OPSIN_BIAS],
    [
      0.24342268924547819,
      0.20476744424496821,
      1.0 - 0.24342268924547819 - 0.20476744424496821,
      _OPSIN_BIAS,
    ],
  ],
  np.float32,
)
# Cube roots (c0, c1, c2) -> positive XYB (MakePositiveXYB folded in):
# X = 14 * (c0 - c1) / 2 + 0.42, Y = (c0 + c1) / 2 - cbrt(bias) + 0.01,
# B = c2 - (c0 + c1) / 2 + 0.55 (the cbrt(bias) terms cancel in X and B).
_XYB = np.array(
  [
    [7.0, -7.0, 0.0, 0.42],
    [0.5, 0.5, 0.0, 0.01 - np.cbrt(_OPSIN_BIAS)],
    [-0.5, -0.5, 1.0, 0.55],
  ],
  np.float32,
)

# The 108 weights in the order (channel, scale, norm, map): norm is the
# mean or the 4-norm, map is SSIM, artifact (ringing) or detail lost (blur).
# fmt: off
_WEIGHTS = np.array([
  0.0, 0.0007376606707406586, 0.0,
  0.0, 0.0007793481682867309, 0.0,
  0.0, 0.0004371155730107379, 0.0,
  1.1041726426657346, 0.00066284834129271, 0.00015231632783718752,
  0.0, 0.0016406437456599754, 0.0,
  1.8422455520539298, 11.441172603757666, 0.0,
  0.0007989109436015163, 0.000176816438078653, 0.0,
  1.8787594979546387, 10.94906990605142, 0.0,
  0.0007289346991508072, 0.9677937080626833, 0.0,
  0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053,
  0.0004550992113792063, 0.0, 0.0,
  0.0013648766163243398, 0.0, 0.0,
  0.0, 0.0, 0.0,
  7.466890328078848, 0.0, 17.445833984131262,
  0.0006235601634041466, 0.0, 0.0,
  6.683678146179332, 0.00037724407979611296, 1.027889937768264,
  225.20515300849274, 0.0, 0.0,
  19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
  176.39317598450694, 0.0, 0.0,
  24.43300999870476, 0.28520802612117757, 0.0004485436923833408,
  0.0, 0.0, 0.0,
  34.77906344483772, 44.835625328877896, 0.0,
  0.0, 0.0, 0.0,
  0.0, 0.0, 0.0,
  0.0, 0.0008680556573291698, 0.0,
  0.0, 0.0, 0.0,
  0.0, 0.0005313191874358747, 0.0,
  0.00016533814161379112, 0.0, 0.0,
  0.0, 0.0, 0.0,
  0.0004179171803251336, 0.0017290828234722833, 0.0,
  0.0020827005846636437, 0.0, 0.0,
  8.826982764996862, 23.19243343998926, 0.0,
  95.1080498811086, 0.9863978034400682, 0.9834382792465353,
  0.0012286405048278493, 171.2667255897307, 0.9807858872435379,
  0.0, 0.0, 0.0,
  0.0005130064588990679, 0.0, 0.00010854057858411537,
])
# fmt: on


def _srgb_to_linear_table() -> npt.NDArray[np.float32]:
  """Linear value of each 8-bit sRGB code, the sRGB curve in float64."""
  v = np.arange(256) / 255.0
  return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _gaussian_kernel() -> npt.NDArray[np.float32]:
  """scipy.ndimage's sigma-1.5 Gaussian at radius 5, normalised to sum 1."""
  x = np.arange(-_PAD, _PAD + 1)
  kernel = np.exp(-0.5 * x * x / _SIGMA**2)
  return (kernel / kernel.sum()).astype(np.float32)


_SRGB_TO_LINEAR = _srgb_to_linear_table()
_KERNEL = _gaussian_kernel()


def ssimulacra2(reference: Image, distorted: Image) -> float:
  """SSIMULACRA 2 score of `distorted` against `reference`.

  Both are uint8 sRGB images of one shape, [H, W, 3] in RGB order or gray
  [H, W] (replicated into R, G, B), at least 8x8. 100 means identical.
  """
  return Reference(reference).score(distorted)


class Reference:
  """A reference image, ready to score many distorted versions of it.

  Keeps per scale the reference's XYB planes, their blurred means, local
  variances and inverse edge strengths: about 64 bytes per pixel.
  """

  def __init__(self, reference: Image) -> None:
    rgb = _as_rgb(reference, "reference")
    if min(rgb.shape[:2]) < MIN_SIDE:
      raise errors.ImageError(
        f"ssimulacra2 needs at least {MIN_SIDE}x{MIN_SIDE} pixels, got {rgb.shape[:2]}"
      )
    self.shape: tuple[int, ...] = rgb.shape
    self._scales = [_ReferenceScale.of(linear) for linear in _pyramid(rgb)]

  def score(self, distorted: Image) -> float:
    """SSIMULACRA 2 score of `distorted`, of the reference's shape."""
    rgb = _as_rgb(distorted, "distorted")
    if rgb.shape != self.shape:
      raise errors.ImageError(f"distorted {rgb.shape} does not match the reference {self.shape}")
    pyramid = _pyramid(rgb)
    return _final_score(
      np.stack([scale.compare(linear) for scale, linear in zip(self._scales, pyramid, strict=True)])
    )


@dataclasses.dataclass(frozen=True)
class _ReferenceScale:
  """One scale of the reference: its XYB and their local statistics.

  All are rows of interleaved XYB: `xyb` [H, 3 * (W + 2 * _PAD)] is zero in
  its pad columns; the statistics are [H, 3 * W].
  """

  xyb: Planes
  mean: Planes  # Blurred XYB.
  variance: Planes  # blur(XYB^2) - mean^2.
  inverse_edge: Planes  # 1 / (1 + |XYB - mean|).

  @classmethod
  def of(cls, linear: Planes) -> "_ReferenceScale":
    """The statistics of one scale from its linear RGB [H, W, 3]."""
    xyb = _padded_xyb(linear)
    mean = _interior(_blur(xyb))
    variance = _interior(_blur(xyb * xyb)) - mean * mean
    inverse_edge = 1.0 / (1.0 + np.abs(_interior(xyb) - mean))
    return cls(
      *(_rows(planes) for planes in (xyb, np.ascontiguousarray(mean), variance, inverse_edge))
    )

  def compare(self, linear: Planes) -> npt.NDArray[np.float64]:
    """Means of the error maps of a distorted scale's linear RGB.

    Returns [3 channels, 2 norms (mean, mean 4th power), 3 maps (ssim,
    artifact, detail lost)].
    """
    # XYB of the whole image, as for the reference: computed per strip, SIMD
    # loop tails could round some pixels differently, and identical images
    # would not score exactly 100.
    xyb = _rows(_padded_xyb(linear))
    height, width = linear.shape[:2]
    sums = np.zeros((2, 3, 3 * width))
    for top in range(0, height, _STRIP):
      sums += self._strip_sums(xyb, top, min(top + _STRIP, height))
    sums = sums.reshape(2, 3, width, 3).sum(axis=2)
    return sums.transpose(2, 0, 1) / (height * width)

  def _strip_sums(self, xyb: Planes, top: int, bottom: int) -> npt.NDArray[np.float64]:
    """Column sums of the error maps over rows [top, bottom).

    Blurs rows [top - _PAD, bottom + _PAD), within the image: the strip's
    rows then see exactly the rows that a whole-image blur would.
    """
    start, stop = max(top - _PAD, 0), min(bottom + _PAD, xyb.shape[0])
    distorted = xyb[start:stop].reshape(stop - start, -1, 3)
    error = self.xyb[start:stop].reshape(distorted.shape) - distorted
    rows = slice(top - start, bottom - start)
    mean_error, error_square, square = (
      _rows(_blur(planes))[rows] for planes in (error, error * error, distorted * distorted)
    )
    return _map_sums(
      self.xyb[top:bottom],
      self.mean[top:bottom],
      self.variance[top:bottom],
      self.inverse_edge[top:bottom],
      xyb[top:bottom],
      mean_error,
      error_square,
      square,
    )


def _as_rgb(image: Image, name: str) -> Image:
  """A uint8 [H, W] or [H, W, 3] image as [H, W, 3]."""
  if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
    raise errors.ImageError(f"{name} is {getattr(image, 'dtype', type(image))}, not a uint8 array")
  if image.ndim == 2:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
  if image.ndim != 3 or image.shape[2] != 3:
    raise errors.ImageError(f"{name} has shape {image.shape}, not [H, W] or [H, W, 3]")
  return image


def _pyramid(rgb: Image) -> list[Planes]:
  """Linear RGB at each scale used: halved until a side drops below 8."""
  linear = cv2.LUT(rgb, _SRGB_TO_LINEAR)
  scales = []
  while len(scales) < NUM_SCALES and min(linear.shape[:2]) >= MIN_SIDE:
    scales.append(linear)
    linear = _half(linear)
  return scales


def _half(linear: Planes) -> Planes:
  """2x2 box average; an odd last row or column averages what is there."""
  height, width = linear.shape[:2]
  if height % 2 or width % 2:
    linear = cv2.copyMakeBorder(linear, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)
  return cv2.resize(linear, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA)


def _padded_xyb(linear: Planes) -> Planes:
  """Positive XYB [H, W + 2 * _PAD, 3] of linear RGB, zero-padded in x."""
  mixed = cv2.transform(linear, _OPSIN)
  np.maximum(mixed, 0.0, out=mixed)
  np.cbrt(mixed, out=mixed)
  height, width = linear.shape[:2]
  xyb = np.zeros((height, width + 2 * _PAD, 3), np.float32)
  _interior(xyb)[...] = cv2.transform(mixed, _XYB)
  return xyb


def _interior(padded: Planes) -> Planes:
  """The image columns of planes padded by _PAD columns each side."""
  return padded[:, _PAD:-_PAD]


def _rows(planes: Planes) -> Planes:
  """Contiguous [H, W, 3] planes as rows of interleaved XYB [H, 3 * W]."""
  return planes.reshape(planes.shape[0], -1)


def _blur(padded: Planes) -> Planes:
  """Gaussian blur of planes zero-padded in x, valid in the interior.

  The pad gives zeros outside the image along x; along y OpenCV mirrors.
  """
  return cv2.sepFilter2D(padded, -1, _KERNEL, _KERNEL, borderType=cv2.BORDER_REFLECT)


# error_model='numpy' (no ZeroDivisionError check) lets LLVM vectorise.
@numba.njit(cache=True, nogil=True, error_model="numpy")
def _map_sums(
  xyb1: Planes,
  mean1: Planes,
  variance1: Planes,
  inverse_edge1: Planes,
  xyb2: Planes,
  mean_error: Planes,
  error_square: Planes,
  square2: Planes,
) -> npt.NDArray[np.float64]:
  """Column sums of the SSIM, artifact and detail-lost maps (and 4th powers).

  XYB planes are padded rows [H, 3 * (W + 2 * _PAD)]: the reference's and
  the distorted image's, then the blurred error e = XYB1 - XYB2, blurred
  e^2 and blurred XYB2^2. The reference's statistics are rows [H, 3 * W].

  The maps are the package's, rearranged to avoid float32 cancellation,
  which would bias the maps up where they are near 0 (high qualities):
  the SSIM error 1 - (1 - (m1 - m2)^2) (2 s12 + C2) / (s11 + s22 + C2) as
  k^2 + (1 - k^2) v / (s11 + s22 + C2), with k = blur(e) = m1 - m2 and
  v = blur(e^2) - k^2 = s11 + s22 - 2 s12; the edge ratio
  (1 + |XYB2 - m2|) / (1 + |XYB1 - m1|) - 1 as
  (|XYB2 - m2| - |XYB1 - m1|) / (1 + |XYB1 - m1|).
  """
  height, size = mean1.shape
  sums = np.zeros((2, 3, size))
  for y in range(height):
    for i in range(size):
      j = i + 3 * _PAD
      m1 = np.float64(mean1[y, i])
      k = np.float64(mean_error[y, j])
      m2 = m1 - k
      variance2 = square2[y, j] - m2 * m2
      denominator = variance1[y, i] + variance2 + _C2
      ssim = k * k + (1.0 - k * k) * (error_square[y, j] - k * k) / denominator
      ssim = max(ssim, 0.0)
      edge = (abs(xyb2[y, j] - m2) - abs(xyb1[y, j] - m1)) * inverse_edge1[y, i]
      artifact = max(edge, 0.0)
      detail = max(-edge, 0.0)
      sums[0, 0, i] += ssim
      sums[0, 1, i] += artifact
      sums[0, 2, i] += detail
      sums[1, 0, i] += (ssim * ssim) ** 2
      sums[1, 1, i] += (artifact * artifact) ** 2
      sums[1, 2, i] += (detail * detail) ** 2
  return sums


def _final_score(means: npt.NDArray[np.float64]) -> float:
  """The score of per-scale map means [scale, channel, norm, map]."""
  norms = means.copy()
  norms[:, :, 1] **= 0.25
  features = norms.transpose(1, 0, 2, 3).ravel()
  x = float(_WEIGHTS[: features.size] @ features) * 0.9562382616834844
  x = 2.326765642916932 * x - 0.020884521182843837 * x**2 + 6.248496625763138e-05 * x**3
  return 100.0 - 10.0 * x**0.6276336467831387 if x > 0 else 100.0
