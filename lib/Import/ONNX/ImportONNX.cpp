//===- ImportONNX.cpp - ONNX model to func + linalg on tensors ------------===//
//
// The model-level half of the importer: reading and checking the model,
// graph inputs/outputs and initializers, the pre-scan for unsupported
// operators and for PyTorch's GELU subgraphs, and the error boundary.
// OpRegistry.cpp imports the operators one node at a time, through the
// handlers of the Import*.cpp files.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "lathe/Dialect/Lathe/LatheOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <onnx/checker.h>

#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace mlir;
using namespace mlir::lathe;
using namespace mlir::lathe::onnx_import;

//===----------------------------------------------------------------------===//
// Element types and tensor data
//===----------------------------------------------------------------------===//

static const char *onnxTypeName(int t) {
  switch (t) {
  case onnx::TensorProto::FLOAT:
    return "float";
  case onnx::TensorProto::UINT8:
    return "uint8";
  case onnx::TensorProto::INT8:
    return "int8";
  case onnx::TensorProto::UINT16:
    return "uint16";
  case onnx::TensorProto::INT16:
    return "int16";
  case onnx::TensorProto::INT32:
    return "int32";
  case onnx::TensorProto::INT64:
    return "int64";
  case onnx::TensorProto::STRING:
    return "string";
  case onnx::TensorProto::BOOL:
    return "bool";
  case onnx::TensorProto::FLOAT16:
    return "float16";
  case onnx::TensorProto::DOUBLE:
    return "double";
  case onnx::TensorProto::UINT32:
    return "uint32";
  case onnx::TensorProto::UINT64:
    return "uint64";
  case onnx::TensorProto::COMPLEX64:
    return "complex64";
  case onnx::TensorProto::COMPLEX128:
    return "complex128";
  case onnx::TensorProto::BFLOAT16:
    return "bfloat16";
  default:
    return "undefined";
  }
}

/// MLIR element type of an ONNX tensor element type; null when unsupported.
/// uint8 is signless i8 inside @main (arith is signless; the importer uses
/// the unsigned operations for it) and ui8 at its boundary, which is what
/// lathe-run maps to .npy's uint8. Wider unsigned types are not supported.
static Type mlirElementType(MLIRContext *ctx, int t) {
  Builder b(ctx);
  switch (t) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::INT8:
    return b.getIntegerType(8);
  case onnx::TensorProto::UINT8:
    return b.getIntegerType(8);
  case onnx::TensorProto::INT16:
    return b.getIntegerType(16);
  case onnx::TensorProto::INT32:
    return b.getI32Type();
  case onnx::TensorProto::INT64:
    return b.getI64Type();
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

FailureOr<Type> onnx_import::elementTypeOf(Location loc, int t,
                                           const std::string &what) {
  Type type = mlirElementType(loc.getContext(), t);
  if (!type)
    return emitError(loc)
           << what << " has element type " << onnxTypeName(t)
           << ", which lathe-import-onnx does not support (supported: float, "
              "double, float16, int8, uint8, int16, int32, int64, bool)";
  return type;
}

/// The elements of a TensorProto as a DenseElementsAttr of `type`.
static FailureOr<DenseElementsAttr>
tensorData(Location loc, const onnx::TensorProto &t, RankedTensorType type) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return emitError(loc) << "tensor '" << t.name()
                          << "' keeps its data in an external file, which is "
                             "not supported";
  int64_t n = type.getNumElements();
  Type elt = type.getElementType();
  size_t width = elt.isInteger(1) ? 1 : elt.getIntOrFloatBitWidth() / 8;
  std::vector<char> bytes(n * width);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes.size())
      return emitError(loc)
             << llvm::formatv("tensor '{0}' has {1} bytes of data, "
                              "expected {2}",
                              t.name(), t.raw_data().size(), bytes.size())
                    .str();
    if (!bytes.empty())
      std::memcpy(bytes.data(), t.raw_data().data(), bytes.size());
  } else {
    auto check = [&](int64_t have) -> LogicalResult {
      if (have != n)
        return emitError(loc)
               << llvm::formatv("tensor '{0}' has {1} elements, expected {2}",
                                t.name(), have, n)
                      .str();
      return success();
    };
    // memcpy from a repeated field's data(): null when the field is empty,
    // and null is undefined behaviour for memcpy even with size 0.
    auto copy = [&](const void *from) {
      if (!bytes.empty())
        std::memcpy(bytes.data(), from, bytes.size());
    };
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (failed(check(t.float_data_size())))
        return failure();
      copy(t.float_data().data());
      break;
    case onnx::TensorProto::DOUBLE:
      if (failed(check(t.double_data_size())))
        return failure();
      copy(t.double_data().data());
      break;
    case onnx::TensorProto::INT64:
      if (failed(check(t.int64_data_size())))
        return failure();
      copy(t.int64_data().data());
      break;
    default: {
      // int32, int16, int8, bool, float16, bfloat16: one int32 each.
      if (failed(check(t.int32_data_size())))
        return failure();
      for (int64_t i = 0; i < n; ++i) {
        int32_t v = t.int32_data(i);
        std::memcpy(bytes.data() + i * width, &v, width);
      }
    }
    }
  }
  if (elt.isInteger(1)) {
    SmallVector<bool> bits(n);
    for (int64_t i = 0; i < n; ++i)
      bits[i] = bytes[i] != 0;
    return DenseElementsAttr::get(type, ArrayRef<bool>(bits));
  }
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(bytes.data(), bytes.size()));
}

static FailureOr<RankedTensorType> tensorProtoType(Location loc,
                                                   const onnx::TensorProto &t) {
  FailureOr<Type> elt =
      elementTypeOf(loc, t.data_type(), "tensor '" + t.name() + "'");
  if (failed(elt))
    return failure();
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  return RankedTensorType::get(shape, *elt);
}

FailureOr<DenseElementsAttr>
onnx_import::tensorAttr(Location loc, const onnx::TensorProto &t) {
  FailureOr<RankedTensorType> type = tensorProtoType(loc, t);
  if (failed(type))
    return failure();
  return tensorData(loc, t, *type);
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

namespace {
/// Writes initializers to an HDF5 file.
class H5Writer {
public:
  /// Creates (truncates) the file at `path`; an error at `loc` when it
  /// cannot.
  static FailureOr<std::unique_ptr<H5Writer>> create(Location loc,
                                                     const std::string &path) {
    hid_t file =
        H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
      return emitError(loc)
             << "cannot create the weights file '" << path << "'";
    return std::unique_ptr<H5Writer>(new H5Writer(file));
  }
  ~H5Writer() {
    if (file >= 0)
      H5Fclose(file);
  }
  /// Writes `attr` as dataset `name` (groups created on the way).
  LogicalResult write(Location loc, const std::string &name,
                      DenseElementsAttr attr) {
    auto type = cast<RankedTensorType>(attr.getType());
    Type elt = type.getElementType();
    hid_t h5type;
    if (elt.isF32())
      h5type = H5T_NATIVE_FLOAT;
    else if (elt.isF64())
      h5type = H5T_NATIVE_DOUBLE;
    else if (elt.isInteger(64))
      h5type = H5T_NATIVE_INT64;
    else if (elt.isInteger(32))
      h5type = H5T_NATIVE_INT32;
    else if (elt.isInteger(8))
      h5type = H5T_NATIVE_INT8;
    else
      return emitError(loc) << "cannot write weight '" << name
                            << "' of this element type to HDF5";
    std::vector<hsize_t> dims(type.getShape().begin(), type.getShape().end());
    hid_t space = H5Screate_simple(dims.size(), dims.data(), nullptr);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(file, name.c_str(), h5type, space, lcpl, H5P_DEFAULT,
                          H5P_DEFAULT);
    herr_t status = -1;
    if (ds >= 0) {
      ArrayRef<char> raw = attr.getRawData();
      std::vector<char> full;
      if (attr.isSplat()) {
        size_t width = raw.size();
        full.resize(width * type.getNumElements());
        for (int64_t i = 0; i < type.getNumElements(); ++i)
          std::memcpy(full.data() + i * width, raw.data(), width);
        raw = full;
      }
      status = H5Dwrite(ds, h5type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
      H5Dclose(ds);
    }
    H5Pclose(lcpl);
    H5Sclose(space);
    if (status < 0)
      return emitError(loc)
             << "cannot write dataset '" << name << "' to the weights file";
    return success();
  }

private:
  explicit H5Writer(hid_t file) : file(file) {}
  hid_t file = -1;
};
} // namespace

/// HDF5 dataset path for an initializer name.
static std::string datasetName(const std::string &name) {
  std::string out = "/";
  for (char c : name)
    out += c == '/' ? '|' : c;
  // '|' keeps names unique without creating groups; "/." is not a valid
  // HDF5 link name.
  if (out == "/." || out == "/..")
    out = "/_" + out.substr(1);
  return out;
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

namespace {
class ModelImporter {
public:
  ModelImporter(MLIRContext &ctx, const ONNXImportOptions &options)
      : ctx(ctx), options(options) {}

  /// The module, or null after an error (reported as a diagnostic).
  OwningOpRef<ModuleOp> run(const std::string &path);

private:
  LogicalResult load(const std::string &path);
  FailureOr<RankedTensorType> valueInfoType(const onnx::ValueInfoProto &vi,
                                            const std::string &what,
                                            bool pinDims);
  FailureOr<TV> importInitializer(Importer &im, const onnx::TensorProto &t);
  /// An error of the model as a whole, reported at the model file.
  InFlightDiagnostic modelError() { return emitError(modelLoc); }

  MLIRContext &ctx;
  /// Where model-level errors are reported: the model file.
  Location modelLoc = UnknownLoc::get(&ctx);
  const ONNXImportOptions &options;
  onnx::ModelProto model;
  std::unique_ptr<H5Writer> h5;
  int resourceCounter = 0;
};
} // namespace

LogicalResult ModelImporter::load(const std::string &path) {
  modelLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  if (llvm::sys::fs::is_directory(path))
    return modelError() << "'" << path
                        << "' is a directory, not an ONNX model file";
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return modelError() << "cannot open '" << path << "'";
  std::stringstream buffer;
  buffer << file.rdbuf();
  std::string bytes = buffer.str();
  if (bytes.empty())
    return modelError() << "'" << path << "' is empty, not an ONNX model";
  // The libonnx/protobuf calls are the only ones that may throw.
  bool parsed = false;
  try {
    parsed = model.ParseFromString(bytes);
  } catch (const std::exception &) {
    parsed = false;
  }
  if (!parsed)
    return modelError() << "'" << path
                        << "' is not a valid ONNX model (the protobuf does not "
                           "parse: truncated or not an ONNX file)";
  if (!model.has_graph() || model.ir_version() <= 0)
    return modelError() << "'" << path
                        << "' is not an ONNX model (no graph or IR version)";
  bool checked = true;
  std::string checkerError;
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    checked = false;
    checkerError = e.what();
  }
  if (checked)
    return success();
  while (!checkerError.empty() &&
         (checkerError.back() == '\n' || checkerError.back() == ' '))
    checkerError.pop_back();
  return modelError() << "'" << path
                      << "' fails the ONNX checker: " << checkerError;
}

FailureOr<RankedTensorType>
ModelImporter::valueInfoType(const onnx::ValueInfoProto &vi,
                             const std::string &what, bool pinDims) {
  if (!vi.type().has_tensor_type())
    return modelError() << what << " '" << vi.name() << "' is not a tensor";
  const auto &tt = vi.type().tensor_type();
  FailureOr<Type> elt =
      elementTypeOf(modelLoc, tt.elem_type(), what + " '" + vi.name() + "'");
  if (failed(elt))
    return failure();
  if (!tt.has_shape())
    return modelError() << "cannot resolve the shape of " << what << " '"
                        << vi.name()
                        << "': the model does not declare its rank";
  SmallVector<int64_t> shape;
  for (const auto &d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      shape.push_back(d.dim_value());
      continue;
    }
    if (pinDims && d.has_dim_param()) {
      auto it = options.dims.find(d.dim_param());
      if (it != options.dims.end()) {
        shape.push_back(it->second);
        continue;
      }
    }
    shape.push_back(ShapedType::kDynamic);
  }
  return RankedTensorType::get(shape, *elt);
}

FailureOr<TV> ModelImporter::importInitializer(Importer &im,
                                               const onnx::TensorProto &t) {
  FailureOr<RankedTensorType> typeOr = tensorProtoType(modelLoc, t);
  if (failed(typeOr))
    return failure();
  RankedTensorType type = *typeOr;
  FailureOr<DenseElementsAttr> dataOr = tensorData(modelLoc, t, type);
  if (failed(dataOr))
    return failure();
  DenseElementsAttr data = *dataOr;
  TV tv;
  int64_t n = type.getNumElements();
  if (n <= 4096)
    tv.cst = data;
  Type elt = type.getElementType();
  bool h5able = elt.isF32() || elt.isF64() || elt.isInteger(64) ||
                elt.isInteger(32) || elt.isInteger(8);
  bool external =
      n > 16 || (options.allFloatWeights && (elt.isF32() || elt.isF64()));
  if (h5 && external && h5able) {
    std::string ds = datasetName(t.name());
    if (failed(h5->write(modelLoc, ds, data)))
      return failure();
    auto src = ExternalWeightAttr::get(&ctx, options.weightsRef, ds, type);
    tv.v = WeightOp::create(im.b, im.loc, type, src);
  } else if (n <= 16 || elt.isInteger(1)) {
    tv.v = arith::ConstantOp::create(im.b, im.loc, data);
  } else {
    std::string blobName = "onnx_" + std::to_string(resourceCounter++);
    for (char c : t.name())
      blobName += llvm::isAlnum(c) ? c : '_';
    ArrayRef<char> raw = data.getRawData();
    std::vector<char> full;
    if (data.isSplat()) {
      size_t width = raw.size();
      full.resize(width * n);
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(full.data() + i * width, raw.data(), width);
      raw = full;
    }
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        raw, alignof(std::max_align_t));
    auto attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
    tv.v = arith::ConstantOp::create(im.b, im.loc, attr);
  }
  tv.isUnsigned = t.data_type() == onnx::TensorProto::UINT8;
  if (tv.cst && elt.isInteger() && type.getRank() <= 1 && n <= 64 &&
      !tv.isUnsigned) {
    // Cannot fail: a constant 1-D integer tensor of static length.
    FailureOr<SmallVector<OpFoldResult>> elems = im.elemsOf(tv);
    if (failed(elems))
      return failure();
    tv.elems = *elems;
  }
  return tv;
}

OwningOpRef<ModuleOp> ModelImporter::run(const std::string &path) {
  if (failed(load(path)))
    return nullptr;
  const onnx::GraphProto &graph = model.graph();

  int64_t opset = -1;
  for (const auto &imp : model.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset = imp.version();
  if (opset < 0) {
    modelError()
        << "the model imports no version of the default ONNX operator set";
    return nullptr;
  }
  if (opset < kMinONNXOpset || opset > kMaxONNXOpset) {
    modelError() << llvm::formatv(
                        "the model uses ONNX opset {0}; lathe-import-onnx "
                        "supports opsets {1} to {2} (convert it with "
                        "onnx.version_converter)",
                        opset, kMinONNXOpset, kMaxONNXOpset)
                        .str();
    return nullptr;
  }

  // Every unsupported operator, with counts, before anything is built.
  std::map<int, GeluMatch> gelus;
  std::set<int> skipped;
  findGelus(graph, gelus, skipped);
  std::map<std::string, int> unsupported;
  for (const auto &n : graph.node()) {
    std::string key = n.domain().empty() || n.domain() == "ai.onnx"
                          ? n.op_type()
                          : n.domain() + "." + n.op_type();
    if (key != n.op_type() || !isSupportedOp(n.op_type(), opset))
      ++unsupported[key];
  }
  if (!unsupported.empty()) {
    std::string msg = "the model uses " + std::to_string(unsupported.size()) +
                      " unsupported operator(s):";
    for (const auto &[op, count] : unsupported)
      msg += llvm::formatv("\n  {0} ({1} node{2})", op, count,
                           count == 1 ? "" : "s")
                 .str();
    modelError() << msg;
    return nullptr;
  }

  if (!options.weightsFile.empty()) {
    FailureOr<std::unique_ptr<H5Writer>> writer =
        H5Writer::create(modelLoc, options.weightsFile);
    if (failed(writer))
      return nullptr;
    h5 = std::move(*writer);
  }

  OpBuilder b(&ctx);
  Location loc = NameLoc::get(StringAttr::get(&ctx, graph.name()));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  Importer im(b, loc, opset);
  im.module = *module;

  std::set<std::string> initNames;
  for (const auto &t : graph.initializer())
    initNames.insert(t.name());
  SmallVector<Type> argTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  auto isU8 = [](const onnx::ValueInfoProto &vi) {
    return vi.type().has_tensor_type() &&
           vi.type().tensor_type().elem_type() == onnx::TensorProto::UINT8;
  };
  auto boundaryType = [&](RankedTensorType t, bool u8) {
    return u8 ? RankedTensorType::get(
                    t.getShape(),
                    IntegerType::get(&ctx, 8, IntegerType::Unsigned))
              : t;
  };
  // A --dim that names no symbolic dimension of the model is a typo: say so
  // rather than import the model unpinned.
  std::set<std::string> symbolicDims;
  for (const auto *infos :
       {&graph.input(), &graph.output(), &graph.value_info()})
    for (const auto &vi : *infos)
      if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
        for (const auto &d : vi.type().tensor_type().shape().dim())
          if (d.has_dim_param())
            symbolicDims.insert(d.dim_param());
  for (const auto &[name, size] : options.dims)
    if (!symbolicDims.count(name)) {
      std::string known;
      for (const std::string &d : symbolicDims)
        known += (known.empty() ? "'" : ", '") + d + "'";
      modelError() << "--dim " << name << "=" << size
                   << ": the model has no symbolic dimension named '" << name
                   << "' ("
                   << (known.empty() ? std::string("it has none")
                                     : "its symbolic dimensions: " + known)
                   << ")";
      return nullptr;
    }
  for (const auto &vi : graph.input()) {
    if (initNames.count(vi.name()))
      continue;
    FailureOr<RankedTensorType> type =
        valueInfoType(vi, "graph input", /*pinDims=*/true);
    if (failed(type))
      return nullptr;
    argTypes.push_back(boundaryType(*type, isU8(vi)));
    args.push_back(&vi);
  }
  SmallVector<RankedTensorType> declaredResults;
  for (const auto &vi : graph.output()) {
    FailureOr<RankedTensorType> type = valueInfoType(vi, "graph output", true);
    if (failed(type))
      return nullptr;
    declaredResults.push_back(*type);
  }
  // ui8 <-> i8 at the boundary: a generic whose body casts the element.
  auto castElements = [&](Value v, Type to) {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
    Value init = tensor::EmptyOp::create(b, loc, sizes, to);
    AffineMap id = AffineMap::getMultiDimIdentityMap(t.getRank(), &ctx);
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ValueRange{v},
               ValueRange{init}, SmallVector<AffineMap>{id, id},
               SmallVector<utils::IteratorType>(t.getRank(),
                                                utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location nl, ValueRange a) {
                 Value c = UnrealizedConversionCastOp::create(nb, nl, to, a[0])
                               .getResult(0);
                 linalg::YieldOp::create(nb, nl, c);
               })
        .getResult(0);
  };

  b.setInsertionPointToEnd(module->getBody());
  auto func =
      func::FuncOp::create(b, loc, "main", b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  for (auto [i, vi] : llvm::enumerate(args)) {
    func.setArgAttr(i, "onnx.name", b.getStringAttr(vi->name()));
    TV tv;
    tv.v = entry->getArgument(i);
    if (isU8(*vi)) {
      tv.v = castElements(tv.v, b.getIntegerType(8));
      tv.isUnsigned = true;
    }
    im.values[vi->name()] = tv;
  }
  for (const auto &t : graph.initializer()) {
    FailureOr<TV> tv = importInitializer(im, t);
    if (failed(tv))
      return nullptr;
    im.values[t.name()] = *tv;
  }
  // Declared types of intermediate values and outputs: result shapes for
  // operators whose shape operands (axes, split sizes) come at run time.
  auto declare = [&](const onnx::ValueInfoProto &vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
      return;
    Type elt = mlirElementType(&ctx, vi.type().tensor_type().elem_type());
    if (!elt)
      return;
    SmallVector<int64_t> shape;
    for (const auto &d : vi.type().tensor_type().shape().dim()) {
      auto it = d.has_dim_param() ? options.dims.find(d.dim_param())
                                  : options.dims.end();
      shape.push_back(d.has_dim_value()          ? d.dim_value()
                      : it != options.dims.end() ? it->second
                                                 : ShapedType::kDynamic);
    }
    im.declared[vi.name()] = RankedTensorType::get(shape, elt);
  };
  for (const auto &vi : graph.value_info())
    declare(vi);
  for (const auto &vi : graph.output())
    declare(vi);

  for (int i = 0; i < graph.node_size(); ++i) {
    if (skipped.count(i))
      continue;
    const onnx::NodeProto &n = graph.node(i);
    im.node = &n;
    std::string nodeName =
        n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    im.loc = NameLoc::get(b.getStringAttr(nodeName));
    auto g = gelus.find(i);
    if (g != gelus.end() ? failed(im.importGelu(g->second.x, n.output(0),
                                                g->second.tanhApprox))
                         : failed(im.importNode(n)))
      return nullptr;
  }
  im.loc = loc;

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (auto [i, vi] : llvm::enumerate(graph.output())) {
    auto it = im.values.find(vi.name());
    if (it == im.values.end() || !it->second.v) {
      modelError() << "graph output '" << vi.name()
                   << "' is not computed by the graph";
      return nullptr;
    }
    Value v = it->second.v;
    auto have = Importer::typeOf(v);
    RankedTensorType want = declaredResults[i];
    if (isU8(vi) && have.getElementType().isInteger(8)) {
      v = castElements(v, IntegerType::get(&ctx, 8, IntegerType::Unsigned));
      have = Importer::typeOf(v);
      want = boundaryType(want, true);
    }
    if (want.getElementType() != have.getElementType()) {
      modelError() << "graph output '" << vi.name()
                   << "' is declared with another element type than the graph "
                      "computes";
      return nullptr;
    }
    if (want.getRank() == have.getRank() && want != have) {
      // Keep what is known from either side.
      SmallVector<int64_t> shape;
      bool conflict = false;
      for (auto [w, h] : llvm::zip(want.getShape(), have.getShape())) {
        if (!ShapedType::isDynamic(w) && !ShapedType::isDynamic(h) && w != h)
          conflict = true;
        shape.push_back(ShapedType::isDynamic(h) ? w : h);
      }
      if (conflict) {
        modelError()
            << "graph output '" << vi.name()
            << "' is declared with shape that disagrees with the computed "
               "one";
        return nullptr;
      }
      auto refined = RankedTensorType::get(shape, have.getElementType());
      if (refined != have) {
        im.node = nullptr;
        v = im.refineChecked(
            v, refined, "graph output '" + vi.name() + "' (declared type)");
      }
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
  }
  func::ReturnOp::create(b, loc, results);
  func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  for (auto [i, vi] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "onnx.name", b.getStringAttr(vi.name()));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  if (!graph.name().empty())
    func->setAttr("onnx.graph_name", b.getStringAttr(graph.name()));
  (*module)->setAttr("onnx.opset", b.getI64IntegerAttr(opset));
  if (!model.producer_name().empty())
    (*module)->setAttr("onnx.producer",
                       b.getStringAttr(model.producer_version().empty()
                                           ? model.producer_name()
                                           : model.producer_name() + " " +
                                                 model.producer_version()));

  // Shape computations and matched subgraphs leave dead ops behind.
  SmallVector<Operation *> ops;
  for (Operation &op : *entry)
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      op->erase();
  return module;
}

void mlir::lathe::registerONNXImportDialects(MLIRContext &context) {
  context.loadDialect<func::FuncDialect, linalg::LinalgDialect,
                      tensor::TensorDialect, arith::ArithDialect,
                      math::MathDialect, scf::SCFDialect, memref::MemRefDialect,
                      LatheDialect>();
}

OwningOpRef<ModuleOp>
mlir::lathe::importONNXModel(MLIRContext &context, const std::string &path,
                             const ONNXImportOptions &options,
                             std::string &error) {
  registerONNXImportDialects(context);
  // The handlers report errors as diagnostics at the node's location; the
  // first one is the import's message.
  std::string diagnostic;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Error)
      return failure();
    if (diagnostic.empty())
      diagnostic = diag.str();
    return success();
  });
  ModelImporter importer(context, options);
  OwningOpRef<ModuleOp> module = importer.run(path);
  if (!module)
    error =
        diagnostic.empty() ? "unexpected failure while importing" : diagnostic;
  return module;
}
