//===- Model.cpp - Load and run .lathe files (Model.h) --------------------===//
//
// lathe_model_load reads the container (ModelFormat.h), checks the CPU
// features the code was compiled for against CPUID, hands the CODE section
// (an ELF shared library) to the dynamic loader through a memfd, maps the DATA
// section in place (copy-on-write) and fills the library's table of constant
// pointers. Nothing is compiled: the only work at load is reading the
// metadata and the code, and dlopen's relocation of a small library.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/Model.h"
#include "lathe/runtime/ModelFormat.h"

#include "Internal.h"
#include "ModelFile.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <cpuid.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace lathe::rt;
namespace model_file = lathe::model_file;

namespace {

//===----------------------------------------------------------------------===//
// CPU features
//===----------------------------------------------------------------------===//

enum CpuidWord { L1C, L1D, L7B, L7C, L7D, L71A, L71D, E1C, NumWords };

/// OS support (XCR0 bits) a feature's registers need.
enum : uint64_t {
  kNoState = 0,
  kAvxState = 0x6,     // XMM, YMM
  kAvx512State = 0xe6, // + opmask, ZMM_Hi256, Hi16_ZMM
  kAmxState = 0x60000, // XTILECFG, XTILEDATA
};

struct FeatureBit {
  const char *name;
  CpuidWord word;
  int bit;
  uint64_t state;
};

constexpr FeatureBit kFeatureBits[] = {
    {"sse3", L1C, 0, kNoState},
    {"pclmul", L1C, 1, kNoState},
    {"ssse3", L1C, 9, kNoState},
    {"fma", L1C, 12, kAvxState},
    {"cx16", L1C, 13, kNoState},
    {"sse4.1", L1C, 19, kNoState},
    {"sse4.2", L1C, 20, kNoState},
    {"movbe", L1C, 22, kNoState},
    {"popcnt", L1C, 23, kNoState},
    {"aes", L1C, 25, kNoState},
    {"avx", L1C, 28, kAvxState},
    {"f16c", L1C, 29, kAvxState},
    {"bmi", L7B, 3, kNoState},
    {"avx2", L7B, 5, kAvxState},
    {"bmi2", L7B, 8, kNoState},
    {"avx512f", L7B, 16, kAvx512State},
    {"avx512dq", L7B, 17, kAvx512State},
    {"adx", L7B, 19, kNoState},
    {"avx512ifma", L7B, 21, kAvx512State},
    {"avx512cd", L7B, 28, kAvx512State},
    {"sha", L7B, 29, kNoState},
    {"avx512bw", L7B, 30, kAvx512State},
    {"avx512vl", L7B, 31, kAvx512State},
    {"avx512vbmi", L7C, 1, kAvx512State},
    {"avx512vbmi2", L7C, 6, kAvx512State},
    {"gfni", L7C, 8, kNoState},
    {"vaes", L7C, 9, kAvxState},
    {"vpclmulqdq", L7C, 10, kAvxState},
    {"avx512vnni", L7C, 11, kAvx512State},
    {"avx512bitalg", L7C, 12, kAvx512State},
    {"avx512vpopcntdq", L7C, 14, kAvx512State},
    {"avx512vp2intersect", L7D, 8, kAvx512State},
    {"amx-bf16", L7D, 22, kAmxState},
    {"avx512fp16", L7D, 23, kAvx512State},
    {"amx-tile", L7D, 24, kAmxState},
    {"amx-int8", L7D, 25, kAmxState},
    {"avxvnni", L71A, 4, kAvxState},
    {"avx512bf16", L71A, 5, kAvx512State},
    {"amx-fp16", L71A, 21, kAmxState},
    {"avxifma", L71A, 23, kAvxState},
    {"avxvnniint8", L71D, 4, kAvxState},
    {"avxneconvert", L71D, 5, kAvxState},
    {"amx-complex", L71D, 8, kAmxState},
    {"avxvnniint16", L71D, 10, kAvxState},
    {"lzcnt", E1C, 5, kNoState},
    {"sse4a", E1C, 6, kNoState},
    {"xop", E1C, 11, kAvxState},
    {"fma4", E1C, 16, kAvxState},
};

struct CpuState {
  uint32_t words[NumWords] = {};
  uint64_t xcr0 = 0;
};

CpuState readCpu() {
  CpuState cpu;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  if (maxLeaf >= 1) {
    __cpuid(1, a, b, c, d);
    cpu.words[L1C] = c;
    cpu.words[L1D] = d;
  }
  if (maxLeaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    cpu.words[L7B] = b;
    cpu.words[L7C] = c;
    cpu.words[L7D] = d;
    if (a >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      cpu.words[L71A] = a;
      cpu.words[L71D] = d;
    }
  }
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000001u) {
    __cpuid(0x80000001u, a, b, c, d);
    cpu.words[E1C] = c;
  }
  // OSXSAVE: the OS saves the extended registers (XGETBV is usable).
  if (cpu.words[L1C] & (1u << 27)) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    cpu.xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
  }
#endif
  return cpu;
}

/// Whether this CPU (and OS) has `name`; `known` is false for a name the
/// runtime cannot check.
bool cpuHas(const CpuState &cpu, const std::string &name, bool &known) {
  for (const FeatureBit &f : kFeatureBits) {
    if (name != f.name)
      continue;
    known = true;
    return (cpu.words[f.word] >> f.bit & 1u) && (cpu.xcr0 & f.state) == f.state;
  }
  known = false;
  return false;
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

struct TensorSpec {
  std::string name;
  lathe_dtype dtype = LATHE_F32;
  int32_t rank = 0;
  int64_t dims[LATHE_MAX_RANK] = {};
};

/// Closes a file descriptor at scope exit unless released.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

std::string sysError() { return std::strerror(errno); }

bool parseDtype(const std::string &name, lathe_dtype &dtype) {
  for (int d = 0; d < LATHE_DTYPE_COUNT; ++d)
    if (name == lathe_dtype_name(static_cast<lathe_dtype>(d))) {
      dtype = static_cast<lathe_dtype>(d);
      return true;
    }
  return false;
}

std::string shapeText(int32_t rank, const int64_t *dims) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i) {
    if (i)
      s += ", ";
    s += dims[i] == LATHE_DYNAMIC_DIM ? std::string("?")
                                      : std::to_string(dims[i]);
  }
  return s + "]";
}

std::string describe(const TensorSpec &spec) {
  return shapeText(spec.rank, spec.dims) + " " + lathe_dtype_name(spec.dtype);
}

/// Copies a strided result into dense memory.
void copyStrided(const char *base, size_t elemSize, int32_t rank,
                 const int64_t *sizes, const int64_t *strides, char *&out) {
  if (rank == 0) {
    std::memcpy(out, base, elemSize);
    out += elemSize;
    return;
  }
  if (rank == 1 && strides[0] == 1) {
    std::memcpy(out, base, static_cast<size_t>(sizes[0]) * elemSize);
    out += static_cast<size_t>(sizes[0]) * elemSize;
    return;
  }
  for (int64_t i = 0; i < sizes[0]; ++i)
    copyStrided(base + i * strides[0] * static_cast<int64_t>(elemSize),
                elemSize, rank - 1, sizes + 1, strides + 1, out);
}

} // namespace

struct lathe_model {
  std::string path;
  std::map<std::string, std::string> metadata;
  std::vector<TensorSpec> inputs, outputs;
  std::vector<model_file::ConstantDecl> constants;
  void *library = nullptr;
  int codeFd = -1;
  char *data = nullptr;
  size_t dataSize = 0;
  void (*entry)(void **) = nullptr;
  lathe_rt_session *session = nullptr;

  ~lathe_model() {
    // The session's caches are keyed by the constants' addresses: they go
    // before the memory does.
    if (session)
      lathe_rt_session_destroy(session);
    if (library)
      ::dlclose(library);
    if (codeFd >= 0)
      ::close(codeFd);
    if (data)
      ::munmap(data, dataSize);
  }
};

namespace {

/// Fails with `status` for the loader's kind of error.
[[noreturn]] void failFile(model_file::ErrorKind kind,
                           const std::string &message) {
  fail(kind == model_file::ErrorKind::Io ? LATHE_ERR_IO : LATHE_ERR_FORMAT,
       message);
}

void parseMetadata(lathe_model &model, const std::string &text) {
  model_file::Metadata metadata = model_file::parseMetadata(
      text, model.path, LATHE_MAX_RANK,
      [](const std::string &name) {
        lathe_dtype dtype;
        return parseDtype(name, dtype);
      },
      {"entry", "symbol", "target", "cpu_features"}, failFile);
  for (auto *list : {&metadata.inputs, &metadata.outputs})
    for (const model_file::TensorDecl &decl : *list) {
      TensorSpec spec;
      spec.name = decl.name;
      parseDtype(decl.dtype, spec.dtype);
      spec.rank = decl.rank;
      std::copy(decl.dims.begin(), decl.dims.end(), spec.dims);
      (list == &metadata.inputs ? model.inputs : model.outputs)
          .push_back(std::move(spec));
    }
  model.constants = std::move(metadata.constants);
  model.metadata = std::move(metadata.values);
}

void checkCpu(const lathe_model &model) {
  const std::string &target = model.metadata.at("target");
#if defined(__x86_64__)
  if (target.rfind("x86_64", 0) != 0)
    fail(LATHE_ERR_CPU, "'", model.path, "' was compiled for ", target,
         ", not for this machine (x86_64)");
#endif
  CpuState cpu = readCpu();
  std::string missing, unknown;
  for (const std::string &name :
       lathe::splitFields(model.metadata.at("cpu_features"), ',')) {
    bool known = false;
    bool has = cpuHas(cpu, name, known);
    std::string &into = !known ? unknown : missing;
    if (!known || !has)
      into += (into.empty() ? "" : ", ") + name;
  }
  if (!missing.empty())
    fail(LATHE_ERR_CPU, "'", model.path,
         "' was compiled for CPU features this CPU lacks: ", missing,
         " (compiled for ", target,
         "); compile it again with lathe-compile --cpu=host on this "
         "machine, or for an older CPU (e.g. --cpu=x86-64-v3)");
  if (!unknown.empty())
    fail(LATHE_ERR_CPU, "'", model.path, "' needs CPU features that this ",
         "runtime cannot check: ", unknown, " (compiled for ", target, ")");
}

std::unique_ptr<lathe_model> loadModel(const char *path,
                                       const lathe_model_options &options) {
  if (!path)
    fail(LATHE_ERR_INVALID, "lathe_model_load: path is NULL");
  auto model = std::make_unique<lathe_model>();
  model->path = path;
  FdCloser file;
  file.fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (file.fd < 0)
    fail(LATHE_ERR_IO, "cannot open '", path, "': ", sysError());
  model_file::Container sections = model_file::readContainer(
      file.fd, model->path,
      {"lathe-compile", " (compile it again with this Lathe)"}, failFile);
  std::vector<char> metaBytes = model_file::readSection(
      file.fd, model->path, sections.meta, "META", failFile);
  parseMetadata(*model, std::string(metaBytes.begin(), metaBytes.end()));
  auto backend = model->metadata.find("backend");
  if (backend != model->metadata.end() && backend->second != "cpu")
    fail(LATHE_ERR_BACKEND, "'", path, "' was compiled for the ",
         backend->second,
         " backend: load it with that backend's runtime (--backend=cuda: "
         "lathe_cuda_model_load in lathe/runtime/CUDA.h, or lathe-run)");
  checkCpu(*model);
  model_file::checkConstants(model->constants, sections.data, model->path,
                             failFile);
  std::vector<char> codeBytes =
      model_file::readCode(file.fd, model->path, sections.code, failFile);
  model->library = model_file::loadLibrary(
      codeBytes, model->path, "lathe-model", model->codeFd, failFile);

  // Weights stay in the file's pages until the code reads them.
  const lathe_model_section &data = sections.data;
  if (data.size > 0) {
    void *p = ::mmap(nullptr, data.size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                     file.fd, static_cast<off_t>(data.offset));
    if (p == MAP_FAILED)
      fail(LATHE_ERR_IO, "cannot map the weights of '", path,
           "': ", sysError());
    model->data = static_cast<char *>(p);
    model->dataSize = data.size;
  }
  if (void **table = model_file::constantTable(
          model->library, model->constants.size(), model->path, failFile))
    for (size_t i = 0; i < model->constants.size(); ++i)
      table[i] = model->data + model->constants[i].offset;
  model->entry = model_file::findEntry(
      model->library, model->metadata.at("symbol"), model->path, failFile);

  lathe_rt_session_options sessionOptions;
  lathe_rt_session_options_init(&sessionOptions);
  sessionOptions.num_threads = options.num_threads;
  auto precision = model->metadata.find("precision");
  if (precision != model->metadata.end() && precision->second == "bf16")
    sessionOptions.precision = LATHE_PRECISION_BF16;
  model->session = lathe_rt_session_create(&sessionOptions);
  if (!model->session)
    fail(LATHE_ERR_OOM, "cannot create a runtime session for '", path,
         "': ", lathe_rt_last_error());
  return model;
}

void checkInput(const lathe_model &model, int32_t i,
                const lathe_host_tensor &t) {
  const TensorSpec &spec = model.inputs[i];
  std::string what = "input #" + std::to_string(i) + " ('" + spec.name + "')";
  if (t.dtype < 0 || t.dtype >= LATHE_DTYPE_COUNT || t.dtype != spec.dtype)
    fail(LATHE_ERR_DTYPE, what, ": expected ", describe(spec), ", given ",
         t.dtype >= 0 && t.dtype < LATHE_DTYPE_COUNT ? lathe_dtype_name(t.dtype)
                                                     : "an invalid dtype");
  if (t.rank < 0 || t.rank > LATHE_MAX_RANK)
    fail(LATHE_ERR_SHAPE, what, ": expected ", describe(spec), ", given rank ",
         t.rank);
  if (t.rank != spec.rank)
    fail(LATHE_ERR_SHAPE, what, ": expected ", describe(spec), ", given ",
         shapeText(t.rank, t.shape));
  for (int32_t d = 0; d < spec.rank; ++d)
    if (t.shape[d] < 0 ||
        (spec.dims[d] != LATHE_DYNAMIC_DIM && t.shape[d] != spec.dims[d]))
      fail(LATHE_ERR_SHAPE, what, ": expected ", describe(spec), ", given ",
           shapeText(t.rank, t.shape));
  if (!t.data && lathe_host_tensor_numel(&t) > 0)
    fail(LATHE_ERR_INVALID, what, ": data is NULL");
}

/// Frees the blocks of the results that the runtime allocated (results may
/// also be inputs or constants, which it does not own).
void freeResults(const std::vector<int64_t> &storage,
                 const std::vector<size_t> &offsets) {
  std::vector<void *> freed;
  for (size_t offset : offsets) {
    void *allocated = reinterpret_cast<void *>(storage[offset]);
    if (!allocated ||
        std::find(freed.begin(), freed.end(), allocated) != freed.end())
      continue;
    freed.push_back(allocated);
    if (lathe_rt_mem_owns(allocated))
      _mlir_memref_to_llvm_free(allocated);
  }
}

void runModel(lathe_model &model, const lathe_host_tensor *inputs,
              int32_t numInputs, lathe_host_tensor *outputs,
              int32_t numOutputs) {
  int32_t wantInputs = static_cast<int32_t>(model.inputs.size());
  int32_t wantOutputs = static_cast<int32_t>(model.outputs.size());
  if (numInputs != wantInputs)
    fail(LATHE_ERR_INVALID, "the model takes ", wantInputs, " input(s), ",
         numInputs, " given");
  if (numOutputs != wantOutputs)
    fail(LATHE_ERR_INVALID, "the model returns ", wantOutputs, " output(s), ",
         numOutputs, " given");
  if ((numInputs > 0 && !inputs) || (numOutputs > 0 && !outputs))
    fail(LATHE_ERR_INVALID, "inputs or outputs is NULL");
  for (int32_t i = 0; i < numInputs; ++i)
    checkInput(model, i, inputs[i]);

  // Packed arguments: a pointer to every descriptor word ({allocated,
  // aligned, offset, sizes[rank], strides[rank]}) of every input, then a
  // pointer to the results' descriptors.
  std::vector<int64_t> argWords =
      model_file::inputDescriptorWords(inputs, static_cast<size_t>(numInputs));
  std::vector<void *> packed;
  packed.reserve(argWords.size() + 1);
  for (int64_t &word : argWords)
    packed.push_back(&word);
  std::vector<size_t> offsets;
  size_t resultWords = 0;
  for (const TensorSpec &spec : model.outputs) {
    offsets.push_back(resultWords);
    resultWords += 3 + 2 * static_cast<size_t>(spec.rank);
  }
  std::vector<int64_t> results(std::max<size_t>(resultWords, 1), 0);
  if (numOutputs > 0)
    packed.push_back(results.data());

  lathe_rt_session *previous = lathe_rt_session_bind(model.session);
  char pending[1024];
  int asserted = lathe_rt_call_guarded(model.entry, packed.data());
  bool failed = lathe_rt_take_pending_error(pending, sizeof(pending)) != 0;
  lathe_rt_session_bind(previous);
  if (asserted || failed) {
    if (!asserted)
      freeResults(results, offsets);
    fail(LATHE_ERR_CHECK, failed ? pending : "assertion failed");
  }

  // Check every output before writing any.
  struct Guard {
    const std::vector<int64_t> &results;
    const std::vector<size_t> &offsets;
    ~Guard() { freeResults(results, offsets); }
  } guard{results, offsets};
  for (int32_t i = 0; i < numOutputs; ++i) {
    const TensorSpec &spec = model.outputs[i];
    const int64_t *d = results.data() + offsets[i];
    lathe_host_tensor &out = outputs[i];
    if (!out.data)
      continue;
    std::string what =
        "output #" + std::to_string(i) + " ('" + spec.name + "')";
    if (out.dtype != spec.dtype)
      fail(LATHE_ERR_DTYPE, what, ": the result is ",
           lathe_dtype_name(spec.dtype), ", the buffer given is ",
           out.dtype >= 0 && out.dtype < LATHE_DTYPE_COUNT
               ? lathe_dtype_name(out.dtype)
               : "of an invalid dtype");
    bool same = out.rank == spec.rank;
    for (int32_t r = 0; same && r < spec.rank; ++r)
      same = out.shape[r] == d[3 + r];
    if (!same)
      fail(LATHE_ERR_SHAPE, what, ": the result has shape ",
           shapeText(spec.rank, d + 3), ", the buffer given has shape ",
           shapeText(std::clamp(out.rank, 0, LATHE_MAX_RANK), out.shape));
  }
  std::vector<int32_t> allocatedHere;
  try {
    for (int32_t i = 0; i < numOutputs; ++i) {
      const TensorSpec &spec = model.outputs[i];
      const int64_t *d = results.data() + offsets[i];
      lathe_host_tensor &out = outputs[i];
      if (!out.data) {
        if (lathe_host_tensor_alloc(&out, spec.dtype, spec.rank, d + 3) !=
            LATHE_OK)
          fail(LATHE_ERR_OOM, "output #", i, ": ", lathe_rt_last_error());
        allocatedHere.push_back(i);
      }
      if (lathe_host_tensor_numel(&out) == 0)
        continue;
      size_t elemSize = lathe_dtype_size(spec.dtype);
      const char *base = reinterpret_cast<const char *>(d[1]) +
                         d[2] * static_cast<int64_t>(elemSize);
      char *dst = static_cast<char *>(out.data);
      copyStrided(base, elemSize, spec.rank, d + 3, d + 3 + spec.rank, dst);
    }
  } catch (...) {
    for (int32_t i : allocatedHere)
      lathe_host_tensor_free(&outputs[i]);
    throw;
  }
}

} // namespace

extern "C" void lathe_model_options_init(lathe_model_options *options) {
  if (!options)
    return;
  *options = lathe_model_options{};
  options->num_threads = 0;
}

extern "C" const char *lathe_status_message(void) {
  return lathe_rt_last_error();
}

extern "C" const char *lathe_status_name(lathe_status status) {
  switch (status) {
  case LATHE_OK:
    return "OK";
  case LATHE_ERR_IO:
    return "IO";
  case LATHE_ERR_FORMAT:
    return "FORMAT";
  case LATHE_ERR_DTYPE:
    return "DTYPE";
  case LATHE_ERR_SHAPE:
    return "SHAPE";
  case LATHE_ERR_BACKEND:
    return "BACKEND";
  case LATHE_ERR_OOM:
    return "OOM";
  case LATHE_ERR_INVALID:
    return "INVALID";
  case LATHE_ERR_CPU:
    return "CPU";
  case LATHE_ERR_CHECK:
    return "CHECK";
  }
  return "UNKNOWN";
}

extern "C" lathe_status lathe_model_load(const char *path,
                                         lathe_model **model) {
  return lathe_model_load_with_options(path, nullptr, model);
}

extern "C" lathe_status lathe_model_load_with_options(
    const char *path, const lathe_model_options *options, lathe_model **model) {
  if (model)
    *model = nullptr;
  return guardStatus("lathe_model_load", [&] {
    if (!model)
      fail(LATHE_ERR_INVALID, "the model pointer is NULL");
    lathe_model_options defaults;
    lathe_model_options_init(&defaults);
    *model = loadModel(path, options ? *options : defaults).release();
  });
}

extern "C" void lathe_model_free(lathe_model *model) { delete model; }

extern "C" int32_t lathe_model_num_inputs(const lathe_model *model) {
  return model ? static_cast<int32_t>(model->inputs.size()) : 0;
}

extern "C" int32_t lathe_model_num_outputs(const lathe_model *model) {
  return model ? static_cast<int32_t>(model->outputs.size()) : 0;
}

static lathe_status tensorInfo(const lathe_model *model, int32_t index,
                               lathe_tensor_info *info, bool input) {
  return guardStatus("lathe_model_info", [&] {
    if (!model || !info)
      fail(LATHE_ERR_INVALID, "model or info is NULL");
    const std::vector<TensorSpec> &list =
        input ? model->inputs : model->outputs;
    if (index < 0 || static_cast<size_t>(index) >= list.size())
      fail(LATHE_ERR_INVALID, input ? "input" : "output", " index ", index,
           " out of range (the model has ", list.size(), ")");
    const TensorSpec &spec = list[index];
    *info = lathe_tensor_info{};
    info->name = spec.name.c_str();
    info->dtype = spec.dtype;
    info->rank = spec.rank;
    std::copy(spec.dims, spec.dims + LATHE_MAX_RANK, info->dims);
  });
}

extern "C" lathe_status lathe_model_input_info(const lathe_model *model,
                                               int32_t index,
                                               lathe_tensor_info *info) {
  return tensorInfo(model, index, info, /*input=*/true);
}

extern "C" lathe_status lathe_model_output_info(const lathe_model *model,
                                                int32_t index,
                                                lathe_tensor_info *info) {
  return tensorInfo(model, index, info, /*input=*/false);
}

extern "C" const char *lathe_model_metadata(const lathe_model *model,
                                            const char *key) {
  if (!model || !key)
    return nullptr;
  auto it = model->metadata.find(key);
  return it == model->metadata.end() ? nullptr : it->second.c_str();
}

extern "C" lathe_status lathe_model_run(lathe_model *model,
                                        const lathe_host_tensor *inputs,
                                        int32_t num_inputs,
                                        lathe_host_tensor *outputs,
                                        int32_t num_outputs) {
  return guardStatus("lathe_model_run", [&] {
    if (!model)
      fail(LATHE_ERR_INVALID, "the model is NULL");
    runModel(*model, inputs, num_inputs, outputs, num_outputs);
  });
}
