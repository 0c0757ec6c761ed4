//===- MatchActivation.cpp - Activations found by their algebra -----------===//
//
// GELU reaches the CPU backend in as many spellings as there are exporters:
// x * 0.5 * (1 + erf(x * 0.7071)), 0.5 * x * (1 + erf(x / 1.4142)), the tanh
// approximation with x * x * x or pow(x, 3), constants folded or not. The run
// of ops is evaluated symbolically to a polynomial in x and t, where t is the
// one erf or tanh of the run (itself of a polynomial in x), and compared with
// the normal forms
//   erf:  0.5 x + 0.5 x t,  t = erf(x / sqrt(2))
//   tanh: 0.5 x + 0.5 x t,  t = tanh(sqrt(2/pi) x + sqrt(2/pi) 0.044715 x^3)
// so a body that computes something else (another scale, a missing 0.5, an
// erf of x itself, a second transcendental, a clamp) is not GELU.
//
//===----------------------------------------------------------------------===//

#include "MatchActivation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::lathe;

namespace {

/// Powers of x and of t (0 or 1).
using Monomial = std::pair<int, int>;

/// A polynomial in x and t: like terms combined, no zero coefficient.
struct Poly {
  std::map<Monomial, double> terms;

  static Poly constant(double c) {
    Poly p;
    if (c != 0)
      p.terms[{0, 0}] = c;
    return p;
  }
  static Poly monomial(int xPow, int tPow) {
    Poly p;
    p.terms[{xPow, tPow}] = 1;
    return p;
  }
  std::optional<double> asConstant() const {
    if (terms.empty())
      return 0.0;
    if (terms.size() == 1 && terms.begin()->first == Monomial{0, 0})
      return terms.begin()->second;
    return std::nullopt;
  }
  bool hasT() const {
    return llvm::any_of(terms, [](auto &term) { return term.first.second; });
  }
};

/// Degrees beyond these are no GELU; they bound the work on odd bodies.
constexpr int kMaxXDegree = 8;
constexpr int kMaxTDegree = 1;

Poly add(const Poly &a, const Poly &b, double scaleB = 1) {
  Poly sum = a;
  for (auto &[mono, c] : b.terms) {
    double &slot = sum.terms[mono];
    slot += scaleB * c;
    if (slot == 0)
      sum.terms.erase(mono);
  }
  return sum;
}

std::optional<Poly> mul(const Poly &a, const Poly &b) {
  Poly product;
  for (auto &[ma, ca] : a.terms)
    for (auto &[mb, cb] : b.terms) {
      Monomial m{ma.first + mb.first, ma.second + mb.second};
      if (m.first > kMaxXDegree || m.second > kMaxTDegree)
        return std::nullopt;
      double &slot = product.terms[m];
      slot += ca * cb;
      if (slot == 0)
        product.terms.erase(m);
    }
  return product;
}

std::optional<Poly> power(const Poly &base, int64_t exp) {
  if (exp < 0 || exp > kMaxXDegree)
    return std::nullopt;
  std::optional<Poly> result = Poly::constant(1);
  for (int64_t i = 0; i < exp && result; ++i)
    result = mul(*result, base);
  return result;
}

bool close(double got, double want) {
  return std::abs(got - want) <= 1e-6 * std::abs(want);
}

/// Whether `p` is exactly the terms `want` (coefficients up to rounding).
bool samePoly(const Poly &p, ArrayRef<std::pair<Monomial, double>> want) {
  if (p.terms.size() != want.size())
    return false;
  for (auto &[mono, c] : want) {
    auto it = p.terms.find(mono);
    if (it == p.terms.end() || !close(it->second, c))
      return false;
  }
  return true;
}

/// The symbolic value of one run.
class RunAlgebra {
public:
  explicit RunAlgebra(Value x) { values[x] = Poly::monomial(1, 0); }

  /// The polynomial of `v`: x, a run result or a float constant.
  std::optional<Poly> get(Value v) const {
    auto it = values.find(v);
    if (it != values.end())
      return it->second;
    FloatAttr attr;
    if (matchPattern(v, m_Constant(&attr)))
      return Poly::constant(attr.getValueAsDouble());
    return std::nullopt;
  }

  /// Evaluates `op`; false if it is not one the algebra knows.
  bool eval(Operation *op) {
    if (isa<arith::ConstantOp>(op))
      return true; // Read where it is used.
    if (op->getNumResults() != 1)
      return false;
    SmallVector<Poly, 3> args;
    for (Value operand : op->getOperands()) {
      if (!isa<FloatType>(operand.getType()))
        continue; // The exponent of fpowi, read by its case.
      std::optional<Poly> p = get(operand);
      if (!p)
        return false;
      args.push_back(std::move(*p));
    }
    std::optional<Poly> result =
        llvm::TypeSwitch<Operation *, std::optional<Poly>>(op)
            .Case([&](arith::AddFOp) { return add(args[0], args[1]); })
            .Case([&](arith::SubFOp) { return add(args[0], args[1], -1); })
            .Case([&](arith::NegFOp) { return add(Poly(), args[0], -1); })
            .Case([&](arith::MulFOp) { return mul(args[0], args[1]); })
            .Case([&](arith::DivFOp) -> std::optional<Poly> {
              std::optional<double> d = args[1].asConstant();
              if (!d || *d == 0)
                return std::nullopt;
              return add(Poly(), args[0], 1 / *d);
            })
            .Case([&](math::FmaOp) -> std::optional<Poly> {
              std::optional<Poly> p = mul(args[0], args[1]);
              if (!p)
                return std::nullopt;
              return add(*p, args[2]);
            })
            .Case([&](math::PowFOp) -> std::optional<Poly> {
              std::optional<double> e = args[1].asConstant();
              if (!e || *e != std::floor(*e))
                return std::nullopt;
              return power(args[0], static_cast<int64_t>(*e));
            })
            .Case([&](math::FPowIOp powi) -> std::optional<Poly> {
              APInt e;
              if (!matchPattern(powi.getRhs(), m_ConstantInt(&e)))
                return std::nullopt;
              return power(args[0], e.getSExtValue());
            })
            .Case<math::ErfOp, math::TanhOp>(
                [&](Operation *) -> std::optional<Poly> {
                  // One transcendental, of a polynomial in x alone.
                  if (transcendental || args[0].hasT())
                    return std::nullopt;
                  transcendental = op;
                  argument = args[0];
                  return Poly::monomial(0, 1);
                })
            .Default([](Operation *) { return std::nullopt; });
    if (!result)
      return false;
    values[op->getResult(0)] = std::move(*result);
    return true;
  }

  Operation *transcendental = nullptr;
  Poly argument;

private:
  llvm::DenseMap<Value, Poly> values;
};

} // namespace

std::optional<ActivationMatch>
mlir::lathe::matchGeluRun(ArrayRef<Operation *> ops, Value x) {
  // The run: ops whose operands are x, constants and results of the run.
  llvm::SmallPtrSet<Operation *, 16> run;
  auto inRun = [&](Value v) {
    Operation *def = v.getDefiningOp();
    return v == x || (def && run.contains(def)) ||
           matchPattern(v, m_Constant());
  };
  size_t length = 0;
  Operation *last = nullptr;
  for (Operation *op : ops) {
    if (op->getNumRegions() != 0 || !llvm::all_of(op->getOperands(), inRun))
      break;
    run.insert(op);
    ++length;
    if (!isa<arith::ConstantOp>(op))
      last = op;
  }
  if (!last || last->getNumResults() != 1)
    return std::nullopt;
  // Every intermediate value stays inside the run.
  for (Operation *op : ops.take_front(length)) {
    if (op == last || isa<arith::ConstantOp>(op))
      continue;
    for (Operation *user : op->getUsers())
      if (!run.contains(user))
        return std::nullopt;
  }

  RunAlgebra algebra(x);
  for (Operation *op : ops.take_front(length))
    if (!algebra.eval(op))
      return std::nullopt;
  std::optional<Poly> result = algebra.get(last->getResult(0));
  if (!result || !algebra.transcendental)
    return std::nullopt;
  // 0.5 x (1 + t).
  if (!samePoly(*result, {{{1, 0}, 0.5}, {{1, 1}, 0.5}}))
    return std::nullopt;
  StringRef name;
  if (isa<math::ErfOp>(algebra.transcendental)) {
    if (!samePoly(algebra.argument, {{{1, 0}, M_SQRT1_2}}))
      return std::nullopt;
    name = "gelu";
  } else {
    double k = std::sqrt(2 / M_PI);
    if (!samePoly(algebra.argument, {{{1, 0}, k}, {{3, 0}, k * 0.044715}}))
      return std::nullopt;
    name = "gelu_tanh";
  }
  return ActivationMatch{name, last->getResult(0), length};
}
