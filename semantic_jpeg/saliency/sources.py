"""Where a map comes from: the local model, a TF Serving server, or a map file.

A `MapSource` decodes the input files and makes their pixel maps in batches (one server request
per batch); the command line and batch jobs share it. TensorFlow is imported only when the local
model is used.
"""

from collections.abc import Callable
import os
import pathlib
import time
from typing import Protocol

import numpy as np

from semantic_jpeg import blocks
from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg.saliency import roi
from semantic_jpeg.saliency.options import SaliencyOptions

MapMaker = Callable[[list[image_io.DecodedImage]], list[np.ndarray]]


class BlockMapClient(Protocol):
  """A saliency server client (`deploy.serving_client`): one request per batch of images."""

  def maps(self, images: list[np.ndarray]) -> list:
    """Answers with a `block_map` per uint8 RGB image."""


def from_file(values: np.ndarray) -> MapMaker:
  """One map (values in [0, 1], any size) resized to each image."""
  return lambda images: [roi.fit_map(values, image.height, image.width) for image in images]


def from_server(client: BlockMapClient) -> MapMaker:
  """Maps from a saliency server, one request per batch, spread from blocks to pixels."""

  def make(images: list[image_io.DecodedImage]) -> list[np.ndarray]:
    answers = client.maps([image.rgb for image in images])
    return [
      blocks.to_pixels(answer.block_map, image.height, image.width)
      for image, answer in zip(images, answers)
    ]

  return make


def from_model(model_kwargs: dict, options: SaliencyOptions) -> MapMaker:
  """Maps from the local model (loaded now; this imports TensorFlow), spread to pixels.

  Model and server maps are block maps spread over the pixels, so that both give the encoder
  exactly the same input.
  """
  from semantic_jpeg.saliency import model as model_lib  # pylint: disable=g-import-not-at-top

  model = model_lib.load_model(**model_kwargs)

  def make(images: list[image_io.DecodedImage]) -> list[np.ndarray]:
    return [
      blocks.to_pixels(
        model_lib.compute_map(model, image.rgb, options).block_map, image.height, image.width
      )
      for image in images
    ]

  return make


class MapSource:
  """Decoded images and their pixel maps, made in batches.

  `make_maps` turns a list of decoded images into their maps; a failure to decode one file,
  or of a whole batch's request, is raised when that file's turn comes. `max_pixels` and
  `strict` are `image_io.read_image`'s.
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

  def get(self, path: pathlib.Path) -> tuple[image_io.DecodedImage, np.ndarray, float]:
    """(image, pixel map, milliseconds spent on its map)."""
    if path not in self._ready:
      self._fill(self._paths[self._index[path] : self._index[path] + self._batch])
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
    for (path, image), pixel_map in zip(images.items(), maps):
      self._ready[path] = (image, pixel_map, milliseconds)
