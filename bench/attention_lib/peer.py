"""One peer of bench/attention.py, run in the PyPI virtual environment (jax, onnxruntime).

usage: python bench/attention_lib/peer.py {jax,ort} DIR [--threads N]

Loads DIR/{q,k,v}.npy ([1, H, L, D] f32), DIR/mask.npy ([1, 1, 1, L] additive: 0 or -1e9) and,
when present, DIR/pair.npy ([1, H, L, L] f32), builds the peer's attention on them (layout
conversions happen here, outside the timed calls), runs one warm-up call and prints
`READY <rss_bytes>` (VmRSS after the warm-up). Then for every line `run` on stdin it times one
call and prints `MS <milliseconds>`; `out PATH` saves the output as [1, H, L, D] f32; `quit`
prints `HWM <VmHWM bytes>` and exits. A peer that cannot allocate dies or prints `ERR ...`:
bench/attention.py records that as the result.

jax: jax.nn.dot_product_attention (implementation=None, i.e. XLA on the CPU), Q/K/V in its
     [B, T, N, H] layout, the key mask as its boolean `mask` [1, 1, 1, L], the pair bias as
     `bias` [1, H, L, L], jitted.
ort: onnxruntime's com.microsoft MultiHeadAttention contrib op (CPU execution provider):
     Q/K/V as [B, L, H*D], the mask as key_padding_mask int32 [1, L] (1 = attend,
     mask_filter_value=-1e9), the pair bias as attention_bias [1, H, L, L].
"""
import sys
import time

import numpy as np


def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def load(d):
    q, k, v = (np.load(f"{d}/{n}.npy") for n in ("q", "k", "v"))
    mask = np.load(f"{d}/mask.npy")
    try:
        pair = np.load(f"{d}/pair.npy")
    except FileNotFoundError:
        pair = None
    return q, k, v, mask, pair


def jax_peer(d):
    import jax
    import jax.numpy as jnp
    q, k, v, mask, pair = load(d)
    bthd = [jnp.asarray(np.ascontiguousarray(x.transpose(0, 2, 1, 3))) for x in (q, k, v)]
    keep = jnp.asarray(mask > -1.0)  # [1, 1, 1, L] boolean: True = attend
    args = bthd + [keep] + ([jnp.asarray(pair)] if pair is not None else [])
    del q, k, v, pair

    if len(args) == 5:
        f = jax.jit(lambda q, k, v, m, b: jax.nn.dot_product_attention(q, k, v, bias=b, mask=m))
    else:
        f = jax.jit(lambda q, k, v, m: jax.nn.dot_product_attention(q, k, v, mask=m))

    def call():
        return f(*args).block_until_ready()

    def result():
        return np.asarray(call()).transpose(0, 2, 1, 3)
    return call, result


def ort_peer(d, threads):
    import onnxruntime as ort
    from onnx import TensorProto, helper
    q, k, v, mask, pair = load(d)
    _, h, n, dh = q.shape
    flat = [np.ascontiguousarray(x.transpose(0, 2, 1, 3).reshape(1, n, h * dh)) for x in (q, k, v)]
    kpm = (mask.reshape(1, n) > -1.0).astype(np.int32)
    names = ["q", "k", "v", "", "kpm"] + (["pair"] if pair is not None else [])
    node = helper.make_node("MultiHeadAttention", names, ["o"], domain="com.microsoft",
                            num_heads=h, mask_filter_value=-1e9, scale=float(dh) ** -0.5)
    ins = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, n, h * dh])
           for x in ("q", "k", "v")]
    ins.append(helper.make_tensor_value_info("kpm", TensorProto.INT32, [1, n]))
    if pair is not None:
        ins.append(helper.make_tensor_value_info("pair", TensorProto.FLOAT, [1, h, n, n]))
    graph = helper.make_graph([node], "mha", ins,
                              [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1, n, h * dh])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = False
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = {"q": flat[0], "k": flat[1], "v": flat[2], "kpm": kpm}
    if pair is not None:
        feeds["pair"] = pair
    del q, k, v

    def call():
        return sess.run(["o"], feeds)[0]

    def result():
        return call().reshape(1, n, h, dh).transpose(0, 2, 1, 3)
    return call, result


def main():
    which, d = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    try:
        call, result = jax_peer(d) if which == "jax" else ort_peer(d, threads)
        call()
    except Exception as e:  # an allocation failure is a result, reported to the driver
        print(f"ERR {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}",
              flush=True)
        return
    print(f"READY {rss('VmRSS')}", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        try:
            if cmd[0] == "run":
                t = time.perf_counter()
                call()
                print(f"MS {(time.perf_counter() - t) * 1e3:.3f}", flush=True)
            elif cmd[0] == "out":
                np.save(cmd[1], np.asarray(result(), np.float32))
                print("OK", flush=True)
            elif cmd[0] == "quit":
                break
        except Exception as e:
            print(f"ERR {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}",
                  flush=True)
            return
    print(f"HWM {rss('VmHWM')}", flush=True)


if __name__ == "__main__":
    main()
