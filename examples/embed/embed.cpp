// Loads a model compiled by lathe-compile and runs it on .npy files, with
// nothing but the installed Lathe runtime (docs/Deploy.md).
//   embed MODEL.lathe INPUT.npy... [-o OUTPUT.npy]...
#include <lathe/runtime/Model.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static void check(lathe_status status) {
  if (status != LATHE_OK) {
    std::fprintf(stderr, "embed: %s\n", lathe_status_message());
    std::exit(1);
  }
}

int main(int argc, char **argv) {
  lathe_model *model = nullptr;
  check(argc < 2 ? LATHE_ERR_INVALID : lathe_model_load(argv[1], &model));
  std::vector<lathe_host_tensor> inputs;
  std::vector<const char *> outputFiles;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      outputFiles.push_back(argv[++i]);
      continue;
    }
    inputs.push_back({});
    check(lathe_npy_read(argv[i], &inputs.back()));
  }
  // Outputs with data == NULL are allocated by the run (sized by the inputs).
  std::vector<lathe_host_tensor> outputs(lathe_model_num_outputs(model));
  check(lathe_model_run(model, inputs.data(), int32_t(inputs.size()),
                        outputs.data(), int32_t(outputs.size())));
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::printf("output %zu: %s, %lld elements\n", i,
                lathe_dtype_name(outputs[i].dtype),
                static_cast<long long>(lathe_host_tensor_numel(&outputs[i])));
    if (i < outputFiles.size())
      check(lathe_npy_write(outputFiles[i], &outputs[i]));
    lathe_host_tensor_free(&outputs[i]);
  }
  for (lathe_host_tensor &input : inputs)
    lathe_host_tensor_free(&input);
  lathe_model_free(model);
  return 0;
}
