//===- GeluSubgraphs.cpp - PyTorch's GELU subgraphs in an ONNX graph ------===//
//
// PyTorch exports GELU as a subgraph of Div/Mul/Erf/Add (or Tanh and Pow for
// the tanh approximation); the importer finds these before importing any
// node and imports each as one elementwise GELU (importGelu).
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

namespace {
/// A pattern over the graph: a variable (the GELU input), a scalar constant,
/// an operator with operand patterns (Add and Mul commute), or alternatives.
struct Pat {
  enum Kind { Var, Const, Op, Any } kind;
  std::string op;
  double value = 0;
  std::vector<Pat> kids;
};
Pat X() { return {Pat::Var, "", 0, {}}; }
Pat C(double v) { return {Pat::Const, "", v, {}}; }
Pat O(const std::string &op, std::vector<Pat> kids) {
  return {Pat::Op, op, 0, std::move(kids)};
}
Pat AnyOf(std::vector<Pat> kids) { return {Pat::Any, "", 0, std::move(kids)}; }

class GraphIndex {
public:
  explicit GraphIndex(const onnx::GraphProto &g) : graph(g) {
    for (int i = 0; i < g.node_size(); ++i) {
      for (const std::string &o : g.node(i).output())
        producer[o] = i;
      for (const std::string &in : g.node(i).input())
        if (!in.empty())
          ++uses[in];
    }
    for (const auto &o : g.output())
      uses[o.name()] += 2; // graph outputs must stay
    for (const auto &t : g.initializer())
      inits[t.name()] = &t;
  }

  std::optional<double> scalar(const std::string &name) const {
    const onnx::TensorProto *t = nullptr;
    auto p = producer.find(name);
    if (p != producer.end()) {
      const onnx::NodeProto &n = graph.node(p->second);
      if (n.op_type() != "Constant")
        return std::nullopt;
      for (const auto &a : n.attribute()) {
        if (a.name() == "value" && a.has_t())
          t = &a.t();
        if (a.name() == "value_float")
          return a.f();
      }
    } else if (auto it = inits.find(name); it != inits.end()) {
      t = it->second;
    }
    if (!t || t->data_type() != onnx::TensorProto::FLOAT)
      return std::nullopt;
    int64_t n = 1;
    for (int64_t d : t->dims())
      n *= d;
    if (n != 1)
      return std::nullopt;
    if (t->has_raw_data() && t->raw_data().size() == 4) {
      float f;
      std::memcpy(&f, t->raw_data().data(), 4);
      return f;
    }
    if (t->float_data_size() == 1)
      return t->float_data(0);
    return std::nullopt;
  }

  /// Matches `p` against the value `name`; interior nodes go to `interior`.
  bool match(const Pat &p, const std::string &name, std::string &x,
             std::vector<int> &interior) const {
    switch (p.kind) {
    case Pat::Var:
      if (x.empty()) {
        x = name;
        return true;
      }
      return x == name;
    case Pat::Const: {
      std::optional<double> v = scalar(name);
      return v && std::fabs(*v - p.value) <= 1e-4 * std::fabs(p.value);
    }
    case Pat::Any:
      for (const Pat &k : p.kids) {
        std::string x2 = x;
        std::vector<int> in2 = interior;
        if (match(k, name, x2, in2)) {
          x = x2;
          interior = in2;
          return true;
        }
      }
      return false;
    case Pat::Op:
      break;
    }
    auto it = producer.find(name);
    if (it == producer.end())
      return false;
    const onnx::NodeProto &n = graph.node(it->second);
    if (n.op_type() != p.op || !n.domain().empty() ||
        n.input_size() != (int)p.kids.size() || n.output_size() != 1)
      return false;
    // Every interior value is used only inside the pattern (the root's
    // output is checked by the caller).
    if (!interior.empty() && useCount(name) != 1)
      return false;
    auto tryOrder = [&](ArrayRef<int> order) {
      std::string x2 = x;
      std::vector<int> in2 = interior;
      in2.push_back(it->second);
      for (size_t i = 0; i < p.kids.size(); ++i)
        if (!match(p.kids[i], n.input(order[i]), x2, in2))
          return false;
      x = x2;
      interior = in2;
      return true;
    };
    if (p.kids.size() == 1)
      return tryOrder({0});
    if (tryOrder({0, 1}))
      return true;
    return (p.op == "Add" || p.op == "Mul") && tryOrder({1, 0});
  }

  int useCount(const std::string &name) const {
    auto it = uses.find(name);
    return it == uses.end() ? 0 : it->second;
  }

  const onnx::GraphProto &graph;
  std::map<std::string, int> producer;
  std::map<std::string, int> uses;
  std::map<std::string, const onnx::TensorProto *> inits;
};

} // namespace

/// Finds PyTorch's GELU subgraphs: 0.5·x·(1 + erf(x/√2)) and
/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), in the operand orders its
/// exporter uses (and the commuted ones).
void onnx_import::findGelus(const onnx::GraphProto &graph,
                            std::map<int, GeluMatch> &roots,
                            std::set<int> &skipped) {
  GraphIndex index(graph);
  Pat erfArg =
      AnyOf({O("Div", {X(), C(M_SQRT2)}), O("Mul", {X(), C(M_SQRT1_2)})});
  Pat onePlusErf = O("Add", {O("Erf", {erfArg}), C(1.0)});
  Pat x3 =
      AnyOf({O("Mul", {X(), O("Mul", {X(), X()})}),
             O("Mul", {O("Mul", {X(), X()}), X()}), O("Pow", {X(), C(3.0)})});
  Pat tanhArg = O("Mul", {O("Add", {X(), O("Mul", {x3, C(0.044715)})}),
                          C(0.7978845608028654)});
  Pat onePlusTanh = O("Add", {O("Tanh", {tanhArg}), C(1.0)});
  auto forms = [](const Pat &onePlus) {
    return AnyOf({O("Mul", {O("Mul", {X(), onePlus}), C(0.5)}),
                  O("Mul", {O("Mul", {X(), C(0.5)}), onePlus}),
                  O("Mul", {X(), O("Mul", {onePlus, C(0.5)})})});
  };
  Pat erfGelu = forms(onePlusErf), tanhGelu = forms(onePlusTanh);
  const onnx::GraphProto &g = graph;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &n = g.node(i);
    if (n.op_type() != "Mul" || n.output_size() != 1 || skipped.count(i))
      continue;
    for (bool tanhApprox : {false, true}) {
      std::string x;
      std::vector<int> interior;
      if (!index.match(tanhApprox ? tanhGelu : erfGelu, n.output(0), x,
                       interior))
        continue;
      roots[i] = {x, tanhApprox};
      for (int k : interior)
        if (k != i)
          skipped.insert(k);
      break;
    }
  }
}
