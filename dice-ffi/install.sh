#!/usr/bin/env bash
# Installs the C library for C/C++ users: one command,
#   bash dice-ffi/install.sh PREFIX
# builds libdice (release) and writes
#   PREFIX/include/dice.h, dice.hpp
#   PREFIX/lib/libdice.a, libdice.so
#   PREFIX/lib/pkgconfig/dice.pc                  (pkg-config --cflags --libs dice;
#                                                  --static adds the system libraries)
#   PREFIX/lib/cmake/dice/diceConfig.cmake, diceConfigVersion.cmake
#                                                 (find_package(dice) -> targets dice::dice
#                                                  (shared) and dice::dice_static)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
cd "$(dirname "$0")/.."
mkdir -p "$1"
PREFIX=$(cd "$1" && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -p dice-ffi
VERSION=$(sed -n 's/^#define DICE_VERSION_STRING "\(.*\)"/\1/p' include/dice.h)
STATIC_LIBS="-lpthread -ldl -lm -lrt -lutil"

install -d "$PREFIX/include" "$PREFIX/lib/pkgconfig" "$PREFIX/lib/cmake/dice"
install -m 644 include/dice.h include/dice.hpp "$PREFIX/include/"
install -m 644 "$TARGET_DIR/release/libdice.a" "$PREFIX/lib/"
install -m 755 "$TARGET_DIR/release/libdice.so" "$PREFIX/lib/"

cat > "$PREFIX/lib/pkgconfig/dice.pc" <<PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: dice
Description: Segmentation Dice losses and gradients (C ABI)
Version: $VERSION
Cflags: -I\${includedir}
Libs: -L\${libdir} -ldice
Libs.private: $STATIC_LIBS
PC

cat > "$PREFIX/lib/cmake/dice/diceConfig.cmake" <<CM
# dice CMake package config: find_package(dice) gives dice::dice (shared) and
# dice::dice_static. Relocatable: paths are relative to this file.
get_filename_component(_dice_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET dice::dice)
  add_library(dice::dice SHARED IMPORTED)
  set_target_properties(dice::dice PROPERTIES
    IMPORTED_LOCATION "\${_dice_prefix}/lib/libdice.so"
    INTERFACE_INCLUDE_DIRECTORIES "\${_dice_prefix}/include")
  add_library(dice::dice_static STATIC IMPORTED)
  set_target_properties(dice::dice_static PROPERTIES
    IMPORTED_LOCATION "\${_dice_prefix}/lib/libdice.a"
    INTERFACE_INCLUDE_DIRECTORIES "\${_dice_prefix}/include"
    INTERFACE_LINK_LIBRARIES "pthread;dl;m;rt;util")
endif()
set(dice_VERSION "$VERSION")
unset(_dice_prefix)
CM

cat > "$PREFIX/lib/cmake/dice/diceConfigVersion.cmake" <<CM
# Compatible when the major versions match (and, for 0.x, the minor ones too).
set(PACKAGE_VERSION "$VERSION")
string(REPLACE "." ";" _have "\${PACKAGE_VERSION}")
string(REPLACE "." ";" _want "\${PACKAGE_FIND_VERSION}")
list(GET _have 0 _have_major)
list(GET _have 1 _have_minor)
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(PACKAGE_FIND_VERSION_MAJOR STREQUAL _have_major AND NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  if(NOT _have_major STREQUAL "0" OR PACKAGE_FIND_VERSION_MINOR STREQUAL _have_minor)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
CM
echo "installed dice $VERSION into $PREFIX"
