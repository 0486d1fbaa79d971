"""The map model: EfficientNet-Lite0 and where people look in a photo, one map per image.

Two map models share the network: `fixations` (the default), the readout trained on human eye
fixations (`readout`), and `cam`, the paper's class activation maps of the top-k classes
(`cam`), kept to reproduce it and for classifiers trained on your own classes. Either way a face
prior (`faces`) is merged in: people look at faces first.

Everything from uint8 pixels to the maps is one `tf.function` (`MSROIModel.saliency`): it runs
on a GPU when TensorFlow has one, serves the CLI, the SavedModel export and batch jobs alike.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from semantic_jpeg.saliency import backbone as backbone_lib
from semantic_jpeg.saliency import cam
from semantic_jpeg.saliency import classes as classes_lib
from semantic_jpeg.saliency import readout as readout_lib
from semantic_jpeg.saliency import trained as trained_lib
from semantic_jpeg.saliency import weights as weights_lib
from semantic_jpeg.saliency.faces import detector as detector_lib
from semantic_jpeg.saliency.faces import prior
from semantic_jpeg.saliency.options import COMBINE_MODES
from semantic_jpeg.saliency.options import MAP_MODELS
from semantic_jpeg.saliency.options import SaliencyOptions

BLOCK = 8
# Pixels per image above which `block_saliency` evaluates the map per block, not per pixel.
PIXEL_MAP_LIMIT = 1 << 22

IMAGES_SPEC = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")
SCALAR_INT = tf.TensorSpec([], tf.int32)
SCALAR_FLOAT = tf.TensorSpec([], tf.float32)


class MSROIModel(keras.Model):
  """EfficientNet-Lite0 classifier whose `saliency` tf.function gives the map.

  `call` maps images (pixel values 0..255) to logits (what training fits); `saliency` maps
  uint8 images of any size to logits, top-k classes, the map per 8x8 block and per pixel. With
  a fixation `readout` the map is the fixation density's (the `fixations` map model), without
  one it is the class activation maps' (`cam`).
  """

  def __init__(
    self,
    classifier: keras.Model,
    face_detector: detector_lib.FaceDetector | None,
    combine: str = "sum",
    class_names: tuple[str, ...] | None = None,
    multi_label: bool = False,
    readout: readout_lib.FixationReadout | None = None,
    **kwargs,
  ):
    """`class_names` default to ImageNet's; `multi_label` scores classes by sigmoid."""
    super().__init__(**kwargs)
    if combine not in COMBINE_MODES:
      raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
    self.classifier = classifier
    self.face_detector = face_detector
    self.combine = combine
    self.class_names = class_names or classes_lib.imagenet_names()
    self.multi_label = multi_label
    self.readout = readout
    if readout is not None:
      self.tapped = backbone_lib.tapped(classifier, [name for name, _, _ in readout_lib.TAPS])

  @property
  def map_model(self) -> str:
    return "cam" if self.readout is None else "fixations"

  def call(self, images, training=False):
    return self.classifier(images, training=training)[1]

  @tf.function(input_signature=[IMAGES_SPEC, SCALAR_INT, SCALAR_INT, SCALAR_FLOAT, SCALAR_FLOAT])
  def saliency(self, images, top_k, max_side, face_weight, threshold):
    """uint8 [N, H, W, 3] -> dict of logits, top classes, maps and faces (see README)."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    outputs = self._maps(images, top_k, max_side, face_weight, height, width)
    block_map = _block_means(outputs["pixel_map"])
    outputs.update(block_map=block_map, salient_blocks=block_map >= threshold)
    return outputs

  @tf.function(input_signature=[IMAGES_SPEC, SCALAR_INT, SCALAR_INT, SCALAR_FLOAT, SCALAR_FLOAT])
  def block_saliency(self, images, top_k, max_side, face_weight, threshold):
    """`saliency` without the per-pixel outputs: what an encoder needs.

    Up to PIXEL_MAP_LIMIT pixels per image the block map is `saliency`'s (the pixel map's mean
    over each block); on larger photos the map is evaluated at the blocks' centres instead, so
    that no full-resolution map is made.
    """
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    rows, cols = (height + BLOCK - 1) // BLOCK, (width + BLOCK - 1) // BLOCK

    def per_pixel():
      outputs = self._maps(images, top_k, max_side, face_weight, height, width)
      return _block_outputs(outputs, _block_means(outputs["pixel_map"]))

    def per_block():
      outputs = self._maps(images, top_k, max_side, face_weight, rows, cols)
      return _block_outputs(outputs, outputs["pixel_map"])

    outputs = tf.cond(height * width > PIXEL_MAP_LIMIT, per_block, per_pixel)
    outputs["salient_blocks"] = outputs["block_map"] >= threshold
    return outputs

  def _maps(self, images, top_k, max_side, face_weight, rows, cols) -> dict[str, tf.Tensor]:
    """Classes, faces and the map on a rows x cols grid over the images (the `pixel_map`)."""
    if self.readout is None:
      outputs = self._cam_map(images, top_k, max_side, rows, cols)
    else:
      outputs = self._fixation_map(images, top_k, rows, cols)
    if self.face_detector is not None:
      found = self.face_detector(images)
      size = tf.cast(tf.shape(images)[1:3], tf.float32)
      cell = size / tf.cast(tf.stack([rows, cols]), tf.float32)
      face_map = prior.face_prior_map(found.boxes, found.counts, rows, cols, cell)
      outputs["pixel_map"] = tf.maximum(outputs["pixel_map"], face_weight * face_map)
      outputs.update(face_boxes=found.boxes, face_scores=found.scores, num_faces=found.counts)
    return outputs

  def _classes(self, logits: tf.Tensor, top_k: tf.Tensor) -> dict[str, tf.Tensor]:
    """Logits and the top-k classes and scores."""
    scores = tf.sigmoid(logits) if self.multi_label else tf.nn.softmax(logits)
    top_scores, top_classes = tf.math.top_k(scores, k=tf.minimum(top_k, tf.shape(logits)[-1]))
    return {"logits": logits, "top_classes": top_classes, "top_scores": top_scores}

  def _cam_map(self, images: tf.Tensor, top_k: tf.Tensor, max_side: tf.Tensor, rows, cols) -> dict:
    """The paper's map: the CAMs of the top-k classes on a rows x cols grid."""
    model_input = _fit_long_side(tf.cast(images, tf.float32), max_side)
    features, logits = self.classifier(model_input, training=False)
    outputs = self._classes(logits, top_k)
    cams = cam.class_activation_maps(
      features, self.classifier.get_layer("predictions").kernel, outputs["top_classes"]
    )
    grid_map = cam.normalise(cam.combine(cams, self.combine))
    outputs["pixel_map"] = cam.to_pixels(grid_map, tf.shape(model_input)[1:3], rows, cols)
    return outputs

  def _fixation_map(self, images: tf.Tensor, top_k: tf.Tensor, rows, cols) -> dict:
    """The fixation density on a rows x cols grid; the map is p / max(p)."""
    work, size = readout_lib.working_image(images, self.readout.work_side)
    *taps, logits = self.tapped(work, training=False)
    outputs = self._classes(logits, top_k)
    log_density = readout_lib.to_pixels(self.readout(taps), size, rows, cols)
    peak = tf.reduce_max(log_density, axis=[1, 2], keepdims=True)
    outputs.update(log_density=log_density, pixel_map=tf.exp(log_density - peak))
    return outputs

  def compute(self, images: tf.Tensor, options: SaliencyOptions = SaliencyOptions()) -> dict:
    """`saliency` with options from a `SaliencyOptions`; the face prior off if weight is 0."""
    return run_saliency(self.saliency, images, options)


def run_saliency(saliency, images: tf.Tensor, options: SaliencyOptions) -> dict:
  """Calls a `saliency` function (the model's, or one loaded from a SavedModel) with options."""
  return saliency(
    images,
    tf.constant(options.top_k, tf.int32),
    tf.constant(options.max_side, tf.int32),
    tf.constant(options.face_weight, tf.float32),
    tf.constant(options.threshold, tf.float32),
  )


def _block_means(pixel_map: tf.Tensor) -> tf.Tensor:
  """[N, H, W] -> [N, ceil(H / 8), ceil(W / 8)]: each block's mean over its pixels inside."""
  return tf.nn.avg_pool2d(pixel_map[..., None], BLOCK, BLOCK, "SAME")[..., 0]


def _block_outputs(outputs: dict[str, tf.Tensor], block_map: tf.Tensor) -> dict[str, tf.Tensor]:
  """The outputs that do not grow with the pixels, and the block map."""
  kept = {k: v for k, v in outputs.items() if k not in ("pixel_map", "log_density")}
  return {**kept, "block_map": block_map}


def _fit_long_side(images: tf.Tensor, max_side: tf.Tensor) -> tf.Tensor:
  """Scales images down (antialiased) so that the long side is at most `max_side`."""
  size = tf.shape(images)[1:3]
  long_side = tf.reduce_max(size)

  def shrink():
    scale = tf.cast(max_side, tf.float32) / tf.cast(long_side, tf.float32)
    new_size = tf.maximum(tf.cast(tf.round(tf.cast(size, tf.float32) * scale), tf.int32), 1)
    return tf.image.resize(images, new_size, "area")

  return tf.cond(long_side > max_side, shrink, lambda: images)


def load_model(
  *,
  map_model: str = "fixations",
  faces: bool = True,
  combine: str = "sum",
  weights: str | None = None,
  readout_weights: str | None = None,
) -> MSROIModel:
  """The map model (`fixations` or `cam`) and, by default, the face prior.

  Weights: ImageNet's, or those `tools/train.py` wrote (`weights`: the .weights.h5 file or its
  folder, with classes.json beside it); the fixation readout's: those in the package, or
  `readout_weights` (what `tools/train_readout.py` wrote).
  """
  if map_model not in MAP_MODELS:
    raise ValueError(f"map_model must be one of {MAP_MODELS}, got {map_model!r}")
  detector = detector_lib.FaceDetector() if faces else None
  readout = None
  if map_model == "fixations":
    readout = readout_lib.load(readout_weights or readout_lib.DEFAULT_WEIGHTS)
  if weights is None:
    classifier = backbone_lib.efficientnet_lite0()
    weights_lib.load_imagenet_lite0(classifier)
    return MSROIModel(classifier, detector, combine=combine, readout=readout)
  trained = trained_lib.load_trained(weights)
  return MSROIModel(
    trained.classifier,
    detector,
    combine=combine,
    class_names=trained.class_names,
    multi_label=trained.multi_label,
    readout=readout,
  )


@dataclasses.dataclass(frozen=True)
class SaliencyResult:
  """The model's answer for one image, as numpy arrays.

  block_map: [ceil(H/8), ceil(W/8)] in [0, 1]; pixel_map: [H, W] in [0, 1];
  top_classes / top_scores: [k] class ids and softmax scores;
  face_boxes: [F, 4] (ymin, xmin, ymax, xmax) in pixels, face_scores: [F];
  log_density: [H, W] natural-log fixation density (sums to 1; `fixations` map model only).
  """

  block_map: np.ndarray
  pixel_map: np.ndarray
  top_classes: np.ndarray
  top_scores: np.ndarray
  face_boxes: np.ndarray
  face_scores: np.ndarray
  threshold: float
  log_density: np.ndarray | None = None

  @property
  def salient_fraction(self) -> float:
    return float(np.mean(self.block_map >= self.threshold))


def compute_map(
  model, rgb: np.ndarray, options: SaliencyOptions = SaliencyOptions()
) -> SaliencyResult:
  """Runs the model (`MSROIModel`, or `compiled.LoadedModel`) on one uint8 RGB image [H, W, 3]."""
  out = {k: v.numpy()[0] for k, v in run_saliency(model.saliency, rgb[None], options).items()}
  count = int(out.get("num_faces", 0))
  return SaliencyResult(
    block_map=out["block_map"],
    pixel_map=out["pixel_map"],
    top_classes=out["top_classes"],
    top_scores=out["top_scores"],
    face_boxes=out["face_boxes"][:count] if count else np.zeros((0, 4), np.float32),
    face_scores=out["face_scores"][:count] if count else np.zeros((0,), np.float32),
    threshold=options.threshold,
    log_density=out.get("log_density"),
  )


def compute_block_map(
  model, rgb: np.ndarray, options: SaliencyOptions = SaliencyOptions()
) -> np.ndarray:
  """The map per 8x8 block of one uint8 RGB image (`block_saliency`): float32 [ceil(H/8),
  ceil(W/8)], without a pixel map on photos of more than PIXEL_MAP_LIMIT pixels."""
  return run_saliency(model.block_saliency, rgb[None], options)["block_map"].numpy()[0]
