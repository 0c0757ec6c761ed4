//===- SplitFields.h - Non-empty fields of a string -------------*- C++ -*-===//
//
// Header-only, shared by the runtime's libraries (runtime/internal is on their
// private include paths and is not installed).
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_SPLITFIELDS_H
#define LATHE_RUNTIME_SPLITFIELDS_H

#include <string>
#include <vector>

namespace lathe {

/// The non-empty fields of `text` separated by `sep` (the lines of a .lathe
/// file's META, a CPU feature list, the groups of an HDF5 dataset path).
inline std::vector<std::string> splitFields(const std::string &text, char sep) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(sep, pos);
    if (end == std::string::npos)
      end = text.size();
    if (end > pos)
      fields.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return fields;
}

} // namespace lathe

#endif // LATHE_RUNTIME_SPLITFIELDS_H
