//===- Passes.h - the knet passes -------------------------------*- C++ -*-===//

#ifndef KNET_PASSES_PASSES_H
#define KNET_PASSES_PASSES_H

namespace mlir::knet {

/// Registers the knet passes and pipelines with the global registry, for
/// knet-opt and knetc. Canonicalization needs nothing here: the knet ops'
/// folders and patterns run under the core `canonicalize` pass.
void registerPasses();

/// Passes that exist for lit tests only (knet-test-*).
void registerTestPasses();

} // namespace mlir::knet

#endif // KNET_PASSES_PASSES_H
