"""The plan: a saliency map to per-block weights, the qualities of the `dct` mode and the
trellis lambdas and zeroing thresholds of the `trellis` mode.

The trellis mode's lambda per block is mozjpeg's texture-adaptive lambda (scaled per knob by
`tuning.Tuning`), for luma multiplied by e^(-s * dq / 38), dq being the block's policy quality
minus the middle one and s the strength: salient blocks keep more detail, the background gives up
bits, within the caps of `saliency_multipliers`.
"""

import numpy as np

from semantic_jpeg import blocks
from semantic_jpeg import errors
from semantic_jpeg.codec import tuning

# mozjpeg's texture-adaptive lambda: lambda ~ (2^16.5 + mean AC energy) / 2^14.75.
_LAMBDA_OFFSET = 2.0**16.5
_LAMBDA_DIVISOR = 2.0**14.75
# Policy qualities to lambda: 38 quality points (the default span) are a factor e.
QUALITY_PER_LAMBDA_E_FOLD = 38.0


def block_saliency(saliency: np.ndarray, height: int, width: int) -> np.ndarray:
  """The map at 8x8-block resolution, float64 (ceil(H/8), ceil(W/8)).

  A block map passes through; a pixel map (H, W) is averaged over each block.
  """
  grid = blocks.grid_shape(height, width)
  if saliency.shape == grid:
    return saliency.astype(np.float64)
  if saliency.shape != (height, width):
    raise errors.EncodeError(
      f"saliency map shape {saliency.shape} matches neither the blocks "
      f"{grid} nor the pixels {(height, width)} of the image"
    )
  return blocks.from_pixels(saliency)


def chroma_qualities(luma: np.ndarray, subsampling: str) -> np.ndarray:
  """Chroma block qualities: the max over the luma blocks each one covers."""
  if subsampling != "420":
    return luma
  padded = np.pad(luma, ((0, luma.shape[0] % 2), (0, luma.shape[1] % 2)), mode="edge")
  rows, cols = padded.shape[0] // 2, padded.shape[1] // 2
  return padded.reshape(rows, 2, cols, 2).max(axis=(1, 3))


def trellis_lambdas(
  coefficients: list[np.ndarray],
  qualities: np.ndarray,
  strength: float,
  params: tuning.Tuning = tuning.DEFAULT,
) -> list[np.ndarray]:
  """Per-block trellis lambdas of each component at lambda scale 1 (the mode scales them per
  knob): texture-adaptive, luma weighted by the map.

  Args:
    coefficients: DCT coefficients per component, (M, N, 8, 8); luma first.
    qualities: the policy's luma block qualities (M, N) at its reference quality.
    strength: multiplier on the saliency strength (0 ignores the map).
    params: the fitted constants (saliency strength, caps).
  """
  centre = (qualities.max() + qualities.min()) / 2.0
  rows, columns = coefficients[0].shape[:2]
  saliency_strength = params.strength_at(rows * columns * 64 / 1e6)
  luma_weights = -saliency_strength * strength * (qualities - centre) / QUALITY_PER_LAMBDA_E_FOLD
  lambdas = []
  for index, component in enumerate(coefficients):
    flat = component.reshape(-1, 64)
    lam = texture_lambdas(flat, 1.0)
    if index == 0:
      lam = lam * saliency_multipliers(flat, luma_weights.ravel(), params)
    lambdas.append(lam.reshape(component.shape[:2]))
  return lambdas


def zeroing_thresholds(
  qualities: np.ndarray, strength: float, params: tuning.Tuning = tuning.DEFAULT
) -> np.ndarray:
  """Per luma block, the size (in table steps) below which the trellis zeroes an AC coefficient:
  mozjpeg's 0.5, raised in the background by `params.background_deadzone` times the strength
  times how far the block's policy quality lies below the middle one (0 at the middle, 1 half
  the default span below it), as jpegli's adaptive quantization raises a block's zeroing
  threshold. Zero strength or a uniform policy leaves 0.5 everywhere."""
  centre = (qualities.max() + qualities.min()) / 2.0
  below = np.clip((centre - qualities) / (QUALITY_PER_LAMBDA_E_FOLD / 2.0), 0.0, 1.0)
  return 0.5 + params.background_deadzone * strength * below


def _ac_energy(blocks_64: np.ndarray) -> np.ndarray:
  """Mean squared AC coefficient of each block, in the blocks' precision: (B, 64) -> (B,)."""
  return (blocks_64[:, 1:] ** 2).mean(axis=1)


def texture_lambdas(coefficients: np.ndarray, scale: float) -> np.ndarray:
  """mozjpeg's lambda per block, larger on textured blocks: (B, 64) -> (B,)."""
  return scale * (_LAMBDA_OFFSET + 64.0 * _ac_energy(coefficients)) / _LAMBDA_DIVISOR


def saliency_multipliers(
  coefficients: np.ndarray, weights: np.ndarray, params: tuning.Tuning = tuning.DEFAULT
) -> np.ndarray:
  """Lambda multipliers exp(w) per block, with the increases (w > 0) damped and capped.

  Args:
    coefficients: (B, 64) DCT coefficients of the luma blocks.
    weights: (B,) log multipliers: negative where the map is salient, positive elsewhere.
    params: `flat_energy` and `background_cap`.

  A flat background block has a few small coefficients whose loss shows as banding and
  blocking; a raised lambda there saves few bits and costs much, so an increase is scaled by
  e / (e + flat_energy), e the block's mean AC energy, and no increase exceeds background_cap.
  """
  energy = _ac_energy(coefficients.astype(np.float64))
  if params.flat_energy > 0:
    damping = np.where(weights > 0, energy / (energy + params.flat_energy), 1.0)
  else:
    damping = np.ones_like(weights)
  return np.minimum(np.exp(weights * damping), params.background_cap)
