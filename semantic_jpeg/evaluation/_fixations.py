"""Where people looked, per 8x8 block: a minimal stand-in until `evaluation.fixations` lands.

The fixation density is the fixation points blurred by a Gaussian of sigma 3 % of the image's long
side (about one degree of visual angle for scene_fixations), averaged over each 8x8 block.
"""

import csv
import functools

import cv2
import numpy as np

from semantic_jpeg import blocks

SIGMA_SHARE = 0.03


@functools.cache
def _table(path: str) -> dict[str, np.ndarray]:
  """Fixation points (y, x) per image stem, from a CSV with columns image, y, x."""
  points: dict[str, list[tuple[float, float]]] = {}
  with open(path, newline="") as f:
    for row in csv.DictReader(f):
      stem = row["image"].rsplit(".", 1)[0]
      points.setdefault(stem, []).append((float(row["y"]), float(row["x"])))
  return {stem: np.array(values) for stem, values in points.items()}


def points(path: str, image: str) -> np.ndarray:
  """(K, 2) fixation points (y, x) of an image (by stem) in its original pixels."""
  table = _table(path)
  if image not in table:
    raise KeyError(f"no fixations for {image!r} in {path}")
  return table[image]


def block_density(yx: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
  """The fixation density of points (y, x) on an image of `shape`, per 8x8 block."""
  height, width = shape
  hits = np.zeros((height, width), np.float32)
  rows = np.clip(np.round(yx[:, 0]).astype(int), 0, height - 1)
  cols = np.clip(np.round(yx[:, 1]).astype(int), 0, width - 1)
  np.add.at(hits, (rows, cols), 1.0)
  sigma = SIGMA_SHARE * max(height, width)
  density = cv2.GaussianBlur(hits, (0, 0), sigmaX=sigma, sigmaY=sigma)
  return blocks.from_pixels(density)
