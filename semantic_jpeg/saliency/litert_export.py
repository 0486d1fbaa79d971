"""Exports the `fixations` map model's three stages as LiteRT models (`litert` runs them).

Each stage is a `tf.function` over the model's own methods, its variables frozen into
constants and converted with `tf.lite.TFLiteConverter`; `meta.json` names each model's
outputs (in the order of the function's flattened outputs) and the classes.
"""

import json
import pathlib

import tensorflow as tf
from tensorflow.python.framework import convert_to_constants  # pylint: disable=g-direct-tensorflow-import

from semantic_jpeg.saliency import model as model_lib


def stage_functions(
  model: model_lib.MSROIModel,
) -> dict[str, tf.types.experimental.ConcreteFunction]:
  """`prepare`, `networks` and `conclude` (with `block_outputs`) for one image at a time: traced
  so that `conclude(networks(prepare(images)))` is the model's `block_saliency`."""
  prepare = tf.function(model.prepare).get_concrete_function(
    tf.TensorSpec([1, None, None, 3], tf.uint8, name="images")
  )
  prepared = _specs(prepare.structured_outputs)
  big = {"work", "face_input"}
  networks = tf.function(model.networks).get_concrete_function(
    {name: spec for name, spec in prepared.items() if name in big}
  )

  def conclude(tensors: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    evidence = model.conclude(tensors, tensors, tensors["top_k"])
    return model.block_outputs(
      evidence, tensors["image_size"], tensors["face_weight"], tensors["threshold"]
    )

  inputs = {name: spec for name, spec in prepared.items() if name not in big}
  inputs.update(_specs(networks.structured_outputs))
  inputs.update(
    image_size=tf.TensorSpec([2], tf.int32, name="image_size"),
    top_k=tf.TensorSpec([], tf.int32, name="top_k"),
    face_weight=tf.TensorSpec([], tf.float32, name="face_weight"),
    threshold=tf.TensorSpec([], tf.float32, name="threshold"),
  )
  return {
    "prepare": prepare,
    "networks": networks,
    "conclude": tf.function(conclude).get_concrete_function(inputs),
  }


def _specs(outputs: dict[str, tf.Tensor]) -> dict[str, tf.TensorSpec]:
  """Named specs of a stage's outputs (their traced shapes), the next stages' inputs."""
  return {name: tf.TensorSpec(t.shape, t.dtype, name) for name, t in outputs.items()}


def export(model_kwargs: dict, folder: pathlib.Path) -> None:
  """Writes the stages of `model.load_model(**model_kwargs)` and meta.json into a new `folder`."""
  model = model_lib.load_model(**model_kwargs)
  folder.mkdir()
  outputs = {}
  for name, function in stage_functions(model).items():
    frozen = convert_to_constants.convert_variables_to_constants_v2(function)
    converted = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module()).convert()
    (folder / f"{name}.tflite").write_bytes(converted)
    outputs[name] = sorted(function.structured_outputs)
  meta = {"outputs": outputs, "class_names": list(model.class_names)}
  (folder / "meta.json").write_text(json.dumps(meta))
