//===- SanitizerCompat.h - Force-included in sanitizer builds -------------===//
//
// LLVM's BumpPtrAllocator (llvm/Support/Allocator.h) poisons its slabs with
// ASan and unpoisons each allocation, but only in translation units compiled
// with ASan. Lathe's code is; the installed libMLIR/libLLVM are not. A slab
// started by Lathe's code (poisoned) and then allocated from inside libMLIR
// (never unpoisoned) makes every later access from Lathe's code a false
// "use-after-poison" (seen in StorageUniquer and DenseElementsAttr storage).
// So the poisoning is compiled out of Lathe's translation units; heap
// redzones, use-after-free and leak checks are unaffected.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_FUZZ_SANITIZERCOMPAT_H
#define LATHE_FUZZ_SANITIZERCOMPAT_H

#if defined(__cplusplus) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define __asan_poison_memory_region(addr, size) ((void)(addr), (void)(size))
#endif
#endif

#endif // LATHE_FUZZ_SANITIZERCOMPAT_H
