//===- Device.cpp - Device descriptions of the accelerator target ---------===//

#include "lathe/Target/Accel/Device.h"

#include "lathe/Dialect/Lathe/LatheOps.h"
#include "lathe/Interfaces/Target.h"
#include "lathe/Target/Accel/IR/AccelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <type_traits>
#include <variant>

using namespace mlir;
using namespace mlir::lathe;
using ::lathe::accel::Device;

namespace {
/// A number of a device description: the section of the JSON description
/// holding it ("" for the top level), its key there, and the member of Device
/// it sets; the module attribute's key is "<section>_<key>". `derived`
/// numbers are not in the JSON (it gives them in other units: hbm).
struct DeviceNumber {
  const char *section;
  const char *key;
  std::variant<int64_t Device::*, double Device::*> member;
  bool required = true;
  bool positive = true;
  bool derived = false;
};

const DeviceNumber kDeviceNumbers[] = {
    {"", "clock_ghz", &Device::clockGHz},
    {"mme", "count", &Device::mmeCount},
    {"mme", "rows", &Device::mmeRows},
    {"mme", "cols", &Device::mmeCols},
    {"mme", "f32_rate", &Device::mmeF32Rate},
    {"mme", "fill_cycles", &Device::mmeFillCycles, false, false},
    {"tpc", "count", &Device::tpcCount},
    {"tpc", "simd_bytes", &Device::tpcSimdBytes},
    {"tpc", "local_memory_bytes", &Device::tpcLocalMemoryBytes},
    {"tpc", "startup_cycles", &Device::tpcStartupCycles, false, false},
    {"tpc", "softmax_ops_per_element", &Device::tpcSoftmaxOpsPerElement, false},
    {"tpc", "layernorm_ops_per_element", &Device::tpcLayerNormOpsPerElement,
     false},
    {"tpc", "transcendental_ops", &Device::tpcTranscendentalOps, false, false},
    {"sram", "bytes", &Device::sramBytes},
    {"hbm", "bytes", &Device::hbmBytes},
    {"hbm", "bytes_per_cycle", &Device::hbmBytesPerCycle, true, true, true},
    {"hbm", "latency_cycles", &Device::hbmLatencyCycles, true, true, true},
    {"dma", "count", &Device::dmaCount},
    {"dma", "bytes_per_cycle", &Device::dmaBytesPerCycle},
    {"sparse", "macs_per_cycle", &Device::sparseMacsPerCycle},
    {"sparse", "startup_cycles", &Device::sparseStartupCycles, false, false},
};

std::string attrKey(const DeviceNumber &number) {
  return *number.section ? std::string(number.section) + "_" + number.key
                         : std::string(number.key);
}

/// Reads the fields of one JSON object, remembering which keys were used so
/// unknown keys (typos) are reported.
class Section {
public:
  Section(const llvm::json::Object *object, std::string path,
          std::string &error)
      : object(object), path(std::move(path)), error(error) {}

  /// Reads `key` into `out` (a double, or an int64_t that must be integral);
  /// a missing key that is not `required` leaves `out` alone.
  template <typename T>
  bool read(llvm::StringRef key, T &out, bool required = true,
            bool positive = true) {
    used.insert(key.str());
    const llvm::json::Value *v = object->get(key);
    if (!v) {
      if (required)
        return fail(key, "is missing");
      return true;
    }
    std::optional<double> d = v->getAsNumber();
    if (!d || !std::isfinite(*d))
      return fail(key, "must be a number");
    if (positive ? *d <= 0 : *d < 0)
      return fail(key, positive ? "must be positive" : "must not be negative");
    if (std::is_integral_v<T> && *d != std::floor(*d))
      return fail(key, "must be an integer");
    out = static_cast<T>(*d);
    return true;
  }
  /// Reads the section's numbers of kDeviceNumbers into `d`, in order.
  bool readNumbers(llvm::StringRef section, Device &d) {
    for (const DeviceNumber &number : kDeviceNumbers)
      if (section == number.section && !number.derived &&
          !std::visit(
              [&](auto member) {
                return read(number.key, d.*member, number.required,
                            number.positive);
              },
              number.member))
        return false;
    return true;
  }
  bool noUnknownKeys() {
    for (const auto &kv : *object)
      if (!used.count(kv.first.str()))
        return fail(kv.first, "is not a known key");
    return true;
  }
  bool fail(llvm::StringRef key, llvm::StringRef what) {
    error =
        "'" + path + (path.empty() ? "" : ".") + key.str() + "' " + what.str();
    return false;
  }
  void use(llvm::StringRef key) { used.insert(key.str()); }

private:
  const llvm::json::Object *object;
  std::string path;
  std::string &error;
  std::set<std::string> used;
};
} // namespace

bool mlir::lathe::parseAccelDevice(llvm::StringRef json, Device &d,
                                   std::string &error) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed) {
    error = "not valid JSON: " + llvm::toString(parsed.takeError());
    return false;
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) {
    error = "the description must be a JSON object";
    return false;
  }
  Section top(root, "", error);
  top.use("comment");
  top.use("name");
  if (auto name = root->getString("name"))
    d.name = name->str();
  if (!top.readNumbers("", d))
    return false;
  // A section: its numbers, then `more` (its other keys), then no unknown
  // key. An optional section that is not an object is passed over.
  auto section = [&](llvm::StringRef key, bool required,
                     llvm::function_ref<bool(Section &)> more) {
    top.use(key);
    const llvm::json::Object *o = root->getObject(key);
    if (!o)
      return !required ||
             top.fail(key, root->get(key) ? "must be an object" : "is missing");
    Section s(o, key.str(), error);
    return s.readNumbers(key, d) && more(s) && s.noUnknownKeys();
  };
  auto nothingMore = [](Section &) { return true; };
  if (!section("mme", true, [](Section &s) {
        s.use("element_types");
        return true;
      }))
    return false;
  if (d.mmeF32Rate > 1) {
    error = "'mme.f32_rate' must be at most 1 (f32 is never faster than bf16)";
    return false;
  }
  double bytesPerSecond = 0, latencyNs = 0;
  if (!section("tpc", true, nothingMore) ||
      !section("sram", true, nothingMore) ||
      !section("hbm", true, [&](Section &s) {
        return s.read("bytes_per_second", bytesPerSecond) &&
               s.read("latency_ns", latencyNs, true, false);
      }))
    return false;
  d.hbmBytesPerCycle = bytesPerSecond / (d.clockGHz * 1e9);
  d.hbmLatencyCycles =
      static_cast<int64_t>(std::llround(latencyNs * d.clockGHz));
  return section("dma", true, nothingMore) &&
         section("sparse", false, nothingMore) && top.noUnknownKeys();
}

bool mlir::lathe::loadAccelDevice(llvm::StringRef path, Device &device,
                                  std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = "cannot read device description '" + path.str() +
            "': " + buffer.getError().message();
    return false;
  }
  if (!parseAccelDevice((*buffer)->getBuffer(), device, error)) {
    error = "device description '" + path.str() + "': " + error;
    return false;
  }
  return true;
}

DictionaryAttr mlir::lathe::accelDeviceToAttr(MLIRContext *ctx,
                                              const Device &d) {
  Builder b(ctx);
  SmallVector<NamedAttribute> attrs;
  attrs.push_back(b.getNamedAttr("name", b.getStringAttr(d.name)));
  attrs.push_back(b.getNamedAttr("mme_element_type",
                                 b.getStringAttr(d.mmeBf16 ? "bf16" : "f32")));
  for (const DeviceNumber &number : kDeviceNumbers) {
    Attribute value = std::visit(
        [&](auto member) -> Attribute {
          if constexpr (std::is_integral_v<std::decay_t<decltype(d.*member)>>)
            return b.getI64IntegerAttr(d.*member);
          else
            return b.getF64FloatAttr(d.*member);
        },
        number.member);
    attrs.push_back(b.getNamedAttr(attrKey(number), value));
  }
  return b.getDictionaryAttr(attrs);
}

Device mlir::lathe::accelDeviceFromAttr(DictionaryAttr attr) {
  Device d;
  if (auto name = attr.getAs<StringAttr>("name"))
    d.name = name.str();
  if (auto type = attr.getAs<StringAttr>("mme_element_type"))
    d.mmeBf16 = type.getValue() == "bf16";
  for (const DeviceNumber &number : kDeviceNumbers)
    std::visit(
        [&](auto member) {
          Attribute value = attr.get(attrKey(number));
          if constexpr (std::is_integral_v<std::decay_t<decltype(d.*member)>>) {
            if (auto v = dyn_cast_or_null<IntegerAttr>(value))
              d.*member = v.getInt();
          } else if (auto v = dyn_cast_or_null<FloatAttr>(value)) {
            d.*member = v.getValueAsDouble();
          }
        },
        number.member);
  return d;
}

DictionaryAttr mlir::lathe::getAccelDeviceAttr(ModuleOp module) {
  TargetAttrInterface target = getAttachedTarget(module);
  if (!target || !target.getTargetTables())
    return nullptr;
  return dyn_cast_or_null<DictionaryAttr>(
      target.getTargetTables().get(kAccelDeviceTable));
}

void mlir::lathe::setAccelDeviceAttr(ModuleOp module, DictionaryAttr device,
                                     DictionaryAttr sparseGCN) {
  MLIRContext *ctx = module.getContext();
  Builder b(ctx);
  StringRef name = "accel";
  if (auto n = dyn_cast_or_null<StringAttr>(device.get("name")))
    name = n.getValue();
  int64_t threads = 0;
  ArrayAttr features = b.getArrayAttr({});
  NamedAttrList tables;
  if (auto attached =
          dyn_cast_or_null<TargetAttr>(module->getAttr(kTargetAttrName))) {
    name = attached.getName();
    threads = attached.getThreads();
    if (attached.getFeatures())
      features = attached.getFeatures();
    if (attached.getTables())
      tables.append(attached.getTables().getValue());
  }
  tables.set(kAccelDeviceTable, device);
  if (sparseGCN)
    tables.set(kAccelSparseGCNTable, sparseGCN);
  module->setAttr(kTargetAttrName, TargetAttr::get(ctx, name, threads, features,
                                                   tables.getDictionary(ctx)));
}

DictionaryAttr mlir::lathe::accelSparseGCNTable(MLIRContext *ctx,
                                                const Device &d) {
  using ::lathe::accel::hbmCycles;
  if (d.sparseMacsPerCycle <= 0)
    return nullptr;
  Builder b(ctx);
  // Cycles to GFLOP/s of useful work (2 flops per MAC) and to microseconds.
  auto gflops = [&](double flops, double cycles) {
    return flops * d.clockGHz / std::max(1e-9, cycles);
  };
  auto micros = [&](double cycles) { return cycles / (d.clockGHz * 1e3); };
  SmallVector<double> gemm, local, overhead, scattered;
  for (int64_t f : kAccelGcnWidths) {
    // A non-zero on the sparse engine: its MACs, or its value and column
    // index (8 bytes) from HBM when that is slower.
    double perNnz = std::max(double(f) / d.sparseMacsPerCycle,
                             8.0 / std::max(1e-9, d.hbmBytesPerCycle));
    scattered.push_back(gflops(2.0 * f, perNnz));
  }
  for (int64_t t : kAccelGcnTileSizes) {
    for (auto [w, f] : llvm::enumerate(kAccelGcnWidths)) {
      // Every non-empty tile: the sparse engine's start-up, or loading its
      // T x F block of X when that is slower (a dense tile loads it too).
      double tileCost =
          std::max<double>(d.sparseStartupCycles, hbmCycles(d, t * f * 4));
      // A dense tile: T x T times T x F on the matrix engines (spread over
      // them), or loading the adjacency block and X's when that is slower.
      ::lathe::accel::Op tile;
      tile.kind = ::lathe::accel::OpKind::MmeMatmul;
      tile.m = t;
      tile.n = f;
      tile.k = t;
      tile.f32 = !d.mmeBf16;
      double dense = std::max(double(::lathe::accel::tileCycles(d, tile)) /
                                  double(std::max<int64_t>(1, d.mmeCount)),
                              double(hbmCycles(d, (t * t + t * f) * 4)));
      // (At least a cycle: a dense tile that costs no more than o is
      // always cheaper on the matrix engines.)
      gemm.push_back(
          gflops(2.0 * double(t * t * f), std::max(1.0, dense - tileCost)));
      local.push_back(scattered[w]);
      overhead.push_back(micros(tileCost));
    }
  }
  return b.getDictionaryAttr({
      b.getNamedAttr("tile_sizes", b.getDenseI64ArrayAttr(kAccelGcnTileSizes)),
      b.getNamedAttr("widths", b.getDenseI64ArrayAttr(kAccelGcnWidths)),
      b.getNamedAttr("gemm_gflops", b.getDenseF64ArrayAttr(gemm)),
      b.getNamedAttr("spmm_local_gflops", b.getDenseF64ArrayAttr(local)),
      // The sparse engine's rate does not depend on where X's rows lie:
      // resident = streamed.
      b.getNamedAttr("spmm_resident_gflops", b.getDenseF64ArrayAttr(scattered)),
      b.getNamedAttr("spmm_streamed_gflops", b.getDenseF64ArrayAttr(scattered)),
      b.getNamedAttr("cache_bytes", b.getI64IntegerAttr(d.sramBytes)),
      b.getNamedAttr("tile_overhead_us", b.getDenseF64ArrayAttr(overhead)),
      // Simulated costs carry no measurement noise to guard against.
      b.getNamedAttr("safety_margin", b.getF64FloatAttr(1.0)),
  });
}

bool mlir::lathe::buildAccelProgram(Operation *program,
                                    ::lathe::accel::Program &out,
                                    std::string &error) {
  using namespace ::lathe::accel;
  out.ops.clear();
  llvm::DenseMap<Value, int> index;
  for (Operation &op : program->getRegion(0).front()) {
    ::lathe::accel::Op sim;
    // What every engine op has, then what each kind adds.
    auto common = [&](auto o, OpKind kind) {
      sim.kind = kind;
      sim.tiles = o.getTiles();
      std::optional<uint64_t> group = o.getGroup();
      sim.group = group ? static_cast<int>(*group) : -1;
      std::optional<StringRef> source = o.getSource();
      sim.name =
          (op.getName().stripDialect() + (source ? ":" + source->str() : ""))
              .str();
    };
    auto product = [&](auto o, OpKind kind) {
      common(o, kind);
      sim.m = o.getM();
      sim.n = o.getN();
      sim.k = o.getK();
      sim.f32 = o.getElementType() == "f32";
    };
    auto perElement = [&](auto o, OpKind kind) {
      common(o, kind);
      sim.elements = o.getElements();
      sim.opsPerElement = o.getOpsPerElement().convertToDouble();
    };
    auto perRow = [&](auto o, OpKind kind) {
      common(o, kind);
      sim.rows = o.getRows();
      sim.cols = o.getCols();
    };
    if (auto o = dyn_cast<accel::DmaLoadOp>(op)) {
      common(o, OpKind::DmaLoad);
      sim.bytes = o.getBytes();
      sim.buffers = o.getBuffers();
    } else if (auto o = dyn_cast<accel::DmaStoreOp>(op)) {
      common(o, OpKind::DmaStore);
      sim.bytes = o.getBytes();
    } else if (auto o = dyn_cast<accel::MmeMatmulOp>(op)) {
      product(o, OpKind::MmeMatmul);
    } else if (auto o = dyn_cast<accel::TpcMatmulOp>(op)) {
      product(o, OpKind::TpcMatmul);
    } else if (auto o = dyn_cast<accel::TpcElementwiseOp>(op)) {
      perElement(o, OpKind::TpcElementwise);
    } else if (auto o = dyn_cast<accel::TpcReduceOp>(op)) {
      perElement(o, OpKind::TpcReduce);
      if (std::optional<ArrayRef<int64_t>> per = o.getTileElements())
        sim.tileElements.assign(per->begin(), per->end());
    } else if (auto o = dyn_cast<accel::TpcSoftmaxOp>(op)) {
      perRow(o, OpKind::TpcSoftmax);
    } else if (auto o = dyn_cast<accel::TpcLayerNormOp>(op)) {
      perRow(o, OpKind::TpcLayerNorm);
    } else if (auto o = dyn_cast<accel::SparseSpmmOp>(op)) {
      common(o, OpKind::SparseSpMM);
      sim.nnz = o.getNnz();
      sim.cols = o.getCols();
      if (std::optional<ArrayRef<int64_t>> per = o.getTileNnz())
        sim.tileNnz.assign(per->begin(), per->end());
    } else {
      error = "accel.program holds an op the simulator does not know: " +
              op.getName().getStringRef().str();
      return false;
    }
    for (Value dep : op.getOperands()) {
      auto it = index.find(dep);
      if (it == index.end()) {
        error = "an engine op depends on a token defined outside its program";
        return false;
      }
      sim.deps.push_back(it->second);
    }
    index[op.getResult(0)] = static_cast<int>(out.ops.size());
    out.ops.push_back(std::move(sim));
  }
  return true;
}

bool mlir::lathe::buildAccelExec(Operation *program,
                                 ::lathe::accel::Program &sim,
                                 std::vector<::lathe::accel::ExecOp> &execs,
                                 std::vector<AccelBufferInfo> &buffers,
                                 std::string &error) {
  using namespace ::lathe::accel;
  auto prog = cast<accel::ProgramOp>(program);
  if (auto why = prog.getNotExecutable()) {
    error = "the engine program of @" + prog.getFunction().str() +
            " cannot be executed: " + why->str();
    return false;
  }
  ArrayAttr bufs = prog.getBuffersAttr();
  if (!bufs) {
    error = "the engine program of @" + prog.getFunction().str() +
            " has no buffers (timing only)";
    return false;
  }
  buffers.clear();
  for (Attribute a : bufs) {
    auto d = dyn_cast<DictionaryAttr>(a);
    auto elements = d ? d.getAs<IntegerAttr>("elements") : nullptr;
    if (!elements) {
      error = "accel.program: a buffer without 'elements'";
      return false;
    }
    AccelBufferInfo info;
    info.elements = elements.getInt();
    if (auto x = d.getAs<IntegerAttr>("arg"))
      info.arg = static_cast<int>(x.getInt());
    if (auto x = d.getAs<IntegerAttr>("result"))
      info.result = static_cast<int>(x.getInt());
    info.value = d.getAs<ElementsAttr>("value");
    info.integer = d.get("integer") != nullptr;
    buffers.push_back(info);
  }
  auto prim = [](StringRef name, Prim &p) {
    static const std::pair<const char *, Prim> table[] = {
        {"input", Prim::Input},   {"const", Prim::Const},
        {"add", Prim::Add},       {"sub", Prim::Sub},
        {"mul", Prim::Mul},       {"div", Prim::Div},
        {"max", Prim::Max},       {"min", Prim::Min},
        {"neg", Prim::Neg},       {"abs", Prim::Abs},
        {"exp", Prim::Exp},       {"log", Prim::Log},
        {"tanh", Prim::Tanh},     {"erf", Prim::Erf},
        {"sqrt", Prim::Sqrt},     {"rsqrt", Prim::Rsqrt},
        {"select", Prim::Select}, {"cmpgt", Prim::CmpGt},
        {"cmplt", Prim::CmpLt}};
    for (auto &[n, v] : table)
      if (name == n) {
        p = v;
        return true;
      }
    return false;
  };
  execs.clear();
  std::map<int, int> execOfGroup;
  size_t i = 0;
  for (Operation &op : prog.getBody().front()) {
    ::lathe::accel::Op &s = sim.ops[i++];
    if (isa<accel::DmaLoadOp, accel::DmaStoreOp>(op))
      continue;
    auto domain = op.getAttrOfType<DenseI64ArrayAttr>("domain");
    auto accesses = op.getAttrOfType<ArrayAttr>("accesses");
    auto roles = op.getAttrOfType<DictionaryAttr>("roles");
    if (!domain || !accesses || accesses.empty() || !roles) {
      error = s.name + ": no data semantics (domain, accesses, roles)";
      return false;
    }
    ExecOp e;
    e.domain.assign(domain.asArrayRef().begin(), domain.asArrayRef().end());
    if (auto off = op.getAttrOfType<DenseI64ArrayAttr>("domain_offset"))
      e.domainOffset.assign(off.asArrayRef().begin(), off.asArrayRef().end());
    for (auto [j, a] : llvm::enumerate(accesses)) {
      auto v = dyn_cast<DenseI64ArrayAttr>(a);
      int64_t rank = static_cast<int64_t>(e.domain.size());
      if (!v || (v.size() != 3 + rank && v.size() != 5 + rank)) {
        error = s.name + ": an access is not [buffer, offset, loaded, "
                         "strides..., (batch inner count, inner stride)] "
                         "over the domain";
        return false;
      }
      ArrayRef<int64_t> x = v.asArrayRef();
      Access acc;
      acc.buffer = static_cast<int>(x[0]);
      acc.offset = x[1];
      acc.loaded = x[2] != 0;
      acc.strides.assign(x.begin() + 3, x.begin() + 3 + rank);
      if (v.size() == 5 + rank) {
        acc.batchInner = x[3 + rank];
        acc.innerStride = x[4 + rank];
        if (acc.batchInner <= 0) {
          error = s.name + ": a two-level batch access needs a positive "
                           "inner count";
          return false;
        }
      }
      if (j == 0)
        e.output = acc;
      else
        e.inputs.push_back(acc);
    }
    auto role = [&](StringRef name, int &out) {
      if (auto x = roles.getAs<IntegerAttr>(name))
        out = static_cast<int>(x.getInt());
    };
    role("bias", e.bias);
    role("residual", e.residual);
    role("gamma", e.gamma);
    role("beta", e.beta);
    role("init", e.init);
    role("result", e.result);
    if (auto x = roles.getAs<FloatAttr>("alpha"))
      e.alpha = static_cast<float>(x.getValueAsDouble());
    if (auto x = roles.getAs<FloatAttr>("epsilon"))
      e.epsilon = static_cast<float>(x.getValueAsDouble());
    if (auto x = roles.getAs<DenseI64ArrayAttr>("conv")) {
      e.conv.assign(x.asArrayRef().begin(), x.asArrayRef().end());
      if (e.conv.size() != 20) {
        error = s.name + ": a convolution's geometry is not 20 numbers";
        return false;
      }
    }
    if (auto x = roles.getAs<DenseI64ArrayAttr>("csr_row_ptr")) {
      e.csrRowPtr.assign(x.asArrayRef().begin(), x.asArrayRef().end());
      if (auto c = roles.getAs<DenseI64ArrayAttr>("csr_cols"))
        e.csrCols.assign(c.asArrayRef().begin(), c.asArrayRef().end());
      if (auto r = roles.getAs<IntegerAttr>("csr_tile_rows"))
        e.csrTileRows = r.getInt();
    }
    if (auto x = roles.getAs<IntegerAttr>("gather_rows")) {
      e.gatherRows = x.getInt();
      if (auto r = roles.getAs<IntegerAttr>("gather_row_stride"))
        e.gatherRowStride = r.getInt();
      e.gatherWrap = roles.get("gather_wrap") != nullptr;
      if (auto m = roles.getAs<StringAttr>("gather_message")) {
        e.gatherChecked = true;
        e.gatherMessage = m.getValue().str();
      }
    }
    if (Attribute x = roles.get("activation")) {
      auto a = dyn_cast<ActivationAttr>(x);
      if (!a) {
        error = s.name + ": the activation role is not a #lathe<activation "
                         "...> attribute";
        return false;
      }
      using A = ExecOp::Activation;
      switch (a.getValue()) {
      case mlir::lathe::Activation::none:
        e.activation = A::None;
        break;
      case mlir::lathe::Activation::relu:
        e.activation = A::Relu;
        break;
      case mlir::lathe::Activation::gelu:
        e.activation = A::Gelu;
        break;
      case mlir::lathe::Activation::gelu_tanh:
        e.activation = A::GeluTanh;
        break;
      case mlir::lathe::Activation::sigmoid:
        e.activation = A::Sigmoid;
        break;
      case mlir::lathe::Activation::tanh:
        e.activation = A::Tanh;
        break;
      }
    }
    if (auto payload = op.getAttrOfType<ArrayAttr>("payload")) {
      for (Attribute a : payload) {
        SmallVector<StringRef> words;
        cast<StringAttr>(a).getValue().split(words, ' ', -1, false);
        Instr in;
        if (words.empty() || !prim(words[0], in.prim)) {
          error = s.name + ": unknown payload instruction '" +
                  cast<StringAttr>(a).getValue().str() + "'";
          return false;
        }
        if (in.prim == Prim::Const) {
          double v = 0;
          // Infinities are spelled inf / -inf (a max pooling's init).
          if (words.size() == 2 && (words[1] == "inf" || words[1] == "-inf"))
            v = words[1] == "inf" ? std::numeric_limits<double>::infinity()
                                  : -std::numeric_limits<double>::infinity();
          else if (words.size() != 2 || words[1].getAsDouble(v)) {
            error = s.name + ": bad constant in the payload";
            return false;
          }
          in.value = static_cast<float>(v);
        } else {
          int *slots[] = {&in.a, &in.b, &in.c};
          for (size_t w = 1; w < words.size() && w <= 3; ++w)
            if (words[w].getAsInteger(10, *slots[w - 1])) {
              error = s.name + ": bad operand in the payload";
              return false;
            }
        }
        e.payload.push_back(in);
      }
    }
    s.exec = static_cast<int>(execs.size());
    if (s.group >= 0)
      execOfGroup[s.group] = s.exec;
    execs.push_back(std::move(e));
  }
  for (::lathe::accel::Op &s : sim.ops) {
    if (s.kind != OpKind::DmaLoad && s.kind != OpKind::DmaStore)
      continue;
    auto it = execOfGroup.find(s.group);
    if (it == execOfGroup.end()) {
      error = s.name + ": a transfer without a compute op in its group";
      return false;
    }
    s.exec = it->second;
  }
  return true;
}

bool mlir::lathe::parseAccelProgramJson(llvm::StringRef json,
                                        ::lathe::accel::Program &out,
                                        std::string &error) {
  using namespace ::lathe::accel;
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed) {
    error = "not valid JSON: " + llvm::toString(parsed.takeError());
    return false;
  }
  const llvm::json::Object *root = parsed->getAsObject();
  const llvm::json::Array *ops = root ? root->getArray("ops") : nullptr;
  if (!ops) {
    error = "expected an object with an \"ops\" array";
    return false;
  }
  static const std::pair<const char *, OpKind> kinds[] = {
      {"mme_matmul", OpKind::MmeMatmul},
      {"tpc_matmul", OpKind::TpcMatmul},
      {"tpc_elementwise", OpKind::TpcElementwise},
      {"tpc_softmax", OpKind::TpcSoftmax},
      {"tpc_layernorm", OpKind::TpcLayerNorm},
      {"tpc_reduce", OpKind::TpcReduce},
      {"dma_load", OpKind::DmaLoad},
      {"dma_store", OpKind::DmaStore},
      {"sparse_spmm", OpKind::SparseSpMM}};
  out.ops.clear();
  for (auto [i, value] : llvm::enumerate(*ops)) {
    const llvm::json::Object *o = value.getAsObject();
    std::string where = "ops[" + std::to_string(i) + "]";
    if (!o) {
      error = where + " is not an object";
      return false;
    }
    ::lathe::accel::Op op;
    std::optional<llvm::StringRef> kind = o->getString("kind");
    bool known = false;
    for (auto [name, k] : kinds)
      if (kind && *kind == name) {
        op.kind = k;
        known = true;
      }
    if (!known) {
      error = where + ".kind is missing or unknown";
      return false;
    }
    auto integer = [&](llvm::StringRef key, int64_t &field) {
      if (auto v = o->getInteger(key))
        field = *v;
    };
    integer("tiles", op.tiles);
    integer("buffers", op.buffers);
    integer("m", op.m);
    integer("n", op.n);
    integer("k", op.k);
    integer("rows", op.rows);
    integer("cols", op.cols);
    integer("elements", op.elements);
    integer("bytes", op.bytes);
    integer("nnz", op.nnz);
    int64_t group = -1;
    integer("group", group);
    op.group = static_cast<int>(group);
    if (auto v = o->getNumber("ops_per_element"))
      op.opsPerElement = *v;
    if (auto v = o->getString("element_type"))
      op.f32 = *v != "bf16";
    if (auto v = o->getString("name"))
      op.name = v->str();
    if (const llvm::json::Array *deps = o->getArray("deps"))
      for (const llvm::json::Value &d : *deps)
        if (auto v = d.getAsInteger())
          op.deps.push_back(static_cast<int>(*v));
    out.ops.push_back(std::move(op));
  }
  return true;
}
