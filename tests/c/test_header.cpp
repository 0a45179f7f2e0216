// C++17 use of the C header (compiled with g++ -std=c++17 -Wall -Wextra -Werror): the
// declarations are extern "C", the enums have int32_t underlying types, the inline
// initialiser works, and a small loss matches the C result.
#include "dice.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(std::is_standard_layout<DiceTensor>::value, "DiceTensor is C layout");
static_assert(sizeof(DiceStatus) == 4, "DiceStatus is int32");
static_assert(std::is_same<std::underlying_type<DiceStatus>::type, int32_t>::value, "int32 enum");
#if UINTPTR_MAX == UINT64_MAX
static_assert(sizeof(DiceTensor) == 48, "DiceTensor is DLTensor");
static_assert(sizeof(DiceLossOptions) == DICE_LOSS_OPTIONS_SIZE, "options size");
#endif

int main() {
  if (dice_abi_version() != DICE_ABI_VERSION) return 1;
  if (std::strcmp(dice_version(), DICE_VERSION_STRING) != 0) return 1;
  DiceLossOptions o;
  if (dice_loss_options_default(&o) != DICE_STATUS_OK) return 1;
  // One item, two classes, two voxels: p = target exactly -> loss ~ 0.
  float input[4] = {1, 0, 0, 1};
  float target[4] = {1, 0, 0, 1};
  int64_t shape[3] = {1, 2, 2};
  DiceTensor ti{input, {DICE_DEVICE_CPU, 0}, 3, {DICE_DTYPE_FLOAT, 32, 1}, shape, nullptr, 0};
  DiceTensor tt = ti;
  tt.data = target;
  double loss = -1;
  DiceStatus st = dice_loss(nullptr, &ti, &tt, &o, &loss, nullptr, 0);
  if (st != DICE_STATUS_OK || std::fabs(loss) > 1e-5) {
    std::fprintf(stderr, "c++: status %d loss %g: %s\n", static_cast<int>(st), loss, dice_last_error());
    return 1;
  }
  ti.device.device_type = 2;
  if (dice_loss(nullptr, &ti, &tt, &o, &loss, nullptr, 0) != DICE_STATUS_BAD_DEVICE) return 1;
  std::printf("ok: C++17 header test\n");
  return 0;
}
