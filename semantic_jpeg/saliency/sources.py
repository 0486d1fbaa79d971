"""Where a map comes from: the local model, a SavedModel, a TF Serving server, or a map file;
and the user's regions merged in. Maps are per 8x8 block, what the encoder takes.

A `MapSource` decodes the input files and makes their block maps in batches (one server request
per batch); the command line and the Beam pipeline share it and the makers below. TensorFlow is
imported only by the makers that run a model (`from_model`, `from_saved_model`), and by
`from_model` only where LiteRT does not run the map or has not been exported to yet.
"""

from collections.abc import Callable
import os
import pathlib
import threading
import time
from typing import Protocol

import numpy as np

from semantic_jpeg import blocks
from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg.saliency import roi
from semantic_jpeg.saliency.options import SaliencyOptions

# Decoded images -> their maps per 8x8 block [ceil(H / 8), ceil(W / 8)], values in [0, 1].
MapMaker = Callable[[list[image_io.DecodedImage]], list[np.ndarray]]


class BlockMapClient(Protocol):
  """A saliency server client (`deploy.serving_client`): one request per batch of images."""

  def maps(self, images: list[np.ndarray]) -> list:
    """Answers with a `block_map` per uint8 RGB image."""


def from_file(values: np.ndarray) -> MapMaker:
  """One map (values in [0, 1], any size) resized to each image, averaged over its blocks."""
  return lambda images: [
    blocks.from_pixels(roi.fit_map(values, image.height, image.width)) for image in images
  ]


def from_server(client: BlockMapClient) -> MapMaker:
  """Maps from a saliency server, one request per batch."""
  return lambda images: [answer.block_map for answer in client.maps([i.rgb for i in images])]


def from_model(model_kwargs: dict, options: SaliencyOptions, runtime: str = "auto") -> MapMaker:
  """Maps from the local model (`model.load_model(**model_kwargs)`): its stages exported to
  LiteRT where `litert.applies` (a CPU, the `fixations` map), else its TensorFlow graph, traced
  once per machine (`compiled`). Only the first process on a machine imports TensorFlow for
  LiteRT; the TensorFlow graph always does.

  Raises:
    WeightsError: as `model.load_model`.
  """
  from semantic_jpeg.saliency import litert  # pylint: disable=g-import-not-at-top

  if litert.applies(model_kwargs, runtime):
    try:
      exported = litert.load(model_kwargs)
      return lambda images: [exported.block_map(image.rgb, options) for image in images]
    except OSError:
      pass  # No cache to export to: TensorFlow's graph, as built.
  from semantic_jpeg.saliency import compiled  # pylint: disable=g-import-not-at-top
  from semantic_jpeg.saliency import model as model_lib  # pylint: disable=g-import-not-at-top

  model = compiled.load(model_kwargs)
  return lambda images: [model_lib.compute_block_map(model, image.rgb, options) for image in images]


def from_saved_model(directory: str) -> MapMaker:
  """Maps from an exported SavedModel's `saliency_image` signature (export/), the options fixed
  at export."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  signature = tf.saved_model.load(directory).signatures["saliency_image"]
  return lambda images: [
    signature(images=image.rgb[None])["block_map"].numpy()[0] for image in images
  ]


def with_regions(
  block_map: np.ndarray,
  height: int,
  width: int,
  boxes: list[tuple[int, int, int, int]],
  mask: np.ndarray | None = None,
) -> np.ndarray:
  """The block map with the user's regions: the map's pixels raised to the mask (resized to the
  image) and set to 1 in the boxes, averaged back over each block. Without regions the map
  itself; only with them is a pixel map made."""
  if not boxes and mask is None:
    return block_map
  pixel_map = blocks.to_pixels(block_map, height, width)
  if mask is not None:
    pixel_map = roi.merge_mask(pixel_map, mask)
  return blocks.from_pixels(roi.merge_boxes(pixel_map, boxes))


class MapSource:
  """Decoded images and their block maps, made in batches.

  `make_maps` turns a list of decoded images into their maps; a failure to decode one file,
  or of a whole batch's request, is raised when that file's turn comes. `max_pixels` and
  `strict` are `image_io.read_image`'s. Threads may share it: one makes maps at a time.
  """

  def __init__(
    self,
    paths: list[pathlib.Path],
    batch: int,
    make_maps: MapMaker,
    max_pixels: int = image_io.DEFAULT_MAX_PIXELS,
    strict: bool = False,
  ):
    self._paths, self._batch, self._make_maps = paths, batch, make_maps
    self._max_pixels, self._strict = max_pixels, strict
    self._index = {path: i for i, path in enumerate(paths)}
    self._ready: dict[os.PathLike, tuple | errors.SemanticJpegError] = {}
    self._lock = threading.Lock()

  def get(self, path: pathlib.Path) -> tuple[image_io.DecodedImage, np.ndarray, float]:
    """(image, block map, milliseconds spent on its map)."""
    with self._lock:
      if path not in self._ready:
        batch = self._paths[self._index[path] : self._index[path] + self._batch]
        self._fill([p for p in batch if p not in self._ready])
      result = self._ready.pop(path)
    if isinstance(result, errors.SemanticJpegError):
      raise result
    return result

  def _fill(self, batch: list[pathlib.Path]) -> None:
    images = {}
    for path in batch:
      try:
        images[path] = image_io.read_image(path, self._max_pixels, self._strict)
      except errors.ImageError as e:
        self._ready[path] = e
    start = time.perf_counter()
    try:
      maps = self._make_maps(list(images.values())) if images else []
    except errors.SemanticJpegError as e:
      self._ready.update((path, e) for path in images)
      return
    milliseconds = 1e3 * (time.perf_counter() - start) / max(len(images), 1)
    for (path, image), block_map in zip(images.items(), maps):
      self._ready[path] = (image, block_map, milliseconds)
