//===- CheckTest.cpp - Run-time checks of generated code ------------------===//

#include "TestUtils.h"

#include <cstring>
#include <string>
#include <thread>

namespace {

/// A rank-1 i8 memref descriptor of `text` (generated code passes messages
/// so): {allocated, aligned, offset, size, stride}.
struct Message {
  explicit Message(const char *text)
      : words{reinterpret_cast<int64_t>(text), reinterpret_cast<int64_t>(text),
              0, static_cast<int64_t>(std::strlen(text) + 1), 1} {}
  int64_t words[5];
};

std::string takePending() {
  char buf[256];
  if (!lathe_rt_take_pending_error(buf, sizeof(buf)))
    return "";
  return buf;
}

TEST(Check, IndexMessageAndFirstFailureWins) {
  takePending();
  Message what("Gather node 'embed0'");
  lathe_rt_index_check_failed(1, what.words, 200, -100, 100);
  lathe_rt_index_check_failed(1, what.words, 300, -100, 100);
  EXPECT_EQ(takePending(),
            "Gather node 'embed0': index 200 out of range [-100, 100)");
  EXPECT_EQ(takePending(), "");
}

TEST(Check, IndexFailuresFromManyThreadsKeepOne) {
  takePending();
  Message what("linalg.generic at m.mlir:3:8");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        lathe_rt_index_check_failed(1, what.words, 100 + t, 0, 100);
    });
  for (std::thread &t : threads)
    t.join();
  std::string message = takePending();
  EXPECT_EQ(message.rfind("linalg.generic at m.mlir:3:8: index 10", 0), 0u)
      << message;
  EXPECT_EQ(takePending(), "");
}

Message assertMessage("mismatched size for broadcast");
int stepsAfterAssert = 0;

void failingEntry(void **args) {
  lathe_rt_assert_failed(1, assertMessage.words, /*inParallelLoop=*/0);
  ++stepsAfterAssert; // never reached
}

void passingEntry(void **args) { *static_cast<int *>(args[0]) = 42; }

TEST(Check, FailedAssertReturnsToCallGuarded) {
  takePending();
  EXPECT_EQ(lathe_rt_call_guarded(failingEntry, nullptr), 1);
  EXPECT_EQ(stepsAfterAssert, 0);
  EXPECT_EQ(takePending(), "mismatched size for broadcast");
  int result = 0;
  void *args[] = {&result};
  EXPECT_EQ(lathe_rt_call_guarded(passingEntry, args), 0);
  EXPECT_EQ(result, 42);
  EXPECT_EQ(takePending(), "");
}

TEST(CheckDeathTest, FailedAssertOutsideCallGuardedExits) {
  EXPECT_EXIT(failingEntry(nullptr), testing::ExitedWithCode(1),
              "error: mismatched size for broadcast");
}

TEST(CheckDeathTest, FailedAssertInParallelLoopExits) {
  auto entry = [](void **) {
    lathe_rt_assert_failed(1, assertMessage.words, /*inParallelLoop=*/1);
  };
  EXPECT_EXIT(lathe_rt_call_guarded(entry, nullptr), testing::ExitedWithCode(1),
              "error: mismatched size for broadcast");
}

} // namespace
