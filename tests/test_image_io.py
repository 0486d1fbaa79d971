"""Decoding, metadata and limits, on real files."""

import io

import cv2
import numpy as np
from PIL import Image
import pytest

from semantic_jpeg import errors
from semantic_jpeg import image_io

import bad_inputs
from conftest import read_rgb


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
  return bad_inputs.make_broken(tmp_path_factory.mktemp("broken"))


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
  return bad_inputs.make_awkward(tmp_path_factory.mktemp("awkward"))


@pytest.mark.parametrize(
  "name", ["missing", "zero_bytes", "truncated_png", "truncated_jpeg", "text_as_png", "huge_header"]
)
def test_broken_files_raise_one_line_image_errors(broken, name):
  with pytest.raises(errors.ImageError) as info:
    image_io.read_image(broken[name])
  message = str(info.value)
  assert "\n" not in message and str(broken[name]) in message


def test_too_many_pixels_is_refused_before_decoding(broken):
  with pytest.raises(errors.ImageTooLargeError, match="400,000,000 pixels"):
    image_io.read_image(broken["huge_header"])
  just_above = bad_inputs.huge_png_header(10001, 10000)
  with pytest.raises(errors.ImageTooLargeError) as info:
    image_io.decode_image(just_above, "just_above.png")
  assert "100,010,000 pixels, above the limit of 100,000,000 pixels" in str(info.value)
  with pytest.raises(errors.ImageTooLargeError):
    image_io.read_image(bad_inputs.TESTDATA / "kodim23.png", max_pixels=768 * 512 - 1)
  assert image_io.read_image(bad_inputs.TESTDATA / "kodim23.png", max_pixels=768 * 512).width == 768


def test_size_and_pixel_count_read_the_header_only_and_are_0_where_they_cannot(broken, tmp_path):
  assert image_io.image_size(bad_inputs.TESTDATA / "kodim23.png") == (512, 768)
  assert image_io.pixel_count(bad_inputs.TESTDATA / "kodim23.png") == 768 * 512
  header_only = tmp_path / "header_only.png"
  header_only.write_bytes(bad_inputs.huge_png_header(10001, 10000))
  assert image_io.image_size(header_only) == (10000, 10001)
  assert image_io.pixel_count(header_only) == 10001 * 10000
  for name in ("missing", "zero_bytes", "text_as_png", "huge_header"):  # Pillow refuses the last.
    assert image_io.image_size(broken[name]) == (0, 0)
    assert image_io.pixel_count(broken[name]) == 0


@pytest.mark.parametrize(
  "name,shape,grayscale",
  [
    ("one_by_one", (1, 1, 3), False),
    ("three_by_two", (2, 3, 3), False),
    ("odd_size", (77, 101, 3), False),
    ("sixteen_bit", (96, 128, 3), False),
    ("gray", (96, 128, 3), True),
    ("rgba", (96, 128, 3), False),
    ("palette", (96, 128, 3), False),
  ],
)
def test_awkward_files_decode_to_rgb(awkward, name, shape, grayscale):
  image = image_io.read_image(awkward[name])
  assert image.rgb.shape == shape and image.rgb.dtype == np.uint8
  assert image.grayscale == grayscale


def test_sixteen_bit_is_scaled_not_clipped(awkward):
  eight = np.asarray(Image.open(awkward["palette"]).convert("RGB"))
  sixteen = image_io.read_image(awkward["sixteen_bit"]).rgb
  assert abs(float(sixteen.mean()) - float(eight.mean())) < 8.0
  assert sixteen.max() > 100


def test_alpha_is_flattened_over_white(awkward):
  rgb = image_io.read_image(awkward["rgba"]).rgb
  assert (rgb[:, :64] == 255).all()
  assert rgb[:, 64:].mean() < 250


def _jpeg_with_metadata(orientation: int) -> bytes:
  image = Image.new("RGB", (40, 20))
  image.paste((255, 0, 0), (0, 0, 20, 20))
  exif = Image.Exif()
  exif[0x0112] = orientation
  exif[0x010F] = "semantic_jpeg test camera"
  buffer = io.BytesIO()
  image.save(buffer, "JPEG", exif=exif, icc_profile=b"fake-icc-profile-bytes" * 10, quality=95)
  return buffer.getvalue()


def test_exif_orientation_is_applied_and_metadata_kept():
  image = image_io.decode_image(_jpeg_with_metadata(orientation=6))  # Rotate 90 CW.
  assert image.rgb.shape == (40, 20, 3)
  assert image.rgb[:10, :, 0].mean() > 200 and image.rgb[-10:, :, 0].mean() < 50
  assert image.icc_profile == b"fake-icc-profile-bytes" * 10
  exif = Image.Exif()
  exif.load(image.exif)
  assert exif[0x010F] == "semantic_jpeg test camera"
  assert exif.get(0x0112, 1) == 1


def _opencv_rgb(data: bytes) -> np.ndarray:
  return cv2.cvtColor(
    cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
  )


def test_mpo_gives_its_primary_picture_and_says_so():
  photo = read_rgb("kodim23.png")[:128, :192]
  other = Image.fromarray(np.ascontiguousarray(photo[::-1]))
  buffer = io.BytesIO()
  Image.fromarray(photo).save(buffer, "MPO", save_all=True, append_images=[other], quality=90)
  image = image_io.decode_image(buffer.getvalue(), "camera.mpo")
  np.testing.assert_array_equal(image.rgb, _opencv_rgb(buffer.getvalue()))  # OpenCV: the first.
  assert image.source_format == "MPO" and image.encoded_size == len(buffer.getvalue())
  [warning] = image.warnings
  assert warning.startswith("camera.mpo: multi-picture (MPO) file of 2 pictures")


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_missing_only_its_end_marker_reads_as_the_complete_file(progressive):
  complete = bad_inputs.jpeg_bytes(read_rgb("kodim23.png"), quality=90, progressive=progressive)
  assert complete.endswith(b"\xff\xd9")
  image = image_io.decode_image(complete[:-2], "no_eoi.jpg")
  np.testing.assert_array_equal(image.rgb, image_io.decode_image(complete).rgb)
  assert image.warnings == () and image.encoded_size == len(complete) - 2
  for cut in (len(complete) // 2, len(complete) - 40):  # Cut inside the scan: still refused.
    with pytest.raises(errors.ImageError, match="truncated"):
      image_io.decode_image(complete[:cut], "cut.jpg")


@pytest.fixture(scope="module")
def damaged():
  return bad_inputs.damaged_jpegs()


def test_damaged_jpegs_warn_once_each_and_strict_refuses_them(damaged):
  clean, files = damaged
  assert image_io.decode_image(clean).warnings == ()
  for name, data in files.items():
    image = image_io.decode_image(data, name)
    assert len(image.warnings) == 1 and image.warnings[0].startswith(f"{name}: corrupt JPEG data")
    assert "\n" not in image.warnings[0]
    with pytest.raises(errors.ImageError, match="corrupt JPEG data, refused as strict"):
      image_io.decode_image(data, name, strict=True)


def _clean_jpegs() -> dict[str, bytes]:
  """Intact JPEGs of many makes: none may be taken for damaged."""
  from semantic_jpeg.codec import encoder  # pylint: disable=g-import-not-at-top

  photo = read_rgb("kodim23.png")[:256, :384]
  clipped = np.clip(photo.astype(np.int64) * 3 - 100, 0, 255).astype(np.uint8)  # White runs.
  bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
  jpegs = {
    f"pillow_{name}": bad_inputs.jpeg_bytes(photo, **options)
    for name, options in {
      "q5": {"quality": 5},
      "q100_444": {"quality": 100, "subsampling": 0},
      "progressive": {"progressive": True, "optimize": True},
    }.items()
  }
  jpegs["pillow_gray"] = bad_inputs.jpeg_bytes(photo[..., 0])
  cmyk = io.BytesIO()
  Image.fromarray(photo).convert("CMYK").save(cmyk, "JPEG")
  jpegs["pillow_cmyk"] = cmyk.getvalue()
  jpegs["opencv_restarts"] = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_RST_INTERVAL, 4])[1]
  jpegs["opencv_black_white"] = cv2.imencode(".jpg", np.where(bgr > 128, 255, 0).astype(np.uint8))[
    1
  ]
  for quality in (10, 75, 100):
    jpegs[f"ours_clipped_q{quality}"], _ = encoder.compress(
      clipped, np.full(clipped.shape[:2], 0.5), encoder.EncoderOptions(quality=quality)
    )
  return {name: bytes(data) for name, data in jpegs.items()}


def test_intact_jpegs_of_many_makes_give_no_warning():
  for name, data in _clean_jpegs().items():
    assert image_io.decode_image(data, name, strict=True).warnings == (), name
