"""Runs test files with pytest and exits with its status, so that a failing test fails Bazel.

bazel test //:test_encoder   # runs tests/test_encoder.py through this runner
"""

import sys

import pytest

if __name__ == "__main__":
  sys.exit(pytest.main(["-p", "no:cacheprovider", *sys.argv[1:]]))
