//===- BuildersTest.cpp - qcomm builders and helpers ----------------------===//

#include "lathe/Dialect/QComm/QCommOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::lathe::qcomm;

namespace {

class QCommBuilders : public ::testing::Test {
protected:
  QCommBuilders() : b(&context) {
    context.loadDialect<QCommDialect, func::FuncDialect, shard::ShardDialect>();
    module = ModuleOp::create(b.getUnknownLoc());
    b.setInsertionPointToEnd(module->getBody());
    shard::GridOp::create(b, b.getUnknownLoc(), "dp", ArrayRef<int64_t>{2, 2});
    auto f32 = b.getF32Type();
    auto type = FunctionType::get(
        &context, {RankedTensorType::get({256}, f32), b.getI64Type()},
        {RankedTensorType::get({64}, f32)});
    auto fn = func::FuncOp::create(b, b.getUnknownLoc(), "f", type);
    b.setInsertionPointToStart(fn.addEntryBlock());
    input = fn.getArgument(0);
    seed = fn.getArgument(1);
    grid = FlatSymbolRefAttr::get(&context, "dp");
  }

  MLIRContext context;
  OpBuilder b;
  OwningOpRef<ModuleOp> module;
  Value input, seed;
  FlatSymbolRefAttr grid;
};

TEST_F(QCommBuilders, TwoHopReduceScatter) {
  auto op = ReduceScatterOp::create(
      b, b.getUnknownLoc(), RankedTensorType::get({64}, b.getF32Type()), input,
      grid, /*intraAxes=*/{1}, /*intraBits=*/8, /*intraGroupSize=*/32,
      /*interAxes=*/{0}, /*interBits=*/4, /*interGroupSize=*/32,
      /*hadamard=*/true, seed);
  func::ReturnOp::create(b, b.getUnknownLoc(), op.getResult());
  ASSERT_TRUE(succeeded(verify(*module)));
  EXPECT_TRUE(op.hasInterHop());
  EXPECT_EQ(op.getGroupAxes(), (SmallVector<int16_t>{1, 0}));
  EXPECT_EQ(*op.getInterBits(), 4u);
  EXPECT_TRUE(op.getHadamard());
  EXPECT_EQ(op.getSeed(), seed);
}

TEST_F(QCommBuilders, OneHopReduceScatter) {
  auto op = ReduceScatterOp::create(
      b, b.getUnknownLoc(), RankedTensorType::get({64}, b.getF32Type()), input,
      grid, /*intraAxes=*/{0, 1}, /*intraBits=*/4,
      /*intraGroupSize=*/64, /*interAxes=*/{}, /*interBits=*/4,
      /*interGroupSize=*/128, /*hadamard=*/false);
  func::ReturnOp::create(b, b.getUnknownLoc(), op.getResult());
  ASSERT_TRUE(succeeded(verify(*module)));
  EXPECT_FALSE(op.hasInterHop());
  EXPECT_FALSE(op.getInterBitsAttr());
  EXPECT_FALSE(op.getInterGroupSizeAttr());
  EXPECT_FALSE(op.getSeed());
}

TEST_F(QCommBuilders, GroupSizeFromGrid) {
  SymbolTableCollection symbols;
  Operation *anchor = input.getParentBlock()->getParentOp();
  EXPECT_EQ(*getStaticGroupSize(anchor, grid, {0, 1}, symbols, false), 4);
  EXPECT_EQ(*getStaticGroupSize(anchor, grid, {1}, symbols, false), 2);
  EXPECT_TRUE(failed(getStaticGroupSize(anchor, grid, {2}, symbols, false)));
  EXPECT_TRUE(failed(getStaticGroupSize(anchor, grid, {0, 0}, symbols, false)));
}

TEST(QCommWireBits, BitsPlusScaleShare) {
  EXPECT_DOUBLE_EQ(wireBitsPerValue(4, 2048), 4.015625);
  EXPECT_DOUBLE_EQ(wireBitsPerValue(8, 512), 8.0625);
  EXPECT_DOUBLE_EQ(wireBitsPerValue(4, 128), 4.25);
}

} // namespace
