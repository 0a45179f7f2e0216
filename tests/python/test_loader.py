"""Finding the shared library: $DICE_LIBRARY, next to the package, then a workspace's target/release."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dice
from dice import _lib

PKG = Path(dice.__file__).resolve().parent


def _python(code, cwd, env_extra, pythonpath=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DICE_LIBRARY", "PYTHONPATH")}
    env.update(env_extra)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)


def _copy_package(tmp_path):
    dst = tmp_path / "site" / "dice"
    shutil.copytree(PKG, dst, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.dylib", "*.dll"))
    return dst


def test_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", dice.library_version)
    # The package and the library are released together under one version number.
    assert dice.__version__ == dice.library_version
    assert _lib.lib.dice_abi_version() == _lib.ABI_VERSION


def test_env_var_missing_file_lists_it(tmp_path):
    _copy_package(tmp_path)
    r = _python("import dice", tmp_path, {"DICE_LIBRARY": str(tmp_path / "nope.so")}, tmp_path / "site")
    assert r.returncode != 0
    assert "cannot load the shared library" in r.stderr and str(tmp_path / "nope.so") in r.stderr
    assert "(not found)" in r.stderr and "cargo build --release -p dice-ffi" in r.stderr


def test_env_var_not_a_library(tmp_path):
    _copy_package(tmp_path)
    bad = tmp_path / "libdice.so"
    bad.write_text("not a library")
    r = _python("import dice", tmp_path, {"DICE_LIBRARY": str(bad)}, tmp_path / "site")
    assert r.returncode != 0 and str(bad) in r.stderr


def test_nothing_found_lists_every_place(tmp_path):
    pkg = _copy_package(tmp_path)
    r = _python("import dice", tmp_path, {}, tmp_path / "site")
    assert r.returncode != 0
    assert str(pkg / _lib.LIB_NAME) in r.stderr


def test_next_to_package_then_workspace(tmp_path):
    pkg = _copy_package(tmp_path)
    code = "import dice; print(dice.library_path)"
    # a Cargo workspace as the current directory: its target/release is found
    ws = tmp_path / "ws"
    (ws / "target" / "release").mkdir(parents=True)
    (ws / "Cargo.toml").write_text("[workspace]\n")
    shutil.copy(_lib.path, ws / "target" / "release" / _lib.LIB_NAME)
    r = _python(code, ws / "target", {}, tmp_path / "site")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(ws / "target" / "release" / _lib.LIB_NAME)
    # next to the package wins over the workspace
    shutil.copy(_lib.path, pkg / _lib.LIB_NAME)
    r = _python(code, ws, {}, tmp_path / "site")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(pkg / _lib.LIB_NAME)
    # and $DICE_LIBRARY wins over both
    r = _python(code, ws, {"DICE_LIBRARY": str(ws / "target" / "release" / _lib.LIB_NAME)}, tmp_path / "site")
    assert r.stdout.strip() == str(ws / "target" / "release" / _lib.LIB_NAME)
