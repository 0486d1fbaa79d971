"""The encoder end to end: real maps from the model, real decoders, equal-size comparisons."""

import functools
import io

import numpy as np
from PIL import Image
import pytest

from semantic_jpeg import blocks
from semantic_jpeg import errors
from semantic_jpeg import saliency
from semantic_jpeg.codec import composite
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import policies
from semantic_jpeg.codec import quantize
from semantic_jpeg.codec import ratecontrol
from semantic_jpeg.codec import tuning
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
from semantic_jpeg.evaluation import equal_size as evaluation
from semantic_jpeg.evaluation import metrics

from conftest import read_rgb

NAMES = ("kodim04", "kodim21", "kodim23")


@pytest.fixture(scope="module")
def block_maps(model):
  return {name: saliency.compute_map(model, read_rgb(f"{name}.png")).block_map for name in NAMES}


def psnr(reference: np.ndarray, decoded: np.ndarray, mask: np.ndarray | None = None) -> float:
  error = (reference.astype(np.float64) - decoded.astype(np.float64)) ** 2
  return 10.0 * np.log10(255.0**2 / (error[mask] if mask is not None else error).mean())


def decode_pillow(data: bytes) -> np.ndarray:
  return np.asarray(Image.open(io.BytesIO(data)))


def salient_pixels(block_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
  """Pixels of the blocks in the map's top 25 %."""
  salient = block_map >= np.percentile(block_map, 75)
  return blocks.to_pixels(salient, *shape)


@pytest.mark.parametrize("name", NAMES)
def test_dct_mode_beats_plain_jpeg_in_salient_blocks_at_equal_size(block_maps, name):
  image = read_rgb(f"{name}.png")
  data, report = encoder.compress(
    image, block_maps[name], encoder.EncoderOptions(mode="dct", match_jpeg_quality=50)
  )
  plain = turbo.encode(image, 50)
  assert 0.99 * len(plain) <= len(data) <= len(plain) and report.target_met
  ours, theirs = turbo.decode(data), turbo.decode(plain)
  mask = salient_pixels(block_maps[name], image.shape[:2])
  assert psnr(image, ours, mask) >= psnr(image, theirs, mask) + 1.0
  assert psnr(image, ours) >= psnr(image, theirs) - 0.5


def test_dct_mode_uniform_control_isolates_the_huffman_gain(block_maps):
  """Our path at uniform quality beats OpenCV everywhere (optimized Huffman tables only)."""
  image = read_rgb("kodim23.png")
  data, _ = encoder.compress(
    image,
    block_maps["kodim23"],
    encoder.EncoderOptions(mode="dct", policy="uniform", match_jpeg_quality=50),
  )
  plain = turbo.encode(image, 50)
  ours, theirs = turbo.decode(data), turbo.decode(plain)
  mask = salient_pixels(block_maps["kodim23"], image.shape[:2])
  assert 0.0 < psnr(image, ours) - psnr(image, theirs) < 0.6
  assert (
    abs(
      (psnr(image, ours, mask) - psnr(image, theirs, mask))
      - (psnr(image, ours) - psnr(image, theirs))
    )
    < 0.3
  )  # No region is favoured.


@pytest.fixture(scope="module")
def trellis_files(block_maps):
  """Per image: the target and the default (trellis), uniform-trellis and mozjpeg files."""
  files = {}
  for name in NAMES:
    image = read_rgb(f"{name}.png")
    target = turbo.jpeg_size(image, 50)
    compress = functools.partial(_compress_to, image, block_maps[name], target)
    files[name] = dict(
      target=target,
      semantic=compress(),
      uniform=compress(policy="uniform"),
      mozjpeg=baselines.rate_matched("mozjpeg", image, target).data,
    )
  return files


def _compress_to(image: np.ndarray, block_map: np.ndarray, target: int, **options) -> bytes:
  return encoder.compress(image, block_map, encoder.EncoderOptions(target_size=target, **options))[
    0
  ]


def scores(name: str, data: bytes, block_map: np.ndarray) -> tuple[float, float]:
  """(whole-image SSIMULACRA 2, SSIMULACRA 2 with only the map's top quarter's errors)."""
  image, decoded = read_rgb(f"{name}.png"), turbo.decode(data)
  return (
    metrics.ssimulacra2(image, decoded),
    metrics.salient_ssimulacra2(image, decoded, evaluation.salient_blocks(block_map)),
  )


@pytest.mark.parametrize("name", NAMES)
def test_trellis_beats_mozjpeg_on_the_whole_image_and_where_the_map_points(
  block_maps, trellis_files, name
):
  """At the Q50 size the default is well above mozjpeg by SSIMULACRA 2, on the whole image and in
  the map's top quarter (issue 28's judge; by PSNR-HVS-M, which prefers mozjpeg's steep table,
  it is about 1 dB below there)."""
  files = trellis_files[name]
  assert len(files["semantic"]) <= files["target"]
  ours, theirs = (scores(name, files[key], block_maps[name]) for key in ("semantic", "mozjpeg"))
  assert ours[0] >= theirs[0] + 1.0  # Whole image.
  assert ours[1] >= theirs[1] + 1.0  # The map's top quarter.


@pytest.mark.parametrize("name", NAMES)
def test_uniform_trellis_control_beats_mozjpeg(block_maps, trellis_files, name):
  """Without the map our trellis beats mozjpeg; the map moves quality into its salient blocks
  for at most a point of the whole image."""
  files = trellis_files[name]
  uniform, mozjpeg, semantic = (
    scores(name, files[key], block_maps[name]) for key in ("uniform", "mozjpeg", "semantic")
  )
  assert uniform[0] >= mozjpeg[0] + 0.3
  assert semantic[1] >= uniform[1] + 0.5 and semantic[0] >= uniform[0] - 1.0


def test_strength_moves_the_salient_gain(block_maps):
  """Strength 0 ignores the map like the uniform control; 2 favours the salient blocks more."""
  image, block_map = read_rgb("kodim04.png"), block_maps["kodim04"]
  salient = evaluation.salient_blocks(block_map)
  gains = []
  for strength in (0.0, 1.0, 2.0):
    data, _ = encoder.compress(
      image, block_map, encoder.EncoderOptions(target_size=36000, strength=strength)
    )
    gains.append(metrics.salient_psnr_hvsm(image, turbo.decode(data), salient))
  uniform, _ = encoder.compress(
    image, block_map, encoder.EncoderOptions(target_size=36000, policy="uniform")
  )
  assert abs(gains[0] - metrics.salient_psnr_hvsm(image, turbo.decode(uniform), salient)) < 0.2
  assert gains[0] + 0.15 < gains[1] < gains[2]


def test_large_photos_get_a_larger_luma_lambda_at_the_q50_size():
  """1.4x mozjpeg's lambda at knob 65 from 1.5 MP (none up to 0.8 MP): at one knob a 1.7 MP photo
  comes out smaller than with the small photos' lambda, a 0.4 MP one the same."""
  moz = tuning.MOZJPEG_LAMBDA_SCALE
  assert tuning.DEFAULT.luma_scale(65.0, 0.4) == pytest.approx(moz)
  assert tuning.DEFAULT.luma_scale(65.0, 1.15) == pytest.approx(1.2 * moz)
  assert tuning.DEFAULT.luma_scale(65.0, 2.0) == pytest.approx(1.4 * moz)
  assert tuning.DEFAULT.luma_scale(85.0, 2.0) == pytest.approx(0.5 * moz)
  small_photo_lambda = tuning.Tuning(large_photo_lambda=((0.8, 1.0), (1.5, 1.0)))
  small = read_rgb("kodim23.png")
  large = np.tile(small, (2, 2, 1))[:1200, :1400]  # 1.68 MP.
  for image, larger_lambda in ((small, False), (large, True)):
    block_map = np.full(blocks.grid_shape(*image.shape[:2]), 0.5, np.float32)
    sizes = [
      len(encoder.compress(image, block_map, encoder.EncoderOptions(quality=50, tuning=t))[0])
      for t in (tuning.DEFAULT, small_photo_lambda)
    ]
    assert (sizes[0] < sizes[1]) if larger_lambda else (sizes[0] == sizes[1]), sizes


def test_trellis_tables_are_jpeglis_flat_shape_with_mozjpegs_finer_dc(block_maps):
  """Both tables have jpegli's luma shape at the knob (`Tuning.table_flatness` 1, the default),
  and the DC step of mozjpeg's table, half as coarse."""
  image = read_rgb("kodim23.png")
  data, report = encoder.compress(image, block_maps["kodim23"], encoder.EncoderOptions(quality=70))
  flat = quantize.staggered_table(quantize.JPEGLI_LUMA_TABLE, report.quality)
  steep = quantize.staggered_table(quantize.ROBIDOUX_TABLE, report.quality)
  for table in Image.open(io.BytesIO(data)).quantization.values():
    table = np.array(table).reshape(8, 8)  # Pillow lists tables in natural order.
    assert abs(table[0, 0] - steep[0, 0] * tuning.DEFAULT.luma_dc) <= 1
    np.testing.assert_array_equal(table.ravel()[1:], flat.ravel()[1:])


@pytest.mark.parametrize("flatness", [0.0, 0.5])
def test_table_flatness_chooses_the_written_tables_shape(block_maps, flatness):
  """Flatness 0 writes mozjpeg's steep AC steps, 0.5 the geometric blend of jpegli's and
  mozjpeg's, each with mozjpeg's DC step; outside [0, 1] is a ValueError."""
  image = read_rgb("kodim23.png")
  params = tuning.Tuning(table_flatness=flatness)
  data, report = encoder.compress(
    image, block_maps["kodim23"], encoder.EncoderOptions(quality=70, tuning=params)
  )
  steep = quantize.ROBIDOUX_TABLE.astype(float)
  shape = steep ** (1 - flatness) * quantize.JPEGLI_LUMA_TABLE.astype(float) ** flatness
  plain = quantize.staggered_table(shape, report.quality)
  dc = quantize.staggered_table(quantize.ROBIDOUX_TABLE, report.quality)[0, 0] * params.luma_dc
  for table in Image.open(io.BytesIO(data)).quantization.values():
    table = np.array(table).reshape(8, 8)
    assert abs(table[0, 0] - dc) <= 1
    np.testing.assert_array_equal(table.ravel()[1:], plain.ravel()[1:])
  if flatness == 0.0:
    np.testing.assert_array_equal(
      plain, quantize.staggered_table(quantize.ROBIDOUX_TABLE, report.quality)
    )
  with pytest.raises(ValueError, match=r"table_flatness must be in \[0, 1\]"):
    tuning.Tuning(table_flatness=1.5)


def test_progressive_default_is_smaller_and_decodes_everywhere(block_maps):
  image = read_rgb("kodim23.png")
  baseline, _ = encoder.compress(
    image, block_maps["kodim23"], encoder.EncoderOptions(quality=70, progressive=False)
  )
  assert not Image.open(io.BytesIO(baseline)).info.get("progressive")
  data, report = encoder.compress(image, block_maps["kodim23"], encoder.EncoderOptions(quality=70))
  assert Image.open(io.BytesIO(data)).info.get("progressive") and len(data) < len(baseline)
  assert report.timings_ms["progressive"] > 0
  np.testing.assert_array_equal(turbo.decode(data), decode_pillow(data))
  np.testing.assert_array_equal(turbo.decode(data), turbo.decode(baseline))
  target = int(0.9 * len(baseline))
  data, report = encoder.compress(
    image, block_maps["kodim23"], encoder.EncoderOptions(target_size=target, progressive=True)
  )
  assert 0.95 * target <= len(data) <= target and report.steps <= 12


def test_composite_mode_reproduces_the_paper(cam_model):
  """With the paper's map, salient blocks come from higher qualities, and the result is one
  rate-matched JPEG."""
  image = read_rgb("kodim23.png")
  block_map = saliency.compute_map(cam_model, image).block_map
  options = encoder.EncoderOptions(
    mode="composite", policy="two_level_high_coverage", match_jpeg_quality=50
  )
  data, report = encoder.compress(image, block_map, options)
  assert set(report.quality_shares) == {80, 100}
  assert report.size <= len(turbo.encode(image, 50))
  levels = policies.block_qualities(
    "two_level_high_coverage", block_map, policies.PAPER_QUALITY, {}
  )
  stitched = composite.stitch(image, levels, "420")
  top = turbo.decode(turbo.encode(image, 100))
  high = blocks.to_pixels(levels == 100, *image.shape[:2])
  np.testing.assert_array_equal(stitched[high], top[high])
  # Relative to plain JPEG at (about) the same size, the salient blocks gain on the rest.
  decoded = turbo.decode(data)
  plain = turbo.decode(turbo.encode(image, 50))
  assert (
    psnr(image, decoded, high) - psnr(image, plain, high)
    > psnr(image, decoded, ~high) - psnr(image, plain, ~high) + 0.3
  )


def test_every_policy_encodes_a_valid_jpeg(block_maps):
  image = read_rgb("kodim21.png")
  files = {}
  for name in policies.POLICIES:
    data, report = encoder.compress(
      image, block_maps["kodim21"], encoder.EncoderOptions(policy=name, target_size=30000)
    )
    assert report.target_met and 29700 <= len(data) <= 30000, name
    assert turbo.decode(data).shape == image.shape
    files[name] = data
  assert len(set(files.values())) == len(policies.POLICIES)  # Each policy gives its own file.


def test_opencv_and_pillow_decode_the_same_pixels(block_maps):
  image = read_rgb("kodim04.png")
  data, _ = encoder.compress(image, block_maps["kodim04"], encoder.EncoderOptions(quality=60))
  np.testing.assert_array_equal(turbo.decode(data), decode_pillow(data))
  assert Image.open(io.BytesIO(data)).info.get("jfif") is not None


def test_same_inputs_give_the_same_bytes(block_maps):
  image = read_rgb("kodim21.png")
  options = encoder.EncoderOptions(match_jpeg_quality=40)
  first, _ = encoder.compress(image, block_maps["kodim21"], options)
  second, _ = encoder.compress(image, block_maps["kodim21"], options)
  assert first == second


@pytest.mark.parametrize("target", [5000, 20000, 60000])
def test_size_targets_land_in_the_window(block_maps, target):
  image = read_rgb("kodim23.png")
  data, report = encoder.compress(
    image, block_maps["kodim23"], encoder.EncoderOptions(target_size=target)
  )
  assert 0.99 * target <= len(data) <= target and report.target_met
  assert report.steps <= 10


def test_unreachable_targets():
  image = read_rgb("kodim23.png")[:64, :64]
  flat = np.zeros((8, 8))
  with pytest.raises(errors.EncodeError, match="smallest possible"):
    encoder.compress(image, flat, encoder.EncoderOptions(target_size=100))
  data, report = encoder.compress(image, flat, encoder.EncoderOptions(target_size=10**7))
  assert not report.target_met and report.quality == 100 and len(data) < 10**7
  data, report = encoder.compress(
    image, flat, encoder.EncoderOptions(mode="dct", target_size=10**7)
  )
  assert not report.target_met and report.quality_shares == {100: 1.0} and len(data) < 10**7


def test_grayscale_444_odd_and_tiny_images():
  gray = read_rgb("kodim21.png")[:77, :101, 1]
  data, _ = encoder.compress(np.ascontiguousarray(gray), np.ones((77, 101)))
  assert Image.open(io.BytesIO(data)).mode == "L"
  assert psnr(gray, decode_pillow(data)) > 30
  rgb = np.ascontiguousarray(read_rgb("kodim21.png")[:77, :101])
  data, _ = encoder.compress(rgb, np.ones((10, 13)), encoder.EncoderOptions(subsampling="444"))
  assert Image.open(io.BytesIO(data)).layer[1][1:3] == (1, 1)  # Chroma at full resolution.
  assert psnr(rgb, decode_pillow(data)) > 30
  for shape in ((1, 1), (2, 3), (9, 17)):
    tiny = np.ascontiguousarray(rgb[: shape[0], : shape[1]])
    data, _ = encoder.compress(tiny, np.zeros(shape), encoder.EncoderOptions(target_size=2000))
    assert decode_pillow(data).shape == (*shape, 3)


@pytest.mark.parametrize("shape", [(8, 40), (40, 8), (5, 5)])
def test_images_one_block_thin_keep_their_420_chroma_in_place(shape):
  """Block counts do not tell 4:2:0 from 4:2:2 or 4:4:4 where a side is 8 pixels or less."""
  image = np.zeros((*shape, 3), np.uint8)
  image[: shape[0] // 2] = (255, 0, 0)
  image[shape[0] // 2 :] = (0, 0, 255)
  data, _ = encoder.compress(image, np.full(shape, 0.5), encoder.EncoderOptions(quality=95))
  assert [layer[1:3] for layer in Image.open(io.BytesIO(data)).layer] == [(2, 2), (1, 1), (1, 1)]
  reference = turbo.decode(turbo.encode(image, 95))  # libjpeg-turbo's own 4:2:0 at quality 95.
  assert np.abs(decode_pillow(data).astype(int) - reference).max() < 40


def test_exif_and_icc_are_carried_into_the_output():
  image = read_rgb("kodim23.png")[:64, :96]
  exif = Image.Exif()
  exif[0x010F] = "semantic_jpeg test camera"
  icc = bytes(range(256)) * 300  # 76.8 kB: two APP2 segments.
  data, _ = encoder.compress(
    np.ascontiguousarray(image), np.ones((8, 12)), exif=exif.tobytes(), icc_profile=icc
  )
  decoded = Image.open(io.BytesIO(data))
  assert decoded.info["icc_profile"] == icc
  assert decoded.getexif()[0x010F] == "semantic_jpeg test camera"
  np.testing.assert_array_equal(turbo.decode(data), np.asarray(decoded))


@pytest.mark.parametrize(
  "image,saliency_map,match",
  [
    (np.zeros((8, 8, 3), np.float32), np.zeros((1, 1)), "uint8"),
    (np.zeros((8, 8, 4), np.uint8), np.zeros((1, 1)), "neither"),
    (np.zeros((0, 8, 3), np.uint8), np.zeros((0, 1)), "sides"),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((2, 2)), "matches neither"),
    (np.zeros((8, 8, 3), np.uint8), np.full((1, 1), 1.5), r"\[0, 1\]"),
    (np.zeros((8, 8, 3), np.uint8), np.full((1, 1), np.nan), "NaN"),
  ],
)
def test_bad_arrays_are_encode_errors(image, saliency_map, match):
  with pytest.raises(errors.EncodeError, match=match):
    encoder.compress(image, saliency_map)


@pytest.mark.parametrize(
  "options,match",
  [
    (dict(quality=0), "outside"),
    (dict(quality=101), "outside"),
    (dict(target_size=-5), "not > 0"),
    (dict(match_jpeg_quality=50.5), "integer"),
    (dict(quality=50, target_size=1000), "at most one"),
    (dict(mode="wavelet"), "mode"),
    (dict(subsampling="422"), "subsampling"),
    (dict(policy="median"), "unknown policy"),
    (dict(strength=-1), "strength"),
    (dict(strength=float("nan")), "strength"),
  ],
)
def test_bad_options_are_encode_errors(options, match):
  with pytest.raises(errors.EncodeError, match=match):
    encoder.EncoderOptions(**options)


def test_search_brackets_a_monotone_size_curve():
  sizes = lambda q: b"x" * int(1000 * np.exp(0.03 * q))  # noqa: E731
  result = ratecontrol.search(sizes, 10000, guess=50.0)
  assert result.met and 9900 <= len(result.data) <= 10000 and result.steps <= 6
  integer = ratecontrol.search(sizes, 10000, guess=50.0, integer=True)
  assert integer.quality == int(integer.quality) and len(integer.data) <= 10000


def test_score_search_finds_the_smallest_passing_file():
  encode = lambda q: b"x" * int(1000 * np.exp(0.03 * q))  # noqa: E731
  score = lambda data: 30.0 + 0.6 * np.log(len(data) / 1000) / 0.03  # 80 at knob 83.3.  # noqa: E731
  smallest = len(encode(250.0 / 3.0))
  result = ratecontrol.search_score(encode, score, 80.0, guess=60.0, slope=0.3)
  assert result.met and result.score >= 80.0 and result.steps <= 6
  assert smallest <= len(result.data) <= 1.01 * smallest
  unreachable = ratecontrol.search_score(encode, score, 95.0, guess=60.0, slope=0.3)
  assert not unreachable.met and unreachable.quality == 100.0 and unreachable.score < 95.0
  bumpy = lambda data: score(data) + 0.3 * np.sin(len(data))  # noqa: E731
  result = ratecontrol.search_score(encode, bumpy, 80.0, guess=95.0, slope=0.3)
  assert result.met and bumpy(result.data) >= 80.0 and len(result.data) <= 1.05 * smallest
