//===- LowerStmt.cpp - Statements -----------------------------------------===//
//
// Statements: declarations, return, if, switch, the three loops (one
// implementation of their carried variables) and the jumps out of them
// (one analysis, jumpsOut): break, continue and early return set i1
// flags, and what follows a statement that may jump runs under
// scf.if (!flag).
//
//===----------------------------------------------------------------------===//

#include "LoweringImpl.h"

#include "llvm/ADT/ScopeExit.h"

#include <functional>

namespace mlir::knet::frontend {

// Statements
//===----------------------------------------------------------------------===//

namespace {
/// The walker of jumpsOut: loops are levels for break and continue, a
/// switch for break only.
struct JumpWalker : RecursiveASTVisitor<JumpWalker> {
  JumpInfo j;
  int loops = 0, switches = 0;
  bool TraverseForStmt(ForStmt *s) { return nested(s, loops); }
  bool TraverseWhileStmt(WhileStmt *s) { return nested(s, loops); }
  bool TraverseDoStmt(DoStmt *s) { return nested(s, loops); }
  bool TraverseCXXForRangeStmt(CXXForRangeStmt *s) { return nested(s, loops); }
  bool TraverseSwitchStmt(SwitchStmt *s) { return nested(s, switches); }
  bool TraverseLambdaExpr(LambdaExpr *) { return true; }
  bool nested(Stmt *s, int &depth) {
    ++depth;
    for (Stmt *c : s->children())
      if (c)
        TraverseStmt(c);
    --depth;
    return true;
  }
  bool VisitBreakStmt(BreakStmt *) {
    j.breaks |= loops == 0 && switches == 0;
    return true;
  }
  bool VisitContinueStmt(ContinueStmt *) {
    j.continues |= loops == 0;
    return true;
  }
  bool VisitReturnStmt(ReturnStmt *) {
    j.returns = true;
    return true;
  }
};
} // namespace

JumpInfo jumpsOut(const Stmt *s) {
  JumpWalker w;
  w.TraverseStmt(const_cast<Stmt *>(s));
  return w.j;
}

/// Whether `s` may leave the statement list early: a return (in flag mode),
/// or a break/continue of the innermost loop or switch.
bool FunctionLowering::mayExit(const Stmt *s) {
  JumpInfo j = jumpsOut(s);
  return (j.returns && fns.back().flagMode) ||
         ((j.breaks || j.continues) && !fns.back().loops.empty());
}

Value FunctionLowering::notExited(Location l) {
  FnCtx &fc = fns.back();
  llvm::SmallVector<Value> flags;
  if (fc.flagMode && env.count(fc.retFlag))
    flags.push_back(env[fc.retFlag].v);
  if (!fc.loops.empty()) {
    if (const void *k = fc.loops.back().brk; k && env.count(k))
      flags.push_back(env[k].v);
    if (const void *k = fc.loops.back().cont; k && env.count(k))
      flags.push_back(env[k].v);
  }
  if (flags.empty())
    return constBool(l, true);
  Value any = flags.front();
  for (Value f : llvm::drop_begin(flags))
    any = b.create<mlir::arith::OrIOp>(l, any, f);
  return notOf(l, any);
}

bool FunctionLowering::lowerStmts(llvm::ArrayRef<const Stmt *> stmts,
                                  bool survey) {
  using Status = FunctionReport::Status;
  // What a statement reads and what it declares (keys of the environment).
  struct Refs : RecursiveASTVisitor<Refs> {
    FunctionLowering *self = nullptr;
    llvm::SmallPtrSet<const void *, 8> read, declared;
    bool VisitDeclRefExpr(DeclRefExpr *d) {
      read.insert(self->resolve(d->getDecl()));
      return true;
    }
    bool VisitVarDecl(VarDecl *v) {
      declared.insert(v);
      return true;
    }
  };
  // survey: the reasons found so far, and what blocked statements assign.
  std::vector<FunctionReport::Reason> reasons;
  llvm::SmallPtrSet<const void *, 8> blocked;
  // After a statement stays on the tape: records why and goes on (false:
  // an error, or not surveying).
  auto recover = [&] {
    if (!survey || fs.report.status != Status::Tape)
      return false;
    reasons.push_back(
        {fs.report.reasonFile, fs.report.reasonLine, fs.report.reason});
    // The failed statement may have left the builder inside one of its
    // regions; the function is not compiled, its IR is dropped.
    stopped = false;
    b.setInsertionPointToEnd(&fs.func.getBody().front());
    return true;
  };
  for (size_t i = 0; i < stmts.size(); ++i) {
    const Stmt *s = stmts[i];
    Refs refs;
    refs.self = this;
    if (survey)
      refs.TraverseStmt(const_cast<Stmt *>(s));
    auto block = [&] {
      assignedIn(s, blocked);
      blocked.insert(refs.declared.begin(), refs.declared.end());
    };
    if (!reasons.empty() && llvm::any_of(refs.read, [&](const void *k) {
          return blocked.contains(k);
        })) {
      block(); // depends on a blocked statement: not examined
      continue;
    }
    if (!lowerStmt(s)) {
      if (!recover())
        return false;
      block();
      continue;
    }
    if (fns.back().returned || isa<ReturnStmt, BreakStmt, ContinueStmt>(s))
      break; // the rest is dead
    if (i + 1 < stmts.size() && mayExit(s)) {
      // The rest runs under a flag, lowered as one (no further survey).
      Location l = loc(stmts[i + 1]);
      Value go = notExited(l);
      if (!structuredIf(
              l, go, [&] { return lowerStmts(stmts.drop_front(i + 1)); },
              nullptr) &&
          !recover())
        return false;
      break;
    }
  }
  if (reasons.empty())
    return true;
  stopped = true;
  fs.report.status = Status::Tape;
  fs.report.reasonFile = reasons.front().file;
  fs.report.reasonLine = reasons.front().line;
  fs.report.reason = reasons.front().why;
  fs.report.moreReasons.assign(reasons.begin() + 1, reasons.end());
  return false;
}

bool FunctionLowering::lowerStmt(const Stmt *s) {
  if (stopped)
    return false;
  std::optional<Nesting> control;
  if (isa<IfStmt, ForStmt, WhileStmt, DoStmt, CXXForRangeStmt, SwitchStmt>(s)) {
    control.emplace(controlDepth);
    if (!nest(controlDepth, kMaxControlNesting, s->getBeginLoc(),
              "conditionals and loops"))
      return false;
  }
  if (const auto *cs = dyn_cast<CompoundStmt>(s)) {
    Scope scope(*this);
    llvm::SmallVector<const Stmt *> list(cs->body().begin(), cs->body().end());
    return lowerStmts(list, /*survey=*/s == topBody);
  }
  if (const auto *ds = dyn_cast<DeclStmt>(s)) {
    for (const Decl *d : ds->decls()) {
      if (const auto *vd = dyn_cast<VarDecl>(d)) {
        if (!lowerDecl(vd))
          return false;
      } else if (!isa<TypedefNameDecl, UsingDecl, StaticAssertDecl>(d)) {
        return tape(d->getLocation(), "unsupported local declaration"), false;
      }
    }
    return true;
  }
  if (const auto *r = dyn_cast<ReturnStmt>(s))
    return lowerReturn(r);
  if (const auto *i = dyn_cast<IfStmt>(s))
    return lowerIf(i);
  if (const auto *w = dyn_cast<WhileStmt>(s)) {
    if (w->getConditionVariable())
      return tape(w->getBeginLoc(), "a declaration in a while condition"),
             false;
    return lowerWhile(w, w->getCond(), w->getBody(), nullptr, false);
  }
  if (const auto *d = dyn_cast<DoStmt>(s))
    return lowerWhile(d, d->getCond(), d->getBody(), nullptr, true);
  if (const auto *f = dyn_cast<ForStmt>(s))
    return lowerFor(f);
  if (const auto *rf = dyn_cast<CXXForRangeStmt>(s))
    return lowerRangeFor(rf);
  if (isa<BreakStmt>(s) || isa<ContinueStmt>(s)) {
    FnCtx &fc = fns.back();
    if (fc.loops.empty())
      return tape(s->getBeginLoc(), "break outside a loop"), false;
    const void *k =
        isa<BreakStmt>(s) ? fc.loops.back().brk : fc.loops.back().cont;
    if (!k)
      return tape(s->getBeginLoc(), "unsupported jump"), false;
    env[k] = Val(constBool(loc(s), true));
    return true;
  }
  if (isa<NullStmt>(s))
    return true;
  // [[fallthrough]], [[likely]]: the statement they mark.
  if (const auto *as = dyn_cast<AttributedStmt>(s))
    return lowerStmt(as->getSubStmt());
  if (const auto *sw = dyn_cast<SwitchStmt>(s))
    return lowerSwitch(sw);
  if (isa<GotoStmt, LabelStmt, IndirectGotoStmt>(s))
    return tape(s->getBeginLoc(), "goto"), false;
  if (isa<CXXTryStmt>(s))
    return tape(s->getBeginLoc(), "try/catch"), false;
  if (const auto *e = dyn_cast<Expr>(s))
    return lowerExpr(e).has_value();
  return tape(s->getBeginLoc(), llvm::Twine("unsupported statement (") +
                                    s->getStmtClassName() + ")"),
         false;
}

/// switch: each case label sets an `active` flag (the value matched here
/// or at a label before it: fallthrough), `default` matches when no case
/// does, and the statements between labels run under `active` and no
/// break. A break sets the switch's flag, a continue the enclosing loop's.
bool FunctionLowering::lowerSwitch(const SwitchStmt *s) {
  if (s->getConditionVariable())
    return tape(s->getBeginLoc(), "a declaration in a switch condition"), false;
  Scope scope(*this);
  if (const Stmt *init = s->getInit())
    if (!lowerStmt(init))
      return false;
  const Expr *ce = s->getCond();
  Value v = scalar(ce);
  if (!v)
    return false;
  Location l = loc(s);
  // The labels and statements of the body, in order.
  struct Item {
    const Stmt *stmt = nullptr;  // a statement, or
    const Expr *value = nullptr; // case value,
    bool isDefault = false;      // or default
  };
  llvm::SmallVector<Item> items;
  std::function<bool(const Stmt *)> add = [&](const Stmt *st) {
    if (const auto *cs = dyn_cast<CaseStmt>(st)) {
      if (cs->caseStmtIsGNURange())
        return tape(cs->getBeginLoc(), "a case range"), false;
      items.push_back({nullptr, cs->getLHS(), false});
      return add(cs->getSubStmt());
    }
    if (const auto *ds = dyn_cast<DefaultStmt>(st)) {
      items.push_back({nullptr, nullptr, true});
      return add(ds->getSubStmt());
    }
    if (isa<DeclStmt>(st))
      return tape(st->getBeginLoc(),
                  "a declaration between case labels (put it in braces)"),
             false;
    items.push_back({st, nullptr, false});
    return true;
  };
  const Stmt *body = s->getBody();
  if (const auto *cs = dyn_cast<CompoundStmt>(body)) {
    for (const Stmt *st : cs->body())
      if (!add(st))
        return false;
  } else if (!add(body)) {
    return false;
  }
  // Case values as constants of the condition's type.
  Type vt = v.getType();
  llvm::SmallVector<Value> matches;
  llvm::DenseMap<const Expr *, Value> matchOf;
  for (const Item &it : items) {
    if (!it.value)
      continue;
    Expr::EvalResult r;
    if (!it.value->EvaluateAsInt(r, m.ast))
      return tape(it.value->getExprLoc(),
                  "a case value that is not a constant"),
             false;
    Value c = constInt(l, vt, r.Val.getInt().getSExtValue());
    Value eq = b.create<mlir::arith::CmpIOp>(
        loc(it.value), mlir::arith::CmpIPredicate::eq, v, c);
    matches.push_back(eq);
    matchOf[it.value] = eq;
  }
  FnCtx &fc = fns.back();
  LoopCtx lc;
  lc.brk = newKey();
  env[lc.brk] = Val(constBool(l, false));
  if (!fc.loops.empty())
    lc.cont = fc.loops.back().cont;
  const void *active = newKey();
  env[active] = Val(constBool(l, false));
  fc.loops.push_back(lc);
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });
  for (size_t i = 0; i < items.size();) {
    const Item &it = items[i];
    if (!it.stmt) {
      Value match;
      if (it.isDefault) {
        Value any = constBool(l, false);
        for (Value mv : matches)
          any = b.create<mlir::arith::OrIOp>(l, any, mv);
        match = notOf(l, any);
      } else {
        match = matchOf[it.value];
      }
      env[active] = Val(b.create<mlir::arith::OrIOp>(l, env[active].v, match));
      ++i;
      continue;
    }
    // The statements up to the next label.
    llvm::SmallVector<const Stmt *> run;
    for (; i < items.size() && items[i].stmt; ++i)
      run.push_back(items[i].stmt);
    Location rl = loc(run.front());
    Value go = b.create<mlir::arith::AndIOp>(rl, env[active].v, notExited(rl));
    if (!structuredIf(
            rl, go, [&] { return lowerStmts(run); }, nullptr))
      return false;
  }
  return true;
}

bool FunctionLowering::lowerDecl(const VarDecl *vd) {
  if (vd->isStaticLocal())
    return tape(vd->getLocation(),
                "static local variable '" + vd->getNameAsString() + "'"),
           false;
  QualType t = vd->getType();
  Location l = loc(vd->getLocation());
  // References bind to what they refer to.
  if (t->isReferenceType() && vd->getInit()) {
    const Expr *init = strip(vd->getInit());
    if (const auto *dr = dyn_cast<DeclRefExpr>(init))
      if (isa<VarDecl>(dr->getDecl()) && env.count(resolve(dr->getDecl()))) {
        aliases[vd] = resolve(dr->getDecl());
        return true;
      }
  }
  if (!vd->getInit()) {
    // Default-initialized: a placeholder (reading it is the user's bug).
    Result p = placeholderVal(l, t, vd->getLocation());
    if (!p)
      return false;
    env[vd] = *p;
    return true;
  }
  llvm::SmallVector<Type> types;
  std::string why;
  const auto *rd = t->getAsCXXRecordDecl();
  if (!(rd && rd->isLambda()) && !m.flattenType(t, types, why))
    return tape(vd->getLocation(),
                "local '" + vd->getNameAsString() + "': " + why),
           false;
  Result v = lowerExpr(vd->getInit());
  if (!v)
    return false;
  v->v = convertCxx(l, v->v, vd->getInit()->getType(), t);
  env[vd] = *v;
  // auto [a, b] = ...: each name is an element (pair, tuple, struct).
  if (const auto *dd = dyn_cast<DecompositionDecl>(vd)) {
    if (!v->isStruct() || v->fields.size() != dd->bindings().size())
      return tape(vd->getLocation(), "a structured binding of a value that "
                                     "is not a pair, tuple or struct"),
             false;
    for (auto [i, bd] : llvm::enumerate(dd->bindings()))
      env[bd] = v->fields[i];
  }
  return true;
}

bool FunctionLowering::lowerReturn(const ReturnStmt *r) {
  FnCtx &fc = fns.back();
  Val v;
  if (const Expr *e = r->getRetValue()) {
    Result x = lowerExpr(e);
    if (!x)
      return false;
    v = *x;
    v.v = convertCxx(loc(r), v.v, e->getType(), fc.fn->getReturnType());
  }
  if (!fc.flagMode) {
    fc.simpleRet = v;
    fc.returned = true;
    return true;
  }
  if (fc.retVal) {
    // Keep the slot's types.
    llvm::SmallVector<Value> have, want;
    leaves(env[fc.retVal], want);
    leaves(v, have);
    if (have.size() != want.size())
      return tape(r->getBeginLoc(), "unsupported return value"), false;
    for (size_t i = 0; i < have.size(); ++i)
      have[i] = coerce(loc(r), have[i], want[i].getType());
    llvm::ArrayRef<Value> it = have;
    env[fc.retVal] = rebuild(env[fc.retVal], it);
  }
  env[fc.retFlag] = Val(constBool(loc(r), true));
  return true;
}

bool FunctionLowering::structuredIf(Location l, Value cond,
                                    llvm::function_ref<bool()> thenBody,
                                    llvm::function_ref<bool()> elseBody) {
  Env before = env;
  auto ifOp = b.create<mlir::scf::IfOp>(l, mlir::TypeRange{}, cond,
                                        /*withElseRegion=*/true);
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  bool ok;
  {
    Scope scope(*this);
    ok = thenBody();
  }
  if (!ok)
    return false;
  Env thenEnv = env;
  env = before;
  b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  if (elseBody) {
    Scope scope(*this);
    ok = elseBody();
  }
  if (!ok)
    return false;
  Env elseEnv = env;
  env = before;
  // The variables either branch changed.
  llvm::SmallVector<const void *> keys;
  for (auto &kv : before) {
    auto t = thenEnv.find(kv.first), e = elseEnv.find(kv.first);
    bool changed = (t != thenEnv.end() && !sameLeaves(t->second, kv.second)) ||
                   (e != elseEnv.end() && !sameLeaves(e->second, kv.second));
    if (changed)
      keys.push_back(kv.first);
  }
  if (keys.empty()) {
    if (ifOp.elseBlock()->getOperations().size() == 1)
      ifOp.getElseRegion().front().erase();
    b.setInsertionPointAfter(ifOp);
    return true;
  }
  llvm::SmallVector<Value> thenVals, elseVals;
  for (const void *k : keys) {
    leaves(thenEnv.count(k) ? thenEnv[k] : before[k], thenVals);
    leaves(elseEnv.count(k) ? elseEnv[k] : before[k], elseVals);
  }
  llvm::SmallVector<Type> types;
  for (size_t i = 0; i < thenVals.size(); ++i) {
    Type a = thenVals[i].getType(), c = elseVals[i].getType();
    if (a == c)
      types.push_back(a);
    else if (isTensorT(a) && isTensorT(c))
      types.push_back(m.tensorType(cast<mlir::TensorType>(a).getElementType()));
    else
      types.push_back(a);
  }
  auto yieldIn = [&](mlir::Block *block, llvm::SmallVectorImpl<Value> &vals) {
    b.setInsertionPoint(block->getTerminator());
    for (size_t i = 0; i < vals.size(); ++i)
      vals[i] = coerce(l, vals[i], types[i]);
    mlir::Operation *term = block->getTerminator();
    b.create<mlir::scf::YieldOp>(term->getLoc(), vals);
    term->erase();
  };
  yieldIn(ifOp.thenBlock(), thenVals);
  yieldIn(ifOp.elseBlock(), elseVals);
  b.setInsertionPoint(ifOp);
  auto newIf = b.create<mlir::scf::IfOp>(l, types, cond, false, false);
  newIf.getThenRegion().takeBody(ifOp.getThenRegion());
  newIf.getElseRegion().takeBody(ifOp.getElseRegion());
  ifOp.erase();
  llvm::SmallVector<Value> results(newIf.getResults());
  llvm::ArrayRef<Value> rit = results;
  for (const void *k : keys)
    env[k] = rebuild(before[k], rit);
  b.setInsertionPointAfter(newIf);
  return true;
}

bool FunctionLowering::lowerIf(const IfStmt *s) {
  if (s->getConditionVariable() || s->getInit())
    return tape(s->getBeginLoc(), "a declaration in an if condition"), false;
  if (s->isConsteval())
    return tape(s->getBeginLoc(), "if consteval"), false;
  if (s->isConstexpr()) {
    bool v;
    if (!s->getCond()->EvaluateAsBooleanCondition(v, m.ast))
      return tape(s->getBeginLoc(), "if constexpr condition"), false;
    const Stmt *taken = v ? s->getThen() : s->getElse();
    return taken ? lowerStmt(taken) : true;
  }
  Value c = scalar(s->getCond());
  if (!c)
    return false;
  Location l = loc(s);
  c = convertScalar(l, c, m.i1());
  const Stmt *elseS = s->getElse();
  return structuredIf(
      l, c, [&] { return lowerStmt(s->getThen()); },
      elseS ? llvm::function_ref<bool()>([&] { return lowerStmt(elseS); })
            : llvm::function_ref<bool()>());
}

/// The variables (keys) a statement may assign.
void FunctionLowering::assignedIn(const Stmt *s,
                                  llvm::SmallPtrSetImpl<const void *> &keys) {
  struct Finder : RecursiveASTVisitor<Finder> {
    llvm::SmallPtrSetImpl<const void *> *keys;
    FunctionLowering *self;
    void target(const Expr *e) {
      e = strip(e);
      while (true) {
        if (const auto *me = dyn_cast<MemberExpr>(e)) {
          e = strip(me->getBase());
          continue;
        }
        if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(e);
            oc && oc->getOperator() == OO_Subscript) {
          e = strip(oc->getArg(0));
          continue;
        }
        break;
      }
      if (const auto *dr = dyn_cast<DeclRefExpr>(e))
        keys->insert(self->resolve(dr->getDecl()));
      else if (isa<CXXThisExpr>(e) && self->fns.back().thisKey)
        keys->insert(self->resolve(self->fns.back().thisKey));
    }
    bool VisitBinaryOperator(BinaryOperator *bo) {
      if (bo->isAssignmentOp())
        target(bo->getLHS());
      return true;
    }
    bool VisitUnaryOperator(UnaryOperator *uo) {
      if (uo->isIncrementDecrementOp())
        target(uo->getSubExpr());
      return true;
    }
    llvm::SmallPtrSet<const Stmt *, 4> lambdaBodies;
    bool VisitCallExpr(CallExpr *c) {
      const FunctionDecl *fn = c->getDirectCallee();
      if (!fn)
        return true;
      // A lambda writes the variables it captures by reference where it
      // is called.
      if (const auto *md = dyn_cast<CXXMethodDecl>(fn);
          md && md->getParent()->isLambda() && md->getDefinition() &&
          md->getDefinition()->getBody() &&
          lambdaBodies.insert(md->getDefinition()->getBody()).second)
        TraverseStmt(md->getDefinition()->getBody());
      unsigned first = 0;
      if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(c)) {
        if (isa<CXXMethodDecl>(fn)) {
          first = 1;
          if (!cast<CXXMethodDecl>(fn)->isConst())
            target(oc->getArg(0));
        }
      }
      if (const auto *mc = dyn_cast<CXXMemberCallExpr>(c))
        if (mc->getMethodDecl() && !mc->getMethodDecl()->isConst() &&
            mc->getImplicitObjectArgument())
          target(mc->getImplicitObjectArgument());
      for (unsigned i = first; i < c->getNumArgs(); ++i) {
        unsigned p = i - first;
        if (p < fn->getNumParams()) {
          QualType pt = fn->getParamDecl(p)->getType();
          if (pt->isReferenceType() &&
              !pt.getNonReferenceType().isConstQualified())
            target(c->getArg(i));
        }
      }
      return true;
    }
  } f;
  f.keys = &keys;
  f.self = this;
  f.TraverseStmt(const_cast<Stmt *>(s));
}

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

FunctionLowering::Carried
FunctionLowering::carry(Location l, llvm::ArrayRef<const Stmt *> parts,
                        llvm::ArrayRef<const void *> also) {
  llvm::SmallPtrSet<const void *, 8> assigned;
  for (const Stmt *p : parts)
    if (p)
      assignedIn(p, assigned);
  Carried c(l);
  for (auto &kv : env)
    if (assigned.contains(kv.first) || llvm::is_contained(also, kv.first))
      c.keys.push_back(kv.first);
  // Carried values are unranked tensors (the loop may change their shape).
  for (const void *k : c.keys) {
    llvm::SmallVector<Value> vs;
    leaves(env[k], vs);
    for (Value &v : vs)
      v = unranked(l, v);
    llvm::ArrayRef<Value> it = vs;
    env[k] = rebuild(env[k], it);
  }
  for (const void *k : c.keys)
    leaves(env[k], c.inits);
  for (Value v : c.inits)
    c.types.push_back(v.getType());
  c.outer = env;
  return c;
}

bool FunctionLowering::carriedRegion(
    mlir::Block *block, const Carried &c, llvm::function_ref<bool()> body,
    llvm::function_ref<void(llvm::ArrayRef<Value>)> terminate) {
  b.setInsertionPointToEnd(block);
  env = c.outer;
  llvm::ArrayRef<Value> args(block->args_begin(), block->args_end());
  args = args.take_back(c.inits.size());
  for (const void *k : c.keys)
    env[k] = rebuild(c.outer.lookup(k), args);
  Env entry = env;
  bool ok;
  {
    Scope scope(*this);
    ok = body();
  }
  if (!ok)
    return false;
  // Everything changed must be carried.
  for (auto &kv : entry) {
    if (llvm::is_contained(c.keys, kv.first))
      continue;
    auto it = env.find(kv.first);
    if (it != env.end() && !sameLeaves(it->second, kv.second))
      return tape(SourceLocation(),
                  "internal: a variable changed in a loop was not carried"),
             false;
  }
  llvm::SmallVector<Value> yields;
  for (const void *k : c.keys)
    leaves(env[k], yields);
  for (size_t i = 0; i < yields.size(); ++i)
    yields[i] = coerce(c.loc, yields[i], c.types[i]);
  if (terminate)
    terminate(yields);
  else
    b.create<mlir::scf::YieldOp>(c.loc, yields);
  return true;
}

void FunctionLowering::rebindAfter(mlir::Operation *loop, const Carried &c) {
  env = c.outer;
  llvm::SmallVector<Value> results(loop->getResults());
  llvm::ArrayRef<Value> it = results;
  for (const void *k : c.keys)
    env[k] = rebuild(c.outer.lookup(k), it);
  b.setInsertionPointAfter(loop);
}

bool FunctionLowering::forLoop(Location l, Value lb, Value ub, Value step,
                               const Carried &c,
                               llvm::function_ref<bool(Value)> body) {
  auto forOp = b.create<mlir::scf::ForOp>(l, lb, ub, step, c.inits);
  mlir::Block *block = forOp.getBody();
  // The builder made a yield when there are no iter_args.
  if (!block->empty())
    block->getTerminator()->erase();
  if (!carriedRegion(block, c, [&] { return body(forOp.getInductionVar()); }))
    return false;
  rebindAfter(forOp, c);
  return true;
}

bool FunctionLowering::lowerWhile(const Stmt *loop, const Expr *cond,
                                  const Stmt *body, const Stmt *inc,
                                  bool isDo) {
  Location l = loc(loop);
  FnCtx &fc = fns.back();
  JumpInfo j = jumpsOut(body);
  LoopCtx lc;
  if (j.breaks) {
    lc.brk = newKey();
    env[lc.brk] = Val(constBool(l, false));
  }
  if (j.continues)
    lc.cont = newKey();
  // The break flag and, where the body returns, the return slots are
  // carried with the variables.
  llvm::SmallVector<const void *, 3> also{lc.brk};
  if (j.returns)
    also.append({fc.retFlag, fc.retVal});
  Carried carried = carry(l, {body, cond, inc}, also);

  auto w = b.create<mlir::scf::WhileOp>(l, carried.types, carried.inits);
  llvm::SmallVector<Location> locs(carried.types.size(), l);
  mlir::Block *before = b.createBlock(&w.getBefore(), {}, carried.types, locs);
  mlir::Block *after = b.createBlock(&w.getAfter(), {}, carried.types, locs);
  fc.loops.push_back(lc);
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });

  auto exitFlagsOk = [&](Location cl) -> Value {
    // Not broken out of and not returned.
    llvm::SmallVector<Value> flags;
    if (lc.brk)
      flags.push_back(env[lc.brk].v);
    if (j.returns && fc.flagMode)
      flags.push_back(env[fc.retFlag].v);
    if (flags.empty())
      return {};
    Value any = flags.front();
    for (Value f : llvm::drop_begin(flags))
      any = b.create<mlir::arith::OrIOp>(cl, any, f);
    return notOf(cl, any);
  };
  auto bodyWithCont = [&]() -> bool {
    if (lc.cont)
      env[lc.cont] = Val(constBool(l, false));
    if (!lowerStmt(body))
      return false;
    if (lc.cont)
      env.erase(lc.cont);
    if (inc) {
      Value go = exitFlagsOk(loc(inc));
      if (go)
        return structuredIf(
            loc(inc), go,
            [&] { return lowerExpr(cast<Expr>(inc)).has_value(); }, nullptr);
      return lowerExpr(cast<Expr>(inc)).has_value();
    }
    return true;
  };
  auto condition = [&]() -> Value {
    Value c = scalar(cond);
    if (!c)
      return {};
    Location cl = loc(cond);
    c = convertScalar(cl, c, m.i1());
    if (Value go = exitFlagsOk(cl))
      c = b.create<mlir::arith::AndIOp>(cl, c, go);
    return c;
  };

  Value c;
  if (!carriedRegion(
          before, carried,
          [&] {
            if (isDo && !bodyWithCont())
              return false;
            c = condition();
            return bool(c);
          },
          [&](llvm::ArrayRef<Value> args) {
            b.create<mlir::scf::ConditionOp>(l, c, args);
          }))
    return false;
  if (!carriedRegion(after, carried,
                     [&] { return isDo ? true : bodyWithCont(); }))
    return false;
  rebindAfter(w, carried);
  if (lc.brk)
    env.erase(lc.brk);
  return true;
}

bool FunctionLowering::lowerFor(const ForStmt *s) {
  Scope scope(*this);
  if (s->getConditionVariable())
    return tape(s->getBeginLoc(), "a declaration in a for condition"), false;
  // A counted loop: for (int i = a; i < n; ++i), n invariant, no break or
  // return, i not assigned in the body -> scf.for.
  const VarDecl *iv = nullptr;
  if (const auto *ds = dyn_cast_or_null<DeclStmt>(s->getInit());
      ds && ds->isSingleDecl())
    iv = dyn_cast<VarDecl>(ds->getSingleDecl());
  auto counted = [&]() -> bool {
    if (!iv || !iv->getType()->isIntegerType() || !iv->getInit() ||
        !s->getCond() || !s->getInc())
      return false;
    const auto *cmp =
        dyn_cast<BinaryOperator>(s->getCond()->IgnoreParenImpCasts());
    if (!cmp || (cmp->getOpcode() != BO_LT && cmp->getOpcode() != BO_LE &&
                 cmp->getOpcode() != BO_NE))
      return false;
    const auto *lhs =
        dyn_cast<DeclRefExpr>(cmp->getLHS()->IgnoreParenImpCasts());
    if (!lhs || lhs->getDecl() != iv)
      return false;
    const Expr *inc = s->getInc()->IgnoreParenImpCasts();
    if (const auto *u = dyn_cast<UnaryOperator>(inc)) {
      if (!u->isIncrementOp())
        return false;
      const auto *d =
          dyn_cast<DeclRefExpr>(u->getSubExpr()->IgnoreParenImpCasts());
      if (!d || d->getDecl() != iv)
        return false;
    } else if (const auto *ca = dyn_cast<CompoundAssignOperator>(inc)) {
      const auto *d =
          dyn_cast<DeclRefExpr>(ca->getLHS()->IgnoreParenImpCasts());
      Expr::EvalResult r;
      if (ca->getOpcode() != BO_AddAssign || !d || d->getDecl() != iv ||
          !ca->getRHS()->EvaluateAsInt(r, m.ast) ||
          r.Val.getInt().getSExtValue() <= 0 || cmp->getOpcode() == BO_NE)
        return false;
    } else {
      return false;
    }
    llvm::SmallPtrSet<const void *, 8> assigned;
    assignedIn(s->getBody(), assigned);
    if (assigned.contains(iv))
      return false;
    // The bound reads nothing the body assigns.
    struct Reads : RecursiveASTVisitor<Reads> {
      llvm::SmallPtrSetImpl<const void *> *assigned;
      FunctionLowering *self;
      bool bad = false;
      bool VisitDeclRefExpr(DeclRefExpr *d) {
        bad |= assigned->contains(self->resolve(d->getDecl()));
        return true;
      }
      bool VisitCallExpr(CallExpr *c) {
        // Only size() queries and pure runtime calls in a bound.
        if (const FunctionDecl *f = c->getDirectCallee())
          bad |= !inNamespace(f, "knet") && !inNamespace(f, "std");
        return true;
      }
    } reads;
    reads.assigned = &assigned;
    reads.self = this;
    reads.TraverseStmt(const_cast<Expr *>(cmp->getRHS()));
    if (reads.bad)
      return false;
    JumpInfo j = jumpsOut(s->getBody());
    return !j.breaks && !j.returns;
  };
  if (!counted()) {
    if (s->getInit() && !lowerStmt(s->getInit()))
      return false;
    if (!s->getCond()) {
      // for (;;): a loop on true.
      return tape(s->getBeginLoc(),
                  "a for loop without a condition (write the condition)"),
             false;
    }
    return lowerWhile(s, s->getCond(), s->getBody(), s->getInc(), false);
  }
  Location l = loc(s);
  const auto *cmp = cast<BinaryOperator>(s->getCond()->IgnoreParenImpCasts());
  Value lb = scalar(iv->getInit());
  if (!lb)
    return false;
  lb = convertScalar(l, lb, m.i64(), isUnsignedInt(iv->getInit()->getType()));
  Value ub = scalar(cmp->getRHS());
  if (!ub)
    return false;
  ub = convertScalar(l, ub, m.i64(), isUnsignedInt(cmp->getRHS()->getType()));
  if (cmp->getOpcode() == BO_LE)
    ub = b.create<mlir::arith::AddIOp>(l, ub, constInt(l, m.i64(), 1),
                                       mlir::arith::IntegerOverflowFlags::nsw);
  int64_t stepV = 1;
  if (const auto *ca = dyn_cast<CompoundAssignOperator>(
          s->getInc()->IgnoreParenImpCasts())) {
    Expr::EvalResult r;
    ca->getRHS()->EvaluateAsInt(r, m.ast);
    stepV = r.Val.getInt().getSExtValue();
  }
  Value step = constInt(l, m.i64(), stepV);
  Carried carried = carry(l, {s->getBody()});
  LoopCtx lc;
  if (jumpsOut(s->getBody()).continues)
    lc.cont = newKey();
  fns.back().loops.push_back(lc);
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });
  return forLoop(l, lb, ub, step, carried, [&](Value i) {
    // The loop counts in i64; the variable has its C++ type.
    env[iv] = Val(convertScalar(l, i, m.scalarType(iv->getType())));
    if (lc.cont)
      env[lc.cont] = Val(constBool(l, false));
    bool r = lowerStmt(s->getBody());
    if (lc.cont)
      env.erase(lc.cont);
    return r;
  });
}

bool FunctionLowering::lowerRangeFor(const CXXForRangeStmt *s) {
  Scope scope(*this);
  const Expr *range = s->getRangeInit();
  if (!isTensorList(range->getType()))
    return tape(range->getExprLoc(),
                "loop over a non-tensor container ('" +
                    typeName(range->getType()) +
                    "'); only std::vector<Param> and std::vector<Tensor> "
                    "loops compile"),
           false;
  Result list = listOf(range);
  if (!list)
    return false;
  Location l = loc(s);
  Value n = b.create<kn::ListSizeOp>(l, b.getIndexType(), list->v);
  Value zero = b.create<mlir::arith::ConstantIndexOp>(l, 0);
  Value one = b.create<mlir::arith::ConstantIndexOp>(l, 1);
  const VarDecl *lv = s->getLoopVariable();
  if (JumpInfo j = jumpsOut(s->getBody()); j.breaks || j.continues || j.returns)
    return tape(s->getBeginLoc(),
                "break, continue or return in a range-for loop (write an "
                "index loop)"),
           false;
  Carried carried = carry(l, {s->getBody()});
  fns.back().loops.push_back(LoopCtx());
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });
  Value listV = list->v;
  return forLoop(l, zero, n, one, carried, [&](Value i) {
    env[lv] = Val(b.create<kn::ListGetOp>(
        loc(lv->getLocation()),
        cast<kn::ListType>(listV.getType()).getElementType(), listV, i));
    return lowerStmt(s->getBody());
  });
}

} // namespace mlir::knet::frontend
