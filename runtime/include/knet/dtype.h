// Element types.
#pragma once

#include <cstddef>
#include <cstdint>

namespace knet {

enum class DType { f32, f64, f16, bf16, i32, i64, u8, b8 };

const char *dtype_name(DType t);
size_t dtype_size(DType t);
constexpr bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 ||
         t == DType::bf16;
}

// The C++ type of each storable dtype (f16/bf16 have none on the CPU).
template <class T> struct dtype_of_t;
template <> struct dtype_of_t<float> {
  static constexpr DType value = DType::f32;
};
template <> struct dtype_of_t<double> {
  static constexpr DType value = DType::f64;
};
template <> struct dtype_of_t<int32_t> {
  static constexpr DType value = DType::i32;
};
template <> struct dtype_of_t<int64_t> {
  static constexpr DType value = DType::i64;
};
template <> struct dtype_of_t<uint8_t> {
  static constexpr DType value = DType::u8;
};
template <> struct dtype_of_t<bool> {
  static constexpr DType value = DType::b8;
};
template <class T> constexpr DType dtype_of = dtype_of_t<T>::value;

} // namespace knet
