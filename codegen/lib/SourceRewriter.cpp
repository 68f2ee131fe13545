//===- SourceRewriter.cpp - the *.knet.cpp translation unit ---------------===//

#include "knet/Codegen/SourceRewriter.h"
#include "knet/Codegen/EmitCpp.h"

#include "clang/AST/ASTContext.h"
#include "clang/AST/Decl.h"
#include "clang/AST/DeclCXX.h"
#include "clang/AST/DeclTemplate.h"
#include "clang/AST/QualTypeNames.h"
#include "clang/Basic/SourceManager.h"
#include "clang/Rewrite/Core/Rewriter.h"
#include "llvm/Support/raw_ostream.h"

using namespace clang;

namespace mlir::knet {
namespace {

PrintingPolicy policy(ASTContext &ast) {
  PrintingPolicy p(ast.getLangOpts());
  p.SuppressUnwrittenScope = true; // no "(anonymous namespace)::"
  p.FullyQualifiedName = true;
  return p;
}

std::string typeName(QualType t, ASTContext &ast) {
  return TypeName::getFullyQualifiedName(t, ast, policy(ast),
                                         /*WithGlobalNsPrefix=*/true);
}

/// "R (*)(P1, P2)" with every type fully qualified, so that it names the
/// function from global scope whatever the file's using-directives.
std::string functionPointerType(const FunctionDecl *fd, ASTContext &ast) {
  std::string s = typeName(fd->getReturnType(), ast) + " (*)(";
  for (unsigned i = 0; i < fd->getNumParams(); ++i)
    s += (i ? ", " : "") + typeName(fd->getParamDecl(i)->getType(), ast);
  return s + ")";
}

/// The knet runtime class a type names, if any ("Tensor", "Param").
StringRef knetClass(QualType t) {
  const auto *rd = t.getNonReferenceType()->getAsCXXRecordDecl();
  if (!rd || !rd->getIdentifier())
    return "";
  const auto *ns = dyn_cast<NamespaceDecl>(rd->getDeclContext());
  if (!ns || ns->getName() != "knet")
    return "";
  return rd->getName();
}

/// std::vector or std::array (of Tensors or Params): a list in the ABI.
bool isStdVector(QualType t) {
  const auto *rd = t.getNonReferenceType()->getAsCXXRecordDecl();
  if (!rd)
    return false;
  std::string n = rd->getQualifiedNameAsString();
  return n == "std::vector" || n == "std::array";
}

/// The number of elements of a std::pair or std::tuple, or 0.
unsigned tupleSize(QualType t) {
  const auto *s = dyn_cast_or_null<ClassTemplateSpecializationDecl>(
      t.getNonReferenceType()->getAsCXXRecordDecl());
  if (!s || !s->isInStdNamespace() ||
      (s->getName() != "pair" && s->getName() != "tuple"))
    return 0;
  if (s->getName() == "pair")
    return 2;
  const TemplateArgument &pack = s->getTemplateArgs()[0];
  return pack.getKind() == TemplateArgument::Pack ? pack.pack_size() : 1;
}

/// The type of element i of a std::pair or std::tuple.
QualType tupleElement(QualType t, unsigned i) {
  const auto *s = cast<ClassTemplateSpecializationDecl>(
      t.getNonReferenceType()->getAsCXXRecordDecl());
  const TemplateArgument &a0 = s->getTemplateArgs()[0];
  if (s->getName() == "pair")
    return s->getTemplateArgs()[i].getAsType();
  return a0.getKind() == TemplateArgument::Pack
             ? a0.pack_elements()[i].getAsType()
             : a0.getAsType();
}

/// Appends `flatten_into(knet_in, <expr>)` lines for the leaves of a value
/// of type `t` named by `expr`, in the frontend's order (fields in order).
bool flatten(QualType t, const std::string &expr, llvm::raw_ostream &os) {
  t = t.getNonReferenceType().getUnqualifiedType();
  if (knetClass(t) == "Param") {
    // Named after its path (m.w1) when it has no name.
    os << "  ::knet::detail::flatten_into(knet_in, " << expr << ", \"" << expr
       << "\");\n";
    return true;
  }
  if (!knetClass(t).empty() || isStdVector(t) || t->isArithmeticType()) {
    os << "  ::knet::detail::flatten_into(knet_in, " << expr << ");\n";
    return true;
  }
  if (unsigned n = tupleSize(t)) {
    for (unsigned i = 0; i < n; ++i)
      if (!flatten(tupleElement(t, i),
                   "std::get<" + std::to_string(i) + ">(" + expr + ")", os))
        return false;
    return true;
  }
  const auto *rd = t->getAsCXXRecordDecl();
  if (!rd || !rd->hasDefinition() || rd->getNumBases() > 0)
    return false;
  for (const FieldDecl *f : rd->fields())
    if (!flatten(f->getType(), expr + "." + f->getNameAsString(), os))
      return false;
  return true;
}

/// The C++ expression that rebuilds a result of type `t` from knet_out.
bool rebuild(QualType t, ASTContext &ast, unsigned &next,
             llvm::raw_ostream &os) {
  t = t.getNonReferenceType().getUnqualifiedType();
  StringRef cls = knetClass(t);
  if (cls == "Tensor") {
    os << "knet_out[" << next++ << "]";
    return true;
  }
  if (t->isArithmeticType()) {
    // Integers come back as exact i64 leaves, floats as f32/f64.
    os << "static_cast<" << typeName(t, ast) << ">(knet_out[" << next++
       << "].item<" << (t->isRealFloatingType() ? "double" : "int64_t")
       << ">())";
    return true;
  }
  if (unsigned n = tupleSize(t)) {
    os << typeName(t, ast) << "{";
    for (unsigned i = 0; i < n; ++i) {
      if (i)
        os << ", ";
      if (!rebuild(tupleElement(t, i), ast, next, os))
        return false;
    }
    os << "}";
    return true;
  }
  const auto *rd = t->getAsCXXRecordDecl();
  if (!cls.empty() || !rd || !rd->hasDefinition() || !rd->isAggregate() ||
      rd->getNumBases() > 0)
    return false;
  os << typeName(t, ast) << "{";
  bool first = true;
  for (const FieldDecl *f : rd->fields()) {
    if (!first)
      os << ", ";
    first = false;
    if (!rebuild(f->getType(), ast, next, os))
      return false;
  }
  os << "}";
  return true;
}

} // namespace

llvm::Expected<std::string> rewriteSource(ASTContext &ast,
                                          ArrayRef<CompiledDecl> fns,
                                          StringRef generated) {
  SourceManager &sm = ast.getSourceManager();
  Rewriter rw(sm, ast.getLangOpts());
  FileID main = sm.getMainFileID();
  std::string declarations, registrations;
  llvm::raw_string_ostream decls(declarations), regs(registrations);
  for (const CompiledDecl &c : fns) {
    const FunctionDecl *fd = c.decl;
    const Stmt *body = fd->getBody();
    if (!body || !sm.isWrittenInMainFile(body->getBeginLoc()))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "knetc: cannot rewrite '" +
                                         fd->getQualifiedNameAsString() +
                                         "': its body is not in the main file");
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "{\n  // Compiled by knetc: runs the generated code.\n"
       << "  std::vector<::knet::Tensor> knet_in;\n";
    bool ok = true;
    for (const ParmVarDecl *p : fd->parameters())
      ok &= !p->getName().empty() &&
            flatten(p->getType(), p->getNameAsString(), os);
    os << "  std::vector<::knet::Tensor> knet_out = "
          "::knet::detail::run_compiled(knet_compiled_"
       << c.id << "(), knet_in);\n";
    QualType ret = fd->getReturnType();
    std::string value;
    llvm::raw_string_ostream vs(value);
    unsigned next = 0;
    if (!ret->isVoidType())
      ok &= rebuild(ret, ast, next, vs);
    // Tensor& parameters get their final values (the outputs after the
    // result's).
    for (const std::string &p : c.inout)
      os << "  " << p << " = knet_out[" << next++ << "];\n";
    if (ret->isVoidType())
      os << "  (void)knet_out;\n";
    else
      os << "  return " << value << ";\n";
    os << "}";
    if (!ok)
      continue; // an argument or result the ABI cannot carry: keep the body
    rw.ReplaceText(body->getSourceRange(), text);
    decls << "static const ::knet::detail::CompiledFunction &knet_compiled_"
          << c.id << "();\n";
    std::string name;
    llvm::raw_string_ostream ns(name);
    fd->printQualifiedName(ns, policy(ast));
    regs << "static const bool knet_registered_" << c.id
         << " = (::knet::detail::register_compiled(\n    "
            "reinterpret_cast<const void *>(static_cast<"
         << functionPointerType(fd, ast) << ">(&::" << name
         << ")),\n    &knet_compiled_" << c.id << "()),\n    true);\n";
  }
  std::string head = "// Generated by knetc from this file: the bodies of its "
                     "compiled KNET_COMPILE\n// functions dispatch into the "
                     "generated code at the end.\n"
                     "#include <knet/compiled.h>\n" +
                     declarations + "\n";
  rw.InsertTextBefore(sm.getLocForStartOfFile(main), head);
  std::string tail = "\n// ---- generated by knetc ----\n" + generated.str() +
                     "\n" + registrations;
  rw.InsertTextAfter(sm.getLocForEndOfFile(main), tail);
  const RewriteBuffer *buf = rw.getRewriteBufferFor(main);
  if (!buf)
    return std::string(sm.getBufferData(main));
  return std::string(buf->begin(), buf->end());
}

} // namespace mlir::knet
