"""The map model: EfficientNet-Lite0 and where people look in a photo, one map per image.

Two map models share the network: `fixations` (the default), the readout trained on human eye
fixations (`readout`), and `cam`, the paper's class activation maps of the top-k classes
(`cam`), kept to reproduce it and for classifiers trained on your own classes. Either way a face
prior (`faces`) is merged in: people look at faces first.

Everything from uint8 pixels to the maps is one `tf.function` (`MSROIModel.saliency`): it runs
on a GPU when TensorFlow has one, serves the CLI, the SavedModel export and batch jobs alike.
The `fixations` map is drawn in three stages (`prepare`, `networks`, `conclude`), which
`litert_export` converts one by one, so that a CPU runs the same graph without TensorFlow.
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
    image_size = tf.shape(images)[1:3]
    evidence = self._evidence(images, top_k, max_side)
    outputs = self._render(evidence, face_weight, image_size, image_size[0], image_size[1])
    outputs.update(self.block_outputs(evidence, image_size, face_weight, threshold))
    return outputs

  @tf.function(input_signature=[IMAGES_SPEC, SCALAR_INT, SCALAR_INT, SCALAR_FLOAT, SCALAR_FLOAT])
  def block_saliency(self, images, top_k, max_side, face_weight, threshold):
    """`saliency` without the per-pixel outputs: what an encoder needs (`block_outputs`)."""
    evidence = self._evidence(images, top_k, max_side)
    return self.block_outputs(evidence, tf.shape(images)[1:3], face_weight, threshold)

  def block_outputs(self, evidence: dict, image_size: tf.Tensor, face_weight, threshold) -> dict:
    """Classes, faces and the block map of images of `image_size` [2] from their `evidence`.

    The block map is the map at the centres of the 8x8 blocks (the map is smooth at that
    scale), so that no full-resolution map is made.
    """
    rows, cols = (image_size[0] + BLOCK - 1) // BLOCK, (image_size[1] + BLOCK - 1) // BLOCK
    outputs = self._render(evidence, face_weight, image_size, rows, cols)
    block_map = outputs.pop("pixel_map")
    outputs.pop("log_density", None)
    return {**outputs, "block_map": block_map, "salient_blocks": block_map >= threshold}

  def _evidence(self, images, top_k, max_side) -> dict[str, tf.Tensor]:
    """What the map is drawn from: classes, faces, and the CAM grid or the fixation logits."""
    if self.readout is None:
      evidence = self._cam_evidence(images, top_k, max_side)
      if self.face_detector is not None:
        found = self.face_detector(images)
        evidence.update(face_boxes=found.boxes, face_scores=found.scores, num_faces=found.counts)
      return evidence
    prepared = self.prepare(images)
    return self.conclude(prepared, self.networks(prepared), top_k)

  def prepare(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
    """`fixations` map, stage 1 (resampling): the working image and the face detector's input."""
    work, work_size = readout_lib.working_image(images, self.readout.work_side)
    prepared = {"work": work, "work_size": work_size}
    if self.face_detector is not None:
      face_input, face_scale, face_shift = detector_lib.letterbox(images)
      prepared.update(face_input=face_input, face_scale=face_scale, face_shift=face_shift)
    return prepared

  def networks(self, prepared: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """`fixations` map, stage 2 (the networks, on fixed-size inputs): fixation logits per cell
    of the working image, class logits, and the face detector's raw outputs."""
    *taps, logits = self.tapped(prepared["work"], training=False)
    outputs = {"fixation_logits": self.readout(taps), "logits": logits}
    if self.face_detector is not None:
      regressors, face_logits = self.face_detector.network(prepared["face_input"])
      outputs.update(face_regressors=regressors, face_logits=face_logits)
    return outputs

  def conclude(self, prepared: dict, networks: dict, top_k: tf.Tensor) -> dict[str, tf.Tensor]:
    """`fixations` map, stage 3 (small tensors): classes, faces and the fixation logits."""
    evidence = self._classes(networks["logits"], top_k)
    evidence.update(fixation_logits=networks["fixation_logits"], work_size=prepared["work_size"])
    if self.face_detector is not None:
      found = self.face_detector.detections(
        networks["face_regressors"],
        networks["face_logits"],
        prepared["face_scale"],
        prepared["face_shift"],
      )
      evidence.update(face_boxes=found.boxes, face_scores=found.scores, num_faces=found.counts)
    return evidence

  def _render(self, evidence: dict, face_weight, image_size, rows, cols) -> dict[str, tf.Tensor]:
    """The evidence's outputs with the map on a rows x cols grid over the images (`pixel_map`),
    the face prior merged in."""
    if self.readout is None:
      outputs = dict(evidence)
      grid_map = outputs.pop("grid_map")
      outputs["pixel_map"] = cam.to_pixels(grid_map, outputs.pop("model_size"), rows, cols)
    else:
      outputs = {k: v for k, v in evidence.items() if k not in ("fixation_logits", "work_size")}
      log_density = readout_lib.to_pixels(
        evidence["fixation_logits"], evidence["work_size"], rows, cols
      )
      peak = tf.reduce_max(log_density, axis=[1, 2], keepdims=True)
      outputs.update(log_density=log_density, pixel_map=tf.exp(log_density - peak))
    if self.face_detector is not None:
      cell = tf.cast(image_size, tf.float32) / tf.cast(tf.stack([rows, cols]), tf.float32)
      face_map = prior.face_prior_map(
        evidence["face_boxes"], evidence["num_faces"], rows, cols, cell
      )
      outputs["pixel_map"] = tf.maximum(outputs["pixel_map"], face_weight * face_map)
    return outputs

  def _classes(self, logits: tf.Tensor, top_k: tf.Tensor) -> dict[str, tf.Tensor]:
    """Logits and the top-k classes and scores."""
    scores = tf.sigmoid(logits) if self.multi_label else tf.nn.softmax(logits)
    top_scores, top_classes = tf.math.top_k(scores, k=tf.minimum(top_k, tf.shape(logits)[-1]))
    return {"logits": logits, "top_classes": top_classes, "top_scores": top_scores}

  def _cam_evidence(self, images: tf.Tensor, top_k: tf.Tensor, max_side: tf.Tensor) -> dict:
    """The paper's map: the combined CAMs of the top-k classes on the network's grid."""
    model_input = _fit_long_side(tf.cast(images, tf.float32), max_side)
    features, logits = self.classifier(model_input, training=False)
    evidence = self._classes(logits, top_k)
    cams = cam.class_activation_maps(
      features, self.classifier.get_layer("predictions").kernel, evidence["top_classes"]
    )
    evidence.update(
      grid_map=cam.normalise(cam.combine(cams, self.combine)),
      model_size=tf.shape(model_input)[1:3],
    )
    return evidence

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
  ceil(W/8)], without a pixel map."""
  return run_saliency(model.block_saliency, rgb[None], options)["block_map"].numpy()[0]
