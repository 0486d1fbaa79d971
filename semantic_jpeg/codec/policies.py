"""The quality policies: a block map and the rate knob to a quality per 8x8 luma block.

A policy maps a block saliency map (values in [0, 1], one per 8x8 luma
block) and the rate knob `quality` to a float quality per luma block.
The six paper models follow the reference code of Prakash et al. (DCC
2017, github.com/iamaaditya/image-compression-cnn, combine_images.py):
their levels are the paper's at quality 50 (its reference) and move with
the knob, one for one.
"""

from collections.abc import Callable
from collections.abc import Mapping
import inspect

import numpy as np

from semantic_jpeg import errors

PAPER_QUALITY = 50.0  # Quality at which the paper models give its levels.

Policy = Callable[..., np.ndarray]


def continuous(
  saliency: np.ndarray,
  quality: float,
  *,
  span: float = 38.0,
  coverage: float = 0.35,
  softness: float = 0.3,
) -> np.ndarray:
  """The default: quality rises by `span` across a smooth step in map rank.

  Blocks are ranked by saliency (rank in (0, 1)); the step (a smoothstep
  `softness` wide in rank) is centred so that the top `coverage` of blocks
  sit above its middle. Qualities run from quality - span / 2 to
  quality + span / 2. Ranking, rather than raw map values, makes the share
  of favoured blocks the same for every image, whatever the map's contrast.

  coverage and softness were fitted on the tune split (scene_fixations' photos with a short side
  of 400 px or more, the Q30, Q50 and Q75 sizes, both paths) by SSIMULACRA 2 where people look:
  the map's top quarter holds only 76 % of the fixation density's top quarter, its top half 97 %,
  so a step over the top 35 % (0.15 wide either side) gained more there than the top quarter
  (0.25, 0.2) or the top half (0.5, 0.5) (results/tuning.md).
  """
  return quality + span * (_smoothstep(_ranks(saliency), 1.0 - coverage, softness) - 0.5)


def _ranks(saliency: np.ndarray) -> np.ndarray:
  """Rank of each block in (0, 1), ties broken by position (deterministic)."""
  order = np.argsort(saliency.ravel(), kind="stable")
  ranks = np.empty(saliency.size)
  ranks[order] = (np.arange(saliency.size) + 0.5) / saliency.size
  return ranks.reshape(saliency.shape)


def _smoothstep(x: np.ndarray, centre: float, width: float) -> np.ndarray:
  """0 below centre - width / 2, 1 above centre + width / 2, C1 in between."""
  t = np.clip((x - centre) / max(width, 1e-9) + 0.5, 0.0, 1.0)
  return t * t * (3.0 - 2.0 * t)


def uniform(saliency: np.ndarray, quality: float) -> np.ndarray:
  """Constant quality: the control that ignores the map."""
  return np.full(saliency.shape, float(quality))


def threshold(
  saliency: np.ndarray, quality: float, *, low: float = 70.0, high: float = 100.0
) -> np.ndarray:
  """Paper model 1 (hard-coded): above the mean saliency `high`, else `low`."""
  levels = np.where(saliency > saliency.mean(), high, low)
  return _paper(levels, quality)


def linear(saliency: np.ndarray, quality: float, *, low: float = 30.0) -> np.ndarray:
  """Paper model 2: `low` plus 10 per tenth of the map's maximum."""
  peak = saliency.max()
  tenths = np.floor(10.0 * saliency / peak) if peak > 0 else 0.0 * saliency
  return _paper(low + 10.0 * tenths, quality)


def percentile(saliency: np.ndarray, quality: float) -> np.ndarray:
  """Paper model 3: quality 20, 30, ..., 100 by saliency decile."""
  deciles = np.percentile(saliency, np.arange(10, 101, 10))
  rank = np.searchsorted(deciles, saliency, side="right")
  return _paper(20.0 + 10.0 * rank, quality)


def discrete_percentile(saliency: np.ndarray, quality: float) -> np.ndarray:
  """Paper model 4: below the 20th/60th/90th percentile 50/70/90, else 100."""
  edges = np.percentile(saliency, [20, 60, 90])
  rank = np.searchsorted(edges, saliency, side="right")
  return _paper(np.array([50.0, 70.0, 90.0, 100.0])[rank], quality)


def two_level(
  saliency: np.ndarray,
  quality: float,
  *,
  percent: float = 50.0,
  low: float = 30.0,
  high: float = 90.0,
) -> np.ndarray:
  """Paper model 5: below the `percent` percentile `low`, else `high`."""
  edge = np.percentile(saliency, percent)
  return _paper(np.where(saliency < edge, low, high), quality)


def two_level_high_coverage(
  saliency: np.ndarray,
  quality: float,
  *,
  percent: float = 50.0,
  low: float = 80.0,
  high: float = 100.0,
) -> np.ndarray:
  """Paper model 6 (its default): as two_level with levels 80 and 100."""
  return two_level(saliency, quality, percent=percent, low=low, high=high)


def _paper(levels: np.ndarray, quality: float) -> np.ndarray:
  """Shifts paper levels (valid at PAPER_QUALITY) to the knob `quality`."""
  return np.minimum(levels, 100.0) + (quality - PAPER_QUALITY)


POLICIES: dict[str, Policy] = {
  "continuous": continuous,
  "uniform": uniform,
  "threshold": threshold,
  "linear": linear,
  "percentile": percentile,
  "discrete_percentile": discrete_percentile,
  "two_level": two_level,
  "two_level_high_coverage": two_level_high_coverage,
}


def policy_parameters(name: str) -> dict[str, float]:
  """Returns a policy's parameters and their defaults."""
  if name not in POLICIES:
    raise errors.EncodeError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
  signature = inspect.signature(POLICIES[name])
  return {
    p.name: p.default
    for p in signature.parameters.values()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
  }


def check_policy(name: str, params: Mapping[str, float]) -> None:
  """Raises EncodeError for an unknown policy or parameter."""
  unknown = set(params) - set(policy_parameters(name))
  if unknown:
    raise errors.EncodeError(f"policy {name!r} has no parameter(s) {', '.join(sorted(unknown))}")


def block_qualities(
  name: str, saliency: np.ndarray, quality: float, params: Mapping[str, float]
) -> np.ndarray:
  """Runs a policy and clamps its qualities to 1..100."""
  check_policy(name, params)
  qualities = POLICIES[name](saliency, quality, **params)
  return np.clip(qualities, 1.0, 100.0)
