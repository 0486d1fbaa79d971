"""Pictures people would rather see than read: saliency heatmaps and overlays."""

import cv2
import numpy as np


def map_to_gray(saliency_map: np.ndarray) -> np.ndarray:
  """A map in [0, 1] as a uint8 grayscale image."""
  return np.clip(np.rint(saliency_map * 255.0), 0, 255).astype(np.uint8)


def heatmap(saliency_map: np.ndarray) -> np.ndarray:
  """A map in [0, 1] as an RGB uint8 heatmap (blue cold, red hot)."""
  bgr = cv2.applyColorMap(map_to_gray(saliency_map), cv2.COLORMAP_JET)
  return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def overlay(rgb: np.ndarray, saliency_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
  """The heatmap of a pixel-resolution map blended over the RGB photo."""
  return cv2.addWeighted(heatmap(saliency_map), alpha, rgb, 1.0 - alpha, 0.0)


def most_salient_window(block_map: np.ndarray, side_blocks: int) -> tuple[int, int]:
  """Top-left block (row, col) of the side x side window with the highest mean map value."""
  side = min(side_blocks, *block_map.shape)
  means = cv2.boxFilter(
    block_map.astype(np.float32),
    -1,
    (side, side),
    normalize=True,
    anchor=(0, 0),
    borderType=cv2.BORDER_CONSTANT,
  )
  means = means[: block_map.shape[0] - side + 1, : block_map.shape[1] - side + 1]
  row, col = np.unravel_index(np.argmax(means), means.shape)
  return int(row), int(col)
