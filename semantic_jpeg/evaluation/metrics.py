"""Full-reference image quality metrics for the evaluation suite.

Every metric takes a reference and a distorted uint8 image of one shape,
RGB [H, W, 3] or gray [H, W], returns a float, and is higher for better.
What each measures, and on which channel(s):

- psnr: 10 log10(255^2 / MSE), the MSE over all pixels and all of R, G, B.
- ssim: tf.image.ssim (Wang et al. 2004: 11x11 Gaussian, sigma 1.5; unlike
  Wang's ssim.m, no 2x down-scaling of 512-pixel images), per channel on
  R, G, B, then averaged.
- ms_ssim: tf.image.ssim_multiscale (Wang et al. 2003: 5 scales), per
  channel on R, G, B, then averaged; fewer scales on small images.
- vifp: sewar's pixel-domain VIF, a line-for-line port of Sheikh & Bovik's
  vifp_mscale.m (4 scales, Gaussian windows 17, 9, 5, 3, sigma_nsq = 2 on
  0..255), on luma Y' = 0.299 R + 0.587 G + 0.114 B rounded to 8 bits (as
  MATLAB's rgb2gray: vifp_mscale.m takes gray images). sewar itself would
  average R, G and B: three times the cost, and not the published measure.
- psnr_hvs: Egiazarian et al. 2006, the MSE of 8x8 DCT differences weighted
  by a CSF; psnr_hvsm: Ponomarenko et al. 2007, the same after removing
  differences hidden by between-coefficient contrast masking. Both from the
  psnr-hvsm package on luma: BT.601 Y' in studio range rounded to 8 bits
  (MATLAB's rgb2ycbcr: the package's path that reproduces TID2013), gray as
  is (full range: about 1.2 dB below its RGB replica). Only complete 8x8
  blocks count (the right and bottom partial blocks are skipped, as in the
  authors' psnrhvsm.m); no error gives 100 dB (psnrhvsm.m gives 100000).
- ssimulacra2: `codec.ssimulacra2`, which reproduces the ssimulacra2 package
  (a Python port of libjxl's SSIMULACRA 2: 6 scales in XYB) to within 0.001,
  15 times faster; on R, G, B read as sRGB; gray is replicated into R, G, B.
  100 is identical; about 90 visually lossless.
- salient_psnr: psnr over the pixels of salient 8x8 blocks.
- salient_psnr_hvsm: psnr_hvsm over the complete salient 8x8 blocks.
- salient_ssimulacra2: ssimulacra2 of the reference against the reference
  with only the salient blocks' pixels taken from the distorted image: how
  visible the errors there are, in their context. PSNR-HVS-M's masking
  forgives many small errors more than few large ones, so the two can rank
  encoders differently (results/saliency/README.md).
- map_weighted_psnr: psnr with each pixel weighted by its block's map value.

Cost per image on 768x512 RGB (kodim23 vs its JPEG at quality 50, 2-core
CPU, time.perf_counter, median of 3, after one warm-up call): psnr 8 ms,
ssim 60 ms, ms_ssim 100 ms, vifp 0.9 s, psnr_hvs 45 ms, psnr_hvsm 45 ms,
ssimulacra2 40 ms (the package: 0.35 s), salient_psnr 8 ms, salient_psnr_hvsm 45 ms,
salient_ssimulacra2 as ssimulacra2, map_weighted_psnr 8 ms; full_reference 1.6 s,
0.6 s with slow=False (without salient_blocks or block_map, which add their metrics' costs).

The package definitions were checked against the papers and the authors'
code: psnr-hvsm matches psnrhvsm.m (grid-aligned blocks, step 8, while the
papers' normalisation 1 / ((H-7)(W-7)64) counts every overlapping window);
sewar's vifp matches vifp_mscale.m (Sheikh & Bovik's VIF itself works on a
steerable pyramid, not on pixels).
"""

import contextlib
import io
import math

import cv2
import numpy as np
from sewar import full_ref
import tensorflow as tf

from semantic_jpeg import blocks
from semantic_jpeg import errors
from semantic_jpeg.codec import ssimulacra2 as fast_ssimulacra2

with contextlib.redirect_stdout(io.StringIO()):  # It prints a PyTorch notice.
  # The numpy backend: its C++ one is 2-3 times slower here, and aborts the
  # process on sizes that are not a multiple of 8.
  from psnr_hvsm import numpy as hvsm_numpy

PAPER_METRICS = ("psnr", "ssim", "ms_ssim", "vifp", "psnr_hvs", "psnr_hvsm")
BLOCK = blocks.BLOCK
SSIM_FILTER = 11  # Gaussian window side of tf.image.ssim and ms_ssim.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # TF's, per scale.
VIFP_MIN_SIDE = 41  # Below, scale 4 is smaller than its window: wrong values.


def psnr(reference: np.ndarray, distorted: np.ndarray, mask: np.ndarray | None = None) -> float:
  """PSNR in dB over all channels; `mask` (bool [H, W]) limits the pixels.

  Identical images give inf.
  """
  _check_pair(reference, distorted)
  if mask is not None:
    mask = np.asarray(mask)
    if mask.shape != reference.shape[:2] or mask.dtype != bool:
      raise ValueError(f"mask is {mask.dtype} {mask.shape}, not bool {reference.shape[:2]}")
    if not mask.any():
      raise ValueError("mask selects no pixel")
  return _psnr(reference, distorted, mask)


def ssim(reference: np.ndarray, distorted: np.ndarray) -> float:
  """tf.image.ssim with max_val 255, averaged over channels."""
  _check_pair(reference, distorted)
  _check_side(reference, SSIM_FILTER, "ssim")
  return float(tf.image.ssim(_channels(reference), _channels(distorted), max_val=255))


def ms_ssim(reference: np.ndarray, distorted: np.ndarray) -> float:
  """tf.image.ssim_multiscale with max_val 255, averaged over channels.

  Five scales need a short side of 161 or more (each scale halves it,
  rounding up, and the last must hold the 11-pixel filter). Smaller images
  use only the scales that fit: the first weights, renormalised to sum 1.
  """
  _check_pair(reference, distorted)
  _check_side(reference, SSIM_FILTER, "ms_ssim")
  side, scales = min(reference.shape[:2]), 1
  while scales < len(MS_SSIM_WEIGHTS) and -(-side // 2**scales) >= SSIM_FILTER:
    scales += 1
  weights = MS_SSIM_WEIGHTS[:scales]
  if scales < len(MS_SSIM_WEIGHTS):
    weights = tuple(w / sum(weights) for w in weights)
  return float(
    tf.image.ssim_multiscale(
      _channels(reference), _channels(distorted), max_val=255, power_factors=weights
    )
  )


def vifp(reference: np.ndarray, distorted: np.ndarray) -> float:
  """sewar's pixel-domain VIF (sigma_nsq 2) on 8-bit luma; ~1 if identical."""
  _check_pair(reference, distorted)
  _check_side(reference, VIFP_MIN_SIDE, "vifp")
  return float(full_ref.vifp(_luma(reference), _luma(distorted)))


def psnr_hvs(reference: np.ndarray, distorted: np.ndarray) -> float:
  """PSNR-HVS in dB on luma; 100 if identical."""
  return _hvs_db(_hvs_tiles(reference, distorted)[0].mean())


def psnr_hvsm(reference: np.ndarray, distorted: np.ndarray) -> float:
  """PSNR-HVS-M in dB on luma; 100 if no error survives masking."""
  return _hvs_db(_hvs_tiles(reference, distorted)[1].mean())


def ssimulacra2(
  reference: np.ndarray,
  distorted: np.ndarray,
  prepared: fast_ssimulacra2.Reference | None = None,
) -> float:
  """SSIMULACRA 2 score: 100 identical, lower worse (can go negative).

  `prepared`, `reference` made ready once (`prepare_ssimulacra2`), saves preparing it again
  (about as long as a score) where one reference scores many images.
  """
  _check_pair(reference, distorted)
  return (prepared or prepare_ssimulacra2(reference)).score(distorted)


def prepare_ssimulacra2(reference: np.ndarray) -> fast_ssimulacra2.Reference:
  """`reference` ready to be scored against by `ssimulacra2` many times."""
  _check_side(reference, BLOCK, "ssimulacra2")
  return fast_ssimulacra2.Reference(reference)


def block_mask(salient_blocks: np.ndarray, height: int, width: int) -> np.ndarray:
  """Bool block grid [ceil(H/8), ceil(W/8)] -> bool pixel mask [H, W]."""
  return blocks.to_pixels(_salient_grid(salient_blocks, height, width), height, width)


def salient_psnr(reference: np.ndarray, distorted: np.ndarray, salient_blocks: np.ndarray) -> float:
  """PSNR over the pixels of the salient 8x8 blocks."""
  _check_pair(reference, distorted)
  return psnr(reference, distorted, block_mask(salient_blocks, *reference.shape[:2]))


def salient_psnr_hvsm(
  reference: np.ndarray, distorted: np.ndarray, salient_blocks: np.ndarray
) -> float:
  """PSNR-HVS-M over the complete salient 8x8 blocks (partial ones skipped)."""
  tiles = _hvs_tiles(reference, distorted)[1]
  salient = _salient_grid(salient_blocks, *reference.shape[:2])
  salient = salient[: tiles.shape[0], : tiles.shape[1]]
  if not salient.any():
    raise ValueError("no complete 8x8 block is salient")
  return _hvs_db(tiles[salient].mean())


def salient_errors_only(
  reference: np.ndarray, distorted: np.ndarray, salient_blocks: np.ndarray
) -> np.ndarray:
  """The distorted image in the salient 8x8 blocks, the reference elsewhere: scored against the
  reference, any whole-image metric measures how visible the salient blocks' errors are."""
  _check_pair(reference, distorted)
  mask = block_mask(salient_blocks, *reference.shape[:2])
  if not mask.any():
    raise ValueError("no 8x8 block is salient")
  mask = mask if reference.ndim == 2 else mask[..., None]
  return np.where(mask, distorted, reference)


def salient_ssimulacra2(
  reference: np.ndarray,
  distorted: np.ndarray,
  salient_blocks: np.ndarray,
  prepared: fast_ssimulacra2.Reference | None = None,
) -> float:
  """SSIMULACRA 2 with only the salient 8x8 blocks' errors (the rest is the reference's);
  `prepared` as in `ssimulacra2`."""
  return ssimulacra2(reference, salient_errors_only(reference, distorted, salient_blocks), prepared)


def map_weighted_psnr(reference: np.ndarray, distorted: np.ndarray, block_map: np.ndarray) -> float:
  """PSNR with each pixel's squared error weighted by its block's map value.

  `block_map` is float [ceil(H/8), ceil(W/8)] in [0, 1]; all zeros gives
  plain psnr.
  """
  _check_pair(reference, distorted)
  height, width = reference.shape[:2]
  block_map = _check_grid(block_map, height, width, "block_map").astype(float)
  if not np.all((block_map >= 0) & (block_map <= 1)):
    raise ValueError("block_map has values outside [0, 1]")
  weights = blocks.to_pixels(block_map, height, width)
  return _psnr(reference, distorted, weights if weights.any() else None)


def full_reference(
  reference: np.ndarray,
  distorted: np.ndarray,
  *,
  salient_blocks: np.ndarray | None = None,
  block_map: np.ndarray | None = None,
  slow: bool = True,
  prepared: fast_ssimulacra2.Reference | None = None,
) -> dict[str, float]:
  """All metrics by name; slow=False skips 'ms_ssim' and 'vifp'.

  'salient_psnr', 'salient_psnr_hvsm' and 'salient_ssimulacra2' come with salient_blocks,
  'map_weighted_psnr' with block_map. `prepared` as in `ssimulacra2` (made here if not given).
  """
  _check_pair(reference, distorted)
  prepared = prepared or prepare_ssimulacra2(reference)
  scores = {
    name: metric(reference, distorted)
    for name, metric in _IMAGE_METRICS.items()
    if slow or name not in ("ms_ssim", "vifp")
  }
  scores["ssimulacra2"] = ssimulacra2(reference, distorted, prepared)
  if salient_blocks is not None:
    scores["salient_psnr"] = salient_psnr(reference, distorted, salient_blocks)
    scores["salient_psnr_hvsm"] = salient_psnr_hvsm(reference, distorted, salient_blocks)
    scores["salient_ssimulacra2"] = salient_ssimulacra2(
      reference, distorted, salient_blocks, prepared
    )
  if block_map is not None:
    scores["map_weighted_psnr"] = map_weighted_psnr(reference, distorted, block_map)
  return scores


_IMAGE_METRICS = {
  "psnr": psnr,
  "ssim": ssim,
  "ms_ssim": ms_ssim,
  "vifp": vifp,
  "psnr_hvs": psnr_hvs,
  "psnr_hvsm": psnr_hvsm,
}


def _check_pair(reference: np.ndarray, distorted: np.ndarray) -> None:
  """Raises ImageError unless both are uint8 images of one shape."""
  for name, image in (("reference", reference), ("distorted", distorted)):
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
      raise errors.ImageError(f"{name} is {getattr(image, 'dtype', type(image))}, not uint8")
    if image.ndim != 2 and (image.ndim != 3 or image.shape[2] != 3):
      raise errors.ImageError(f"{name} has shape {image.shape}, not [H, W] or [H, W, 3]")
  if reference.shape != distorted.shape:
    raise errors.ImageError(
      f"reference {reference.shape} and distorted {distorted.shape} differ in shape"
    )


def _check_side(image: np.ndarray, minimum: int, metric: str) -> None:
  """Raises ImageError if the image's short side is below `minimum`."""
  if min(image.shape[:2]) < minimum:
    raise errors.ImageError(
      f"{metric} needs images of at least {minimum}x{minimum} pixels, got {image.shape[:2]}"
    )


def _check_grid(grid: np.ndarray, height: int, width: int, name: str) -> np.ndarray:
  """The grid as an array, if it has one value per 8x8 block of the image."""
  grid = np.asarray(grid)
  shape = blocks.grid_shape(height, width)
  if grid.shape != shape:
    raise ValueError(
      f"{name} has shape {grid.shape}, not the block grid {shape} of a {height}x{width} image"
    )
  return grid


def _salient_grid(salient_blocks: np.ndarray, height: int, width: int) -> np.ndarray:
  """The salient block grid, checked to be bool with one value per block."""
  salient_blocks = _check_grid(salient_blocks, height, width, "salient_blocks")
  if salient_blocks.dtype != bool:
    raise ValueError(f"salient_blocks is {salient_blocks.dtype}, not bool")
  return salient_blocks


def _psnr(reference: np.ndarray, distorted: np.ndarray, weights: np.ndarray | None) -> float:
  """PSNR of the per-pixel squared error (channel mean), weighted by pixel."""
  error = (reference.astype(np.float64) - distorted) ** 2
  mse = np.average(error.reshape(error.shape[:2] + (-1,)).mean(axis=2), weights=weights)
  return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def _channels(image: np.ndarray) -> np.ndarray:
  """The image as [H, W, C], as tf.image wants it."""
  return image if image.ndim == 3 else image[..., np.newaxis]


def _luma(image: np.ndarray) -> np.ndarray:
  """8-bit full-range BT.601 luma of RGB (MATLAB's rgb2gray); gray as is."""
  return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def _hvs_tiles(reference: np.ndarray, distorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """PSNR-HVS and PSNR-HVS-M MSE per complete 8x8 block, [H // 8, W // 8]."""
  _check_pair(reference, distorted)
  _check_side(reference, BLOCK, "psnr_hvs")
  rows, cols = reference.shape[0] // BLOCK, reference.shape[1] // BLOCK
  a, b = (_hvs_luma(image[: rows * BLOCK, : cols * BLOCK]) for image in (reference, distorted))
  with np.errstate(divide="ignore", invalid="ignore"):  # Flat blocks.
    hvs, hvsm = hvsm_numpy.hvs_hvsm_mse_tiles(a, b)
  return hvs.reshape(rows, cols), hvsm.reshape(rows, cols)


def _hvs_luma(image: np.ndarray) -> np.ndarray:
  """Luma in [0, 1] as psnr-hvsm measures it: 8-bit studio Y' of RGB."""
  return hvsm_numpy.bt601ycbcr(image)[0] if image.ndim == 3 else image / 255.0


def _hvs_db(mse: float) -> float:
  """psnr-hvsm's dB of a normalised MSE: 100 when there is no error."""
  return 100.0 if mse == 0 else 10 * math.log10(1 / mse)
