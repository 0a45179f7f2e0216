#!/usr/bin/env bash
# Builds libdice (static and shared) and runs the C/C++ tests of the C ABI:
#   - the exported symbol check (every dynamic symbol starts with dice_);
#   - tests/c/test_dice.c as C11 -pedantic -Werror, linked against libdice.a and libdice.so;
#   - the same under AddressSanitizer + UndefinedBehaviorSanitizer;
#   - tests/c/test_header.cpp (the C header) and tests/c/test_hpp.cpp (dice.hpp) as C++17 -Werror.
# Needs only cargo, gcc, g++ and binutils (nm). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-gcc}
CXX=${CXX:-g++}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
LIB="$TARGET_DIR/release"
OUT="$TARGET_DIR/c-tests"
mkdir -p "$OUT"

echo "== build libdice (release, with the rest of the workspace: scripts/build-release.sh)"
bash scripts/build-release.sh
# The system libraries the Rust standard library needs when linked statically.
STATIC_DEPS="-lpthread -ldl -lm -lrt -lutil"

echo "== exported symbols of libdice.so all start with dice_"
bad=$(nm -D --defined-only "$LIB/libdice.so" | awk 'NF == 3 && $2 ~ /^[TDBR]$/ {print $3}' | grep -v '^dice_' || true)
if [ -n "$bad" ]; then
  echo "non-dice_ exported symbols:"; echo "$bad"; exit 1
fi
nm -D --defined-only "$LIB/libdice.so" | awk 'NF == 3 && $2 == "T" {print "   " $3}'

CFLAGS="-std=c11 -Wall -Wextra -pedantic -Werror -O1 -g -Iinclude -Itests/c"

echo "== C11 test, static library"
$CC $CFLAGS tests/c/test_dice.c "$LIB/libdice.a" $STATIC_DEPS -o "$OUT/test_dice_static"
"$OUT/test_dice_static"

echo "== C11 test, shared library"
$CC $CFLAGS tests/c/test_dice.c -L"$LIB" -ldice -Wl,-rpath,"$LIB" -lm -o "$OUT/test_dice_shared"
ldd "$OUT/test_dice_shared" | grep 'libdice\.so' >/dev/null || { echo "test_dice_shared does not load libdice.so"; exit 1; }
"$OUT/test_dice_shared"

echo "== C11 test under AddressSanitizer + UndefinedBehaviorSanitizer (static library)"
$CC $CFLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  tests/c/test_dice.c "$LIB/libdice.a" $STATIC_DEPS -o "$OUT/test_dice_asan"
# allocator_may_return_null: the resource-limit rows ask the library for working memory no
# address space holds; it must get NULL back and return DICE_STATUS_OUT_OF_MEMORY, which is
# what they check (by default ASan aborts on such a request instead of returning NULL).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$OUT/test_dice_asan"

echo "== C++17 header test (static and shared)"
CXXFLAGS="-std=c++17 -Wall -Wextra -Werror -O1 -g -Iinclude"
$CXX $CXXFLAGS tests/c/test_header.cpp "$LIB/libdice.a" $STATIC_DEPS -o "$OUT/test_header_static"
"$OUT/test_header_static"
$CXX $CXXFLAGS tests/c/test_header.cpp -L"$LIB" -ldice -Wl,-rpath,"$LIB" -o "$OUT/test_header_shared"
"$OUT/test_header_shared"

echo "== C++17 wrapper test (include/dice.hpp)"
$CXX $CXXFLAGS -Itests/c tests/c/test_hpp.cpp -L"$LIB" -ldice -Wl,-rpath,"$LIB" -o "$OUT/test_hpp"
"$OUT/test_hpp"

echo "== install (dice-ffi/install.sh) and build against the pkg-config file"
PREFIX="$OUT/prefix"
rm -rf "$PREFIX"
bash dice-ffi/install.sh "$PREFIX" >/dev/null
if command -v pkg-config >/dev/null; then
  PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --exists dice
  $CC $CFLAGS -Itests/c tests/c/test_dice.c $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags --libs dice) \
    -Wl,-rpath,"$PREFIX/lib" -lm -o "$OUT/test_dice_pc"
  "$OUT/test_dice_pc"
  $CC $CFLAGS -Itests/c tests/c/test_dice.c -static-libgcc \
    $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags dice) "$PREFIX/lib/libdice.a" \
    $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --libs-only-l --static dice | sed 's/-ldice//') -o "$OUT/test_dice_pc_static"
  "$OUT/test_dice_pc_static"
else
  echo "FAIL: pkg-config is not installed (scripts/test.sh installs it)"; exit 1
fi
if command -v cmake >/dev/null; then
  echo "== CMake find_package(dice)"
  mkdir -p "$OUT/cmake-src"
  cat > "$OUT/cmake-src/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.10)
project(dice_consumer C)
find_package(dice 0.3 REQUIRED)
add_executable(test_dice_cmake "$PWD/tests/c/test_dice.c")
target_include_directories(test_dice_cmake PRIVATE "$PWD/tests/c")
target_link_libraries(test_dice_cmake PRIVATE dice::dice_static m)
CM
  cmake -S "$OUT/cmake-src" -B "$OUT/cmake-build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
  cmake --build "$OUT/cmake-build" >/dev/null
  "$OUT/cmake-build/test_dice_cmake"
else
  echo "FAIL: cmake is not installed (scripts/test.sh installs it)"; exit 1
fi

echo "== C11 metrics test (tests/c/test_metrics.c): static, shared, ASan + UBSan"
$CC $CFLAGS tests/c/test_metrics.c "$LIB/libdice.a" $STATIC_DEPS -o "$OUT/test_metrics_static"
"$OUT/test_metrics_static"
$CC $CFLAGS tests/c/test_metrics.c -L"$LIB" -ldice -Wl,-rpath,"$LIB" -lm -o "$OUT/test_metrics_shared"
"$OUT/test_metrics_shared"
$CC $CFLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  tests/c/test_metrics.c "$LIB/libdice.a" $STATIC_DEPS -o "$OUT/test_metrics_asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$OUT/test_metrics_asan"

echo "C/C++ TESTS PASSED"
