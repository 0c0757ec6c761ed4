//===- Dnnl.cpp - oneDNN engine, descriptors and shared helpers -----------===//

#include "Dnnl.h"
#include "Simd.h"

#include <algorithm>
#include <limits>

using namespace lathe::rt;
using dnnl::memory;

dnnl::engine &lathe::rt::cpuEngine() {
  static dnnl::engine *engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream &lathe::rt::cpuStream() {
  thread_local dnnl::stream stream(cpuEngine());
  return stream;
}

Dims lathe::rt::denseStrides(const Dims &dims) {
  Dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;)
    strides[i - 1] = strides[i] * std::max<int64_t>(dims[i], 1);
  return strides;
}

namespace {
/// A channel-blocked operand as the plain rank-5 operand [N, C/b, H, W, b]
/// it is in memory (other operands unchanged).
Operand unblocked(const Operand &op) {
  if (!op.block)
    return op;
  Operand flat;
  flat.data = op.data;
  flat.bf16 = op.bf16;
  flat.dims = {op.dims[0], op.dims[1] / op.block, op.dims[2], op.dims[3],
               op.block};
  flat.strides = {op.strides[0], op.strides[1], op.strides[2], op.strides[3],
                  1};
  return flat;
}

memory::desc blockedDesc(const Dims &dims, const Dims &strides,
                         memory::data_type type) {
  memory::desc md(dims, type, memory::format_tag::aBcd16b);
  for (int i = 0; i < 4; ++i)
    md.data.format_desc.blocking.strides[i] = strides[i];
  return md;
}
} // namespace

Operand lathe::rt::blockedOperand(const MemRefView &view, const char *what) {
  if (view.rank != 5 || (view.sizes[4] != 16 && view.sizes[1] != 1) ||
      (view.strides[4] != 1 && view.sizes[4] > 1))
    fail(LATHE_ERR_SHAPE, what, " ", shapeString(view),
         " is not a channel-blocked [N, C/16, H, W, 16] or channels-last "
         "[N, 1, H, W, C] view with a contiguous innermost dimension");
  Operand op;
  op.data = view.data;
  op.bf16 = view.bf16;
  if (view.sizes[1] == 1) {
    // One block of all channels: NHWC memory order, a plain strided operand
    // (what oneDNN's AMX bf16 convolutions read and write).
    op.dims = {view.sizes[0], view.sizes[4], view.sizes[2], view.sizes[3]};
    op.strides = {view.strides[0], view.strides[4], view.strides[2],
                  view.strides[3]};
    op.normalizeStrides();
    return op;
  }
  op.block = 16;
  op.dims = {view.sizes[0], view.sizes[1] * 16, view.sizes[2], view.sizes[3]};
  op.strides = {view.strides[0], view.strides[1], view.strides[2],
                view.strides[3]};
  op.normalizeStrides();
  return op;
}

void Operand::normalizeStrides() {
  if (block) {
    Operand flat = unblocked(*this);
    flat.normalizeStrides();
    std::copy_n(flat.strides.begin(), 4, strides.begin());
    return;
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] != 1)
      continue;
    int64_t s = 1;
    for (size_t j = i + 1; j < dims.size(); ++j)
      if (dims[j] != 1)
        s = std::max(s, dims[j] * strides[j]);
    strides[i] = s;
  }
}

bool Operand::hasUsableStrides() const {
  if (block)
    return unblocked(*this).hasUsableStrides();
  // Positive strides, and sorted by stride each dimension must step over
  // the whole extent of the faster ones (no aliasing elements).
  std::vector<std::pair<int64_t, int64_t>> byStride; // (stride, size)
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1)
      continue;
    if (strides[i] <= 0)
      return false;
    byStride.emplace_back(strides[i], dims[i]);
  }
  std::sort(byStride.begin(), byStride.end());
  int64_t extent = 1;
  for (auto [stride, size] : byStride) {
    if (stride < extent)
      return false;
    extent = stride * size;
  }
  return true;
}

bool Operand::isDenseRowMajor() const {
  if (block)
    return unblocked(*this).isDenseRowMajor();
  Operand copy = *this;
  copy.strides = denseStrides(dims);
  copy.normalizeStrides();
  return copy.strides == strides;
}

int64_t Operand::numel() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

memory::data_type Operand::type() const {
  return bf16 ? memory::data_type::bf16 : memory::data_type::f32;
}

memory::desc Operand::desc() const {
  if (block)
    return blockedDesc(dims, strides, type());
  return memory::desc(dims, type(), strides);
}

memory::desc Operand::denseDesc() const {
  if (block)
    return blockedDesc(dims, denseStrides(unblocked(*this).dims), type());
  return memory::desc(dims, type(), denseStrides(dims));
}

std::pair<const char *, const char *> Operand::range() const {
  if (block)
    return unblocked(*this).range();
  const char *bytes = reinterpret_cast<const char *>(data);
  if (numel() == 0)
    return {bytes, bytes};
  int64_t lo = 0, hi = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t span = (dims[i] - 1) * strides[i];
    (span < 0 ? lo : hi) += span;
  }
  int64_t size = bf16 ? 2 : 4;
  return {bytes + lo * size, bytes + (hi + 1) * size};
}

MemRefView Operand::view() const {
  if (block)
    return unblocked(*this).view();
  MemRefView v;
  v.data = data;
  v.bf16 = bf16;
  v.rank = static_cast<int64_t>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    v.sizes[i] = dims[i];
    v.strides[i] = strides[i];
  }
  return v;
}

MemRefView Operand::denseView(float *dst) const {
  if (block)
    return unblocked(*this).denseView(dst);
  MemRefView v = view();
  v.data = dst;
  Dims dense = denseStrides(dims);
  for (size_t i = 0; i < dims.size(); ++i)
    v.strides[i] = dense[i];
  return v;
}

bool lathe::rt::overlaps(const Operand &a, const Operand &b) {
  if (a.numel() == 0 || b.numel() == 0)
    return false;
  auto [aLo, aHi] = a.range();
  auto [bLo, bHi] = b.range();
  return aLo < bHi && bLo < aHi;
}

dnnl::algorithm lathe::rt::activationAlgorithm(int act, const char *kernel) {
  switch (act) {
  case LATHE_ACT_RELU:
    return dnnl::algorithm::eltwise_relu;
  case LATHE_ACT_GELU_ERF:
    return dnnl::algorithm::eltwise_gelu_erf;
  case LATHE_ACT_GELU_TANH:
    return dnnl::algorithm::eltwise_gelu_tanh;
  case LATHE_ACT_SIGMOID:
    return dnnl::algorithm::eltwise_logistic;
  case LATHE_ACT_TANH:
    return dnnl::algorithm::eltwise_tanh;
  default:
    fail(LATHE_ERR_INVALID, "unknown activation code ", act, " for ", kernel,
         " (flags bits 8..15; supported 0..5)");
  }
}

int lathe::rt::appendActivation(dnnl::post_ops &ops, int act, bool keepNaN,
                                const char *kernel) {
  if (act == LATHE_ACT_NONE)
    return 0;
  if (act == LATHE_ACT_RELU && keepNaN) {
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 0.f, 0.f);
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f, 0.f);
    return 2;
  }
  ops.append_eltwise(1.f, activationAlgorithm(act, kernel), 0.f, 0.f);
  return 1;
}

namespace {
PrimitiveCache<float> &constantScans() {
  return currentSession().cache<PrimitiveCache<float>>(
      CacheSlot::ConstantScans);
}
} // namespace

float lathe::rt::constantScan(const std::vector<int64_t> &key,
                              const std::function<float()> &scan) {
  return *constantScans().getOrCreate(
      key, [&] { return std::make_shared<float>(scan()); });
}

float lathe::rt::constantMaxAbs(const MemRefView &view) {
  std::vector<int64_t> key = {reinterpret_cast<int64_t>(view.data), view.rank};
  key.insert(key.end(), view.sizes.begin(), view.sizes.begin() + view.rank);
  key.insert(key.end(), view.strides.begin(), view.strides.begin() + view.rank);
  return constantScan(key, [&] { return maxAbs(view); });
}

float lathe::rt::operandMaxAbs(const MemRefView &view, bool isConstant) {
  return isConstant ? constantMaxAbs(view) : maxAbs(view);
}

void lathe::rt::appendKey(std::vector<int64_t> &key, const Operand &v) {
  key.push_back(static_cast<int64_t>(v.dims.size()));
  key.push_back(v.block);
  key.push_back(v.bf16);
  key.insert(key.end(), v.dims.begin(), v.dims.end());
  key.insert(key.end(), v.strides.begin(), v.strides.end());
}

void lathe::rt::reorder(const memory::desc &srcMd, void *src,
                        const memory::desc &dstMd, void *dst) {
  dnnl::engine &engine = cpuEngine();
  memory srcMem(srcMd, engine, src), dstMem(dstMd, engine, dst);
  dnnl::reorder(srcMem, dstMem).execute(cpuStream(), srcMem, dstMem);
  cpuStream().wait();
}

void BoundArgs::Use::bind(int arg, const memory::desc &md, void *data) {
  auto it = args.find(arg);
  // oneDNN 2.6's set_data_handle also zeroes a padded layout's padding (in
  // the caller's buffer, which creating the object does not touch): with
  // padding, a new object.
  const dnnl_memory_desc_t &d = md.data;
  bool padded = !std::equal(d.dims, d.dims + d.ndims, d.padded_dims);
  if (it != args.end() && !padded) {
    // Most calls see the same buffers as the last one.
    if (it->second.get_data_handle() != data)
      it->second.set_data_handle(data);
    return;
  }
  args.insert_or_assign(arg, memory(md, cpuEngine(), data));
}

void *PackedWeights::lookup(const float *key) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = packed.find(key);
  return it == packed.end() ? nullptr : it->second->get();
}

void *PackedWeights::pack(const float *key, const float *src,
                          const memory::desc &srcMd,
                          const memory::desc &packedMd) {
  auto buffer = std::make_shared<ScratchBuffer>(packedMd.get_size());
  reorder(srcMd, const_cast<float *>(src), packedMd, buffer->get());
  std::lock_guard<std::mutex> lock(mutex);
  // Another thread may have packed the same weights meanwhile; keep theirs.
  return packed.emplace(key, std::move(buffer)).first->second->get();
}

Operand lathe::rt::permuted(const MemRefView &view, std::array<int, 4> order) {
  Operand op;
  op.data = view.data;
  op.bf16 = view.bf16;
  for (int d : order) {
    op.dims.push_back(view.sizes[d]);
    op.strides.push_back(view.strides[d]);
  }
  op.normalizeStrides();
  return op;
}

bool lathe::rt::isUnsupported(const dnnl::error &e) {
  return e.status == dnnl_unimplemented || e.status == dnnl_invalid_arguments;
}

bool lathe::rt::isReference(const dnnl::primitive_desc_base &pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

extern "C" const char *lathe_rt_dnnl_description(void) {
  static const std::string text = [] {
    std::string isaName;
    try {
      switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::sse41:
        isaName = "sse41";
        break;
      case dnnl::cpu_isa::avx:
        isaName = "avx";
        break;
      case dnnl::cpu_isa::avx2:
        isaName = "avx2";
        break;
      case dnnl::cpu_isa::avx2_vnni:
        isaName = "avx2_vnni";
        break;
      case dnnl::cpu_isa::avx512_core:
        isaName = "avx512_core";
        break;
      case dnnl::cpu_isa::avx512_core_vnni:
        isaName = "avx512_core_vnni";
        break;
      case dnnl::cpu_isa::avx512_core_bf16:
        isaName = "avx512_core_bf16";
        break;
      case dnnl::cpu_isa::avx512_core_amx:
        isaName = "avx512_core_amx";
        break;
      default:
        isaName = "other";
        break;
      }
    } catch (...) {
      isaName = "unknown";
    }
    const dnnl_version_t *v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." +
           std::to_string(v->minor) + "." + std::to_string(v->patch) +
           " (ISA " + isaName + ")";
  }();
  return text.c_str();
}

extern "C" int lathe_rt_cpu_has_bf16(void) {
  static const int has = [] {
    dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 ||
                   isa == dnnl::cpu_isa::avx512_core_amx
               ? 1
               : 0;
  }();
  return has;
}

int lathe::rt::simdWidth() {
  static const int width = [] {
    __builtin_cpu_init();
    dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    bool avx512 = isa == dnnl::cpu_isa::avx512_core ||
                  isa == dnnl::cpu_isa::avx512_core_vnni ||
                  isa == dnnl::cpu_isa::avx512_core_bf16 ||
                  isa == dnnl::cpu_isa::avx512_core_amx;
    bool avx2 =
        avx512 || isa == dnnl::cpu_isa::avx2 || isa == dnnl::cpu_isa::avx2_vnni;
    if (avx512 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
      return 16;
    if (avx2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return 8;
    return 0;
  }();
  return width;
}
