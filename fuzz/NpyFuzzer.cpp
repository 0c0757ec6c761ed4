//===- NpyFuzzer.cpp - libFuzzer target for the .npy reader ---------------===//
//
// Input: the bytes of a .npy file, read with lathe_npy_read as lathe-run
// reads --input files.
//
//===----------------------------------------------------------------------===//

#include "TempFile.h"

#include "lathe/runtime/Runtime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lathe::fuzz::TempFile file(".npy");
  lathe_host_tensor tensor{};
  if (lathe_npy_read(file.set(data, size).c_str(), &tensor) == LATHE_OK)
    lathe_host_tensor_free(&tensor);
  return 0;
}
