// C++17 test of include/dice.hpp: RAII context, exceptions, loss and gradient on the MONAI
// case monai_DiceLoss_1d_sigmoid_multilabel_default (loss 0.4284460457510177).
#include "dice.hpp"

#include <cmath>
#include <cstdio>

#include "ref_cases.h"

int main() {
  int failures = 0;
  dice::Context ctx(1);
  if (ctx.num_threads() != 1) ++failures;
  DiceLossOptions o = dice::default_options();
  o.activation = DICE_ACTIVATION_SIGMOID;
  std::vector<float> grad(144);
  dice::Tensor in(REF1_input, {2, 3, 24}), tgt(REF1_target, {2, 3, 24}), g(grad.data(), {2, 3, 24});
  dice::LossResult r = dice::loss_grad(ctx, in, tgt, g, o);
  if (std::fabs(r.loss - 0.4284460457510177) > 1e-5 || r.values.size() != 6) ++failures;
  for (std::size_t i = 0; i < 144; ++i)
    if (std::fabs(grad[i] - REF1_grad[i]) > 1e-6 + 1e-4 * std::fabs(REF1_grad[i])) ++failures;
  dice::Context moved = std::move(ctx);
  if (std::fabs(dice::loss(moved, in, tgt, o).loss - r.loss) > 1e-12) ++failures;
  try {
    dice::loss_grad(moved, in, tgt, dice::Tensor(REF1_input, {2, 3, 24}), o);  // grad aliases input
    ++failures;
  } catch (const dice::Error& e) {
    if (e.status() != DICE_STATUS_ALIASED_OUTPUT) ++failures;
  }
  std::printf("%s: dice.hpp test, %d failures\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
