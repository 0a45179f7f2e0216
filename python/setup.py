"""Builds libdice into the package, so that `pip install ./python` is the whole installation.

The library is taken from, in order:
  - $DICE_LIBRARY, when set (a library built elsewhere; copied, nothing is compiled);
  - the Cargo workspace this directory belongs to: `scripts/build-release.sh` (one
    `cargo build --release --workspace ...`, a no-op when the artifacts are current), then
    target/release (or $CARGO_TARGET_DIR/release).
Outside a workspace (an sdist) without $DICE_LIBRARY the build fails and says what to do. The
wheel is platform-specific, since it carries a native library.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

if sys.platform == "darwin":
    LIB_NAME = "libdice.dylib"
elif sys.platform == "win32":
    LIB_NAME = "dice.dll"
else:
    LIB_NAME = "libdice.so"

HERE = Path(__file__).resolve().parent


def _library():
    env = os.environ.get("DICE_LIBRARY")
    if env:
        path = Path(env)
        if not path.is_file():
            raise SystemExit(f"dice: DICE_LIBRARY={env} is not a file")
        return path
    root = HERE.parent
    script = root / "scripts" / "build-release.sh"
    if not (root / "Cargo.toml").is_file() or not script.is_file():
        raise SystemExit(
            "dice: no Cargo workspace above this package to build libdice from. Build it with "
            "`cargo build --release -p dice-ffi` in the dice repository and set DICE_LIBRARY to the "
            "library's path, or install from the repository's python/ directory."
        )
    if shutil.which("cargo") is None:
        raise SystemExit("dice: building libdice needs cargo (https://rustup.rs), or set DICE_LIBRARY")
    print(f"dice: building libdice with {script}", file=sys.stderr)
    subprocess.run(["bash", str(script)], cwd=root, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    if not target.is_absolute():
        target = root / target
    path = target / "release" / LIB_NAME
    if not path.is_file():
        raise SystemExit(f"dice: the build finished but {path} does not exist")
    return path


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        dest = Path(self.build_lib) / "dice" / LIB_NAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_library(), dest)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
