"""Decoding, metadata and limits, on real files."""

import io

import numpy as np
from PIL import Image
import pytest

from semantic_jpeg import errors
from semantic_jpeg import image_io

import bad_inputs


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
  with pytest.raises(errors.ImageTooLargeError, match="400.0 MP"):
    image_io.read_image(broken["huge_header"])
  with pytest.raises(errors.ImageTooLargeError):
    image_io.read_image(bad_inputs.TESTDATA / "kodim23.png", max_pixels=768 * 512 - 1)
  assert image_io.read_image(bad_inputs.TESTDATA / "kodim23.png", max_pixels=768 * 512).width == 768


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
