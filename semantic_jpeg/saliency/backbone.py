"""EfficientNet-Lite0, built from a block table as Keras applications do.

Lite variants drop squeeze-excitation, use ReLU6 and keep the stem (32) and head (1280)
widths fixed. Layer names are stable: `weights.py` maps the ImageNet weights onto them.
"""

import dataclasses

import keras

BN_EPSILON = 1e-3
STEM_FILTERS = 32
HEAD_FILTERS = 1280
NUM_CLASSES = 1000


@dataclasses.dataclass(frozen=True)
class Stage:
  kernel: int
  stride: int
  expand: int
  filters: int
  repeats: int


LITE0_STAGES = (
  Stage(3, 1, 1, 16, 1),
  Stage(3, 2, 6, 24, 2),
  Stage(5, 2, 6, 40, 2),
  Stage(3, 2, 6, 80, 3),
  Stage(5, 1, 6, 112, 3),
  Stage(5, 2, 6, 192, 4),
  Stage(3, 1, 6, 320, 1),
)


def _bn(name: str) -> keras.layers.Layer:
  return keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def _relu6(name: str) -> keras.layers.Layer:
  return keras.layers.ReLU(6.0, name=name)


def _block(x, index: int, in_filters: int, stage: Stage, stride: int):
  """One inverted-residual (MBConv) block without squeeze-excitation."""
  prefix = f"block{index}_"
  inputs = x
  if stage.expand != 1:
    x = keras.layers.Conv2D(
      in_filters * stage.expand, 1, use_bias=False, name=prefix + "expand_conv"
    )(x)
    x = _relu6(prefix + "expand_relu")(_bn(prefix + "expand_bn")(x))
  x = keras.layers.DepthwiseConv2D(
    stage.kernel, stride, padding="same", use_bias=False, name=prefix + "dwconv"
  )(x)
  x = _relu6(prefix + "dw_relu")(_bn(prefix + "dw_bn")(x))
  x = keras.layers.Conv2D(stage.filters, 1, use_bias=False, name=prefix + "project_conv")(x)
  x = _bn(prefix + "project_bn")(x)
  if stride == 1 and in_filters == stage.filters:
    x = keras.layers.Add(name=prefix + "add")([x, inputs])
  return x


class Normalise(keras.layers.Layer):
  """Pixel values 0..255 (any dtype) to [-1, 1], as the ImageNet weights expect."""

  def call(self, images):
    return (keras.ops.cast(images, "float32") - 127.5) / 127.5


def efficientnet_lite0(
  stages: tuple[Stage, ...] = LITE0_STAGES, num_classes: int = NUM_CLASSES
) -> keras.Model:
  """Builds EfficientNet-Lite0 for any input size.

  Input: images [N, H, W, 3] with pixel values 0..255 (uint8 or float).
  Outputs: the last feature map [N, ceil(H/32), ceil(W/32), 1280] and the logits.
  """
  inputs = keras.Input((None, None, 3), name="image")
  x = Normalise(name="normalise")(inputs)
  x = keras.layers.Conv2D(STEM_FILTERS, 3, 2, padding="same", use_bias=False, name="stem_conv")(x)
  x = _relu6("stem_relu")(_bn("stem_bn")(x))
  filters, index = STEM_FILTERS, 0
  for stage in stages:
    for repeat in range(stage.repeats):
      x = _block(x, index, filters, stage, stage.stride if repeat == 0 else 1)
      filters, index = stage.filters, index + 1
  x = keras.layers.Conv2D(HEAD_FILTERS, 1, use_bias=False, name="head_conv")(x)
  features = _relu6("head_relu")(_bn("head_bn")(x))
  pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(features)
  logits = keras.layers.Dense(num_classes, name="predictions")(pooled)
  return keras.Model(inputs, [features, logits], name="efficientnet_lite0")


def tapped(classifier: keras.Model, layer_names: list[str]) -> keras.Model:
  """The classifier with the outputs of `layer_names` first, then its logits (shared weights)."""
  taps = [classifier.get_layer(name).output for name in layer_names]
  return keras.Model(classifier.input, [*taps, classifier.outputs[1]], name="tapped")
