//===- ModelFormat.h - Layout of a .lathe file ------------------*- C -*-===//
//
// What lathe-compile writes and lathe_model_load (Model.h) reads; programs
// that only load models need Model.h alone. docs/Deploy.md describes the
// format in prose. All integers are little-endian.
//
//   offset 0    lathe_model_file_header (40 bytes)
//   offset 40   num_sections x lathe_model_section (32 bytes each)
//   ...         each section's bytes at its offset, a multiple of
//               LATHE_MODEL_SECTION_ALIGN (so DATA can be mapped in place)
//
// Sections, each present once:
//   "META"  UTF-8 text, one fact per line: `KEY VALUE...` (see
//           lathe_model_load for the keys; unknown keys are ignored)
//   "CODE"  an ELF shared library: the compiled entry point and its packed
//           wrapper `_mlir_<entry>`, a table `__lathe_constant_table` of
//           pointers the loader fills with the addresses of the constants
//   "DATA"  the constants (weights), each at a 64-byte aligned offset
//
// A section's checksum is FNV-1a (64 bit) of its bytes; 0 means unchecked
// (DATA: weights are mapped lazily, never read whole at load).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_MODELFORMAT_H
#define LATHE_RUNTIME_MODELFORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LATHE_MODEL_MAGIC "LATHEMOD"
#define LATHE_MODEL_FORMAT_VERSION 1u
#define LATHE_MODEL_SECTION_ALIGN 4096u
#define LATHE_MODEL_MAX_SECTIONS 16u
#define LATHE_MODEL_CONSTANT_TABLE "__lathe_constant_table"

typedef struct lathe_model_file_header {
  char magic[8];           ///< LATHE_MODEL_MAGIC, no terminator
  uint32_t format_version; ///< LATHE_MODEL_FORMAT_VERSION
  uint32_t num_sections;
  uint64_t file_size; ///< total bytes: a shorter file is truncated
  uint64_t reserved[2];
} lathe_model_file_header;

typedef struct lathe_model_section {
  char kind[8]; ///< "META", "CODE", "DATA", NUL-padded
  uint64_t offset;
  uint64_t size;
  uint64_t checksum; ///< FNV-1a 64 of the bytes; 0: not checked
} lathe_model_section;

/// FNV-1a, 64 bit.
static inline uint64_t lathe_model_checksum(const void *bytes, size_t size) {
  const unsigned char *p = (const unsigned char *)bytes;
  uint64_t hash = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= p[i];
    hash *= 1099511628211ull;
  }
  return hash ? hash : 1;
}

/// The CPU features (LLVM's names, x86-64) a .lathe file may require, in no
/// particular order; NULL past the end. lathe-compile records those of its
/// target that are in this list; the loader checks each with CPUID.
static inline const char *lathe_model_cpu_feature(int index) {
  static const char *const names[] = {"sse3",
                                      "pclmul",
                                      "ssse3",
                                      "fma",
                                      "cx16",
                                      "sse4.1",
                                      "sse4.2",
                                      "movbe",
                                      "popcnt",
                                      "aes",
                                      "avx",
                                      "f16c",
                                      "bmi",
                                      "avx2",
                                      "bmi2",
                                      "lzcnt",
                                      "avx512f",
                                      "avx512dq",
                                      "avx512ifma",
                                      "avx512cd",
                                      "avx512bw",
                                      "avx512vl",
                                      "avx512vbmi",
                                      "avx512vbmi2",
                                      "gfni",
                                      "vaes",
                                      "vpclmulqdq",
                                      "avx512vnni",
                                      "avx512bitalg",
                                      "avx512vpopcntdq",
                                      "avx512vp2intersect",
                                      "avx512fp16",
                                      "avx512bf16",
                                      "avxvnni",
                                      "avxifma",
                                      "avxvnniint8",
                                      "avxneconvert",
                                      "avxvnniint16",
                                      "amx-tile",
                                      "amx-int8",
                                      "amx-bf16",
                                      "amx-fp16",
                                      "amx-complex",
                                      "sha",
                                      "adx",
                                      "fma4",
                                      "xop",
                                      "sse4a"};
  if (index < 0 || (size_t)index >= sizeof(names) / sizeof(names[0]))
    return NULL;
  return names[index];
}

#ifdef __cplusplus
}
#endif

#endif // LATHE_RUNTIME_MODELFORMAT_H
