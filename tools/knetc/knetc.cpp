//===- knetc.cpp - the knet compiler driver -------------------------------===//
//
//   knetc [options] <file.cpp>... [-- <compiler flags>]
//   knetc [options] -p <build dir> <file.cpp>...
//
// Reads the files through Clang LibTooling, lowers their KNET_COMPILE
// functions to the knet IR and prints the stage asked for (--emit), or says
// per function whether it compiles statically or stays on the tape
// (--explain), and can compile the CUDA kernels it emits with NVRTC
// (--check-cuda). Exit 0 on success, 1 on any error; knetc never crashes: every
// input ends with a status and a message.
//
//===----------------------------------------------------------------------===//

#include "knet/Frontend/Frontend.h"

#include "knet/Codegen/EmitCpp.h"
#include "knet/Codegen/EmitKernels.h"
#include "knet/Codegen/SourceRewriter.h"
#include "knet/Passes/Passes.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/Basic/SourceManager.h"
#include "clang/Driver/Driver.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/FrontendAction.h"
#include "clang/Tooling/CompilationDatabase.h"
#include "clang/Tooling/Tooling.h"
#include "llvm/Support/thread.h"
#include <map>

#include "jit/nvrtc.h"
#include "jit/specialize.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace clang;
using namespace clang::tooling;
namespace cl = llvm::cl;

#ifndef KNETC_CLANG_RESOURCE_DIR
#define KNETC_CLANG_RESOURCE_DIR ""
#endif
#ifndef KNETC_RUNTIME_INCLUDE_DIR
#define KNETC_RUNTIME_INCLUDE_DIR ""
#endif

static cl::OptionCategory knetcCategory("knetc options");

static cl::list<std::string> inputFiles(cl::Positional,
                                        cl::desc("<file.cpp>..."),
                                        cl::cat(knetcCategory));
static cl::opt<std::string>
    buildPath("p", cl::desc("Build directory with compile_commands.json"),
              cl::value_desc("build dir"), cl::cat(knetcCategory));
static cl::opt<std::string>
    emit("emit",
         cl::desc("Stage to print: ir (the knet IR from the frontend), "
                  "ir-grad (after knet-autodiff), ir-opt (after fusion), "
                  "cpp (the generated C++), cuda (the fused kernels as CUDA "
                  "C), tu (the rewritten translation unit: the default with "
                  "-o)"),
         cl::value_desc("ir|ir-grad|ir-opt|cpp|cuda|tu"), cl::init(""),
         cl::cat(knetcCategory));
static cl::opt<bool>
    explain("explain",
            cl::desc("Say per KNET_COMPILE function whether it compiles "
                     "statically or stays on the tape, and why"),
            cl::cat(knetcCategory));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(knetcCategory));
static cl::opt<bool>
    printLocs("print-locs",
              cl::desc("Print the source location of every op (loc(...))"),
              cl::cat(knetcCategory));
static cl::opt<bool> noFuse("no-fuse", cl::desc("Do not fuse kernels"),
                            cl::cat(knetcCategory));
// (LLVM's own -time-passes is taken by libLLVM's options.)
static cl::opt<bool>
    timePasses("pass-timing",
               cl::desc("Print the time each compiler pass took (stderr)"),
               cl::cat(knetcCategory));
// Tests only: the C++ emitter fails on this function, as on a knetc bug, so
// that a test sees it fall back to the tape with a warning.
static cl::opt<std::string> testFail("knetc-test-fail", cl::Hidden,
                                     cl::desc("(tests) make the C++ emitter "
                                              "fail on this function"),
                                     cl::cat(knetcCategory));
static cl::opt<std::string>
    testInvalidIR("knetc-test-invalid-ir", cl::Hidden,
                  cl::desc("(tests) break the lowered IR of this function "
                           "before it is verified"),
                  cl::cat(knetcCategory));
static cl::opt<bool>
    checkCuda("check-cuda",
              cl::desc("Compile every emitted CUDA kernel with NVRTC for "
                       "sm_80 and sm_90 (no GPU needed)"),
              cl::cat(knetcCategory));

namespace {

bool isDir(const std::string &p) { return llvm::sys::fs::is_directory(p); }

/// Clang's resource directory (stddef.h, the builtin headers): the one of
/// the Clang knetc was built with, else the one next to the executable, else
/// what `clang -print-resource-dir` says.
std::string findResourceDir(const char *argv0) {
  std::string baked = KNETC_CLANG_RESOURCE_DIR;
  if (!baked.empty() && isDir(baked + "/include"))
    return baked;
  std::string exe = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&findResourceDir));
  std::string nearExe = driver::Driver::GetResourcesPath(exe);
  if (isDir(nearExe + "/include"))
    return nearExe;
  for (const char *name : {"clang-19", "clang"}) {
    llvm::ErrorOr<std::string> clang = llvm::sys::findProgramByName(name);
    if (!clang)
      continue;
    llvm::SmallString<128> tmp;
    if (llvm::sys::fs::createTemporaryFile("knetc-resource-dir", "txt", tmp))
      continue;
    std::optional<llvm::StringRef> redirects[] = {
        std::nullopt, llvm::StringRef(tmp), llvm::StringRef("")};
    llvm::StringRef args[] = {*clang, "-print-resource-dir"};
    int rc = llvm::sys::ExecuteAndWait(*clang, args, std::nullopt, redirects,
                                       /*SecondsToWait=*/30);
    auto buf = llvm::MemoryBuffer::getFile(tmp);
    llvm::sys::fs::remove(tmp);
    if (rc == 0 && buf) {
      std::string dir = (*buf)->getBuffer().trim().str();
      if (isDir(dir + "/include"))
        return dir;
    }
  }
  return baked;
}

struct FileResult {
  std::string file;
  mlir::knet::frontend::TranslationUnitResult result;
  std::string generated; // --emit=cpp
  std::string tu;        // --emit=tu
  bool stageFailed = false;
  // --explain: per compiled function (IR symbol), the values its reverse
  // sweep reads from the forward, as "line (op, pushed)" entries.
  std::map<std::string, std::vector<std::string>> saved;
  // --explain: per compiled function, what fusion did.
  std::map<std::string, std::vector<std::string>> fusion;
  std::string cuda; // --emit=cuda
};

/// Whether --explain was given (set once in main before the tool runs).
bool explaining = false;

/// The stage knetc prints (set once in main before the tool runs).
std::string stage = "ir";

/// Tensor ops of `f`, a knet.fused kernel counting as one.
unsigned countOps(mlir::func::FuncOp f) {
  unsigned n = 0;
  f.walk<mlir::WalkOrder::PreOrder>([&](mlir::Operation *op) {
    if (op->getDialect() &&
        op->getDialect()->getNamespace() ==
            mlir::knet::KnetDialect::getDialectNamespace() &&
        !mlir::isa<mlir::knet::YieldOp>(op))
      ++n;
    return mlir::isa<mlir::knet::FusedOp>(op) ? mlir::WalkResult::skip()
                                              : mlir::WalkResult::advance();
  });
  return n;
}

/// Fuses (unless --no-fuse), notes what fusion did for --explain, and
/// prints or checks the CUDA kernels (--emit=cuda, --check-cuda).
mlir::LogicalResult fuseAndExplain(mlir::ModuleOp module, FileResult &fr) {
  std::map<std::string, unsigned> before;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    before[f.getSymName().str()] = countOps(f);
  if (!noFuse) {
    // Fusion is an optimization: should it ever fail (a bug), the module is
    // compiled unfused, with a warning, rather than not at all.
    mlir::OwningOpRef<mlir::ModuleOp> unfused = module.clone();
    std::string why;
    mlir::LogicalResult fused = mlir::failure();
    {
      mlir::ScopedDiagnosticHandler capture(module.getContext(),
                                            [&](mlir::Diagnostic &d) {
                                              why += d.str() + "\n";
                                              return mlir::success();
                                            });
      mlir::PassManager pm(module.getContext());
      if (timePasses)
        pm.enableTiming();
      pm.addPass(mlir::knet::createFusionPass());
      fused = pm.run(module);
    }
    if (mlir::failed(fused)) {
      llvm::errs() << "knetc: warning: " << fr.file
                   << ": fusion failed, compiling without it (please report "
                      "this): "
                   << why;
      module.getBody()->getOperations().clear();
      module.getBody()->getOperations().splice(
          module.getBody()->end(), unfused->getBody()->getOperations());
    }
  }
  if (explaining) {
    unsigned index = 0;
    std::map<mlir::Operation *, unsigned> kernelIndex;
    module.walk([&](mlir::knet::FusedOp op) { kernelIndex[op] = index++; });
    for (auto f : module.getOps<mlir::func::FuncOp>()) {
      llvm::StringRef name = f.getSymName();
      std::string what = "forward";
      if (auto of =
              f->getAttrOfType<mlir::StringAttr>(mlir::knet::kSaveOfAttrName)) {
        // knet-split-adjoint's halves, for callers on the tape.
        name = of.getValue();
        auto primal = module.lookupSymbol<mlir::func::FuncOp>(name);
        unsigned saved =
            f.getNumResults() - (primal ? primal.getNumResults() : 0);
        what = "forward for taped callers, saving " + std::to_string(saved) +
               (saved == 1 ? " value" : " values");
      } else if (auto of = f->getAttrOfType<mlir::StringAttr>(
                     mlir::knet::kResumeOfAttrName)) {
        name = of.getValue();
        what = "backward for taped callers, from the saved values";
      } else if (name.consume_back("_grad")) {
        what = "gradient";
      }
      std::vector<std::string> &out = fr.fusion[name.str()];
      // The kernels a function runs; those in a kernel's fallback (a merged
      // kernel's parts) are not listed.
      std::vector<mlir::knet::FusedOp> fusedOps;
      f.walk<mlir::WalkOrder::PreOrder>([&](mlir::knet::FusedOp op) {
        fusedOps.push_back(op);
        return mlir::WalkResult::skip();
      });
      const unsigned kernels = fusedOps.size();
      std::string line;
      llvm::raw_string_ostream os(line);
      os << what << ": " << before[f.getSymName().str()] << " ops, "
         << countOps(f) << " after fusion (" << kernels
         << (kernels == 1 ? " kernel" : " kernels") << ")";
      out.push_back(line);
      for (mlir::knet::FusedOp op : fusedOps) {
        std::string k;
        llvm::raw_string_ostream ks(k);
        ks << "  knet_k" << kernelIndex[op];
        if (auto fl = op.getLoc()->findInstanceOf<mlir::FileLineColLoc>())
          ks << " (line " << fl.getLine() << ")";
        ks << ": " << mlir::knet::fusedSummary(op);
        out.push_back(k);
      }
    }
  }
  if (stage != "cuda" && !checkCuda)
    return mlir::success();
  mlir::FailureOr<llvm::SmallVector<mlir::knet::KernelSource>> kernels =
      mlir::knet::emitKernels(module);
  if (mlir::failed(kernels)) {
    fr.stageFailed = true;
    return mlir::failure();
  }
  std::string all;
  for (const mlir::knet::KernelSource &k : *kernels)
    all += k.cuda + "\n";
  fr.cuda = all;
  if (!checkCuda)
    return mlir::success();
  if (kernels->empty()) {
    llvm::errs() << "knetc: " << fr.file
                 << ": 0 CUDA kernels compiled with NVRTC for sm_80 and "
                    "sm_90 (nothing fused)\n";
    return mlir::success();
  }
  if (!knet::jit::nvrtc_available()) {
    llvm::errs() << "knetc: error: --check-cuda needs NVRTC (libnvrtc.so from "
                    "the CUDA toolkit; set KNET_NVRTC_LIBRARY to its path)\n";
    fr.stageFailed = true;
    return mlir::failure();
  }
  // Both archs, and between them both dtypes, strided and dense operands.
  struct Check {
    const char *arch;
    bool f64;
    int rank;
    uint64_t dense;
  };
  for (Check c :
       {Check{"sm_80", false, 2, 0}, Check{"sm_90", true, 1, ~0ull}}) {
    std::vector<std::string> options =
        knet::jit::fused_kernel_options(c.f64, c.rank, 1, c.dense);
    knet::jit::NvrtcResult r =
        knet::jit::nvrtc_compile(all, fr.file + ".cu", c.arch, options);
    if (!r.ok) {
      llvm::errs() << fr.file << ": error: NVRTC rejected the CUDA kernels ("
                   << c.arch << ", " << (c.f64 ? "f64" : "f32") << "):\n"
                   << r.log << "\n";
      fr.stageFailed = true;
      return mlir::failure();
    }
  }
  llvm::errs() << "knetc: " << fr.file << ": " << kernels->size()
               << " CUDA kernel" << (kernels->size() == 1 ? "" : "s")
               << " compiled with NVRTC for sm_80 and sm_90\n";
  return mlir::success();
}

/// Adds the differentiation passes (inline, knet-autodiff, canonicalize,
/// cse), knet-fold-batchnorm and knet-split-adjoint to `pm`.
void addAutodiffPipeline(mlir::PassManager &pm) {
  // Calls between compiled functions are inlined first (each callee keeps
  // its own compiled form too).
  pm.addPass(mlir::createInlinerPass());
  pm.addPass(mlir::knet::createAutodiffPass());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::knet::createCSEPass());
  pm.addPass(mlir::knet::createFoldBatchnormPass());
  pm.addPass(mlir::knet::createSplitAdjointPass());
  pm.addPass(mlir::knet::createAccumulatePass());
}

/// Runs the differentiation passes and the C++ emitter on a copy of
/// `module`: what they report if they fail, else nothing.
std::optional<std::string> trialRun(mlir::ModuleOp module) {
  mlir::OwningOpRef<mlir::ModuleOp> copy = module.clone();
  std::string diags;
  mlir::ScopedDiagnosticHandler handler(
      module.getContext(), [&](mlir::Diagnostic &d) {
        if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
          diags += (diags.empty() ? "" : "; ") + d.str();
        return mlir::success();
      });
  mlir::PassManager pm(module.getContext());
  addAutodiffPipeline(pm);
  bool ok = mlir::succeeded(pm.run(*copy));
  if (ok) {
    std::string cpp;
    llvm::raw_string_ostream os(cpp);
    ok = mlir::succeeded(mlir::knet::emitCpp(*copy, os, {}));
  }
  if (ok)
    return std::nullopt;
  return diags.empty() ? std::string("a compiler stage failed") : diags;
}

/// The functions of `module` that `name` calls, itself included.
llvm::StringSet<> callClosure(mlir::ModuleOp module, llvm::StringRef name) {
  llvm::StringSet<> seen;
  llvm::SmallVector<std::string> todo{name.str()};
  while (!todo.empty()) {
    std::string n = todo.pop_back_val();
    if (!seen.insert(n).second)
      continue;
    if (auto f = module.lookupSymbol<mlir::func::FuncOp>(n))
      f.walk(
          [&](mlir::func::CallOp c) { todo.push_back(c.getCallee().str()); });
  }
  return seen;
}

/// knetc must not break a build on code the tape runs: when the stages
/// after the frontend fail, each compiled function is tried alone (with the
/// functions it calls), and those that fail, with the functions calling
/// them, fall back to the tape with a warning in Clang's format that names
/// the failure as a knetc bug. --explain then says so too.
void fallBackOnFailures(mlir::ModuleOp module, FileResult &fr) {
  using Status = mlir::knet::frontend::FunctionReport::Status;
  if (!trialRun(module))
    return;
  // Callees before their callers (a callee's closure is smaller): a
  // function calling one that failed falls back for that reason.
  std::vector<std::pair<llvm::StringSet<>, std::string>> order;
  for (const auto &r : fr.result.reports)
    if (r.status == Status::Compiled &&
        module.lookupSymbol<mlir::func::FuncOp>(r.symbol))
      order.emplace_back(callClosure(module, r.symbol), r.symbol);
  llvm::stable_sort(order, [](const auto &a, const auto &b) {
    return a.first.size() < b.first.size();
  });
  std::map<std::string, std::string> failed;  // symbol -> why
  std::map<std::string, std::string> callers; // symbol -> failed callee
  for (const auto &[keep, symbol] : order) {
    for (const auto &entry : failed)
      if (keep.contains(entry.first))
        callers[symbol] = entry.first;
    if (callers.count(symbol))
      continue;
    mlir::OwningOpRef<mlir::ModuleOp> alone = module.clone();
    for (auto f :
         llvm::make_early_inc_range(alone->getOps<mlir::func::FuncOp>()))
      if (!keep.contains(f.getSymName()))
        f.erase();
    if (std::optional<std::string> why = trialRun(*alone))
      failed[symbol] = *why;
  }
  for (auto &r : fr.result.reports) {
    auto f = failed.find(r.symbol);
    auto c = callers.find(r.symbol);
    if (f == failed.end() && c == callers.end())
      continue;
    r.status = Status::Tape;
    r.reasonFile = r.file;
    r.reasonLine = r.line;
    if (f != failed.end()) {
      r.reason =
          "knetc failed on it (a knetc bug, please report it): " + f->second;
      llvm::errs() << r.file << ":" << r.line << ":1: warning: knetc failed "
                   << "to compile '" << r.name << "' (a knetc bug, please "
                   << "report it); it runs on the tape instead: " << f->second
                   << "\n";
    } else {
      r.reason = "it calls '" + c->second + "', which knetc failed on";
    }
    if (auto fn = module.lookupSymbol<mlir::func::FuncOp>(r.symbol))
      fn.erase();
  }
}

/// Runs what follows the frontend for the stages after `ir`: knet-autodiff
/// (then canonicalize and cse), the C++ emitter, and the source rewriter.
/// Runs while Clang's AST is alive: the rewriter needs it.
void runLaterStages(ASTContext &ast, FileResult &fr) {
  mlir::ModuleOp module = *fr.result.module;
  // A knet::Moments result (a function returning batchnorm's running
  // statistics by value) has no leaf in the compiled ABI: such a function
  // stays on the tape, with that reason. Moments arguments are in-out state
  // (EmitCpp: two leaves in, their final values after the results).
  for (auto f :
       llvm::make_early_inc_range(module.getOps<mlir::func::FuncOp>())) {
    if (llvm::none_of(f.getResultTypes(), [](mlir::Type t) {
          return mlir::isa<mlir::knet::MomentsType>(t);
        }))
      continue;
    for (auto &r : fr.result.reports)
      if (r.symbol == f.getSymName() &&
          r.status == mlir::knet::frontend::FunctionReport::Status::Compiled) {
        r.status = mlir::knet::frontend::FunctionReport::Status::Tape;
        r.reason = "a knet::Moments result (batchnorm's running statistics "
                   "returned by value) has no leaf in the compiled ABI";
        r.reasonFile = r.file;
        r.reasonLine = r.line;
      }
    f.erase();
  }
  if (!testFail.empty())
    if (auto f = module.lookupSymbol<mlir::func::FuncOp>(testFail))
      f->setAttr("knet.test_fail", mlir::UnitAttr::get(module.getContext()));
  fallBackOnFailures(module, fr);
  mlir::PassManager pm(module.getContext());
  if (timePasses)
    pm.enableTiming();
  addAutodiffPipeline(pm);
  if (mlir::failed(pm.run(module))) {
    fr.stageFailed = true;
    return;
  }
  if (explaining)
    for (auto grad : module.getOps<mlir::func::FuncOp>()) {
      llvm::StringRef name = grad.getSymName();
      if (!name.consume_back("_grad"))
        continue;
      std::vector<std::string> &out = fr.saved[name.str()];
      for (const mlir::knet::SavedValue &v :
           mlir::knet::savedForReverse(grad)) {
        std::string entry;
        llvm::raw_string_ostream os(entry);
        mlir::LocationAttr loc = v.getLoc();
        if (auto name = loc.findInstanceOf<mlir::NameLoc>())
          os << "'" << name.getName().getValue() << "' ";
        if (auto fl = loc.findInstanceOf<mlir::FileLineColLoc>())
          os << "line " << fl.getLine();
        else
          os << "(no location)";
        if (mlir::Operation *def = v.value.getDefiningOp())
          os << " (" << def->getName().getStringRef()
             << (v.pushed ? ", pushed per iteration" : "") << ")";
        out.push_back(entry);
      }
    }
  if (stage == "ir-grad" || (stage == "ir" && !explaining && !checkCuda))
    return;
  if (failed(fuseAndExplain(module, fr)))
    return;
  if (stage == "ir-opt" || stage == "ir")
    return; // (stage ir: here only for --explain and --check-cuda)
  llvm::raw_string_ostream gen(fr.generated);
  mlir::knet::EmitOptions opts;
  opts.includes = true;
  if (mlir::failed(mlir::knet::emitCpp(module, gen, opts))) {
    fr.stageFailed = true;
    return;
  }
  if (stage == "cpp")
    return;
  std::vector<mlir::knet::CompiledDecl> fns;
  for (const auto &r : fr.result.reports) {
    if (r.status != mlir::knet::frontend::FunctionReport::Status::Compiled ||
        !r.decl)
      continue;
    mlir::knet::CompiledDecl c{r.decl, mlir::knet::cppIdentifier(r.symbol), {}};
    // The parameters the frontend made results (knet.inout), in order.
    if (auto f = module.lookupSymbol<mlir::func::FuncOp>(r.symbol))
      for (unsigned i = 0; i < f.getNumResults(); ++i)
        if (auto name =
                f.getResultAttrOfType<mlir::StringAttr>(i, "knet.inout"))
          c.inout.push_back(name.str());
    // Then the running statistics of its Moments arguments ("m.bn1").
    if (auto f = module.lookupSymbol<mlir::func::FuncOp>(r.symbol))
      for (unsigned i = 0; i < f.getNumArguments(); ++i)
        if (isa<mlir::knet::MomentsType>(f.getArgument(i).getType()))
          if (auto name =
                  f.getArgAttrOfType<mlir::StringAttr>(i, "knet.name")) {
            c.inout.push_back(name.str() + ".mean");
            c.inout.push_back(name.str() + ".var");
          }
    fns.push_back(std::move(c));
  }
  llvm::Expected<std::string> tu =
      mlir::knet::rewriteSource(ast, fns, fr.generated);
  if (!tu) {
    llvm::errs() << llvm::toString(tu.takeError()) << "\n";
    fr.stageFailed = true;
    return;
  }
  fr.tu = std::move(*tu);
}

class LowerConsumer : public ASTConsumer {
public:
  LowerConsumer(mlir::MLIRContext &ctx, std::vector<FileResult> &results,
                std::string file)
      : ctx(ctx), results(results), file(std::move(file)) {}
  void HandleTranslationUnit(ASTContext &ast) override {
    if (ast.getDiagnostics().hasErrorOccurred())
      return; // Clang said why; the AST is not trustworthy.
    FileResult &fr = results.emplace_back();
    fr.file = file;
    fr.result =
        mlir::knet::frontend::lowerTranslationUnit(ast, ctx, testInvalidIR);
    if ((stage != "ir" || explaining || checkCuda) && !fr.result.hadError &&
        fr.result.module)
      runLaterStages(ast, fr);
  }

private:
  mlir::MLIRContext &ctx;
  std::vector<FileResult> &results;
  std::string file;
};

class LowerAction : public ASTFrontendAction {
public:
  LowerAction(mlir::MLIRContext &ctx, std::vector<FileResult> &results)
      : ctx(ctx), results(results) {}
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &,
                                                 StringRef file) override {
    return std::make_unique<LowerConsumer>(ctx, results, file.str());
  }

private:
  mlir::MLIRContext &ctx;
  std::vector<FileResult> &results;
};

class LowerActionFactory : public FrontendActionFactory {
public:
  LowerActionFactory(mlir::MLIRContext &ctx, std::vector<FileResult> &results)
      : ctx(ctx), results(results) {}
  std::unique_ptr<FrontendAction> create() override {
    return std::make_unique<LowerAction>(ctx, results);
  }

private:
  mlir::MLIRContext &ctx;
  std::vector<FileResult> &results;
};

/// Adds what `knetc model.cpp` needs to just work: C++20, Clang's resource
/// directory, the knet runtime headers when no include dir was given.
ArgumentsAdjuster defaultsAdjuster(std::string resourceDir) {
  return [resourceDir](const CommandLineArguments &args, StringRef) {
    CommandLineArguments out = args;
    bool hasStd = false, hasResource = false, hasInclude = false;
    for (const std::string &a : args) {
      StringRef s(a);
      hasStd |= s.starts_with("-std=") || s.starts_with("--std");
      hasResource |= s.starts_with("-resource-dir");
      hasInclude |= s.starts_with("-I") || s.starts_with("-isystem") ||
                    s.starts_with("-iquote");
    }
    // After argv[0]: the input is C++ whatever its extension.
    if (!out.empty())
      out.insert(out.begin() + 1, "-xc++");
    if (!hasStd)
      out.push_back("-std=c++20");
    if (!hasResource && !resourceDir.empty())
      out.push_back("-resource-dir=" + resourceDir);
    std::string runtime = KNETC_RUNTIME_INCLUDE_DIR;
    if (!hasInclude && !runtime.empty())
      out.push_back("-I" + runtime);
    // Flags from a GCC build must not stop the parse.
    out.push_back("-Wno-unknown-warning-option");
    out.push_back("-Wno-unused-command-line-argument");
    out.push_back("-Wno-error");
    // Clang measures its stack against its own default (8 MiB); knetc runs
    // on a larger one (main).
    out.push_back("-Wno-stack-exhausted");
    return out;
  };
}

void printExplain(
    llvm::raw_ostream &os, const mlir::knet::frontend::FunctionReport &r,
    const std::map<std::string, std::vector<std::string>> &saved,
    const std::map<std::string, std::vector<std::string>> &fusion) {
  using Status = mlir::knet::frontend::FunctionReport::Status;
  os << r.file << ":" << r.line << ": " << r.name << ": ";
  switch (r.status) {
  case Status::Compiled: {
    os << "compiled statically\n";
    if (auto f = fusion.find(r.symbol); f != fusion.end())
      for (const std::string &line : f->second)
        os << "  " << line << "\n";
    auto it = saved.find(r.symbol);
    if (it != saved.end()) {
      os << "  saved for the reverse sweep: " << it->second.size()
         << (it->second.size() == 1 ? " value" : " values") << "\n";
      for (const std::string &e : it->second)
        os << "    " << e << "\n";
    }
    break;
  }
  case Status::Tape:
    os << "stays on the tape: " << r.reasonFile << ":" << r.reasonLine << ": "
       << r.reason << "\n";
    for (const auto &more : r.moreReasons)
      os << "  and: " << more.file << ":" << more.line << ": " << more.why
         << "\n";
    break;
  case Status::Error:
    os << "error (see the diagnostics)\n";
    break;
  }
}

} // namespace

/// knetc proper, run on a thread with a large stack (main below).
int run(int argc, const char **argv) {
  // Everything after `--` is compiler flags.
  std::string dbError;
  std::unique_ptr<CompilationDatabase> db =
      FixedCompilationDatabase::loadFromCommandLine(argc, argv, dbError);
  cl::HideUnrelatedOptions(knetcCategory);
  if (!cl::ParseCommandLineOptions(
          argc, argv,
          "knetc: compiles the KNET_COMPILE functions of C++ models\n",
          &llvm::errs()))
    return 1;
  if (inputFiles.empty()) {
    llvm::errs() << "knetc: error: no input files (knetc [options] "
                    "<file.cpp>... [-- <compiler flags>])\n";
    return 1;
  }
  explaining = explain;
  stage = !emit.empty() ? std::string(emit) : (outputFile != "-" ? "tu" : "ir");
  if (stage != "ir" && stage != "ir-grad" && stage != "ir-opt" &&
      stage != "cpp" && stage != "cuda" && stage != "tu") {
    llvm::errs() << "knetc: error: --emit=" << stage
                 << " is not available (ir, ir-grad, ir-opt, cpp, cuda, tu)\n";
    return 1;
  }
  if (stage == "tu" && inputFiles.size() != 1) {
    llvm::errs() << "knetc: error: the rewritten translation unit (-o) "
                    "takes one input file\n";
    return 1;
  }
  // --check-cuda alone prints nothing but its verdict.
  bool emitIr = emit == "ir" ||
                (!explain && !(checkCuda && emit.empty() && outputFile == "-"));
  for (const std::string &f : inputFiles) {
    if (!llvm::sys::fs::exists(f)) {
      llvm::errs() << "knetc: error: no such file: '" << f << "'\n";
      return 1;
    }
    if (llvm::sys::fs::is_directory(f)) {
      llvm::errs() << "knetc: error: '" << f << "' is a directory\n";
      return 1;
    }
  }
  if (!buildPath.empty()) {
    if (db) {
      llvm::errs() << "knetc: error: give either -p <build dir> or "
                      "-- <flags>, not both\n";
      return 1;
    }
    db = CompilationDatabase::loadFromDirectory(buildPath, dbError);
    if (!db) {
      llvm::errs() << "knetc: error: " << dbError << "\n";
      return 1;
    }
  }
  if (!db)
    db = std::make_unique<FixedCompilationDatabase>(".",
                                                    std::vector<std::string>());

  mlir::DialectRegistry registry;
  mlir::knet::frontend::registerDialects(registry);
  mlir::func::registerInlinerExtension(registry);
  mlir::MLIRContext ctx(registry, mlir::MLIRContext::Threading::DISABLED);

  std::vector<FileResult> results;
  int rc = 1;
  {
    ClangTool tool(*db, inputFiles);
    tool.appendArgumentsAdjuster(defaultsAdjuster(findResourceDir(argv[0])));
    LowerActionFactory factory(ctx, results);
    llvm::CrashRecoveryContext crc;
    if (!crc.RunSafely([&] { rc = tool.run(&factory); })) {
      llvm::errs() << "knetc: error: internal error (a crash) while reading "
                      "the input; please report it with the file\n";
      return 1;
    }
  }

  std::error_code ec;
  auto out = std::make_unique<llvm::ToolOutputFile>(outputFile, ec,
                                                    llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "knetc: error: " << outputFile << ": " << ec.message()
                 << "\n";
    return 1;
  }
  bool hadError = rc != 0;
  for (FileResult &fr : results) {
    hadError |= fr.result.hadError || fr.stageFailed;
    if (fr.result.reports.empty())
      llvm::errs() << "knetc: note: '" << fr.file
                   << "' has no KNET_COMPILE function\n";
    if (explain)
      for (const auto &r : fr.result.reports)
        printExplain(out->os(), r, fr.saved, fr.fusion);
  }
  if (emitIr && !hadError) {
    mlir::OpPrintingFlags flags;
    if (printLocs)
      flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false)
          .useLocalScope();
    for (FileResult &fr : results) {
      if (results.size() > 1)
        out->os() << "// knetc: " << fr.file << "\n";
      if (stage == "cpp")
        out->os() << fr.generated;
      else if (stage == "cuda")
        out->os() << fr.cuda;
      else if (stage == "tu")
        out->os() << fr.tu;
      else {
        fr.result.module->print(out->os(), flags);
        out->os() << "\n";
      }
    }
  }
  if (hadError)
    return 1;
  out->keep();
  return 0;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) // clang
#define KNETC_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(KNETC_ASAN)
/// In the sanitizer build (make test-sanitize), knetc runs without the leak
/// check: Clang never frees strings it keeps in AST-owned memory
/// (DependentDiagnostic, template deduction failures), and ASan's fast
/// unwinder cannot tell those from knetc's own through Clang's frames, which
/// have no frame pointers. ASan and UBSan still check every knetc run; the
/// runtime, knet-opt and the compiled programs keep the leak check.
extern "C" const char *__asan_default_options() { return "detect_leaks=0"; }
#endif

#ifndef KNETC_NO_MAIN // (tests/fuzz/fuzz_knetc.cpp calls run itself)
/// The depth of the user's expressions and statements becomes recursion in
/// Clang's Sema and in knetc's walks: knetc runs on a thread with a 1 GiB
/// stack (reserved, not committed), enough for the nesting limits knetc
/// states (frontend: kMaxNesting), like Clang's own runWithSufficientStack.
int main(int argc, const char **argv) {
  llvm::CrashRecoveryContext::Enable();
  int rc = 1;
  llvm::thread worker(std::optional<unsigned>(1u << 30),
                      [&] { rc = run(argc, argv); });
  worker.join();
  return rc;
}
#endif
