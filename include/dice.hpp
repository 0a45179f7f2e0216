// dice.hpp: a small header-only C++17 wrapper over dice.h (hand-written, not generated).
// RAII context, exceptions carrying the status and message, owning tensor descriptors.
#ifndef DICE_HPP
#define DICE_HPP

#include "dice.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace dice {

// A failing call: status() is the DiceStatus, what() the thread's detailed message.
class Error : public std::runtime_error {
 public:
  Error(DiceStatus status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  DiceStatus status() const noexcept { return status_; }

 private:
  DiceStatus status_;
};

// Throws dice::Error unless status is DICE_STATUS_OK.
inline void check(DiceStatus status) {
  if (status != DICE_STATUS_OK) {
    throw Error(status, std::string(dice_status_string(status)) + ": " + dice_last_error());
  }
}

// Owns a DiceContext (move-only). A default-constructed Context() uses the library default.
class Context {
 public:
  Context() = default;
  explicit Context(std::uint32_t num_threads) { check(dice_context_create(num_threads, &ctx_)); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  Context(Context&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
  Context& operator=(Context&& o) noexcept {
    if (this != &o) {
      dice_context_destroy(ctx_);
      ctx_ = std::exchange(o.ctx_, nullptr);
    }
    return *this;
  }
  ~Context() { dice_context_destroy(ctx_); }
  const DiceContext* get() const noexcept { return ctx_; }
  std::uint32_t num_threads() const noexcept { return dice_context_num_threads(ctx_); }

 private:
  DiceContext* ctx_ = nullptr;
};

// DiceLossOptions initialised to the defaults.
inline DiceLossOptions default_options() {
  DiceLossOptions o;
  check(dice_loss_options_default(&o));
  return o;
}

template <class T>
constexpr DiceDataType dtype_of() {
  static_assert(std::is_arithmetic<T>::value, "dice::dtype_of: arithmetic types only");
  if constexpr (std::is_floating_point<T>::value) {
    return DiceDataType{DICE_DTYPE_FLOAT, static_cast<std::uint8_t>(sizeof(T) * 8), 1};
  } else if constexpr (std::is_signed<T>::value) {
    return DiceDataType{DICE_DTYPE_INT, static_cast<std::uint8_t>(sizeof(T) * 8), 1};
  } else {
    return DiceDataType{DICE_DTYPE_UINT, static_cast<std::uint8_t>(sizeof(T) * 8), 1};
  }
}

// A CPU tensor descriptor that owns its shape and strides (the data is borrowed).
class Tensor {
 public:
  template <class T>
  Tensor(T* data, std::vector<std::int64_t> shape, std::vector<std::int64_t> strides = {})
      : shape_(std::move(shape)), strides_(std::move(strides)) {
    desc_.data = const_cast<void*>(static_cast<const void*>(data));
    desc_.device = DiceDevice{DICE_DEVICE_CPU, 0};
    desc_.ndim = static_cast<std::int32_t>(shape_.size());
    desc_.dtype = dtype_of<std::remove_const_t<T>>();
    desc_.byte_offset = 0;
    sync();
  }
  Tensor(const Tensor& o) : desc_(o.desc_), shape_(o.shape_), strides_(o.strides_) { sync(); }
  Tensor& operator=(const Tensor& o) {
    desc_ = o.desc_;
    shape_ = o.shape_;
    strides_ = o.strides_;
    sync();
    return *this;
  }
  const DiceTensor* get() const noexcept { return &desc_; }

 private:
  void sync() {
    desc_.shape = shape_.data();
    desc_.strides = strides_.empty() ? nullptr : strides_.data();
  }
  DiceTensor desc_{};
  std::vector<std::int64_t> shape_, strides_;
};

// Per-call results: the reduced loss and the per-entry values.
struct LossResult {
  double loss = 0;
  std::vector<double> values;
};

inline std::size_t entry_count(const Tensor& input, const DiceLossOptions& opts) {
  std::size_t rows = 0, classes = 0;
  check(dice_loss_shape(input.get(), &opts, &rows, &classes));
  return rows * classes;
}

inline LossResult loss(const Context& ctx, const Tensor& input, const Tensor& target,
                       const DiceLossOptions& opts = default_options()) {
  LossResult r;
  r.values.resize(entry_count(input, opts));
  check(dice_loss(ctx.get(), input.get(), target.get(), &opts, &r.loss, r.values.data(), r.values.size()));
  return r;
}

// Forward and backward; `upstream` empty = ones.
inline LossResult loss_grad(const Context& ctx, const Tensor& input, const Tensor& target, const Tensor& grad,
                            const DiceLossOptions& opts = default_options(),
                            const std::vector<double>& upstream = {}) {
  LossResult r;
  r.values.resize(entry_count(input, opts));
  check(dice_loss_grad(ctx.get(), input.get(), target.get(), &opts, upstream.empty() ? nullptr : upstream.data(),
                       upstream.size(), grad.get(), &r.loss, r.values.data(), r.values.size()));
  return r;
}

}  // namespace dice

#endif  // DICE_HPP
