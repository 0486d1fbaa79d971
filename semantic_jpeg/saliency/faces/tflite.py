"""A float TFLite model rebuilt as TensorFlow ops: no interpreter, so it runs batched and on GPU.

`load_program` parses the model's flatbuffer (tensorflow/lite/schema/schema.fbs) into a list of
layers over tensor ids, with the constants folded to numpy; `Program.run` executes them.
"""

from collections.abc import Callable
import struct
from typing import Any
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from semantic_jpeg import errors
from semantic_jpeg.saliency.faces import flatbuffer

# TFLite schema (tensorflow/lite/schema/schema.fbs) enumerations used here.
_ADD, _CONV_2D, _DEPTHWISE_CONV_2D, _DEQUANTIZE = 0, 3, 4, 6
_MAX_POOL_2D, _RELU, _RESHAPE, _RESIZE_BILINEAR, _PAD = 17, 19, 22, 23, 34
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32}
_PADDINGS = {0: "SAME", 1: "VALID"}
_ACTIVATIONS = {0: None, 1: tf.nn.relu, 3: tf.nn.relu6}


class _Op(NamedTuple):
  """One TFLite operator: builtin options, tensor ids and known constants."""

  options: flatbuffer.Table | None
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


class Program:
  """The converted network: layers in execution order over tensor ids."""

  def __init__(
    self, layers: list[_Layer], inputs: list[int], outputs: list[int], shapes: list[tuple[int, ...]]
  ):
    self.layers = tuple(layers)
    self.inputs = tuple(inputs)
    self.outputs = tuple(outputs)
    self.signature = ([shapes[i] for i in inputs], [shapes[i] for i in outputs])

  def run(self, inputs: tf.Tensor, weights: list[list[tf.Variable]]) -> list[tf.Tensor]:
    """Runs the layers on the (single) input with their weights; returns the outputs."""
    tensors = {self.inputs[0]: inputs}
    for layer, layer_weights in zip(self.layers, weights):
      args = [tensors[i] for i in layer.inputs] + layer_weights
      tensors[layer.output] = layer.fn(*args, **layer.attrs)
    return [tensors[i] for i in self.outputs]


def _activate(x: tf.Tensor, activation: Callable | None) -> tf.Tensor:
  return activation(x) if activation else x


def _conv2d(x, filters, bias, *, strides, padding, dilations, activation):
  y = tf.nn.conv2d(x, filters, strides, padding, dilations=dilations)
  return _activate(tf.nn.bias_add(y, bias), activation)


def _depthwise_conv2d(x, filters, bias, *, strides, padding, dilations, activation):
  y = tf.nn.depthwise_conv2d(x, filters, (1, *strides, 1), padding, dilations=dilations)
  return _activate(tf.nn.bias_add(y, bias), activation)


def _add(x, y, *, activation):
  return _activate(x + y, activation)


def _resize_bilinear(x, *, size, align_corners, half_pixel_centers):
  return tf.raw_ops.ResizeBilinear(
    images=x, size=size, align_corners=align_corners, half_pixel_centers=half_pixel_centers
  )


def _reshape(x, *, shape):
  return tf.reshape(x, (-1, *shape[1:]))


def _bias(op: _Op, channels: int) -> np.ndarray:
  if len(op.inputs) > 2 and op.inputs[2] >= 0:
    return op.constants[op.inputs[2]]
  return np.zeros(channels, np.float32)


def _window_attrs(o: flatbuffer.Table, activation_field: int) -> dict[str, Any]:
  """Attributes shared by the convolution options tables."""
  return dict(
    strides=(o.scalar(2, "<i"), o.scalar(1, "<i")),
    padding=_PADDINGS[o.scalar(0, "<b")],
    activation=_ACTIVATIONS[o.scalar(activation_field, "<b")],
  )


def _convert_conv2d(op: _Op) -> _Layer:
  filters = op.constants[op.inputs[1]].transpose(1, 2, 3, 0)  # OHWI -> HWIO.
  o = op.options
  attrs = _window_attrs(o, 3)
  attrs["dilations"] = (o.scalar(5, "<i", 1), o.scalar(4, "<i", 1))
  return _Layer(_conv2d, op.inputs[:1], op.output, (filters, _bias(op, filters.shape[-1])), attrs)


def _convert_depthwise_conv2d(op: _Op) -> _Layer:
  o = op.options
  multiplier = o.scalar(3, "<i", 1)
  _, height, width, channels = op.constants[op.inputs[1]].shape
  filters = op.constants[op.inputs[1]].reshape(height, width, channels // multiplier, multiplier)
  attrs = _window_attrs(o, 4)
  attrs["dilations"] = (o.scalar(6, "<i", 1), o.scalar(5, "<i", 1))
  return _Layer(_depthwise_conv2d, op.inputs[:1], op.output, (filters, _bias(op, channels)), attrs)


def _convert_max_pool2d(op: _Op) -> _Layer:
  o = op.options
  if o.scalar(5, "<b"):
    raise ValueError("fused activation on MAX_POOL_2D")
  attrs = dict(
    ksize=(o.scalar(4, "<i"), o.scalar(3, "<i")),
    strides=(o.scalar(2, "<i"), o.scalar(1, "<i")),
    padding=_PADDINGS[o.scalar(0, "<b")],
  )
  return _Layer(tf.nn.max_pool2d, op.inputs, op.output, (), attrs)


def _convert_add(op: _Op) -> _Layer:
  activation = _ACTIVATIONS[op.options.scalar(0, "<b")] if op.options else None
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
    raise ValueError(f"PAD outside the channel tail: {paddings}")
  return _Layer(_pad_channels, op.inputs[:1], op.output, (), dict(extra=paddings[-1][1]))


def _convert_resize_bilinear(op: _Op) -> _Layer:
  o = op.options
  attrs = dict(
    size=op.constants[op.inputs[1]].tolist(),
    align_corners=bool(o.scalar(2, "<b")),
    half_pixel_centers=bool(o.scalar(3, "<b")),
  )
  return _Layer(_resize_bilinear, op.inputs[:1], op.output, (), attrs)


def _convert_reshape(op: _Op) -> _Layer:
  return _Layer(_reshape, op.inputs[:1], op.output, (), dict(shape=op.shapes[op.output]))


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


def _parse(data: bytes) -> Program:
  """Converts a float TFLite model to layers; constants are folded to numpy."""
  model = flatbuffer.Table(data, flatbuffer.read(data, "<I", 0))
  codes = [max(c.scalar(0, "<b"), c.scalar(3, "<i")) for c in model.tables(1)]
  buffers = [b.array(0, "u1") for b in model.tables(4)]
  graph = model.tables(2)[0]
  tensors = graph.tables(0)
  shapes = [tuple(t.array(0, "<i4").tolist()) for t in tensors]
  constants = {}
  for i, tensor in enumerate(tensors):
    buffer = buffers[tensor.scalar(2, "<I")]
    if buffer.size:
      dtype = np.dtype(_DTYPES[tensor.scalar(1, "<b")]).newbyteorder("<")
      constants[i] = buffer.view(dtype).reshape(shapes[i])
  layers = []
  for operator in graph.tables(3):
    code = codes[operator.scalar(0, "<I")]
    inputs = tuple(operator.array(1, "<i4").tolist())
    (output,) = operator.array(2, "<i4").tolist()
    if code == _DEQUANTIZE:
      constants[output] = constants[inputs[0]].astype(np.float32)
    elif code in _CONVERTERS:
      op = _Op(operator.table(4), inputs, output, constants, shapes)
      layers.append(_CONVERTERS[code](op))
    else:
      raise ValueError(f"unsupported TFLite builtin op {code}")
  return Program(layers, graph.array(1, "<i4").tolist(), graph.array(2, "<i4").tolist(), shapes)


def load_program(path: str) -> Program:
  """Reads and converts a float TFLite model file.

  Raises:
    WeightsError: the file cannot be read, is not TFLite, or uses ops we do not convert.
  """
  try:
    with open(path, "rb") as f:
      data = f.read()
  except OSError as e:
    raise errors.WeightsError(f"cannot read model {path}: {e}") from e
  if data[4:8] != b"TFL3":
    raise errors.WeightsError(f"model {path} is not a TFLite file")
  try:
    return _parse(data)
  except (struct.error, ValueError, IndexError, KeyError, TypeError) as e:
    raise errors.WeightsError(f"model {path} is damaged: {e}") from e
