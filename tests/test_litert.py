"""The map's stages exported to LiteRT: TensorFlow's block maps, in a process without it."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from semantic_jpeg.saliency import cache
from semantic_jpeg.saliency import litert
from semantic_jpeg.saliency import model as model_lib
from semantic_jpeg.saliency.options import SaliencyOptions

from conftest import TESTDATA
from conftest import read_rgb
from conftest import synthetic

_MAP_WITHOUT_TENSORFLOW = """
import sys
import numpy as np
from semantic_jpeg import image_io
from semantic_jpeg.saliency import options, sources
maker = sources.from_model({}, options.SaliencyOptions(), "litert")
[block_map] = maker([image_io.read_image(sys.argv[1])])
assert "tensorflow" not in sys.modules, "TensorFlow was imported"
np.save(sys.argv[2], block_map)
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp("cache")
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv(cache.CACHE_ENV, str(folder))
    yield folder


@pytest.fixture(scope="module")
def exported(cache_dir):
  return litert.load({})


@pytest.mark.parametrize(
  "image",
  [
    read_rgb("kodim04.png"),  # A face.
    synthetic(300, 451),
    synthetic(1100, 3900),  # Large: the prepare stage is freed after it.
  ],
  ids=["kodim04", "small", "large"],
)
def test_the_export_gives_the_models_outputs(model, exported, image):
  expected = model_lib.run_saliency(model.block_saliency, image[None], SaliencyOptions())
  got = exported.block_saliency(image, SaliencyOptions())
  for name, value in expected.items():
    assert got[name].shape == value.shape, name
  np.testing.assert_allclose(got["block_map"], expected["block_map"].numpy(), atol=1e-5)
  np.testing.assert_array_equal(got["top_classes"], expected["top_classes"].numpy())
  np.testing.assert_array_equal(got["num_faces"], expected["num_faces"].numpy())
  np.testing.assert_allclose(got["face_boxes"], expected["face_boxes"].numpy(), atol=0.01)
  assert exported.class_names == model.class_names
  again = exported.block_saliency(image, SaliencyOptions())  # After a large one: new stages.
  np.testing.assert_array_equal(again["block_map"], got["block_map"])


def test_a_process_with_the_export_maps_without_tensorflow(model, exported, cache_dir, tmp_path):
  assert (cache_dir / cache.cache_key({}, "litert")).is_dir()
  out = tmp_path / "map.npy"
  source = TESTDATA / "kodim04.png"
  subprocess.run([sys.executable, "-c", _MAP_WITHOUT_TENSORFLOW, source, out], check=True)
  expected = model_lib.compute_block_map(model, read_rgb("kodim04.png"))
  np.testing.assert_allclose(np.load(out), expected, atol=1e-5)


def test_a_damaged_export_is_made_again(cache_dir):
  folder = cache_dir / cache.cache_key({"faces": False}, "litert")
  folder.mkdir()
  (folder / "meta.json").write_text("{")
  remade = litert.load({"faces": False})
  assert remade.block_map(synthetic(64, 96), SaliencyOptions()).shape == (8, 12)
  shutil.rmtree(folder)


def test_where_litert_runs_the_map(monkeypatch):
  monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
  assert litert.applies({})
  assert litert.applies({}, "litert")
  assert not litert.applies({}, "tensorflow")
  assert not litert.applies({"map_model": "cam"}, "litert")
  with pytest.raises(ValueError, match="runtime"):
    litert.applies({}, "onnx")
