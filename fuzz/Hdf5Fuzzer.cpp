//===- Hdf5Fuzzer.cpp - libFuzzer target for the HDF5 weight reader -------===//
//
// Input: the bytes of an HDF5 file, read with lathe_h5_read as lathe-run
// reads `#lathe.external<"file.h5", "dataset">` weights. The seeds hold the
// datasets named here (test/fuzz/hdf5/make_seeds.py).
//
//===----------------------------------------------------------------------===//

#include "TempFile.h"

#include "lathe/runtime/Runtime.h"

#include <cstdlib>

// libhdf5 runs in this process, not in lathe_h5_read's forked reader, so the
// fuzzer sees (and covers) the code that parses the file.
extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  setenv("LATHE_H5_IN_PROCESS", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lathe::fuzz::TempFile file(".h5");
  const std::string &path = file.set(data, size);
  for (const char *dataset : {"w", "g/w"}) {
    lathe_host_tensor tensor{};
    if (lathe_h5_read(path.c_str(), dataset, &tensor) == LATHE_OK)
      lathe_host_tensor_free(&tensor);
  }
  return 0;
}
