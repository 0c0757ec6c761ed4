//===- LibraryKernels.cpp - lathe_cuda_* kernels called by generated code -===//
//
// Matmuls through cuBLASLt (dlopen'ed on first use) with its bias/ReLU/GELU
// epilogues and beta = 1 for a residual; what cuBLASLt's epilogues lack
// (erf-GELU, sigmoid, tanh, a residual after an activation) runs as
// Kernels.cu's lathe_epilogue. Convolutions and pooling run as Kernels.cu's
// direct kernels. Errors become the pending error (generated code cannot
// take a status).
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"

#include "CudaInternal.h"

#include <cublasLt.h>
#include <dlfcn.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>

using namespace lathe_cuda;

namespace {

// Flags of Runtime.h (kept in step with it; the CPU runtime's header is not
// included: this library has its own ABI header).
constexpr int64_t kHasBias = 1 << 0, kHasResidual = 1 << 1, kActShift = 8;
enum { kActNone = 0, kActRelu = 1, kActGeluErf = 2, kActGeluTanh = 3 };

struct CublasLt {
  decltype(&::cublasLtCreate) create = nullptr;
  decltype(&::cublasLtMatmulDescCreate) descCreate = nullptr;
  decltype(&::cublasLtMatmulDescSetAttribute) descSet = nullptr;
  decltype(&::cublasLtMatmulDescDestroy) descDestroy = nullptr;
  decltype(&::cublasLtMatrixLayoutCreate) layoutCreate = nullptr;
  decltype(&::cublasLtMatrixLayoutSetAttribute) layoutSet = nullptr;
  decltype(&::cublasLtMatrixLayoutDestroy) layoutDestroy = nullptr;
  decltype(&::cublasLtMatmulPreferenceCreate) prefCreate = nullptr;
  decltype(&::cublasLtMatmulPreferenceSetAttribute) prefSet = nullptr;
  decltype(&::cublasLtMatmulPreferenceDestroy) prefDestroy = nullptr;
  decltype(&::cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&::cublasLtMatmul) matmul = nullptr;
  cublasLtHandle_t handle = nullptr;
  void *workspace = nullptr;
  size_t workspaceBytes = 32u << 20;
  std::string error;
};

CublasLt lt;
std::once_flag ltOnce;

/// What one matmul shape needs from cuBLASLt, made on its first call.
struct Plan {
  bool made = false, ok = false;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t lA = nullptr, lB = nullptr, lD = nullptr, lR = nullptr;
  cublasLtMatmulAlgo_t algo = {};
};
std::mutex planMutex;
std::map<std::string, Plan> plans;
thread_local Plan *lastPlan = nullptr;
bool allowTf32 = false;

bool loadCublasLt() {
  std::call_once(ltOnce, [] {
    void *lib = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      lib = dlopen("libcublasLt.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      lt.error = std::string("cannot load cuBLASLt: ") + dlerror();
      return;
    }
    bool ok = true;
#define LOAD(f, s) ok &= loadSymbol(lib, lt.f, s)
    LOAD(create, "cublasLtCreate");
    LOAD(descCreate, "cublasLtMatmulDescCreate");
    LOAD(descSet, "cublasLtMatmulDescSetAttribute");
    LOAD(descDestroy, "cublasLtMatmulDescDestroy");
    LOAD(layoutCreate, "cublasLtMatrixLayoutCreate");
    LOAD(layoutSet, "cublasLtMatrixLayoutSetAttribute");
    LOAD(layoutDestroy, "cublasLtMatrixLayoutDestroy");
    LOAD(prefCreate, "cublasLtMatmulPreferenceCreate");
    LOAD(prefSet, "cublasLtMatmulPreferenceSetAttribute");
    LOAD(prefDestroy, "cublasLtMatmulPreferenceDestroy");
    LOAD(heuristic, "cublasLtMatmulAlgoGetHeuristic");
    LOAD(matmul, "cublasLtMatmul");
#undef LOAD
    if (!ok) {
      lt.error = "cuBLASLt lacks an entry point";
      return;
    }
    if (lt.create(&lt.handle) != CUBLAS_STATUS_SUCCESS) {
      lt.error = "cublasLtCreate failed";
      lt.handle = nullptr;
      return;
    }
    if (lathe_cuda_alloc(lt.workspaceBytes, &lt.workspace) != LATHE_CUDA_OK)
      lt.workspaceBytes = 0;
  });
  if (!lt.handle)
    setPending(lt.error);
  return lt.handle != nullptr;
}

/// One operand as a column-major matrix for cuBLASLt.
struct Operand {
  cublasOperation_t op = CUBLAS_OP_N;
  uint64_t rows = 0, cols = 0;
  int64_t ld = 0;
};

/// A row-major [r, c] view with strides (sr, sc) read as the column-major
/// c x r matrix (its transpose), as op(stored).
bool asTransposed(int64_t r, int64_t c, int64_t sr, int64_t sc, Operand &out) {
  if (sc == 1 || c == 1) {
    out = {CUBLAS_OP_N, uint64_t(c), uint64_t(r), std::max(sr, c)};
    return true;
  }
  if (sr == 1 || r == 1) {
    out = {CUBLAS_OP_T, uint64_t(r), uint64_t(c), std::max(sc, r)};
    return true;
  }
  return false;
}

void epilogueKernel(float *c, const float *res, int64_t batch, int64_t rows,
                    int64_t cols, int64_t cb, int64_t cr, int64_t cc,
                    int64_t rb, int64_t rr, int64_t rc, int act, int hasRes) {
  CUfunction fn = ownKernel("lathe_epilogue");
  if (!fn)
    return;
  void *params[] = {&c,  &res, &batch, &rows, &cols, &cb,    &cr,
                    &cc, &rb,  &rr,    &rc,   &act,  &hasRes};
  int64_t n = batch * rows * cols;
  unsigned grid = unsigned(std::min<int64_t>((n + 255) / 256, 65535));
  launch("epilogue", fn, grid ? grid : 1, 256, params);
}

void matmul(int64_t rankA, void *a, int64_t rankB, void *b, int64_t rankBias,
            void *bias, int64_t rankRes, void *residual, int64_t rankC, void *c,
            float alpha, int64_t flags) {
  if (!loadCublasLt())
    return;
  View A = view(rankA, a), B = view(rankB, b), C = view(rankC, c);
  View R = view(rankRes, residual), Bias = view(rankBias, bias);
  int64_t M = C.size(rankC - 2), N = C.size(rankC - 1), K = A.size(rankA - 1);
  int act = int((flags >> kActShift) & 0xff);
  bool hasBias = flags & kHasBias, hasRes = flags & kHasResidual;
  if (C.stride(rankC - 1) != 1 && N != 1) {
    setPending("lathe_cuda_matmul_f32: the output's rows are not contiguous");
    return;
  }
  Operand opB, opA, opD, opR;
  if (!asTransposed(K, N, B.stride(rankB - 2), B.stride(rankB - 1), opB) ||
      !asTransposed(M, K, A.stride(rankA - 2), A.stride(rankA - 1), opA) ||
      !asTransposed(M, N, C.stride(rankC - 2), 1, opD) ||
      (hasRes && !asTransposed(M, N, R.stride(rankRes - 2),
                               R.stride(rankRes - 1), opR))) {
    setPending("lathe_cuda_matmul_f32: an operand has no unit stride in its "
               "last two dimensions (not supported yet)");
    return;
  }
  // Residual through beta = 1 only when nothing comes after it.
  bool residualInLt = hasRes && act == kActNone && opR.op == CUBLAS_OP_N;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  bool actInLt = act == kActNone || act == kActRelu || act == kActGeluTanh;
  if (act == kActRelu)
    epilogue = hasBias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  else if (act == kActGeluTanh)
    epilogue = hasBias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  else if (hasBias)
    epilogue = CUBLASLT_EPILOGUE_BIAS;
  if (!actInLt)
    epilogue = hasBias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;

  // Batch: the last batch dimension is cuBLASLt's batch, the others a loop.
  int64_t nb = rankC - 2;
  int64_t batch = nb ? C.size(nb - 1) : 1;
  auto batchStride = [&](const View &v, int64_t rank, int64_t i) -> int64_t {
    return rank == rankC ? v.stride(i) : 0; // 2-D operands broadcast
  };
  int64_t outer = 1;
  for (int64_t i = 0; i + 1 < nb; ++i)
    outer *= C.size(i);

  // The plan (descriptors, layouts, algorithm) of this shape, strides,
  // epilogue and precision, made once per process.
  std::string key;
  for (const View *v : {&A, &B, &C, &R}) {
    for (int64_t i = 0; i < v->rank; ++i)
      key +=
          std::to_string(v->size(i)) + "/" + std::to_string(v->stride(i)) + ",";
    key += ";";
  }
  key += std::to_string(flags) + ";" + std::to_string(allowTf32) + ";" +
         std::to_string(residualInLt) + ";" + std::to_string(int(epilogue));
  Plan *plan;
  {
    std::lock_guard<std::mutex> lock(planMutex);
    Plan &slot = plans[key];
    if (!slot.made) {
      slot.made = true;
      cublasComputeType_t compute =
          allowTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      lt.descCreate(&slot.desc, compute, CUDA_R_32F);
      lt.descSet(slot.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opB.op,
                 sizeof(opB.op));
      lt.descSet(slot.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opA.op,
                 sizeof(opA.op));
      lt.descSet(slot.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                 sizeof(epilogue));
      auto layout = [&](const Operand &o, int64_t stride) {
        cublasLtMatrixLayout_t l = nullptr;
        lt.layoutCreate(&l, CUDA_R_32F, o.rows, o.cols, o.ld);
        int32_t count = int32_t(batch);
        lt.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                     sizeof(count));
        lt.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                     sizeof(stride));
        return l;
      };
      slot.lB = layout(opB, nb ? batchStride(B, rankB, nb - 1) : 0);
      slot.lA = layout(opA, nb ? batchStride(A, rankA, nb - 1) : 0);
      slot.lD = layout(opD, nb ? C.stride(nb - 1) : 0);
      slot.lR = residualInLt ? layout(opR, nb ? R.stride(nb - 1) : 0) : slot.lD;
      cublasLtMatmulPreference_t pref = nullptr;
      lt.prefCreate(&pref);
      lt.prefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                 &lt.workspaceBytes, sizeof(lt.workspaceBytes));
      cublasLtMatmulHeuristicResult_t result = {};
      int found = 0;
      cublasStatus_t status =
          lt.heuristic(lt.handle, slot.desc, slot.lB, slot.lA, slot.lR, slot.lD,
                       pref, 1, &result, &found);
      lt.prefDestroy(pref);
      slot.ok = status == CUBLAS_STATUS_SUCCESS && found > 0;
      slot.algo = result.algo;
    }
    plan = &slot;
  }
  lastPlan = plan;
  float beta = residualInLt ? 1.0f : 0.0f;
  if (!plan->ok) {
    setPending("lathe_cuda_matmul_f32: cuBLASLt found no algorithm for " +
               std::to_string(M) + "x" + std::to_string(K) + " * " +
               std::to_string(K) + "x" + std::to_string(N));
    return;
  }
  if (hasBias) {
    const float *biasPtr = Bias.data;
    lt.descSet(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &biasPtr,
               sizeof(biasPtr));
  }
  {
    TimedRegion timed("matmul");
    for (int64_t o = 0; o < outer; ++o) {
      // Offsets of the outer batch index o in every operand.
      int64_t offA = 0, offB = 0, offC = 0, offR = 0, rest = o;
      for (int64_t i = nb - 2; i >= 0; --i) {
        int64_t idx = rest % C.size(i);
        rest /= C.size(i);
        offA += idx * batchStride(A, rankA, i);
        offB += idx * batchStride(B, rankB, i);
        offC += idx * C.stride(i);
        if (hasRes)
          offR += idx * R.stride(i);
      }
      const float *in = residualInLt ? R.data + offR : C.data + offC;
      cublasStatus_t status = lt.matmul(
          lt.handle, plan->desc, &alpha, B.data + offB, plan->lB, A.data + offA,
          plan->lA, &beta, in, plan->lR, C.data + offC, plan->lD, &plan->algo,
          lt.workspace, lt.workspaceBytes, theStream());
      if (status != CUBLAS_STATUS_SUCCESS) {
        setPending("lathe_cuda_matmul_f32: cublasLtMatmul failed (status " +
                   std::to_string(int(status)) + ")");
        break;
      }
    }
  }
  if ((!actInLt) || (hasRes && !residualInLt)) {
    // act(...) and/or + residual over C's [batch..., M, N] (batches fused
    // when C is dense in them; 2-D views otherwise).
    // The batch dimensions must be dense in C and the residual (they are
    // for every matmul with an epilogue that kernel formation makes).
    int64_t batches = outer * batch;
    for (int64_t i = 0; i < nb; ++i) {
      int64_t inner = i + 1 < nb ? C.size(i + 1) * C.stride(i + 1)
                                 : M * C.stride(rankC - 2);
      int64_t innerR = !hasRes      ? 0
                       : i + 1 < nb ? R.size(i + 1) * R.stride(i + 1)
                                    : M * R.stride(rankRes - 2);
      if (C.stride(i) != inner || (hasRes && R.stride(i) != innerR)) {
        setPending("lathe_cuda_matmul_f32: an activation or residual on a "
                   "matmul whose batch dimensions are strided is not "
                   "supported yet");
        return;
      }
    }
    int64_t cb = M * C.stride(rankC - 2),
            rb = hasRes ? M * R.stride(rankRes - 2) : 0;
    epilogueKernel(C.data, hasRes ? R.data : C.data, batches, M, N, cb,
                   C.stride(rankC - 2), 1, rb,
                   hasRes ? R.stride(rankRes - 2) : 0,
                   hasRes ? R.stride(rankRes - 1) : 0, actInLt ? kActNone : act,
                   hasRes ? 1 : 0);
  }
}

struct ConvParams {
  const float *in, *filter, *bias;
  float *out;
  int64_t n, c, h, w, f, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw;
  int nhwc, hasBias, act, accumulate;
  int64_t wh, ww, psh, psw, pdh, pdw, poh, pow;
};

void conv(int64_t rankIn, void *in, int64_t rankFilter, void *filter,
          int64_t rankBias, void *bias, int64_t rankOut, void *out,
          int64_t layout, int64_t strideH, int64_t strideW, int64_t padTop,
          int64_t padLeft, int64_t dilationH, int64_t dilationW, int64_t flags,
          const int64_t *pool) {
  if (layout & ~int64_t(1)) {
    setPending("lathe_cuda_conv2d_f32: blocked layouts are CPU-only");
    return;
  }
  View I = view(rankIn, in), F = view(rankFilter, filter),
       O = view(rankOut, out), B = view(rankBias, bias);
  ConvParams p = {};
  p.nhwc = int(layout & 1);
  p.in = I.data;
  p.filter = F.data;
  p.bias = B.data;
  p.out = O.data;
  p.n = I.size(0);
  p.c = p.nhwc ? I.size(3) : I.size(1);
  p.h = p.nhwc ? I.size(1) : I.size(2);
  p.w = p.nhwc ? I.size(2) : I.size(3);
  p.f = p.nhwc ? F.size(3) : F.size(0);
  p.kh = p.nhwc ? F.size(0) : F.size(2);
  p.kw = p.nhwc ? F.size(1) : F.size(3);
  p.sh = strideH;
  p.sw = strideW;
  p.ph = padTop;
  p.pw = padLeft;
  p.dh = dilationH;
  p.dw = dilationW;
  p.hasBias = (flags & kHasBias) != 0;
  p.accumulate = (flags & kHasResidual) != 0;
  p.act = int((flags >> kActShift) & 0xff);
  int64_t outH = p.nhwc ? O.size(1) : O.size(2),
          outW = p.nhwc ? O.size(2) : O.size(3);
  if (pool) {
    p.wh = pool[1];
    p.ww = pool[2];
    p.psh = pool[3];
    p.psw = pool[4];
    p.pdh = pool[5];
    p.pdw = pool[6];
    p.poh = outH;
    p.pow = outW;
    p.oh = (outH - 1) * p.psh + (p.wh - 1) * p.pdh + 1;
    p.ow = (outW - 1) * p.psw + (p.ww - 1) * p.pdw + 1;
  } else {
    p.oh = outH;
    p.ow = outW;
  }
  CUfunction fn = ownKernel("lathe_conv2d");
  if (!fn)
    return;
  void *params[] = {&p};
  int64_t total = p.n * p.f * outH * outW;
  unsigned grid = unsigned(std::min<int64_t>((total + 255) / 256, 65535));
  launch(pool ? "conv2d_pool" : "conv2d", fn, grid ? grid : 1, 256, params);
}

} // namespace

extern "C" {

void lathe_cuda_set_allow_tf32(int allow) { allowTf32 = allow != 0; }

void lathe_cuda_matmul_f32(int64_t rankA, void *a, int64_t rankB, void *b,
                           int64_t rankBias, void *bias, int64_t rankRes,
                           void *residual, int64_t rankC, void *c,
                           int64_t flags) {
  matmul(rankA, a, rankB, b, rankBias, bias, rankRes, residual, rankC, c, 1.0f,
         flags);
}

void lathe_cuda_matmul_scaled_f32(int64_t rankA, void *a, int64_t rankB,
                                  void *b, int64_t rankBias, void *bias,
                                  int64_t rankRes, void *residual,
                                  int64_t rankC, void *c, float alpha,
                                  int64_t flags) {
  matmul(rankA, a, rankB, b, rankBias, bias, rankRes, residual, rankC, c, alpha,
         flags);
}

void lathe_cuda_conv2d_f32(int64_t rankIn, void *in, int64_t rankFilter,
                           void *filter, int64_t rankBias, void *bias,
                           int64_t rankOut, void *out, int64_t layout,
                           int64_t strideH, int64_t strideW, int64_t padTop,
                           int64_t padLeft, int64_t dilationH,
                           int64_t dilationW, int64_t flags) {
  conv(rankIn, in, rankFilter, filter, rankBias, bias, rankOut, out, layout,
       strideH, strideW, padTop, padLeft, dilationH, dilationW, flags, nullptr);
}

void lathe_cuda_conv2d_pool_f32(
    int64_t rankIn, void *in, int64_t rankFilter, void *filter,
    int64_t rankBias, void *bias, int64_t rankOut, void *out, int64_t layout,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t dilationH, int64_t dilationW, int64_t flags, int64_t poolKind,
    int64_t windowH, int64_t windowW, int64_t poolStrideH, int64_t poolStrideW,
    int64_t poolDilationH, int64_t poolDilationW) {
  int64_t pool[7] = {poolKind,    windowH,       windowW,      poolStrideH,
                     poolStrideW, poolDilationH, poolDilationW};
  conv(rankIn, in, rankFilter, filter, rankBias, bias, rankOut, out, layout,
       strideH, strideW, padTop, padLeft, dilationH, dilationW, flags, pool);
}

void lathe_cuda_pool2d_f32(int64_t rankIn, void *in, int64_t rankOut, void *out,
                           int64_t layout, int64_t /*kind*/, int64_t windowH,
                           int64_t windowW, int64_t strideH, int64_t strideW,
                           int64_t dilationH, int64_t dilationW,
                           int64_t flags) {
  View I = view(rankIn, in), O = view(rankOut, out);
  int nhwc = int(layout & 1), accumulate = int(flags & 1);
  int64_t n = I.size(0), c = nhwc ? I.size(3) : I.size(1),
          h = nhwc ? I.size(1) : I.size(2), w = nhwc ? I.size(2) : I.size(3),
          oh = nhwc ? O.size(1) : O.size(2), ow = nhwc ? O.size(2) : O.size(3);
  const float *src = I.data;
  float *dst = O.data;
  CUfunction fn = ownKernel("lathe_pool2d");
  if (!fn)
    return;
  void *params[] = {&src,       &dst,       &n,       &c,
                    &h,         &w,         &oh,      &ow,
                    &windowH,   &windowW,   &strideH, &strideW,
                    &dilationH, &dilationW, &nhwc,    &accumulate};
  int64_t total = n * c * oh * ow;
  unsigned grid = unsigned(std::min<int64_t>((total + 255) / 256, 65535));
  launch("pool2d", fn, grid ? grid : 1, 256, params);
}

} // extern "C"

namespace {

/// A memref descriptor of rank R for the benchmark's calls.
template <int R> struct Desc {
  float *allocated, *aligned;
  int64_t offset;
  int64_t sizes[R], strides[R];
};

double elapsedMs(CUevent start, CUevent end) {
  float ms = 0;
  drv.eventSynchronize(end);
  drv.eventElapsedTime(&ms, start, end);
  return ms;
}

} // namespace

extern "C" int lathe_cuda_bench_matmul(int64_t batch, int64_t M, int64_t N,
                                       int64_t K, int64_t flags, int iters,
                                       double *latheMs, double *cublasLtMs) {
  *latheMs = *cublasLtMs = 0;
  if (lathe_cuda_init() != LATHE_CUDA_OK || !loadCublasLt())
    return LATHE_CUDA_ERROR;
  void *a, *b, *bias, *res, *c;
  if (lathe_cuda_alloc(batch * M * K * 4, &a) ||
      lathe_cuda_alloc(N * K * 4, &b) || lathe_cuda_alloc(N * 4, &bias) ||
      lathe_cuda_alloc(batch * M * N * 4, &res) ||
      lathe_cuda_alloc(batch * M * N * 4, &c))
    return LATHE_CUDA_OUT_OF_MEMORY;
  // 0.01f everywhere: the values do not matter for the time.
  for (auto [p, n] : {std::pair<void *, int64_t>{a, batch * M * K},
                      {b, N * K},
                      {bias, N},
                      {res, batch * M * N}})
    drv.memsetD32Async(reinterpret_cast<CUdeviceptr>(p), 0x3c23d70a, n,
                       theStream());
  auto *fa = static_cast<float *>(a), *fb = static_cast<float *>(b),
       *fbias = static_cast<float *>(bias), *fres = static_cast<float *>(res),
       *fc = static_cast<float *>(c);
  // A [batch, M, K]; B the transposed view of a [N, K] weight (as
  // transpose_rhs linear layers have it); C and residual [batch, M, N].
  Desc<3> A3 = {fa, fa, 0, {batch, M, K}, {M * K, K, 1}};
  Desc<3> C3 = {fc, fc, 0, {batch, M, N}, {M * N, N, 1}};
  Desc<3> R3 = {fres, fres, 0, {batch, M, N}, {M * N, N, 1}};
  Desc<2> B2 = {fb, fb, 0, {K, N}, {1, K}};
  Desc<1> Bias1 = {fbias, fbias, 0, {N}, {1}};
  auto call = [&] {
    lathe_cuda_matmul_f32(3, &A3, 2, &B2, 1, &Bias1, 3, &R3, 3, &C3, flags);
  };
  call(); // makes the plan
  Plan *plan = lastPlan;
  if (!plan || !plan->ok || lathe_cuda_synchronize() != LATHE_CUDA_OK)
    return LATHE_CUDA_ERROR;
  CUevent e0, e1, e2;
  drv.eventCreate(&e0, CU_EVENT_DEFAULT);
  drv.eventCreate(&e1, CU_EVENT_DEFAULT);
  drv.eventCreate(&e2, CU_EVENT_DEFAULT);
  drv.eventRecord(e0, theStream());
  for (int i = 0; i < iters; ++i)
    call();
  drv.eventRecord(e1, theStream());
  int act = int((flags >> kActShift) & 0xff);
  bool residualInLt = (flags & kHasResidual) && act == kActNone;
  float alpha = 1.0f, beta = residualInLt ? 1.0f : 0.0f;
  const float *biasPtr = fbias;
  lt.descSet(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &biasPtr,
             sizeof(biasPtr));
  for (int i = 0; i < iters; ++i)
    lt.matmul(lt.handle, plan->desc, &alpha, fb, plan->lB, fa, plan->lA, &beta,
              residualInLt ? fres : fc, plan->lR, fc, plan->lD, &plan->algo,
              lt.workspace, lt.workspaceBytes, theStream());
  drv.eventRecord(e2, theStream());
  *latheMs = elapsedMs(e0, e1) / iters;
  *cublasLtMs = elapsedMs(e1, e2) / iters;
  for (void *p : {a, b, bias, res, c})
    lathe_cuda_free(p);
  return LATHE_CUDA_OK;
}
