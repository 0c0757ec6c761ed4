"""Calls release the GIL: several threads calling one module get what one
thread gets; two modules live and run in one process."""
import gc
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import lathe


def test_two_threads_one_module(examples):
    m = lathe.compile(os.path.join(examples, "mlp", "mlp.mlir"))
    x = np.load(os.path.join(examples, "mlp", "test_x.npy"))
    batches = [x[i:i + 24] for i in range(0, 360, 24)]
    serial = [m(b) for b in batches]
    for threads in (2, 4):
        with ThreadPoolExecutor(threads) as pool:
            for _ in range(3):
                parallel = list(pool.map(m, batches))
                for a, b in zip(serial, parallel):
                    np.testing.assert_array_equal(a, b)
    assert m.report()["calls"] == len(batches) * 7


def test_calls_release_the_gil(examples):
    """With a switch interval too long to ever expire, another Python thread
    runs only when this one gives the GIL up: while this thread does nothing
    but call the module, the other one makes progress only if the calls
    release it."""
    m = lathe.compile(os.path.join(examples, "mlp", "mlp.mlir"))
    x = np.load(os.path.join(examples, "mlp", "test_x.npy"))
    m(x)
    ticks = [0]
    done = threading.Event()

    def spin():
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0)  # gives the GIL back, so the calling thread gets it again

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    t = threading.Thread(target=spin)
    try:
        t.start()
        before = ticks[0]
        calls = 0
        while ticks[0] == before and calls < 2000:
            m(x)
            calls += 1
        progressed = ticks[0] != before
    finally:
        done.set()
        sys.setswitchinterval(interval)
        t.join()
    assert progressed, "no other thread ran during %d calls" % calls


def test_two_modules_one_process(examples):
    mlp = lathe.compile(os.path.join(examples, "mlp", "mlp.mlir"))
    enc = lathe.compile(os.path.join(examples, "transformer", "encoder_b1.mlir"))
    x1 = np.load(os.path.join(examples, "mlp", "test_x.npy"))
    x2 = np.load(os.path.join(examples, "transformer", "x_b1.npy"))
    y1, y2 = mlp(x1), enc(x2)
    # Interleaved from several threads: each module's results are unchanged.
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(mlp, x1) if k % 2 else pool.submit(enc, x2) for k in range(16)]
        for k, f in enumerate(futures):
            np.testing.assert_array_equal(f.result(), y1 if k % 2 else y2)
    # Freeing one leaves the other working (each has its own runtime session).
    del mlp
    gc.collect()
    np.testing.assert_array_equal(enc(x2), y2)
    again = lathe.compile(os.path.join(examples, "mlp", "mlp.mlir"))
    np.testing.assert_array_equal(again(x1), y1)
