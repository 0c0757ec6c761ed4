// Loads a model compiled by lathe-compile and runs it on .npy inputs, with
// nothing but the Lathe runtime library (docs/Deploy.md).
//   embed MODEL.lathe INPUT.npy... [-o OUTPUT.npy]...
#include <lathe/runtime/Model.h>

#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
  lathe_model *model = nullptr;
  if (argc < 2 || lathe_model_load(argv[1], &model) != LATHE_OK) {
    std::fprintf(stderr, "embed: %s\n", argc < 2 ? "usage: embed MODEL.lathe INPUT.npy... [-o OUTPUT.npy]..." : lathe_status_message());
    return 1;
  }
  std::vector<lathe_host_tensor> inputs, outputs(lathe_model_num_outputs(model));
  std::vector<const char *> outputFiles;
  int rc = 0;
  for (int i = 2; i < argc && rc == 0; ++i) {
    if (std::strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      outputFiles.push_back(argv[++i]);
      continue;
    }
    inputs.push_back({});
    if (lathe_npy_read(argv[i], &inputs.back()) != LATHE_OK)
      rc = std::fprintf(stderr, "embed: %s\n", lathe_rt_last_error()) > 0;
  }
  if (rc == 0 && lathe_model_run(model, inputs.data(), int32_t(inputs.size()), outputs.data(), int32_t(outputs.size())) != LATHE_OK)
    rc = std::fprintf(stderr, "embed: %s\n", lathe_status_message()) > 0;
  for (size_t i = 0; rc == 0 && i < outputs.size(); ++i) {
    lathe_tensor_info info;
    lathe_model_output_info(model, int32_t(i), &info);
    std::printf("%s: %s rank %d, %lld elements\n", info.name, lathe_dtype_name(outputs[i].dtype), outputs[i].rank, (long long)lathe_host_tensor_numel(&outputs[i]));
    if (i < outputFiles.size() && lathe_npy_write(outputFiles[i], &outputs[i]) != LATHE_OK)
      rc = std::fprintf(stderr, "embed: %s\n", lathe_rt_last_error()) > 0;
  }
  for (lathe_host_tensor &t : inputs) lathe_host_tensor_free(&t);
  for (lathe_host_tensor &t : outputs) lathe_host_tensor_free(&t);
  lathe_model_free(model);
  return rc;
}
