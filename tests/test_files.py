"""Inputs expanded, outputs written atomically, on a real file system."""

import pytest

from semantic_jpeg import errors
from semantic_jpeg import files


def test_write_atomic_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
  target = tmp_path / "out.bin"
  files.write_atomic(target, b"first")
  files.write_atomic(target, b"second")
  assert target.read_bytes() == b"second"
  assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
  with pytest.raises(KeyboardInterrupt), files.atomic_path(target) as tmp:
    tmp.write_bytes(b"half")
    raise KeyboardInterrupt
  assert target.read_bytes() == b"second"
  assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # The temporary file is gone.
  with pytest.raises(errors.SemanticJpegError, match="does not exist"):
    files.write_atomic(tmp_path / "missing" / "out.bin", b"x")


def test_list_images_expands_folders_and_globs(tmp_path):
  for name in ("b.png", "a.jpg", "notes.txt"):
    (tmp_path / name).write_bytes(b"x")
  assert [p.name for p in files.list_images([str(tmp_path)])] == ["a.jpg", "b.png"]
  assert [p.name for p in files.list_images([str(tmp_path / "*.png")])] == ["b.png"]
  assert files.list_images([str(tmp_path / "nope.png")]) == [tmp_path / "nope.png"]
