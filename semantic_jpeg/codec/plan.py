"""The plan: a saliency map to per-block weights, the qualities of the `dct` mode and the
trellis lambdas of the `trellis` mode.

The trellis mode's lambda per block is mozjpeg's texture-adaptive lambda, scaled for luma by
e^(-s * dq / 38), dq being the block's policy quality minus the middle one and s the strength:
salient blocks keep more detail, the background gives up bits. The constants below were fitted
on Kodak (24 images) at the size of libjpeg-turbo's quality 50 (results/kodak).
"""

from collections.abc import Mapping

import numpy as np

from semantic_jpeg import blocks
from semantic_jpeg import errors

# mozjpeg's texture-adaptive lambda: lambda ~ (2^16.5 + mean AC energy) / 2^14.75.
_LAMBDA_OFFSET = 2.0**16.5
_LAMBDA_DIVISOR = 2.0**14.75
# Lambda scales (mozjpeg's own is 1/64 in these units): a finer table with a firmer trellis.
LUMA_SCALE = 0.035
CHROMA_SCALE = 0.05
# The policy the trellis mode uses by default, and its parameters there.
TRELLIS_POLICY_DEFAULTS = {"continuous": {"coverage": 0.4, "softness": 0.35}}
# Policy qualities to lambda: 38 quality points (the default span) are a factor e.
QUALITY_PER_LAMBDA_E_FOLD = 38.0
# adaptive_strength: saliency strength 1.12 at activity 4.4, 0.4 to 1.3 times that; lambda scale
# factor 1 up to activity 5.4, down to 0.45 above it.
_STRENGTH = 1.12
_STRENGTH_RAMP = (5.6, 1.2)  # (activity where the ramp reaches 0, its width)
_STRENGTH_LIMITS = (0.4, 1.3)
_SCALE_RAMP = (6.4, 1.0)
_MIN_SCALE_FACTOR = 0.45
_FLAT_ENERGY = 50.0  # saliency_multipliers: mean AC energy at which an increase is halved.


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


def trellis_policy_params(policy: str, params: Mapping[str, float]) -> dict[str, float]:
  """The policy parameters the trellis mode uses: its defaults, overridden by `params`."""
  return {**TRELLIS_POLICY_DEFAULTS.get(policy, {}), **params}


def trellis_lambdas(
  coefficients: list[np.ndarray], qualities: np.ndarray, strength: float
) -> list[np.ndarray]:
  """Per-block trellis lambdas of each component: texture-adaptive, luma weighted by the map.

  Args:
    coefficients: DCT coefficients per component, (M, N, 8, 8); luma first.
    qualities: the policy's luma block qualities (M, N) at its reference quality.
    strength: multiplier on the image-adaptive saliency strength (0 ignores the map).
  """
  image_strength, scale = adaptive_strength(activity(coefficients[0]))
  centre = (qualities.max() + qualities.min()) / 2.0
  lambdas = []
  for index, component in enumerate(coefficients):
    base = LUMA_SCALE if index == 0 else CHROMA_SCALE
    flat = component.reshape(-1, 64)
    lam = texture_lambdas(flat, base * scale)
    if index == 0:
      weights = (
        -image_strength * strength * (qualities - centre).ravel() / QUALITY_PER_LAMBDA_E_FOLD
      )
      lam = lam * saliency_multipliers(flat, weights)
    lambdas.append(lam.reshape(component.shape[:2]))
  return lambdas


def _ac_energy(blocks_64: np.ndarray) -> np.ndarray:
  """Mean squared AC coefficient of each block, in the blocks' precision: (B, 64) -> (B,)."""
  return (blocks_64[:, 1:] ** 2).mean(axis=1)


def texture_lambdas(coefficients: np.ndarray, scale: float) -> np.ndarray:
  """mozjpeg's lambda per block, larger on textured blocks: (B, 64) -> (B,)."""
  return scale * (_LAMBDA_OFFSET + 64.0 * _ac_energy(coefficients)) / _LAMBDA_DIVISOR


def activity(luma: np.ndarray) -> float:
  """How detailed an image is: the mean over luma blocks of log(1 + mean AC energy).

  About 3 for smooth photos (Kodak's kodim23) and 6 for detailed ones (kodim13).
  """
  return float(np.log1p(_ac_energy(luma.reshape(-1, 64).astype(np.float64))).mean())


def adaptive_strength(image_activity: float) -> tuple[float, float]:
  """(saliency strength, lambda scale factor) for an image of the given activity.

  In detailed images the background holds most of the bits and most of what the eye (and
  SSIMULACRA 2) sees elsewhere, so taking bits from it costs more: above an activity of 4.4 the
  saliency weighting fades to 0.4 of its strength, and above 5.4 the trellis gets gentler (down
  to 0.45 of its lambda); smooth images get up to 1.3 times the strength.
  """
  end, width = _STRENGTH_RAMP
  strength = _STRENGTH * float(np.clip((end - image_activity) / width, *_STRENGTH_LIMITS))
  end, width = _SCALE_RAMP
  return strength, float(np.clip((end - image_activity) / width, _MIN_SCALE_FACTOR, 1.0))


def saliency_multipliers(coefficients: np.ndarray, weights: np.ndarray) -> np.ndarray:
  """Lambda multipliers exp(w) per block, with the increases (w > 0) damped on flat blocks.

  Args:
    coefficients: (B, 64) DCT coefficients of the luma blocks.
    weights: (B,) log multipliers: negative where the map is salient, positive elsewhere.

  A flat background block has a few small coefficients whose loss shows as banding and
  blocking; a raised lambda there saves few bits and costs much, so an increase is scaled by
  e / (e + 50), e the block's mean AC energy.
  """
  energy = _ac_energy(coefficients.astype(np.float64))
  damping = np.where(weights > 0, energy / (energy + _FLAT_ENERGY), 1.0)
  return np.exp(weights * damping)
