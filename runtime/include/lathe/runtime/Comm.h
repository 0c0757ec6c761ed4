//===- Comm.h - Lathe runtime: multi-rank communication ---------*- C -*-===//
//
// Collectives between the ranks (processes) of one run, on Open MPI (C ABI,
// no MLIR headers, no MPI headers). Generated code calls the memref
// collectives below for the upstream `shard` dialect's collectives; the
// driver uses the host-side helpers.
//
// World: under mpirun (OMPI_COMM_WORLD_SIZE or PMIX_RANK in the environment)
// the first call of any function here initialises MPI (lathe_rt_comm_init);
// otherwise the world is this process alone (rank 0 of 1) and MPI is never
// touched.
//
// Grids and groups are passed as one int64 each (generated code passes them
// as i64 constants):
// - grid: up to 4 axes, axis i's size in bits [16i, 16i+16); axes after the
//   last are 0 (2x2 = 2 | 2 << 16). The world rank is the row-major linear
//   index of the process's grid coordinates (axis 0 slowest), as upstream
//   `shard.process_linear_index`. The grid's process count must equal the
//   world size.
// - group, the grid axes a collective runs over, in order: the count in bits
//   0-3, axis k in bits [4+4k, 8+4k) ([1, 0] = 2 | 1 << 4 | 0 << 8). Within a
//   group, processes are ordered by the row-major linearization of their
//   coordinates on the group's axes in the group's order; processes with
//   equal coordinates on the other axes form one group. An empty group (count
//   0) makes every process a group of its own.
//
// Memref operands follow Runtime.h's (int64_t rank, void *descriptor)
// convention (see Sparse.h); collectives need contiguous (identity-layout)
// buffers, except the all-to-all, which also takes strided views whose
// dimension 0 holds the G blocks (MPI derived datatypes walk them: no packed
// copy). Failures of argument checks (sizes, layouts, a grid that does not
// match the world) become the pending error (lathe_rt_take_pending_error) and
// leave the output unspecified. Every rank checks the same things, so all
// ranks fail alike and none waits for the others.
//
// Faults: an MPI error prints a message naming this rank, the collective,
// the group and MPI's error string, then aborts the whole job (MPI_Abort).
// A watchdog thread aborts the job, naming this rank, the collective and
// how long it waited, when a single collective call has waited longer than
// LATHE_COMM_TIMEOUT seconds (default 20; 0 disables the watchdog).
//
// Thread-safety: collectives must be called in the same order on every rank
// (communicator creation is collective too); calls are serialised by a lock,
// so any thread may call, one collective at a time per process. The counters
// may be read from any thread at any time.
//
//===----------------------------------------------------------------------===//

#ifndef LATHE_RUNTIME_COMM_H
#define LATHE_RUNTIME_COMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//===----------------------------------------------------------------------===//
// World
//===----------------------------------------------------------------------===//

/// Initialises the world; idempotent. 0 = ok, else non-zero with a pending
/// error (an unparsable LATHE_COMM_TIMEOUT, checked in every world; an MPI
/// that fails to start; a call after lathe_rt_comm_finalize). Under mpirun
/// calls MPI_Init_thread (MPI_THREAD_SERIALIZED) unless MPI is initialised
/// already, sets MPI_ERRORS_RETURN, starts the watchdog and registers
/// lathe_rt_comm_finalize with atexit.
int lathe_rt_comm_init(void);
/// World rank (0 without MPI) and size (1 without MPI); they initialise the
/// world if needed (0 and 1 with a pending error if that fails).
int64_t lathe_rt_comm_rank(void);
int64_t lathe_rt_comm_size(void);
/// Stops the watchdog, frees the cached communicators and calls MPI_Finalize
/// if lathe_rt_comm_init initialised MPI; idempotent. Collective under MPI.
void lathe_rt_comm_finalize(void);
/// World barrier (errors become the pending error).
void lathe_rt_comm_barrier(void);
/// Broadcasts `bytes` bytes from world rank `root` to all ranks. 0 = ok.
int lathe_rt_comm_broadcast_bytes(void *data, int64_t bytes, int64_t root);

//===----------------------------------------------------------------------===//
// Host-side helpers for the driver (world group, contiguous host buffers; not
// counted). 0 = ok, else a status with lathe_rt_last_error.
//===----------------------------------------------------------------------===//

/// out = the `bytesPerRank` bytes of `in` of every rank, in rank order.
int lathe_rt_comm_all_gather_bytes(const void *in, void *out,
                                   int64_t bytesPerRank);
/// values = the sum over all ranks of values (in place).
int lathe_rt_comm_all_reduce_sum_f64(double *values, int64_t count);

//===----------------------------------------------------------------------===//
// Collectives of generated code (memref operands, any rank). G = the group's
// process count.
//===----------------------------------------------------------------------===//

/// out = concat over the group members (in group order) of their `in`;
/// numElements(out) = numElements(in) * G. Elements are `elemBytes` bytes.
void lathe_rt_comm_all_gather(int64_t grid, int64_t group, int64_t rankIn,
                              void *in, int64_t rankOut, void *out,
                              int64_t elemBytes);
/// numElements(in) = numElements(out), divisible by G: block j of `in` goes
/// to member j, block j of `out` came from member j.
void lathe_rt_comm_all_to_all(int64_t grid, int64_t group, int64_t rankIn,
                              void *in, int64_t rankOut, void *out,
                              int64_t elemBytes);
/// The same for one element type each (what generated code calls):
/// lathe_rt_comm_all_gather_T and lathe_rt_comm_all_to_all_T(grid, group,
/// rankIn, in, rankOut, out) for T in i8, i16, i32, i64, f16, bf16, f32, f64.
#define LATHE_COMM_DECLARE_TYPED(NAME, SUFFIX)                                 \
  void lathe_rt_comm_##NAME##_##SUFFIX(int64_t grid, int64_t group,            \
                                       int64_t rankIn, void *in,               \
                                       int64_t rankOut, void *out);
#define LATHE_COMM_DECLARE_ALL_TYPES(NAME)                                     \
  LATHE_COMM_DECLARE_TYPED(NAME, i8)                                           \
  LATHE_COMM_DECLARE_TYPED(NAME, i16)                                          \
  LATHE_COMM_DECLARE_TYPED(NAME, i32)                                          \
  LATHE_COMM_DECLARE_TYPED(NAME, i64)                                          \
  LATHE_COMM_DECLARE_TYPED(NAME, f16)                                          \
  LATHE_COMM_DECLARE_TYPED(NAME, bf16)                                         \
  LATHE_COMM_DECLARE_TYPED(NAME, f32)                                          \
  LATHE_COMM_DECLARE_TYPED(NAME, f64)
LATHE_COMM_DECLARE_ALL_TYPES(all_gather)
LATHE_COMM_DECLARE_ALL_TYPES(all_to_all)
#undef LATHE_COMM_DECLARE_ALL_TYPES
#undef LATHE_COMM_DECLARE_TYPED
/// f32: out = block i (i = this process's group index) of the sum over the
/// group of `in`; numElements(in) = numElements(out) * G.
void lathe_rt_comm_reduce_scatter_sum_f32(int64_t grid, int64_t group,
                                          int64_t rankIn, void *in,
                                          int64_t rankOut, void *out);
/// f32: out = the sum over the group of `in` (same element count; `out` may
/// be `in`).
void lathe_rt_comm_all_reduce_sum_f32(int64_t grid, int64_t group,
                                      int64_t rankIn, void *in, int64_t rankOut,
                                      void *out);
/// This process's index in its group (upstream shard.process_linear_index
/// restricted to the group's axes, in the group's order), and the group's
/// process count. -1 and a pending error on a bad grid or group.
int64_t lathe_rt_comm_group_index(int64_t grid, int64_t group);
int64_t lathe_rt_comm_group_size(int64_t grid, int64_t group);
/// Deterministic sums (off by default; process-wide, set it the same on every
/// rank before the first collective). When on, reduce_scatter and all_reduce
/// gather every member's contribution (MPI_Alltoall / MPI_Allgather of the
/// same bytes, counted as before) and add them here in ascending world rank,
/// one f32 add at a time: ((x_0 + x_1) + x_2) + ... whatever the group's
/// order, the MPI library's algorithm or the message size. A run of P ranks
/// then sums exactly as one process summing P parts in order would
/// (lathe-train --deterministic). Off: MPI_Reduce_scatter_block /
/// MPI_Allreduce, whose order of additions is the library's.
void lathe_rt_comm_set_deterministic(int on);
int lathe_rt_comm_deterministic(void);

//===----------------------------------------------------------------------===//
// Counters
//===----------------------------------------------------------------------===//

/// Calls and bytes per (collective, group) of the memref collectives since
/// the start or the last reset: bytes = size of the send buffer handed to the
/// collective (own block included). Groups of size 1 (plain copies) count
/// too; calls that fail their argument checks do not.
typedef struct lathe_comm_counter {
  char collective[24]; ///< "all_gather", "all_to_all", "reduce_scatter",
                       ///< "all_reduce" (NUL-terminated)
  int64_t group;       ///< packed as above
  int64_t calls;
  int64_t bytes;
} lathe_comm_counter;
/// Writes up to `capacity` counters (in order of first use) to `out` and
/// returns how many there are (call with capacity 0 to size the array).
int64_t lathe_rt_comm_counters(lathe_comm_counter *out, int64_t capacity);
void lathe_rt_comm_reset_counters(void);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // LATHE_RUNTIME_COMM_H
