"""The MS-ROI model: class activation maps of the top-k classes, a face prior, one map.

Prakash et al. (DCC 2017): the CAM of class c is the classifier weights of c applied to the
last feature map of a global-average-pooling network. The CAMs of the top-k classes are each
normalised and combined into a multi-structure region-of-interest (MS-ROI) map in [0, 1].
ImageNet has no person class, so a face prior is merged in: people look at faces first.

Everything from uint8 pixels to the maps is one `tf.function` (`MSROIModel.saliency`): it runs
on a GPU when TensorFlow has one, serves the CLI, the SavedModel export and batch jobs alike.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from semantic_jpeg import backbone as backbone_lib
from semantic_jpeg import classes as classes_lib
from semantic_jpeg import faces as faces_lib
from semantic_jpeg import weights as weights_lib

COMBINE_MODES = ("sum", "rank_weighted")
BLOCK = 8


@dataclasses.dataclass(frozen=True)
class SaliencyOptions:
  """Run-time knobs of the map.

  top_k: number of classes whose CAMs make the map (the paper uses 5).
  max_side: the image is scaled down for the model so its long side is at most this.
  face_weight: peak of the face prior merged into the map (0 turns the prior off).
  threshold: map value at and above which a block counts as salient.
  """
  top_k: int = 5
  max_side: int = 1024
  face_weight: float = 1.0
  threshold: float = 0.5

  def __post_init__(self):
    if not 1 <= self.top_k <= backbone_lib.NUM_CLASSES:
      raise ValueError(f"top_k must be in 1..{backbone_lib.NUM_CLASSES}, got {self.top_k}")
    if self.max_side < 32:
      raise ValueError(f"max_side must be at least 32, got {self.max_side}")
    if not 0.0 <= self.face_weight <= 1.0:
      raise ValueError(f"face_weight must be in [0, 1], got {self.face_weight}")
    if not 0.0 <= self.threshold <= 1.0:
      raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")


IMAGES_SPEC = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")
SCALAR_INT = tf.TensorSpec([], tf.int32)
SCALAR_FLOAT = tf.TensorSpec([], tf.float32)


class MSROIModel(keras.Model):
  """EfficientNet-Lite0 classifier whose `saliency` tf.function gives the MS-ROI map.

  `call` maps normalised images to logits (what training fits); `saliency` maps uint8
  images of any size to logits, top-k classes, the map per 8x8 block and per pixel.
  """

  def __init__(self, classifier: keras.Model, face_detector: faces_lib.FaceDetector | None,
               combine: str = "sum", class_names: tuple[str, ...] | None = None,
               multi_label: bool = False, **kwargs):
    """`class_names` default to ImageNet's; `multi_label` scores classes by sigmoid."""
    super().__init__(**kwargs)
    if combine not in COMBINE_MODES:
      raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
    self.classifier = classifier
    self.face_detector = face_detector
    self.combine = combine
    self.class_names = class_names or classes_lib.imagenet_names()
    self.multi_label = multi_label

  def call(self, images, training=False):
    return self.classifier(images, training=training)[1]

  @tf.function(input_signature=[IMAGES_SPEC, SCALAR_INT, SCALAR_INT, SCALAR_FLOAT,
                                SCALAR_FLOAT])
  def saliency(self, images, top_k, max_side, face_weight, threshold):
    """uint8 [N, H, W, 3] -> dict of logits, top classes, maps and faces (see README)."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    model_input = _fit_long_side(tf.cast(images, tf.float32), max_side)
    features, logits = self.classifier((model_input - 127.5) / 127.5, training=False)
    scores = tf.sigmoid(logits) if self.multi_label else tf.nn.softmax(logits)
    top_scores, top_classes = tf.math.top_k(scores, k=tf.minimum(top_k, tf.shape(logits)[-1]))
    cams = _class_activation_maps(features, self.classifier.get_layer("predictions").kernel,
                                  top_classes)
    grid_map = _normalise(_combine(cams, self.combine))
    pixel_map = _to_pixels(grid_map, tf.shape(model_input)[1:3], height, width)
    outputs = {"logits": logits, "top_classes": top_classes, "top_scores": top_scores}
    if self.face_detector is not None:
      found = self.face_detector(images)
      face_map = faces_lib.face_prior_map(found.boxes, found.counts, height, width)
      pixel_map = tf.maximum(pixel_map, face_weight * face_map)
      outputs.update(face_boxes=found.boxes, face_scores=found.scores,
                     num_faces=found.counts)
    block_map = tf.nn.avg_pool2d(pixel_map[..., None], BLOCK, BLOCK, "SAME")[..., 0]
    outputs.update(pixel_map=pixel_map, block_map=block_map,
                   salient_blocks=block_map >= threshold)
    return outputs

  def compute(self, images: tf.Tensor, options: SaliencyOptions = SaliencyOptions()) -> dict:
    """`saliency` with options from a `SaliencyOptions`; the face prior off if weight is 0."""
    return self.saliency(images, tf.constant(options.top_k, tf.int32),
                         tf.constant(options.max_side, tf.int32),
                         tf.constant(options.face_weight, tf.float32),
                         tf.constant(options.threshold, tf.float32))


def _fit_long_side(images: tf.Tensor, max_side: tf.Tensor) -> tf.Tensor:
  """Scales images down (antialiased) so that the long side is at most `max_side`."""
  size = tf.shape(images)[1:3]
  long_side = tf.reduce_max(size)

  def shrink():
    scale = tf.cast(max_side, tf.float32) / tf.cast(long_side, tf.float32)
    new_size = tf.maximum(tf.cast(tf.round(tf.cast(size, tf.float32) * scale), tf.int32), 1)
    return tf.image.resize(images, new_size, "area")

  return tf.cond(long_side > max_side, shrink, lambda: images)


def _class_activation_maps(features: tf.Tensor, kernel: tf.Tensor,
                           classes: tf.Tensor) -> tf.Tensor:
  """[N, h, w, C] features and [C, classes] weights -> CAMs [N, h, w, k] of `classes`."""
  class_weights = tf.gather(tf.transpose(kernel), classes)  # [N, k, C]
  return tf.einsum("nhwc,nkc->nhwk", features, class_weights)


def _normalise(maps: tf.Tensor) -> tf.Tensor:
  """Min-max normalises each [N, h, w, k] map to [0, 1] over its spatial extent."""
  low = tf.reduce_min(maps, axis=[1, 2], keepdims=True)
  high = tf.reduce_max(maps, axis=[1, 2], keepdims=True)
  return tf.math.divide_no_nan(maps - low, high - low)


def _combine(cams: tf.Tensor, mode: str) -> tf.Tensor:
  """Normalised CAMs [N, h, w, k] -> one map [N, h, w, 1]: sum, or weights k, k-1, ..., 1."""
  cams = _normalise(cams)
  if mode == "sum":
    return tf.reduce_sum(cams, axis=-1, keepdims=True)
  k = tf.shape(cams)[-1]
  rank_weights = tf.cast(tf.range(k, 0, -1), tf.float32)
  return tf.reduce_sum(cams * rank_weights, axis=-1, keepdims=True)


def _to_pixels(grid_map: tf.Tensor, model_size: tf.Tensor, height: tf.Tensor,
               width: tf.Tensor) -> tf.Tensor:
  """Stride-32 grid map [N, h, w, 1] -> [N, height, width] aligned with the input pixels.

  Grid cell i covers model-input pixels [32i, 32i + 32): upsample to the padded size,
  crop to the model input, then scale to the original image size if it was capped.
  """
  padded = tf.shape(grid_map)[1:3] * 32
  pixels = tf.image.resize(grid_map, padded, "bilinear")[:, :model_size[0], :model_size[1]]
  pixels = tf.image.resize(pixels, tf.stack([height, width]), "bilinear")
  return tf.clip_by_value(pixels[..., 0], 0.0, 1.0)


def load_model(*, faces: bool = True, combine: str = "sum",
               weights: str | None = None) -> MSROIModel:
  """The MS-ROI model and (by default) the face prior.

  Weights: ImageNet's, or those `tools/train.py` wrote (`weights`: the .weights.h5 file or its
  folder, with classes.json beside it).
  """
  detector = faces_lib.FaceDetector() if faces else None
  if weights is None:
    classifier = backbone_lib.efficientnet_lite0()
    weights_lib.load_imagenet_lite0(classifier)
    return MSROIModel(classifier, detector, combine=combine)
  trained = weights_lib.load_trained(weights)
  return MSROIModel(trained.classifier, detector, combine=combine,
                    class_names=trained.class_names, multi_label=trained.multi_label)


@dataclasses.dataclass(frozen=True)
class SaliencyResult:
  """The model's answer for one image, as numpy arrays.

  block_map: [ceil(H/8), ceil(W/8)] in [0, 1]; pixel_map: [H, W] in [0, 1];
  top_classes / top_scores: [k] class ids and softmax scores;
  face_boxes: [F, 4] (ymin, xmin, ymax, xmax) in pixels, face_scores: [F].
  """
  block_map: np.ndarray
  pixel_map: np.ndarray
  top_classes: np.ndarray
  top_scores: np.ndarray
  face_boxes: np.ndarray
  face_scores: np.ndarray
  threshold: float

  @property
  def salient_fraction(self) -> float:
    return float(np.mean(self.block_map >= self.threshold))


def compute_map(model: MSROIModel, rgb: np.ndarray,
                options: SaliencyOptions = SaliencyOptions()) -> SaliencyResult:
  """Runs the model on one uint8 RGB image [H, W, 3]."""
  out = {k: v.numpy()[0] for k, v in model.compute(rgb[None], options).items()}
  count = int(out.get("num_faces", 0))
  return SaliencyResult(
      block_map=out["block_map"], pixel_map=out["pixel_map"],
      top_classes=out["top_classes"], top_scores=out["top_scores"],
      face_boxes=out["face_boxes"][:count] if count else np.zeros((0, 4), np.float32),
      face_scores=out["face_scores"][:count] if count else np.zeros((0,), np.float32),
      threshold=options.threshold)
