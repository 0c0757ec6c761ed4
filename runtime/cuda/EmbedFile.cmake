# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DSYMBOL=<name> -P EmbedFile.cmake:
# writes a C++ file whose function SYMBOL() returns the file's bytes.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}"
  "// Generated from ${INPUT} by EmbedFile.cmake.\n"
  "namespace lathe_cuda {\n"
  "alignas(64) static const unsigned char data[] = {${bytes}};\n"
  "const void *${SYMBOL}() { return data; }\n"
  "}\n")
