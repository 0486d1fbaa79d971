"""SavedModel signatures for TF Serving over the MS-ROI model (the library's own tf.functions).

Signatures (TF Serving signatures have no optional inputs, so the map options are fixed when
exporting):

- `serving_default`: `image_bytes`, tf.string [N]: encoded JPEG/PNG/BMP/GIF files, which may differ
  in size (REST clients send `{"b64": ...}`; the server decodes base64, the graph does not).
- `saliency_image`: `images`, uint8 [N, H, W, 3]: a batch of same-size RGB images.

Outputs of both: `block_map` float32 [N, max rows, max cols] (the map per 8x8 block, zero-padded
to the largest image of the batch), `block_height` / `block_width` int32 [N] (each image's own
grid, to crop the padding), `top_classes` int32 [N, k], `top_scores` float32 [N, k], and with the
face prior `num_faces` int32 [N], `face_boxes` float32 [N, F, 4] (ymin, xmin, ymax, xmax pixels),
`face_scores` float32 [N, F]. Files that cannot be decoded fail the request with
InvalidArgument.
"""

import tensorflow as tf

from semantic_jpeg.saliency import model as saliency
from semantic_jpeg.saliency.options import SaliencyOptions

_BYTES_SPEC = tf.TensorSpec([None], tf.string, name="image_bytes")
_FACE_KEYS = ("num_faces", "face_boxes", "face_scores")


class SaliencyServing(tf.Module):
  """The model plus its serving signatures, ready for `tf.saved_model.save`."""

  def __init__(self, model: saliency.MSROIModel, options: SaliencyOptions = SaliencyOptions()):
    super().__init__(name="semantic_jpeg")
    self.model = model
    self.face_detector = model.face_detector  # Tracked here too: its weights are variables.
    self.options = options

  def _saliency(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
    o = self.options
    return self.model.saliency(
      images,
      tf.constant(o.top_k),
      tf.constant(o.max_side),
      tf.constant(o.face_weight),
      tf.constant(o.threshold),
    )

  def _outputs(self, out: dict[str, tf.Tensor], block_size: tf.Tensor) -> dict[str, tf.Tensor]:
    result = {
      "block_map": out["block_map"],
      "block_height": block_size[:, 0],
      "block_width": block_size[:, 1],
      "top_classes": out["top_classes"],
      "top_scores": out["top_scores"],
    }
    result.update({k: out[k] for k in _FACE_KEYS if k in out})
    return result

  @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
  def saliency_image(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
    """Maps of a batch of same-size uint8 RGB images."""
    out = self._saliency(images)
    size = tf.shape(out["block_map"])[1:3]
    return self._outputs(out, tf.tile(size[None], [tf.shape(images)[0], 1]))

  @tf.function(input_signature=[_BYTES_SPEC])
  def serving_default(self, image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
    """Maps of a batch of encoded images of any sizes, one model call per image."""
    specs = self._per_image_specs()
    out = tf.map_fn(self._one_image, image_bytes, fn_output_signature=specs)
    block_map = out.pop("block_map")
    out["block_map"] = block_map.to_tensor()
    return self._outputs(out, out.pop("block_size"))

  def _one_image(self, data: tf.Tensor) -> dict[str, tf.Tensor]:
    image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
    out = {k: v[0] for k, v in self._saliency(image[None]).items()}
    block_map = out["block_map"]
    out["block_map"] = tf.RaggedTensor.from_tensor(block_map)
    out["block_size"] = tf.shape(block_map)
    return {k: out[k] for k in self._per_image_specs()}

  def _per_image_specs(self) -> dict[str, tf.TypeSpec]:
    k = min(self.options.top_k, len(self.model.class_names))
    specs = {
      "block_map": tf.RaggedTensorSpec([None, None], tf.float32, ragged_rank=1),
      "block_size": tf.TensorSpec([2], tf.int32),
      "top_classes": tf.TensorSpec([k], tf.int32),
      "top_scores": tf.TensorSpec([k], tf.float32),
    }
    if self.face_detector is not None:
      faces = self.face_detector.max_faces
      specs.update(
        num_faces=tf.TensorSpec([], tf.int32),
        face_boxes=tf.TensorSpec([faces, 4], tf.float32),
        face_scores=tf.TensorSpec([faces], tf.float32),
      )
    return specs

  def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
    return {
      "serving_default": self.serving_default.get_concrete_function(),
      "saliency_image": self.saliency_image.get_concrete_function(),
    }


def export(
  model: saliency.MSROIModel, directory: str, options: SaliencyOptions = SaliencyOptions()
) -> None:
  """Writes the SavedModel (one TF Serving version directory)."""
  module = SaliencyServing(model, options)
  tf.saved_model.save(module, directory, signatures=module.signatures())
