//===- CudaModel.cpp - Load and run .lathe files of the CUDA backend ------===//
//
// The CUDA runtime's own loader for what `lathe-compile --backend=cuda`
// writes (runtime/include/lathe/runtime/ModelFormat.h, docs/Deploy.md): the
// container and META are checked, the device is initialised, CODE (host code
// with the cubin inside, linked against this library only) is handed to the
// dynamic loader through a memfd, and every constant of DATA is uploaded to
// the device once: the code's constant table then holds device addresses, so
// no call copies a weight. Needs neither LLVM, MLIR nor the CPU runtime.
//
//===----------------------------------------------------------------------===//

#include "lathe/runtime/CUDA.h"
#include "lathe/runtime/ModelFormat.h"

#include "CudaInternal.h"
#include "ModelFile.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace lathe_cuda;
namespace model_file = lathe::model_file;

namespace {

struct TensorSpec {
  std::string name;
  std::string dtype = "float32"; // a lathe_dtype_name
  size_t elementBytes = 4;
  int32_t rank = 0;
  int64_t dims[LATHE_CUDA_MAX_RANK] = {};
};

/// The bytes of one element of a .lathe signature's dtype, 0 if unknown
/// (the names lathe_dtype_name gives; bool is a byte, as i1 in memory).
size_t dtypeBytes(const char *dtype) {
  static const std::pair<const char *, size_t> kSizes[] = {
      {"float32", 4}, {"float64", 8}, {"float16", 2}, {"bfloat16", 2},
      {"int64", 8},   {"int32", 4},   {"int16", 2},   {"int8", 1},
      {"uint8", 1},   {"bool", 1}};
  for (const auto &[name, bytes] : kSizes)
    if (std::strcmp(name, dtype) == 0)
      return bytes;
  return 0;
}

struct Constant {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string symbol;
  void *device = nullptr;
};

/// Thrown inside this file only; every entry point turns it into a status.
struct Failure {
  int status;
};

[[noreturn]] void failWith(int status, const std::string &message) {
  setLastError(message);
  throw Failure{status};
}

template <typename Fn> int guarded(Fn &&fn) {
  try {
    fn();
    return LATHE_CUDA_OK;
  } catch (const Failure &f) {
    return f.status;
  } catch (const std::bad_alloc &) {
    setLastError("out of host memory");
    return LATHE_CUDA_OUT_OF_MEMORY;
  }
}

std::string shapeText(int32_t rank, const int64_t *dims) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") +
         (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

int64_t numElements(int32_t rank, const int64_t *dims) {
  int64_t n = 1;
  for (int32_t i = 0; i < rank; ++i)
    n *= dims[i];
  return n;
}

/// Copies a strided view of `elementBytes`-byte elements into dense memory
/// (host to host).
void copyStrided(const char *base, size_t elementBytes, int32_t rank,
                 const int64_t *sizes, const int64_t *strides, char *&out) {
  if (rank == 0) {
    std::memcpy(out, base, elementBytes);
    out += elementBytes;
    return;
  }
  if (rank == 1 && strides[0] == 1) {
    size_t bytes = static_cast<size_t>(sizes[0]) * elementBytes;
    std::memcpy(out, base, bytes);
    out += bytes;
    return;
  }
  for (int64_t i = 0; i < sizes[0]; ++i)
    copyStrided(base + i * strides[0] * static_cast<int64_t>(elementBytes),
                elementBytes, rank - 1, sizes + 1, strides + 1, out);
}

/// A result descriptor of the packed calling convention: {allocated,
/// aligned, offset, sizes[rank], strides[rank]}.
struct ResultView {
  void *allocated;
  char *data; // aligned + offset
  size_t elementBytes;
  int32_t rank;
  const int64_t *sizes;
  const int64_t *strides;

  bool dense() const {
    int64_t expected = 1;
    for (int32_t r = rank - 1; r >= 0; --r) {
      if (sizes[r] != 1 && strides[r] != expected)
        return false;
      expected *= sizes[r];
    }
    return true;
  }
  /// Elements from `data` to one past the last one the view reaches.
  int64_t span() const {
    int64_t last = 0;
    for (int32_t r = 0; r < rank; ++r) {
      if (sizes[r] == 0)
        return 0;
      last += (sizes[r] - 1) * strides[r];
    }
    return last + 1;
  }
};

} // namespace

struct lathe_cuda_model {
  std::string path;
  std::map<std::string, std::string> metadata;
  std::vector<TensorSpec> inputs, outputs;
  std::vector<Constant> constants;
  int64_t constantBytes = 0;
  void *library = nullptr;
  int codeFd = -1;
  void (*entry)(void **) = nullptr;
  std::mutex mutex;

  ~lathe_cuda_model() {
    // The code's destructor unloads its cubin; then the constants go.
    if (library)
      ::dlclose(library);
    if (codeFd >= 0)
      ::close(codeFd);
    for (Constant &c : constants)
      lathe_cuda_free(c.device);
  }
};

namespace {

/// Every error of reading the file is LATHE_CUDA_ERROR.
[[noreturn]] void failFile(model_file::ErrorKind, const std::string &message) {
  failWith(LATHE_CUDA_ERROR, message);
}

void parseMetadata(lathe_cuda_model &model, const std::string &text) {
  model_file::Metadata metadata = model_file::parseMetadata(
      text, model.path, LATHE_CUDA_MAX_RANK,
      [](const std::string &name) { return dtypeBytes(name.c_str()) != 0; },
      {"entry", "symbol", "backend", "gpu_chip"}, failFile);
  for (auto *list : {&metadata.inputs, &metadata.outputs})
    for (const model_file::TensorDecl &decl : *list) {
      TensorSpec spec;
      spec.name = decl.name;
      spec.dtype = decl.dtype;
      spec.elementBytes = dtypeBytes(decl.dtype.c_str());
      spec.rank = decl.rank;
      std::copy(decl.dims.begin(), decl.dims.end(), spec.dims);
      (list == &metadata.inputs ? model.inputs : model.outputs)
          .push_back(std::move(spec));
    }
  for (const model_file::ConstantDecl &decl : metadata.constants)
    model.constants.push_back({decl.offset, decl.size, decl.symbol, nullptr});
  model.metadata = std::move(metadata.values);
  if (model.metadata["backend"] != "cuda")
    failWith(LATHE_CUDA_ERROR,
             "'" + model.path + "' was compiled for the " +
                 model.metadata["backend"] +
                 " backend, not for CUDA (load it with lathe_model_load, "
                 "lathe/runtime/Model.h)");
}

std::unique_ptr<lathe_cuda_model> loadModel(const char *path) {
  if (!path)
    failWith(LATHE_CUDA_ERROR, "lathe_cuda_model_load: path is NULL");
  auto model = std::make_unique<lathe_cuda_model>();
  model->path = path;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    failWith(LATHE_CUDA_ERROR,
             "cannot open '" + model->path + "': " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  model_file::Container sections = model_file::readContainer(
      fd, model->path, {"lathe-compile --backend=cuda", ""}, failFile);
  std::vector<char> metaBytes =
      model_file::readSection(fd, model->path, sections.meta, "META", failFile);
  parseMetadata(*model, std::string(metaBytes.begin(), metaBytes.end()));
  model_file::checkConstants(model->constants, sections.data, model->path,
                             failFile);
  for (const Constant &c : model->constants)
    model->constantBytes += static_cast<int64_t>(c.size);
  std::vector<char> codeBytes =
      model_file::readCode(fd, model->path, sections.code, failFile);

  // The file is sound: now the device (its absence is the common failure).
  if (int status = lathe_cuda_init(); status != LATHE_CUDA_OK)
    failWith(status, status == LATHE_CUDA_NO_DEVICE
                         ? "no CUDA device (" +
                               std::string(lathe_cuda_last_error()) + ")"
                         : std::string(lathe_cuda_last_error()));
  const std::string &chip = model->metadata["gpu_chip"];
  int capability = lathe_cuda_compute_capability();
  if (chip.rfind("sm_", 0) == 0 && std::atoi(chip.c_str() + 3) > capability)
    failWith(LATHE_CUDA_ERROR,
             "'" + model->path + "' was compiled for " + chip +
                 ", and this device (" + lathe_cuda_device_description() +
                 ") is older: compile it with lathe-compile --backend=cuda "
                 "--gpu-chip=sm_" +
                 std::to_string(capability));
  // Loading the code loads its cubin (a constructor calls mgpuModuleLoad).
  lathe_cuda_take_pending_error();
  model->library = model_file::loadLibrary(
      codeBytes, model->path, "lathe-cuda-model", model->codeFd, failFile);
  if (const char *pending = lathe_cuda_take_pending_error())
    failWith(LATHE_CUDA_ERROR,
             "loading the kernels of '" + model->path + "': " + pending);

  // Every constant once to the device; the table then holds device
  // addresses for the code's whole life.
  if (void **table = model_file::constantTable(
          model->library, model->constants.size(), model->path, failFile)) {
    const lathe_model_section &data = sections.data;
    void *p = ::mmap(nullptr, data.size, PROT_READ, MAP_PRIVATE, fd,
                     static_cast<off_t>(data.offset));
    if (p == MAP_FAILED)
      failWith(LATHE_CUDA_ERROR, "cannot map the weights of '" + model->path +
                                     "': " + std::strerror(errno));
    struct Unmap {
      void *p;
      size_t size;
      ~Unmap() { ::munmap(p, size); }
    } unmap{p, data.size};
    const char *bytes = static_cast<const char *>(p);
    for (size_t i = 0; i < model->constants.size(); ++i) {
      Constant &c = model->constants[i];
      int status = lathe_cuda_alloc(c.size, &c.device);
      if (status == LATHE_CUDA_OK)
        status = lathe_cuda_copy_to_device(c.device, bytes + c.offset, c.size);
      if (status != LATHE_CUDA_OK)
        failWith(status, "uploading constant " + c.symbol + " of '" +
                             model->path + "': " + lathe_cuda_last_error());
      table[i] = c.device;
    }
    // The mapping goes when this returns: the copies must be done.
    if (int status = lathe_cuda_synchronize(); status != LATHE_CUDA_OK)
      failWith(status, std::string("uploading the constants of '") +
                           model->path + "': " + lathe_cuda_last_error());
  }
  model->entry = model_file::findEntry(
      model->library, model->metadata["symbol"], model->path, failFile);
  return model;
}

void checkTensor(const TensorSpec &spec, const lathe_cuda_tensor &t,
                 const std::string &what) {
  bool same = t.rank == spec.rank;
  for (int32_t d = 0; same && d < spec.rank; ++d)
    same = t.shape[d] >= 0 && (spec.dims[d] < 0 || t.shape[d] == spec.dims[d]);
  if (!same)
    failWith(
        LATHE_CUDA_ERROR,
        what + ": expected " + shapeText(spec.rank, spec.dims) + " " +
            spec.dtype + ", given " +
            shapeText(std::clamp(t.rank, 0, LATHE_CUDA_MAX_RANK), t.shape));
  if (!t.data && numElements(t.rank, t.shape) > 0)
    failWith(LATHE_CUDA_ERROR, what + ": data is NULL");
}

/// Calls the entry on device inputs; the results' descriptors land in
/// `results` (one after the other) with their offsets in `offsets`.
void invoke(lathe_cuda_model &model, const lathe_cuda_tensor *inputs,
            std::vector<int64_t> &results, std::vector<size_t> &offsets) {
  std::vector<int64_t> argWords =
      model_file::inputDescriptorWords(inputs, model.inputs.size());
  std::vector<void *> packed;
  for (int64_t &word : argWords)
    packed.push_back(&word);
  size_t resultWords = 0;
  offsets.clear();
  for (const TensorSpec &spec : model.outputs) {
    offsets.push_back(resultWords);
    resultWords += 3 + 2 * static_cast<size_t>(spec.rank);
  }
  results.assign(std::max<size_t>(resultWords, 1), 0);
  if (!model.outputs.empty())
    packed.push_back(results.data());
  lathe_cuda_take_pending_error();
  model.entry(packed.data());
  // Launch failures surface here, not in the code that cannot return them.
  int status = lathe_cuda_synchronize();
  std::string why = status ? lathe_cuda_last_error() : "";
  if (const char *pending = lathe_cuda_take_pending_error()) {
    status = LATHE_CUDA_ERROR;
    why = pending;
  }
  if (status != LATHE_CUDA_OK)
    failWith(status, "running '" + model.path + "': " + why);
}

ResultView resultView(const lathe_cuda_model &model,
                      const std::vector<int64_t> &results, size_t i,
                      size_t offset) {
  const int64_t *d = results.data() + offset;
  ResultView v;
  v.allocated = reinterpret_cast<void *>(d[0]);
  v.elementBytes = model.outputs[i].elementBytes;
  v.data = reinterpret_cast<char *>(d[1]) +
           d[2] * static_cast<int64_t>(v.elementBytes);
  v.rank = model.outputs[i].rank;
  v.sizes = d + 3;
  v.strides = d + 3 + v.rank;
  return v;
}

/// Frees the result blocks that belong to the call (not inputs, not
/// constants, each once), except those in `keep`.
void freeResultBlocks(const lathe_cuda_model &model,
                      const std::vector<int64_t> &results,
                      const std::vector<size_t> &offsets,
                      const lathe_cuda_tensor *inputs,
                      const std::vector<void *> &keep) {
  std::vector<void *> done(keep);
  for (size_t i = 0; i < offsets.size(); ++i) {
    void *block = resultView(model, results, i, offsets[i]).allocated;
    if (!block || std::find(done.begin(), done.end(), block) != done.end())
      continue;
    done.push_back(block);
    bool foreign = false;
    for (size_t k = 0; k < model.inputs.size(); ++k)
      foreign |= block == inputs[k].data;
    for (const Constant &c : model.constants)
      foreign |= block == c.device;
    if (!foreign && ownsBlock(block))
      lathe_cuda_free(block);
  }
}

/// Copies a device view to dense host memory.
void copyToHost(const ResultView &v, void *out) {
  int64_t count = numElements(v.rank, v.sizes);
  if (count == 0)
    return;
  if (v.dense()) {
    if (lathe_cuda_copy_to_host(out, v.data, count * v.elementBytes))
      failWith(LATHE_CUDA_ERROR, lathe_cuda_last_error());
    return;
  }
  std::vector<char> staged(v.span() * v.elementBytes);
  if (lathe_cuda_copy_to_host(staged.data(), v.data, staged.size()))
    failWith(LATHE_CUDA_ERROR, lathe_cuda_last_error());
  char *cursor = static_cast<char *>(out);
  copyStrided(staged.data(), v.elementBytes, v.rank, v.sizes, v.strides,
              cursor);
}

void checkCounts(const lathe_cuda_model &model, const void *inputs,
                 int32_t numInputs, const void *outputs, int32_t numOutputs) {
  if (numInputs != static_cast<int32_t>(model.inputs.size()))
    failWith(LATHE_CUDA_ERROR,
             "the model takes " + std::to_string(model.inputs.size()) +
                 " input(s), " + std::to_string(numInputs) + " given");
  if (numOutputs != static_cast<int32_t>(model.outputs.size()))
    failWith(LATHE_CUDA_ERROR,
             "the model returns " + std::to_string(model.outputs.size()) +
                 " output(s), " + std::to_string(numOutputs) + " given");
  if ((numInputs > 0 && !inputs) || (numOutputs > 0 && !outputs))
    failWith(LATHE_CUDA_ERROR, "inputs or outputs is NULL");
}

/// Device blocks freed on every path out.
struct Blocks {
  std::vector<void *> blocks;
  ~Blocks() {
    for (void *b : blocks)
      lathe_cuda_free(b);
  }
};

int tensorInfo(const lathe_cuda_model *model, int32_t index,
               lathe_cuda_tensor *shape, const char **name, bool input) {
  return guarded([&] {
    if (!model || !shape)
      failWith(LATHE_CUDA_ERROR, "model or shape is NULL");
    const std::vector<TensorSpec> &list =
        input ? model->inputs : model->outputs;
    if (index < 0 || static_cast<size_t>(index) >= list.size())
      failWith(LATHE_CUDA_ERROR, std::string(input ? "input" : "output") +
                                     " index " + std::to_string(index) +
                                     " out of range");
    const TensorSpec &spec = list[index];
    *shape = lathe_cuda_tensor{};
    shape->rank = spec.rank;
    std::copy(spec.dims, spec.dims + LATHE_CUDA_MAX_RANK, shape->shape);
    if (name)
      *name = spec.name.c_str();
  });
}

} // namespace

extern "C" {

int lathe_cuda_model_load(const char *path, lathe_cuda_model **model) {
  if (model)
    *model = nullptr;
  return guarded([&] {
    if (!model)
      failWith(LATHE_CUDA_ERROR, "the model pointer is NULL");
    *model = loadModel(path).release();
  });
}

void lathe_cuda_model_free(lathe_cuda_model *model) { delete model; }

int32_t lathe_cuda_model_num_inputs(const lathe_cuda_model *model) {
  return model ? static_cast<int32_t>(model->inputs.size()) : 0;
}

int32_t lathe_cuda_model_num_outputs(const lathe_cuda_model *model) {
  return model ? static_cast<int32_t>(model->outputs.size()) : 0;
}

int lathe_cuda_model_input_info(const lathe_cuda_model *model, int32_t index,
                                lathe_cuda_tensor *shape, const char **name) {
  return tensorInfo(model, index, shape, name, /*input=*/true);
}

int lathe_cuda_model_output_info(const lathe_cuda_model *model, int32_t index,
                                 lathe_cuda_tensor *shape, const char **name) {
  return tensorInfo(model, index, shape, name, /*input=*/false);
}

const char *lathe_cuda_model_input_dtype(const lathe_cuda_model *model,
                                         int32_t index) {
  if (!model || index < 0 || static_cast<size_t>(index) >= model->inputs.size())
    return nullptr;
  return model->inputs[index].dtype.c_str();
}

const char *lathe_cuda_model_output_dtype(const lathe_cuda_model *model,
                                          int32_t index) {
  if (!model || index < 0 ||
      static_cast<size_t>(index) >= model->outputs.size())
    return nullptr;
  return model->outputs[index].dtype.c_str();
}

const char *lathe_cuda_model_metadata(const lathe_cuda_model *model,
                                      const char *key) {
  if (!model || !key)
    return nullptr;
  auto it = model->metadata.find(key);
  return it == model->metadata.end() ? nullptr : it->second.c_str();
}

int64_t lathe_cuda_model_constant_bytes(const lathe_cuda_model *model) {
  return model ? model->constantBytes : 0;
}

int lathe_cuda_model_run_device(lathe_cuda_model *model,
                                const lathe_cuda_tensor *inputs,
                                int32_t num_inputs, lathe_cuda_tensor *outputs,
                                int32_t num_outputs) {
  return guarded([&] {
    if (!model)
      failWith(LATHE_CUDA_ERROR, "the model is NULL");
    std::lock_guard<std::mutex> lock(model->mutex);
    checkCounts(*model, inputs, num_inputs, outputs, num_outputs);
    for (int32_t i = 0; i < num_inputs; ++i)
      checkTensor(model->inputs[i], inputs[i],
                  "input #" + std::to_string(i) + " ('" +
                      model->inputs[i].name + "')");
    std::vector<int64_t> results;
    std::vector<size_t> offsets;
    invoke(*model, inputs, results, offsets);
    // A dense result in a block of its own is handed over as it is; any
    // other (a view, an input, a constant, a block two results share) is
    // copied into a fresh block.
    std::vector<void *> handedOver;
    Blocks fresh;
    for (int32_t i = 0; i < num_outputs; ++i) {
      ResultView v = resultView(*model, results, i, offsets[i]);
      lathe_cuda_tensor &out = outputs[i];
      out = lathe_cuda_tensor{};
      out.rank = v.rank;
      std::copy(v.sizes, v.sizes + v.rank, out.shape);
      bool own = v.dense() && v.allocated == v.data && ownsBlock(v.data) &&
                 std::find(handedOver.begin(), handedOver.end(), v.data) ==
                     handedOver.end();
      for (int32_t k = 0; own && k < num_inputs; ++k)
        own = static_cast<void *>(inputs[k].data) != v.data;
      for (const Constant &c : model->constants)
        own &= c.device != v.data;
      if (own) {
        out.data = reinterpret_cast<float *>(v.data);
        handedOver.push_back(v.data);
        continue;
      }
      int64_t count = numElements(v.rank, v.sizes);
      void *copy = nullptr;
      size_t bytes = count * v.elementBytes;
      if (lathe_cuda_alloc(std::max<size_t>(bytes, 1), &copy) != LATHE_CUDA_OK)
        failWith(LATHE_CUDA_OUT_OF_MEMORY, lathe_cuda_last_error());
      fresh.blocks.push_back(copy);
      if (count > 0) {
        std::vector<char> staged(bytes);
        copyToHost(v, staged.data());
        if (lathe_cuda_copy_to_device(copy, staged.data(), bytes) ||
            lathe_cuda_synchronize())
          failWith(LATHE_CUDA_ERROR, lathe_cuda_last_error());
      }
      out.data = static_cast<float *>(copy);
    }
    freeResultBlocks(*model, results, offsets, inputs, handedOver);
    fresh.blocks.clear(); // the caller's now
  });
}

int lathe_cuda_model_run(lathe_cuda_model *model,
                         const lathe_cuda_tensor *inputs, int32_t num_inputs,
                         lathe_cuda_tensor *outputs, int32_t num_outputs) {
  return guarded([&] {
    if (!model)
      failWith(LATHE_CUDA_ERROR, "the model is NULL");
    std::lock_guard<std::mutex> lock(model->mutex);
    checkCounts(*model, inputs, num_inputs, outputs, num_outputs);
    Blocks deviceInputs;
    std::vector<lathe_cuda_tensor> onDevice(inputs, inputs + num_inputs);
    for (int32_t i = 0; i < num_inputs; ++i) {
      checkTensor(model->inputs[i], inputs[i],
                  "input #" + std::to_string(i) + " ('" +
                      model->inputs[i].name + "')");
      size_t bytes = numElements(inputs[i].rank, inputs[i].shape) *
                     model->inputs[i].elementBytes;
      void *device = nullptr;
      if (lathe_cuda_alloc(std::max<size_t>(bytes, 1), &device))
        failWith(LATHE_CUDA_OUT_OF_MEMORY, lathe_cuda_last_error());
      deviceInputs.blocks.push_back(device);
      if (bytes && lathe_cuda_copy_to_device(device, inputs[i].data, bytes))
        failWith(LATHE_CUDA_ERROR, lathe_cuda_last_error());
      onDevice[i].data = static_cast<float *>(device);
    }
    std::vector<int64_t> results;
    std::vector<size_t> offsets;
    invoke(*model, onDevice.data(), results, offsets);
    struct FreeResults {
      const lathe_cuda_model &model;
      const std::vector<int64_t> &results;
      const std::vector<size_t> &offsets;
      const lathe_cuda_tensor *inputs;
      ~FreeResults() { freeResultBlocks(model, results, offsets, inputs, {}); }
    } freeResults{*model, results, offsets, onDevice.data()};
    // Every output is checked before any is written.
    for (int32_t i = 0; i < num_outputs; ++i) {
      ResultView v = resultView(*model, results, i, offsets[i]);
      const lathe_cuda_tensor &out = outputs[i];
      if (!out.data)
        continue;
      bool same = out.rank == v.rank;
      for (int32_t r = 0; same && r < v.rank; ++r)
        same = out.shape[r] == v.sizes[r];
      if (!same)
        failWith(LATHE_CUDA_ERROR,
                 "output #" + std::to_string(i) + ": the result has shape " +
                     shapeText(v.rank, v.sizes) +
                     ", the buffer given has shape " +
                     shapeText(std::clamp(out.rank, 0, LATHE_CUDA_MAX_RANK),
                               out.shape));
    }
    std::vector<int32_t> allocatedHere;
    try {
      for (int32_t i = 0; i < num_outputs; ++i) {
        ResultView v = resultView(*model, results, i, offsets[i]);
        lathe_cuda_tensor &out = outputs[i];
        if (!out.data) {
          out.rank = v.rank;
          std::copy(v.sizes, v.sizes + v.rank, out.shape);
          size_t count = numElements(v.rank, v.sizes);
          out.data = static_cast<float *>(
              std::malloc(std::max<size_t>(count * v.elementBytes, 1)));
          if (!out.data)
            failWith(LATHE_CUDA_OUT_OF_MEMORY,
                     "out of host memory for output #" + std::to_string(i));
          allocatedHere.push_back(i);
        }
        copyToHost(v, out.data);
      }
    } catch (...) {
      for (int32_t i : allocatedHere) {
        std::free(outputs[i].data);
        outputs[i].data = nullptr;
      }
      throw;
    }
  });
}

} // extern "C"
