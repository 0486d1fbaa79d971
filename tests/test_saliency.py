"""The map models, fixation readout and class activation maps, with the real ImageNet weights
and the real face detector."""

import numpy as np
import pytest

from semantic_jpeg import saliency

from conftest import read_rgb


@pytest.fixture(scope="module")
def maps(model):
  return {
    name: saliency.compute_map(model, read_rgb(f"{name}.png"))
    for name in ("kodim04", "kodim21", "kodim23")
  }


@pytest.mark.parametrize("name,top1", [("kodim23", 88), ("kodim21", 437), ("kodim04", 515)])
def test_top1_class(maps, name, top1):
  # 88 macaw, 437 beacon (lighthouse), 515 cowboy hat.
  assert maps[name].top_classes[0] == top1
  assert len(maps[name].top_classes) == 5
  assert np.all(np.diff(maps[name].top_scores) <= 0)


@pytest.mark.parametrize("map_model", ["model", "cam_model"])
def test_map_concentrates_on_the_parrots(request, map_model):
  m = saliency.compute_map(request.getfixturevalue(map_model), read_rgb("kodim23.png")).pixel_map
  heads = np.concatenate([m[175:320, 70:260].ravel(), m[110:300, 400:560].ravel()]).mean()
  background = np.concatenate(
    [m[0:60, 0:180].ravel(), m[0:100, 280:400].ravel(), m[0:100, 620:768].ravel()]
  ).mean()
  assert heads >= 3.0 * background


FACE_BOX = (slice(213, 567), slice(107, 461))  # kodim04's face.


def test_face_prior_lifts_the_face_the_class_maps_miss(cam_model):
  with_faces = saliency.compute_map(cam_model, read_rgb("kodim04.png"))
  assert with_faces.pixel_map[FACE_BOX].mean() >= np.percentile(with_faces.pixel_map, 80)
  assert len(with_faces.face_scores) >= 1
  cam_only = saliency.compute_map(
    cam_model, read_rgb("kodim04.png"), saliency.SaliencyOptions(face_weight=0.0)
  ).pixel_map
  assert cam_only[FACE_BOX].mean() < np.percentile(cam_only, 80)


def test_fixation_map_sees_the_face_without_the_prior(model):
  alone = saliency.compute_map(
    model, read_rgb("kodim04.png"), saliency.SaliencyOptions(face_weight=0.0)
  ).pixel_map
  assert alone[FACE_BOX].mean() >= np.percentile(alone, 80)


@pytest.mark.parametrize("name,shape", [("kodim23", (512, 768)), ("kodim04", (768, 512))])
def test_map_shapes_and_range(maps, name, shape):
  result = maps[name]
  assert result.pixel_map.shape == shape
  assert result.block_map.shape == (shape[0] // 8, shape[1] // 8)
  for m in (result.pixel_map, result.block_map):
    assert m.dtype == np.float32 and m.min() >= 0.0 and m.max() <= 1.0
  assert result.block_map.max() > 0.9


def test_deterministic(model):
  image = read_rgb("kodim23.png")
  first = saliency.compute_map(model, image)
  second = saliency.compute_map(model, image)
  np.testing.assert_array_equal(first.block_map, second.block_map)
  np.testing.assert_array_equal(first.top_classes, second.top_classes)


def test_batch_equals_single_images(model):
  images = np.stack([read_rgb("kodim23.png"), read_rgb("kodim21.png")])
  batch = model.compute(images)
  for i, image in enumerate(images):
    single = saliency.compute_map(model, image)
    np.testing.assert_allclose(batch["block_map"][i].numpy(), single.block_map, atol=1e-4)


@pytest.mark.parametrize("map_model", ["model", "cam_model"])
def test_large_images_keep_their_resolution(request, map_model):
  image = np.repeat(np.repeat(read_rgb("kodim23.png"), 2, axis=0), 2, axis=1)  # 1536x1024.
  model = request.getfixturevalue(map_model)
  result = saliency.compute_map(model, image, saliency.SaliencyOptions(max_side=768))
  assert result.pixel_map.shape == (1024, 1536)
  assert result.block_map.shape == (128, 192)
  assert result.top_classes[0] == 88


def test_rank_weighted_combination_differs_from_sum(cam_model):
  image = read_rgb("kodim23.png")
  weighted = saliency.MSROIModel(
    cam_model.classifier, cam_model.face_detector, combine="rank_weighted"
  )
  a = saliency.compute_map(cam_model, image).block_map
  b = saliency.compute_map(weighted, image).block_map
  assert b.min() >= 0.0 and b.max() <= 1.0
  assert np.abs(a - b).max() > 0.01


def test_top_k_one_is_the_top_class_alone(model):
  image = read_rgb("kodim23.png")
  one = saliency.compute_map(model, image, saliency.SaliencyOptions(top_k=1, face_weight=0))
  assert list(one.top_classes) == [88]


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (77, 101)])
def test_tiny_and_odd_images(model, shape):
  image = read_rgb("kodim23.png")[: shape[0], : shape[1]]
  result = saliency.compute_map(model, np.ascontiguousarray(image))
  assert result.pixel_map.shape == shape
  assert result.block_map.shape == (-(-shape[0] // 8), -(-shape[1] // 8))
  assert np.isfinite(result.block_map).all()


@pytest.mark.parametrize(
  "field,value", [("top_k", 0), ("max_side", 8), ("face_weight", 1.5), ("threshold", -0.1)]
)
def test_bad_options_are_refused(field, value):
  with pytest.raises(ValueError, match=field):
    saliency.SaliencyOptions(**{field: value})


def test_block_saliency_is_the_block_map_of_saliency(maps, model):
  image = read_rgb("kodim04.png")
  np.testing.assert_array_equal(saliency.compute_block_map(model, image), maps["kodim04"].block_map)


def test_the_block_map_is_the_pixel_map_at_the_block_centres(maps):
  result = maps["kodim04"]
  assert len(result.face_scores) >= 1
  rows, cols = result.block_map.shape
  block_means = result.pixel_map.reshape(rows, 8, cols, 8).mean(axis=(1, 3))
  difference = np.abs(result.block_map - block_means)
  assert difference.mean() < 2e-3 and difference.max() < 0.1
  centres = sum(result.pixel_map[row::8, col::8] for row in (3, 4) for col in (3, 4)) / 4
  difference = np.abs(result.block_map - centres)
  assert difference.mean() < 1e-3 and difference.max() < 0.05
