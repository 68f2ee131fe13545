//===- KnetDialect.cpp - the knet dialect, its types and interfaces -------===//

#include "knet/IR/KnetDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Transforms/InliningUtils.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::knet;

#include "knet/IR/KnetDialect.cpp.inc"
#include "knet/IR/KnetEnums.cpp.inc"
#include "knet/IR/KnetInterfaces.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "knet/IR/KnetTypes.cpp.inc"

namespace {
/// Every knet op may be inlined (knet-inline inlines helper functions into
/// KNET_COMPILE functions); knet.fused bodies are isolated and stay as they
/// are.
struct KnetInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void KnetDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "knet/IR/KnetTypes.cpp.inc"
      >();
}

void KnetDialect::initialize() {
  registerTypes();
  registerOps();
  addInterfaces<KnetInlinerInterface>();
}

Operation *KnetDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  if (auto elements = dyn_cast<ElementsAttr>(value))
    if (isa<TensorType>(type) && elements.getType() == type)
      return builder.create<ConstantOp>(loc, elements);
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
