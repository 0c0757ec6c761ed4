// A device description becomes the `accel` table of the module's target
// (#lathe.target, looked up like every pass's cost table; cycles and bytes:
// HBM 64e9 B/s at 1 GHz = 64 B/cycle, 100 ns = 100 cycles); a bad
// description is an error naming the file and the key.
// RUN: lathe-opt %s --accel-attach-device=config=%S/Inputs/tiny.json | FileCheck %s
// RUN: lathe-opt %s --accel-attach-device=config=%accel_configs/gaudi2.json | FileCheck %s --check-prefix=GAUDI
// RUN: lathe-opt %s --accel-attach-device="config=%accel_configs/gaudi2.json mme-type=bf16" | FileCheck %s --check-prefix=BF16
// RUN: not lathe-opt %s --accel-attach-device="config=%S/Inputs/tiny.json mme-type=f16" 2>&1 | FileCheck %s --check-prefix=BADTYPE
// RUN: not lathe-opt %s --accel-attach-device 2>&1 | FileCheck %s --check-prefix=NOCONFIG
// RUN: not lathe-opt %s --accel-attach-device=config=%S/Inputs/missing.json 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not lathe-opt %s --accel-attach-device=config=%S/Inputs/bad-key.json 2>&1 | FileCheck %s --check-prefix=BADKEY
// RUN: not lathe-opt %s --accel-attach-device=config=%S/Inputs/zero-tpc.json 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not lathe-opt %s --accel-attach-device=config=%S/Inputs/truncated.json 2>&1 | FileCheck %s --check-prefix=JSON
// An attached target keeps its name, threads, features and other tables and
// gains the device table; accel-place finds the device there.
// RUN: lathe-opt %S/Inputs/with-target.mlir --accel-attach-device=config=%S/Inputs/tiny.json --accel-place | FileCheck %s --check-prefix=MERGE
// MERGE: module attributes {lathe.target = #lathe.target<name = "cpu-fast", threads = 1, features = ["avx512f"], tables = {accel = {clock_ghz = 1.000000e+00 : f64
// MERGE-SAME: name = "tiny"
// MERGE-SAME: lowrank = {bandwidth_gbps = 1000 : i64, peak_gflops = 100 : i64}}>}
// MERGE: lathe.matmul
// MERGE-SAME: lathe.decision = #accel.decision<engine = "mme"

// CHECK: module attributes {lathe.target = #lathe.target<name = "tiny", threads = 0, features = [], tables = {accel = {clock_ghz = 1.000000e+00 : f64
// CHECK-SAME: hbm_bytes_per_cycle = 6.400000e+01 : f64, hbm_latency_cycles = 100 : i64
// CHECK-SAME: mme_cols = 32 : i64, mme_count = 1 : i64
// CHECK-SAME: name = "tiny"
// CHECK-SAME: tpc_count = 4 : i64
// GAUDI: mme_count = 2 : i64, mme_element_type = "f32", mme_f32_rate = 2.500000e-01 : f64
// GAUDI-SAME: name = "gaudi2"
// GAUDI-SAME: tpc_count = 24 : i64
// BF16: mme_element_type = "bf16"
// BADTYPE: for the --mme-type option: unknown value 'f16' (expected one of: f32, bf16)
// NOCONFIG: error: accel-attach-device needs config=FILE (configs/accel/*.json)
// MISSING: error: cannot read device description '{{.*}}missing.json': No such file or directory
// BADKEY: error: device description '{{.*}}bad-key.json': 'mme.cols' is missing
// ZERO: error: device description '{{.*}}zero-tpc.json': 'tpc.count' must be positive
// JSON: error: device description '{{.*}}truncated.json': not valid JSON
module {
}
