// Saving and loading tensors and models in the safetensors format
// (https://github.com/huggingface/safetensors), readable by PyTorch, JAX and
// NumPy through the safetensors packages. See docs/io.md.
#pragma once

#include <knet/autograd.h>
#include <knet/tensor.h>

#include <concepts>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace knet {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

// Writes `tensors` (in this order) to `path` atomically: the bytes go to
// "<path>.tmp.<pid>", which is fsync'ed and renamed over `path`, so a reader
// sees the old file or the new one, never half of one. Tensors may live on
// any device and be non-contiguous; they are stored contiguous,
// little-endian, row-major. Names must be distinct and non-empty;
// "__metadata__" is reserved. f16/bf16 tensors cannot be saved (the CPU
// does not hold them). `metadata` goes to the header's "__metadata__".
void save(const std::string &path, const NamedTensors &tensors,
          const Metadata &metadata = {});
// (A template so that a braced list, save(path, {{"w", w}, {"b", b}}),
// picks the NamedTensors overload unambiguously.)
template <class M>
requires std::same_as<M, std::map<std::string, Tensor>>
void save(const std::string &path, const M &tensors,
          const Metadata &metadata = {}) {
  save(path, NamedTensors(tensors.begin(), tensors.end()), metadata);
}

// Reads every tensor of a safetensors file into new CPU tensors. Validates
// the whole file first and throws knet::Error naming the path and the
// problem (missing, truncated, bad header, unknown dtype, offsets that do not
// match the shapes or overlap, leave holes or leave the buffer, duplicate
// names).
std::map<std::string, Tensor> load(const std::string &path);
// The header's "__metadata__" (empty when absent); validates like load.
Metadata load_metadata(const std::string &path);

// Models: a list of Params. Each is stored under Param::name(), or
// "param<i>" (i its position) when the name is empty.
void save(const std::string &path, const std::vector<Param> &params,
          const Metadata &metadata = {});
// Replaces each Param's value with the stored tensor of the same name (moved
// to the Param's device). The file must hold exactly these names, each with
// the Param's shape and dtype; otherwise throws naming the path and the
// mismatch and changes no Param.
void load_into(const std::string &path, std::vector<Param> &params);

// Anything exposing its Params through `params()` (returning handles).
template <class M>
concept HasParams = requires(const M &m) {
  { m.params() } -> std::convertible_to<std::vector<Param>>;
};
template <HasParams M>
void save(const std::string &path, const M &model,
          const Metadata &metadata = {}) {
  save(path, std::vector<Param>(model.params()), metadata);
}
template <HasParams M> void load_into(const std::string &path, M &model) {
  std::vector<Param> ps = model.params(); // handles: writes reach the model
  load_into(path, ps);
}

} // namespace knet
