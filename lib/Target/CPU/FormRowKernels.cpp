//===- FormRowKernels.cpp - Softmax and layer norm found by their dataflow ===//
//
// A layer norm or a softmax reaches the CPU backend as a handful of
// linalg.generics (sums, maxima, means, exponentials, normalisation),
// spelled in as many ways as there are frontends. This pattern takes an
// element-wise generic and a candidate input row tensor `x` of its backward
// slice and builds, from the ops and operands of the generics in between, a
// symbolic expression of one output element in terms of `x[j]`, per-column
// parameters `g[j]`, row reductions (`rowsum(f)`, `rowmax(f)` over the last
// dimension) and the float constants the IR holds. The expression is brought
// to a normal form (a sum of monomials: `a - b` is `a + (-1) b`, `a / b` is
// `a * b^-1`, `rsqrt(v)` is `sqrt(v)^-1`, `pow(v, 2)` is `v * v`, products
// are multiplied out, constant factors are taken out of row sums:
// `rowsum(f / N) = rowsum(f) / N`) and compared with the normal forms of
//   softmax:    exp(x - rowmax(x)) / rowsum(exp(x - rowmax(x)))
//                                                     -> linalg.softmax
//   layer norm: (x - mean) * sqrt(var + eps)^-1 [* g] [+ b],
//               mean = rowsum(x) / N, var = rowsum((x - mean)^2) / N
//                                                     -> lathe.layer_norm
// where N is the row length and eps the constant term under the square root
// of the generics' own expression (it must be built from constants of the IR
// and be >= 0). Anything else an element's expression holds (min/max clamps,
// extra shifts or scales, reductions over another dimension or of another
// tensor, values that are not constants such as a function argument, ops the
// builder does not know, terms that cancel such as a - a or a / a, which
// hold only for finite non-zero a) makes it differ from both forms, and the
// generics are left alone. Coefficients compare equal up to 1e-6 relative
// (1/N written as an f32 constant). Nothing is evaluated on sample data: what
// decides is the dataflow, so a look-alike that agrees with a softmax on every
// sample but not on all inputs (exp(min(x, 7) - max(x)) / sum) is not
// rewritten.
//
//===----------------------------------------------------------------------===//

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <optional>

using namespace mlir;
using namespace mlir::lathe;

namespace {

//===----------------------------------------------------------------------===//
// Expressions of one output element in normal form
//===----------------------------------------------------------------------===//

struct Atom;
using AtomPtr = std::shared_ptr<const Atom>;

/// `atom ^ exp`; a negative exponent divides.
struct Factor {
  AtomPtr atom;
  int64_t exp;
};

/// `coeff * factors...`, the factors sorted by atom, one per atom.
struct Mono {
  double coeff;
  SmallVector<Factor, 2> factors;
};

/// A sum of monomials in normal form: sorted, like terms combined, no zero
/// coefficient (the empty sum is 0). A constant term sorts last.
struct Poly {
  SmallVector<Mono, 2> terms;
};

/// What an expression is built of besides constants.
enum class AtomKind {
  Input,  // x[j], the candidate input row at the element's column
  Column, // g[j], a per-column parameter (`value`)
  RowSum, // sum over the row of args[0]
  RowMax, // maximum over the row of args[0]
  Exp,    // exp(args[0])
  Sqrt,   // sqrt(args[0])
  Group,  // args[0] as one base, for negative powers of a sum of terms
  Min,    // min(args[0], args[1])
  Max,    // max(args[0], args[1])
};

struct Atom {
  AtomKind kind;
  Value value; // Input and Column.
  SmallVector<Poly, 2> args;
  bool varying; // Differs between the columns of a row.
};

/// Structural order of atoms, factor lists and polynomials (exact on
/// coefficients); it only decides the order of terms, equality up to
/// rounding is `samePoly`.
static int cmpPoly(const Poly &a, const Poly &b);

static int cmpAtom(const Atom &a, const Atom &b) {
  if (&a == &b)
    return 0;
  if (a.kind != b.kind)
    return a.kind < b.kind ? -1 : 1;
  if (a.value != b.value)
    return std::less<const void *>()(a.value.getAsOpaquePointer(),
                                     b.value.getAsOpaquePointer())
               ? -1
               : 1;
  if (a.args.size() != b.args.size())
    return a.args.size() < b.args.size() ? -1 : 1;
  for (auto [x, y] : llvm::zip(a.args, b.args))
    if (int c = cmpPoly(x, y))
      return c;
  return 0;
}

static int cmpFactors(ArrayRef<Factor> a, ArrayRef<Factor> b) {
  for (size_t i = 0, e = std::min(a.size(), b.size()); i < e; ++i) {
    if (int c = cmpAtom(*a[i].atom, *b[i].atom))
      return c;
    if (a[i].exp != b[i].exp)
      return a[i].exp < b[i].exp ? -1 : 1;
  }
  if (a.size() == b.size())
    return 0;
  return a.size() < b.size() ? 1 : -1; // The constant term sorts last.
}

static int cmpPoly(const Poly &a, const Poly &b) {
  if (a.terms.size() != b.terms.size())
    return a.terms.size() < b.terms.size() ? -1 : 1;
  for (auto [x, y] : llvm::zip(a.terms, b.terms)) {
    if (int c = cmpFactors(x.factors, y.factors))
      return c;
    if (x.coeff != y.coeff)
      return x.coeff < y.coeff ? -1 : 1;
  }
  return 0;
}

/// Coefficients equal up to the rounding of f32 constants (1/N written as
/// an f32 constant against 1/N in double).
static bool close(double a, double b) {
  return std::abs(a - b) <= 1e-6 * std::max(std::abs(a), std::abs(b));
}

static bool samePoly(const Poly &a, const Poly &b);

static bool sameAtom(const Atom &a, const Atom &b) {
  if (a.kind != b.kind || a.value != b.value || a.args.size() != b.args.size())
    return false;
  for (auto [x, y] : llvm::zip(a.args, b.args))
    if (!samePoly(x, y))
      return false;
  return true;
}

static bool samePoly(const Poly &a, const Poly &b) {
  if (a.terms.size() != b.terms.size())
    return false;
  for (auto [x, y] : llvm::zip(a.terms, b.terms)) {
    if (!close(x.coeff, y.coeff) || x.factors.size() != y.factors.size())
      return false;
    for (auto [f, g] : llvm::zip(x.factors, y.factors))
      if (f.exp != g.exp || !sameAtom(*f.atom, *g.atom))
        return false;
  }
  return true;
}

static bool isConstant(const Poly &p) {
  return p.terms.empty() || (p.terms.size() == 1 && p.terms[0].factors.empty());
}

static double constantValue(const Poly &p) {
  return p.terms.empty() ? 0.0 : p.terms[0].coeff;
}

static bool isVarying(const Poly &p) {
  for (const Mono &m : p.terms)
    for (const Factor &f : m.factors)
      if (f.atom->varying)
        return true;
  return false;
}

/// Builds expressions in normal form. An operation outside what it models
/// (a non-finite constant, a division by zero, a power that is not a small
/// integer or +-1/2, too many terms) sets `failed`.
class Algebra {
public:
  explicit Algebra(int64_t n) : n(n) {}

  bool failed = false;

  Poly constant(double c) {
    if (!std::isfinite(c)) {
      failed = true;
      return {};
    }
    Poly p;
    if (c != 0)
      p.terms.push_back({c, {}});
    return p;
  }

  Poly atom(AtomKind kind, Value value, SmallVector<Poly, 2> args = {},
            int64_t exp = 1) {
    bool varying = kind == AtomKind::Input || kind == AtomKind::Column;
    if (kind != AtomKind::RowSum && kind != AtomKind::RowMax)
      varying |= llvm::any_of(args, isVarying);
    auto a = std::make_shared<const Atom>(
        Atom{kind, value, std::move(args), varying});
    Poly p;
    p.terms.push_back({1.0, {Factor{std::move(a), exp}}});
    return p;
  }

  Poly add(Poly a, const Poly &b) {
    a.terms.append(b.terms.begin(), b.terms.end());
    normalize(a);
    return a;
  }

  Poly scale(Poly a, double c) {
    if (!std::isfinite(c)) {
      failed = true;
      return {};
    }
    if (c == 0)
      return {};
    for (Mono &m : a.terms)
      m.coeff *= c;
    return a;
  }

  Poly sub(Poly a, const Poly &b) { return add(std::move(a), scale(b, -1.0)); }

  Poly mul(const Poly &a, const Poly &b) {
    if (a.terms.size() * b.terms.size() > kMaxTerms) {
      failed = true;
      return {};
    }
    Poly r;
    for (const Mono &x : a.terms)
      for (const Mono &y : b.terms)
        r.terms.push_back(mulMono(x, y));
    normalize(r);
    return r;
  }

  Poly inverse(const Poly &a) {
    if (a.terms.empty()) {
      failed = true;
      return {};
    }
    if (a.terms.size() == 1) {
      Mono m = a.terms[0];
      m.coeff = 1.0 / m.coeff;
      for (Factor &f : m.factors)
        f.exp = -f.exp;
      return Poly{{m}};
    }
    // c * p with p's first coefficient 1, so that 1 / (2a + 2b) and
    // 0.5 / (a + b) are one form.
    double c = a.terms[0].coeff;
    return scale(atom(AtomKind::Group, {}, {scale(a, 1.0 / c)}, -1), 1.0 / c);
  }

  Poly sqrt(const Poly &a) {
    if (isConstant(a)) {
      double c = constantValue(a);
      if (c < 0) {
        failed = true;
        return {};
      }
      return constant(std::sqrt(c));
    }
    // sqrt(c * p) = sqrt(c) * sqrt(p) for c > 0, p's first coefficient 1.
    double c = a.terms[0].coeff;
    if (c > 0)
      return scale(atom(AtomKind::Sqrt, {}, {scale(a, 1.0 / c)}), std::sqrt(c));
    return atom(AtomKind::Sqrt, {}, {a});
  }

  Poly exp(const Poly &a) {
    if (isConstant(a))
      return constant(std::exp(constantValue(a)));
    return atom(AtomKind::Exp, {}, {a});
  }

  Poly minOrMax(AtomKind kind, Poly a, Poly b) {
    if (isConstant(a) && isConstant(b)) {
      double x = constantValue(a), y = constantValue(b);
      return constant(kind == AtomKind::Min ? std::min(x, y) : std::max(x, y));
    }
    if (cmpPoly(a, b) == 0)
      return a;
    if (cmpPoly(b, a) < 0)
      std::swap(a, b);
    return atom(kind, {}, {std::move(a), std::move(b)});
  }

  /// `a ^ e` for a constant e that is an integer in [-4, 4] or +-1/2.
  Poly pow(const Poly &a, const Poly &e) {
    double k = constantValue(e);
    if (!isConstant(e) || !(std::abs(k) <= 4)) {
      failed = true;
      return {};
    }
    if (k == 0.5)
      return sqrt(a);
    if (k == -0.5)
      return inverse(sqrt(a));
    if (k != std::trunc(k)) {
      failed = true;
      return {};
    }
    Poly r = constant(1.0);
    for (int i = 0; i < static_cast<int>(std::abs(k)); ++i)
      r = mul(r, a);
    return k < 0 ? inverse(r) : r;
  }

  /// The sum over the row of `f`. Constant factors are taken out (sum(x / N)
  /// and sum(x) / N are one form) and a sum of what does not vary along the
  /// row is N times it; nothing else is moved in or out, so the variance
  /// sum((x - mean)^2) / N and sum(x^2) / N - mean^2, different computations
  /// in floating point, stay different forms.
  Poly rowSum(const Poly &f) {
    if (!isVarying(f))
      return scale(f, static_cast<double>(n));
    double c = f.terms[0].coeff;
    return scale(atom(AtomKind::RowSum, {}, {scale(f, 1.0 / c)}), c);
  }

  /// The maximum over the row of `f` (`f` itself when it does not vary).
  Poly rowMax(const Poly &f) {
    if (!isVarying(f))
      return f;
    return atom(AtomKind::RowMax, {}, {f});
  }

private:
  static constexpr size_t kMaxTerms = 64;

  /// The product of two monomials. A factor that cancels (a / a) is not
  /// modelled: a / a is 1 only where a is finite and not 0.
  Mono mulMono(const Mono &x, const Mono &y) {
    Mono r{x.coeff * y.coeff, {}};
    size_t i = 0, j = 0;
    while (i < x.factors.size() || j < y.factors.size()) {
      int c = i == x.factors.size() ? 1
              : j == y.factors.size()
                  ? -1
                  : cmpAtom(*x.factors[i].atom, *y.factors[j].atom);
      if (c < 0) {
        r.factors.push_back(x.factors[i++]);
      } else if (c > 0) {
        r.factors.push_back(y.factors[j++]);
      } else {
        Factor f = x.factors[i++];
        f.exp += y.factors[j++].exp;
        if (f.exp == 0)
          failed = true;
        r.factors.push_back(std::move(f));
      }
    }
    return r;
  }

  /// Sorts the terms and combines like ones. Terms that cancel (a - a) are
  /// not modelled, as a / a is not: a - a is 0 only where a is finite.
  void normalize(Poly &p) {
    llvm::sort(p.terms, [](const Mono &a, const Mono &b) {
      return cmpFactors(a.factors, b.factors) < 0;
    });
    SmallVector<Mono, 2> out;
    for (Mono &m : p.terms) {
      if (!out.empty() && cmpFactors(out.back().factors, m.factors) == 0) {
        double a = out.back().coeff, b = m.coeff, s = a + b;
        if (std::abs(s) <= 1e-6 * std::max(std::abs(a), std::abs(b)))
          failed = true;
        out.back().coeff = s;
        continue;
      }
      out.push_back(std::move(m));
    }
    p.terms = std::move(out);
  }

  int64_t n;
};

/// Evaluates values of a generic's body symbolically, on demand (ops whose
/// results the yield does not need are not looked at). Block arguments are
/// bound to the expressions of the operands; values defined outside the
/// body must be float constants.
class BodyEvaluator {
public:
  BodyEvaluator(Algebra &alg, Block &body) : alg(alg), body(body) {}

  void bind(BlockArgument arg, std::optional<Poly> value) {
    args[arg] = std::move(value);
  }

  std::optional<Poly> eval(Value v, unsigned depth = 0) {
    if (auto it = memo.find(v); it != memo.end())
      return it->second;
    std::optional<Poly> r = compute(v, depth);
    if (alg.failed)
      return std::nullopt;
    if (r)
      memo[v] = *r;
    return r;
  }

private:
  std::optional<Poly> compute(Value v, unsigned depth) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      auto it = args.find(arg);
      if (it == args.end())
        return std::nullopt;
      return it->second;
    }
    FloatAttr attr;
    if (matchPattern(v, m_Constant(&attr)))
      return alg.constant(attr.getValueAsDouble());
    Operation *op = v.getDefiningOp();
    if (!op || op->getBlock() != &body || op->getNumResults() != 1 ||
        depth > 64)
      return std::nullopt;
    SmallVector<Poly, 2> in;
    for (Value operand : op->getOperands()) {
      std::optional<Poly> p = eval(operand, depth + 1);
      if (!p)
        return std::nullopt;
      in.push_back(std::move(*p));
    }
    if (isa<arith::AddFOp>(op))
      return alg.add(in[0], in[1]);
    if (isa<arith::SubFOp>(op))
      return alg.sub(in[0], in[1]);
    if (isa<arith::MulFOp>(op))
      return alg.mul(in[0], in[1]);
    if (isa<arith::DivFOp>(op))
      return alg.mul(in[0], alg.inverse(in[1]));
    if (isa<arith::NegFOp>(op))
      return alg.scale(in[0], -1.0);
    if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
      return alg.minOrMax(AtomKind::Max, in[0], in[1]);
    if (isa<arith::MinimumFOp, arith::MinNumFOp>(op))
      return alg.minOrMax(AtomKind::Min, in[0], in[1]);
    if (isa<math::ExpOp>(op))
      return alg.exp(in[0]);
    if (isa<math::SqrtOp>(op))
      return alg.sqrt(in[0]);
    if (isa<math::RsqrtOp>(op))
      return alg.inverse(alg.sqrt(in[0]));
    if (isa<math::PowFOp>(op))
      return alg.pow(in[0], in[1]);
    // Widening is exact; narrowing is not modelled below f32 (a round trip
    // through f16 quantizes).
    if (isa<arith::ExtFOp>(op) ||
        (isa<arith::TruncFOp>(op) &&
         op->getResult(0).getType().getIntOrFloatBitWidth() >= 32))
      return in[0];
    return std::nullopt;
  }

  Algebra &alg;
  Block &body;
  llvm::DenseMap<Value, std::optional<Poly>> args;
  llvm::DenseMap<Value, Poly> memo;
};

//===----------------------------------------------------------------------===//
// Generics as expressions of one row
//===----------------------------------------------------------------------===//

/// What a tensor holds for one row of the normalised input: a value per
/// column (`Row`: the input and element-wise results), one value (`Scalar`:
/// row statistics) or a per-column parameter shared by all rows (`Column`).
enum class Kind { Row, Scalar, Column };

/// A tensor as an expression of one row.
struct RowExpr {
  Kind kind;
  /// The expression of an element; none for a fill with a non-finite value
  /// (only a max reduction's -inf start may read it).
  std::optional<Poly> poly;
  /// The value of a constant-filled tensor, whatever its shape.
  std::optional<double> fill;
};

/// How a generic's operand is indexed relative to its loops.
enum class Access { Full, RowsOnly, LastOnly, Unsupported };

/// The sizes of `shape` other than 1 (unit dimensions carry no data layout:
/// keep-dims reductions and reshapes that add them are the same rows).
static SmallVector<int64_t> nonUnit(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> dims;
  for (int64_t d : shape)
    if (d != 1)
      dims.push_back(d);
  return dims;
}

/// Classifies `map` of an operand of shape `shape` against `loops`, the
/// generic's loops of size other than 1 in order: operand dimensions of size
/// 1 are ignored (whatever they are indexed with), every other one must be
/// indexed by one of those loops. `full` tells whether the loops include the
/// normalised (last) dimension.
static Access classifyMap(AffineMap map, ArrayRef<int64_t> shape,
                          ArrayRef<unsigned> loops, bool full) {
  SmallVector<unsigned> used;
  for (auto [expr, size] : llvm::zip(map.getResults(), shape)) {
    if (size == 1)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim || !llvm::is_contained(loops, dim.getPosition()))
      return Access::Unsupported;
    used.push_back(dim.getPosition());
  }
  ArrayRef<unsigned> all(loops);
  if (full) {
    if (used == all)
      return Access::Full;
    if (ArrayRef<unsigned>(used) == all.drop_back())
      return Access::RowsOnly;
    if (used.size() == 1 && used[0] == all.back())
      return Access::LastOnly;
  } else if (ArrayRef<unsigned>(used) == all) {
    return Access::RowsOnly;
  }
  return Access::Unsupported;
}

/// `operand` is an init of `generic` whose block argument the body never
/// reads (an element-wise op that overwrites its output).
static bool isUnreadInit(linalg::GenericOp generic, OpOperand &operand) {
  return generic.isDpsInit(&operand) &&
         generic.getMatchingBlockArgument(&operand).use_empty();
}

/// Builds the expressions of the generics that compute a value from one
/// input row.
class RowExprBuilder {
public:
  RowExprBuilder(Algebra &alg, Value input, unsigned rank, int64_t n)
      : alg(alg), input(input), rank(rank), n(n) {}

  /// The expression of `value`; none if it uses anything that is not
  /// modelled (then the value is not a row kernel of `input`).
  std::optional<RowExpr> build(Value value, unsigned depth = 0) {
    if (auto it = cache.find(value); it != cache.end())
      return it->second;
    std::optional<RowExpr> r = compute(value, depth);
    if (alg.failed)
      return std::nullopt;
    if (r)
      cache[value] = *r;
    return r;
  }

  ArrayRef<Value> getColumns() const { return columns.getArrayRef(); }

private:
  std::optional<RowExpr> compute(Value value, unsigned depth) {
    if (value == input)
      return RowExpr{Kind::Row, alg.atom(AtomKind::Input, input), {}};
    if (depth > 16)
      return std::nullopt;
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.getElementType().isF32())
      return std::nullopt;
    if (auto fill = value.getDefiningOp<linalg::FillOp>()) {
      FloatAttr attr;
      if (!matchPattern(fill.getInputs()[0], m_Constant(&attr)))
        return std::nullopt;
      double c = attr.getValueAsDouble();
      std::optional<Poly> poly;
      if (std::isfinite(c))
        poly = alg.constant(c);
      return RowExpr{Kind::Scalar, poly, c};
    }
    // Reshapes that only add or drop unit dimensions keep the same rows.
    Operation *def = value.getDefiningOp();
    if (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def)) {
      Value src = def->getOperand(0);
      auto srcType = dyn_cast<RankedTensorType>(src.getType());
      if (srcType && nonUnit(srcType.getShape()) == nonUnit(type.getShape()))
        return build(src, depth + 1);
    }
    auto generic = value.getDefiningOp<linalg::GenericOp>();
    if (!generic) {
      // A per-column parameter: [N], indexed by the last loop only.
      if (type.getRank() == 1 && type.getDimSize(0) == n) {
        columns.insert(value);
        return RowExpr{Kind::Column, alg.atom(AtomKind::Column, value), {}};
      }
      return std::nullopt;
    }
    return buildGeneric(generic, depth);
  }

  std::optional<RowExpr> buildGeneric(linalg::GenericOp generic,
                                      unsigned depth) {
    if (!generic.hasPureTensorSemantics() || generic.getNumDpsInits() != 1 ||
        generic->getNumResults() != 1)
      return std::nullopt;
    // The loops that are not of size 1, in order; with the normalised
    // dimension they are `rank` many, without it (row statistics) one fewer.
    SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
    SmallVector<unsigned> loops;
    for (auto [i, range] : llvm::enumerate(ranges))
      if (range != 1)
        loops.push_back(i);
    bool full = loops.size() == rank;
    if (!full && loops.size() + 1 != rank)
      return std::nullopt;
    if (full && ranges[loops.back()] != n)
      return std::nullopt;
    // Only the normalised (last non-unit) loop may reduce.
    bool reduction = false;
    for (auto [i, iterator] :
         llvm::enumerate(generic.getIteratorTypesArray())) {
      if (iterator != utils::IteratorType::reduction || ranges[i] == 1)
        continue;
      if (!full || i != loops.back())
        return std::nullopt;
      reduction = true;
    }

    Block &body = generic.getRegion().front();
    BodyEvaluator eval(alg, body);
    SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
    std::optional<RowExpr> init;
    for (auto [opOperand, map] : llvm::zip(generic->getOpOperands(), maps)) {
      // An init whose value the body never reads needs no expression.
      if (isUnreadInit(generic, opOperand))
        continue;
      Value operand = opOperand.get();
      std::optional<RowExpr> e = build(operand, depth + 1);
      if (!e)
        return std::nullopt;
      auto shape = cast<ShapedType>(operand.getType()).getShape();
      Access access = classifyMap(map, shape, loops, full);
      // A constant-filled tensor is one value whatever its shape.
      bool ok = e->fill || (access == Access::Full && e->kind == Kind::Row) ||
                (access == Access::RowsOnly && e->kind == Kind::Scalar) ||
                (access == Access::LastOnly && e->kind == Kind::Column);
      if (!ok)
        return std::nullopt;
      eval.bind(generic.getMatchingBlockArgument(&opOperand), e->poly);
      if (generic.isDpsInit(&opOperand))
        init = e;
    }
    Access outAccess = classifyMap(
        maps.back(),
        cast<ShapedType>(generic->getResult(0).getType()).getShape(), loops,
        full);
    Value yielded = body.getTerminator()->getOperand(0);
    if (full && !reduction) {
      if (outAccess != Access::Full)
        return std::nullopt;
      std::optional<Poly> p = eval.eval(yielded);
      if (!p)
        return std::nullopt;
      return RowExpr{Kind::Row, std::move(*p), {}};
    }
    if (outAccess != Access::RowsOnly)
      return std::nullopt;
    if (!reduction) { // Row statistics only (no normalised dimension).
      std::optional<Poly> p = eval.eval(yielded);
      if (!p)
        return std::nullopt;
      return RowExpr{Kind::Scalar, std::move(*p), {}};
    }
    return buildReduction(generic, eval, yielded, init);
  }

  /// A reduction over the normalised dimension: the body yields
  /// `acc + f` (a row sum) or `max(acc, f)` (a row maximum), where `acc`,
  /// the accumulator, is read nowhere else.
  std::optional<RowExpr> buildReduction(linalg::GenericOp generic,
                                        BodyEvaluator &eval, Value yielded,
                                        const std::optional<RowExpr> &init) {
    if (!init)
      return std::nullopt;
    BlockArgument acc =
        generic.getMatchingBlockArgument(generic.getDpsInitOperand(0));
    Operation *combine = yielded.getDefiningOp();
    if (!combine || combine->getBlock() != acc.getOwner() || !acc.hasOneUse() ||
        !isa<arith::AddFOp, arith::MaximumFOp, arith::MaxNumFOp>(combine))
      return std::nullopt;
    Value f = combine->getOperand(0) == acc   ? combine->getOperand(1)
              : combine->getOperand(1) == acc ? combine->getOperand(0)
                                              : Value();
    if (!f)
      return std::nullopt;
    eval.bind(acc, std::nullopt);
    std::optional<Poly> element = eval.eval(f);
    if (!element)
      return std::nullopt;
    if (isa<arith::AddFOp>(combine)) {
      if (!init->poly)
        return std::nullopt;
      return RowExpr{
          Kind::Scalar, alg.add(*init->poly, alg.rowSum(*element)), {}};
    }
    Poly max = alg.rowMax(*element);
    // Starting from -inf (or the lowest float) is the maximum itself.
    if (init->fill && *init->fill <= -std::numeric_limits<float>::max())
      return RowExpr{Kind::Scalar, std::move(max), {}};
    if (!init->poly)
      return std::nullopt;
    return RowExpr{Kind::Scalar,
                   alg.minOrMax(AtomKind::Max, *init->poly, std::move(max)),
                   {}};
  }

  Algebra &alg;
  Value input;
  unsigned rank;
  int64_t n;
  llvm::SetVector<Value> columns;
  llvm::DenseMap<Value, RowExpr> cache;
};

//===----------------------------------------------------------------------===//
// The two row kernels
//===----------------------------------------------------------------------===//

/// `out` is exp(x - rowmax(x)) / rowsum(exp(x - rowmax(x))).
static bool isSoftmax(Algebra &alg, Value input, const Poly &out) {
  Poly x = alg.atom(AtomKind::Input, input);
  Poly e = alg.exp(alg.sub(x, alg.rowMax(x)));
  Poly softmax = alg.mul(e, alg.inverse(alg.rowSum(e)));
  return !alg.failed && samePoly(out, softmax);
}

struct LayerNormMatch {
  Value gamma, beta; // Null when absent.
  double epsilon;
};

/// `out` is (x - mean) / sqrt(var + eps) [* gamma] [+ beta] with the biased
/// variance over the N columns of the row and a constant eps >= 0, which is
/// read from the constant term under the square root of `out`.
static std::optional<LayerNormMatch> matchLayerNorm(Algebra &alg, Value input,
                                                    const Poly &out,
                                                    ArrayRef<Value> columns,
                                                    int64_t n) {
  if (n < 2)
    return std::nullopt;
  Poly x = alg.atom(AtomKind::Input, input);
  Poly mean = alg.scale(alg.rowSum(x), 1.0 / static_cast<double>(n));
  Poly centred = alg.sub(x, mean);
  Poly var = alg.scale(alg.rowSum(alg.mul(centred, centred)),
                       1.0 / static_cast<double>(n));
  if (alg.failed || var.terms.empty())
    return std::nullopt;
  // Square roots in `out` of c * (var' + eps') with var' of var's terms.
  SmallVector<double> epsilons;
  for (const Mono &m : out.terms) {
    for (const Factor &f : m.factors) {
      if (f.atom->kind != AtomKind::Sqrt)
        continue;
      Poly radicand = f.atom->args[0];
      double constantTerm = 0;
      if (radicand.terms.back().factors.empty()) {
        constantTerm = radicand.terms.back().coeff;
        radicand.terms.pop_back();
      }
      if (radicand.terms.size() != var.terms.size())
        continue;
      // c is 1 up to the rounding of 1/N written in f32: then eps is the
      // constant as written.
      double c = radicand.terms[0].coeff / var.terms[0].coeff;
      double eps = close(c, 1.0) ? constantTerm : constantTerm / c;
      if (!(c > 0) || !std::isfinite(eps) || eps < 0 ||
          llvm::is_contained(epsilons, eps))
        continue;
      epsilons.push_back(eps);
    }
  }
  SmallVector<Value> roles = {Value()};
  roles.append(columns.begin(), columns.end());
  for (double eps : epsilons) {
    Poly normed = alg.mul(
        centred, alg.inverse(alg.sqrt(alg.add(var, alg.constant(eps)))));
    for (Value gamma : roles) {
      for (Value beta : roles) {
        if (gamma && gamma == beta)
          continue;
        Poly y = normed;
        if (gamma)
          y = alg.mul(y, alg.atom(AtomKind::Column, gamma));
        if (beta)
          y = alg.add(y, alg.atom(AtomKind::Column, beta));
        if (alg.failed)
          return std::nullopt;
        if (samePoly(out, y))
          return LayerNormMatch{gamma, beta, eps};
      }
    }
  }
  return std::nullopt;
}

/// An element-wise generic whose expression is a softmax or a layer norm of
/// some row tensor of its backward slice becomes linalg.softmax or
/// lathe.layer_norm.
struct RaiseRowKernel : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op->getNumResults() != 1 ||
        op.getNumParallelLoops() != op.getNumLoops())
      return rewriter.notifyMatchFailure(op, "not element-wise");
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || !type.getElementType().isF32() || type.getRank() < 2 ||
        ShapedType::isDynamic(type.getShape().back()) ||
        type.getShape().back() == 1 ||
        !op.getIndexingMapsArray().back().isIdentity())
      return rewriter.notifyMatchFailure(op, "not a static f32 row tensor");
    // Unit dimensions do not count: rank is that of the rows without them.
    SmallVector<int64_t> rowShape = nonUnit(type.getShape());
    unsigned rank = rowShape.size();
    int64_t n = type.getShape().back();

    // Candidate inputs: row tensors of the result's type that a reduction in
    // the backward slice reads (the data whose statistics are taken).
    SmallVector<Value> candidates;
    SmallVector<Operation *> worklist = {op};
    llvm::SmallPtrSet<Operation *, 16> seen;
    while (!worklist.empty() && seen.size() < 16) {
      Operation *current = worklist.pop_back_val();
      if (!seen.insert(current).second)
        continue;
      // Statistics may reach the output through unit-dim reshapes.
      if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(current)) {
        if (Operation *def = current->getOperand(0).getDefiningOp())
          worklist.push_back(def);
        continue;
      }
      auto generic = dyn_cast<linalg::GenericOp>(current);
      if (!generic)
        continue;
      bool isReduction = generic.getNumReductionLoops() > 0;
      for (Value operand : generic.getDpsInputs()) {
        // The data itself, or it seen through a reshape that only adds or
        // drops unit dimensions (keep-dims reductions).
        Value data = operand;
        Operation *def = operand.getDefiningOp();
        if (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
                def) &&
            def->getOperand(0).getType() == type &&
            nonUnit(cast<ShapedType>(operand.getType()).getShape()) == rowShape)
          data = def->getOperand(0);
        if (isReduction && data.getType() == type &&
            !llvm::is_contained(candidates, data))
          candidates.push_back(data);
        if (Operation *def = operand.getDefiningOp())
          worklist.push_back(def);
      }
    }
    for (Value input : candidates) {
      Algebra alg(n);
      RowExprBuilder builder(alg, input, rank, n);
      std::optional<RowExpr> out = builder.build(op->getResult(0));
      if (!out || out->kind != Kind::Row || !out->poly || alg.failed)
        continue;
      if (isSoftmax(alg, input, *out->poly)) {
        auto softmax = linalg::SoftmaxOp::create(
            rewriter, op.getLoc(), TypeRange{type}, input, op.getDpsInits()[0],
            type.getRank() - 1);
        rewriter.replaceOp(op, softmax->getResults());
        return success();
      }
      std::optional<LayerNormMatch> match =
          matchLayerNorm(alg, input, *out->poly, builder.getColumns(), n);
      if (!match)
        continue;
      auto norm = LayerNormOp::create(
          rewriter, op.getLoc(), TypeRange{type}, input, match->gamma,
          match->beta, op.getDpsInits()[0],
          rewriter.getF32FloatAttr(static_cast<float>(match->epsilon)));
      rewriter.replaceOp(op, norm.getResults());
      return success();
    }
    return rewriter.notifyMatchFailure(op, "computes no known row kernel");
  }
};

} // namespace

void mlir::lathe::populateFormRowKernelPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseRowKernel>(patterns.getContext());
}
