#!/usr/bin/env bash
# Fault scenarios of the multi-rank runtime (Comm.h), run by ctest:
#   comm-fault.sh MPIRUN LATHE_COMM_TESTS MODE
# Each runs `mpirun -n 2 lathe-comm-tests --fault=MODE` and checks that the
# job ends (well within 30 s; `timeout 60` catches a hang) with the right exit
# status and a message naming what happened:
#   kill         rank 1 raises SIGKILL before an all_reduce: the job fails
#                and mpirun names rank 1 and signal 9.
#   stall        rank 1 sleeps (60 s) before it: rank 0's watchdog
#                (LATHE_COMM_TIMEOUT=3) aborts the job, naming rank 0, the
#                collective and the wait.
#   no-finalize  both ranks return from main without lathe_rt_comm_finalize:
#                the atexit handler finalizes and the job exits 0.
#   bad-timeout  LATHE_COMM_TIMEOUT=abc: init fails with a message naming it.
#   wait-cpu     one rank arrives 1.5 s late at an all_reduce, then the other
#                at a barrier: the rank that waits spends under a fifth of
#                the wait on the CPU (collectives wait with MPI_Test, then
#                sleeps; a blocking MPI call polled a core all the while).
set -u
mpirun=$1 bin=$2 mode=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export LATHE_COMM_TIMEOUT=3
[ "$mode" = bad-timeout ] && export LATHE_COMM_TIMEOUT=abc

start=$(date +%s)
out=$(timeout 60 "$mpirun" -n 2 --oversubscribe "$bin" --fault="$mode" 2>&1)
rc=$?
elapsed=$(($(date +%s) - start))
printf '%s\n--- exit status %d after %d s\n' "$out" "$rc" "$elapsed"

fail() {
  echo "FAIL ($mode): $*"
  exit 1
}
expect() {
  grep -Eq -- "$1" <<<"$out" || fail "output lacks /$1/"
}
[ "$rc" -ne 124 ] || fail "the job hung (killed by timeout 60)"
[ "$elapsed" -le 30 ] || fail "the job took $elapsed s to end"
case "$mode" in
kill)
  [ "$rc" -ne 0 ] || fail "exit status 0"
  expect "process rank 1 with PID [0-9]+ on node .* exited on signal 9"
  ! grep -q "all_reduce gave" <<<"$out" || fail "an all_reduce returned"
  ;;
stall)
  [ "$rc" -ne 0 ] || fail "exit status 0"
  expect "lathe: rank 0: all_reduce over group \[0\] of grid 2 has waited [3-9]\.[0-9] s \(LATHE_COMM_TIMEOUT=3\): a peer rank has probably failed or stalled; aborting the job"
  ;;
no-finalize)
  [ "$rc" -eq 0 ] || fail "exit status $rc"
  expect "rank 0: all_reduce gave 2"
  expect "rank 1: all_reduce gave 2"
  ;;
wait-cpu)
  [ "$rc" -eq 0 ] || fail "exit status $rc"
  expect "rank 0: waited [0-9.]+ s in all_reduce, CPU time [0-9.]+ s"
  expect "rank 1: waited [0-9.]+ s in barrier, CPU time [0-9.]+ s"
  grep -E "waited .* CPU time" <<<"$out" | awk '{
      wait = $4; cpu = $(NF - 1)
      if (wait < 0.5) { print "FAIL (wait-cpu): waited only " wait " s: " $0; bad = 1 }
      if (cpu > 0.2 * wait) { print "FAIL (wait-cpu): busy waiting: " $0; bad = 1 }
    } END { exit bad }' || exit 1
  ;;
bad-timeout)
  [ "$rc" -ne 0 ] || fail "exit status 0"
  expect "init failed: lathe_rt_comm_init: LATHE_COMM_TIMEOUT='abc' is not a number of seconds"
  ;;
*)
  fail "unknown mode"
  ;;
esac
echo "PASS ($mode)"
