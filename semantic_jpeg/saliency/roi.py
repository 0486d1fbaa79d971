"""User regions of interest: boxes and masks merged into a saliency map as fully salient."""

import cv2
import numpy as np

from semantic_jpeg import errors


def parse_box(text: str) -> tuple[int, int, int, int]:
  """'x,y,w,h' (pixels, x right, y down) -> (x, y, w, h); raises EncodeError if malformed."""
  parts = text.split(",")
  try:
    x, y, w, h = (int(p) for p in parts)
  except ValueError:
    raise errors.EncodeError(f"ROI {text!r} is not x,y,w,h in whole pixels") from None
  if x < 0 or y < 0 or w < 1 or h < 1:
    raise errors.EncodeError(f"ROI {text!r} needs x, y >= 0 and w, h >= 1")
  return x, y, w, h


def merge_boxes(saliency_map: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
  """A pixel map with each box (clipped to the image) set to 1."""
  merged = saliency_map.copy()
  for x, y, w, h in boxes:
    merged[y : y + h, x : x + w] = 1.0
  return merged


def fit_map(values: np.ndarray, height: int, width: int) -> np.ndarray:
  """A [0, 1] map or mask of any size, resized to height x width pixels."""
  values = np.clip(values.astype(np.float32), 0.0, 1.0)
  if values.shape == (height, width):
    return values
  interpolation = cv2.INTER_AREA if values.shape[0] > height else cv2.INTER_LINEAR
  return cv2.resize(values, (width, height), interpolation=interpolation)


def merge_mask(saliency_map: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """The map raised to the mask wherever the mask is higher (mask resized to the map)."""
  return np.maximum(saliency_map, fit_map(mask, *saliency_map.shape))
