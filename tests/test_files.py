"""Inputs expanded, outputs written atomically, on a real file system."""

import os
import time

import pytest

from semantic_jpeg import errors
from semantic_jpeg import files

from conftest import leave_killed_writers_temporary


def _names(folder) -> list[str]:
  return sorted(p.name for p in folder.iterdir())


def test_write_atomic_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
  target = tmp_path / "out.bin"
  files.write_atomic(target, b"first")
  files.write_atomic(target, b"second")
  assert target.read_bytes() == b"second"
  assert _names(tmp_path) == ["out.bin"]
  with pytest.raises(KeyboardInterrupt), files.atomic_path(target) as tmp:
    tmp.write_bytes(b"half")
    raise KeyboardInterrupt
  assert target.read_bytes() == b"second"
  assert _names(tmp_path) == ["out.bin"]  # The temporary file is gone.
  with pytest.raises(errors.OutputFolderError, match="No such file or directory"):
    files.write_atomic(tmp_path / "missing" / "out.bin", b"x")


def test_a_full_disk_fails_that_file_only_and_leaves_nothing_partial(tmpfs):
  full = tmpfs.mount("full", "20k")
  files.write_atomic(full / "small.bin", b"s" * 1000)
  with pytest.raises(errors.OutputError, match="No space left on device") as info:
    files.write_atomic(full / "big.bin", os.urandom(64_000))
  assert not isinstance(info.value, errors.OutputFolderError)
  assert "\n" not in str(info.value) and str(full / "big.bin") in str(info.value)
  with pytest.raises(errors.OutputError, match="No space left on device"):
    files.write_atomic(full / "small.bin", os.urandom(64_000))  # Replacing keeps the old file.
  assert _names(full) == ["small.bin"] and (full / "small.bin").read_bytes() == b"s" * 1000
  files.write_atomic(full / "next.bin", b"fits")  # The folder still takes what fits.
  assert (full / "next.bin").read_bytes() == b"fits"


def test_a_read_only_folder_is_an_output_folder_error(tmpfs):
  folder = tmpfs.mount("ro", "64k")
  tmpfs.read_only(folder)
  with pytest.raises(errors.OutputFolderError, match="Read-only file system"):
    files.write_atomic(folder / "out.bin", b"x")
  with pytest.raises(errors.OutputFolderError, match="Read-only file system"):
    files.make_output_folder(folder)
  with pytest.raises(errors.OutputFolderError, match="cannot create"):
    files.make_output_folder(folder / "sub")
  assert _names(folder) == []


def test_an_output_that_is_a_folder_fails_and_leaves_no_temporary(tmp_path):
  (tmp_path / "out.jpg").mkdir()
  with pytest.raises(errors.OutputError, match="Is a directory"):
    files.write_atomic(tmp_path / "out.jpg", b"x")
  assert _names(tmp_path) == ["out.jpg"]
  assert files.make_output_folder(tmp_path / "new" / "deeper").is_dir()


def test_temporaries_of_killed_runs_are_removed_and_no_others(tmp_path):
  leftover = leave_killed_writers_temporary(tmp_path / "photo.jpg")
  assert leftover.name.startswith(".photo.jpg.semantic_jpeg-")
  assert _names(tmp_path) == [leftover.name]
  foreign = tmp_path / ".photo.jpg.tmp"  # Not named by us: never touched.
  foreign.write_bytes(b"x")
  other_host = tmp_path / ".a.jpg.semantic_jpeg-elsewhere-1-abcdefgh.tmp"
  other_host.write_bytes(b"x")
  with files.atomic_path(tmp_path / "live.jpg") as live:  # Its writer (we) is running.
    assert files.remove_stale_temporaries(tmp_path) == [leftover]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
      [foreign.name, other_host.name, live.name]
    )
    day_ago = time.time() - files.STALE_AFTER_S - 60
    os.utime(other_host, (day_ago, day_ago))  # Another host's, untouched for a day.
    assert files.remove_stale_temporaries(tmp_path) == [other_host]
    live.write_bytes(b"done")
  assert _names(tmp_path) == [foreign.name, "live.jpg"]


def test_find_images_expands_folders_and_globs_and_reports_skips(tmp_path):
  for name in ("b.png", "a.jpg", "notes.txt", ".hidden.png"):
    (tmp_path / name).write_bytes(b"x")
  (tmp_path / "folder.png").mkdir()
  (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
  listing = files.find_images([str(tmp_path), str(tmp_path / "none*.png")])
  assert [p.name for p in listing.paths] == ["a.jpg", "b.png"]
  assert listing.skipped == [
    (str(tmp_path / "dangling.png"), "not a file"),
    (str(tmp_path / "folder.png"), "not a file"),
    (str(tmp_path / "notes.txt"), "not an image"),
    (str(tmp_path / "none*.png"), "matched nothing"),
  ]
  globbed = files.find_images([str(tmp_path / "*.png"), str(tmp_path / "b.png")])
  assert [p.name for p in globbed.paths] == ["b.png"]  # Listed once.
  assert [reason for _, reason in globbed.skipped] == ["not a file", "not a file"]
  assert files.list_images([str(tmp_path / "nope.png")]) == [tmp_path / "nope.png"]
  loop = tmp_path / "sub" / "loop.png"
  loop.parent.mkdir()
  loop.symlink_to(loop)
  assert files.find_images([str(loop), str(loop.parent)]) == files.Listing(
    [loop], [(str(loop), "not a file")]
  )


def test_a_folder_that_cannot_be_listed_is_reported(tmp_path):
  if os.geteuid() == 0:
    pytest.skip("root lists any folder: run the tests as another user to check this")
  locked = tmp_path / "locked"
  locked.mkdir(mode=0)
  try:
    listing = files.find_images([str(locked)])
  finally:
    locked.chmod(0o700)
  assert listing.skipped == [(str(locked), "cannot list its files (Permission denied)")]
