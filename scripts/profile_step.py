"""Profile the step-time components of a vLLM-like transformer forward pass on one GPU.

Random bf16 weights shaped like real models; no weights are downloaded.
Components (per decoder layer unless noted), each timed as a CUDA graph replay (median of reps):
  dense(T)          : RMSNorm + QKV proj + RoPE-ish elementwise + O proj + residual + RMSNorm + gate_up + SiLU*mul + down + residual, T tokens
  attn_prefill(q,p) : causal attention for q new tokens over p cached + q new keys (lower-right causal), one sequence
  attn_decode(B,L)  : one query token for each of B sequences over L keys each (GQA)
  lm_head(T)        : final norm + vocab projection + argmax for T sampled tokens (once per step, not per layer)
Plus whole-model validation points (all layers, random weights) to check the additive model.
Writes JSON to $OUT/profile_<gpu>.json and prints a summary table.

eppsim version (adapted from shared/profiles/profile_step.py): the output also carries the
`hardware` object and each model's `config.context_len` that eppsim's loader needs
(docs/server.md, "Profile files").  Set HBM_TBPS / BF16_TFLOPS to the datasheet peaks
(the roofline step model uses them); without them the measured ceilings are written.
Rename the output to data/profiles/<name>.json and select it with `server.gpu: <name>`.
"""
import json, os, sys, time, math
import torch
import torch.nn.functional as F

OUT = os.environ.get("OUT", ".")
dev = "cuda"
dt = torch.bfloat16
SMOKE = "--smoke" in sys.argv

MODELS = {
    "llama-3.1-8b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128, inter=14336, vocab=128256),
    "qwen3-32b": dict(hidden=5120, layers=64, heads=64, kv_heads=8, head_dim=128, inter=25600, vocab=151936),
    "qwen3-8b": dict(hidden=4096, layers=36, heads=32, kv_heads=8, head_dim=128, inter=12288, vocab=151936),
    "llama-3.2-3b": dict(hidden=3072, layers=28, heads=24, kv_heads=8, head_dim=128, inter=8192, vocab=128256),
}
CONTEXT_LEN = {"llama-3.1-8b": 131072, "qwen3-32b": 40960, "qwen3-8b": 40960, "llama-3.2-3b": 131072}
ARGS = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)

def median(xs):
    xs = sorted(xs); n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])

def time_graph(fn, reps=20, warm=3):
    """Capture fn in a CUDA graph and time replays with events; fall back to eager on capture failure."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(warm):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    mode = "graph"
    try:
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fn()
        run = g.replay
        run(); torch.cuda.synchronize()
    except Exception as e:  # noqa
        mode = "eager"
        run = fn
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True); b = torch.cuda.Event(enable_timing=True)
        a.record(); run(); b.record(); b.synchronize()
        ts.append(a.elapsed_time(b) * 1000.0)  # us
    return median(ts), min(ts), max(ts), mode

def rand(*shape, scale=0.02):
    return (torch.randn(*shape, device=dev, dtype=torch.float32) * scale).to(dt)

def rmsnorm(x, w):
    v = x.float().pow(2).mean(-1, keepdim=True)
    return (x.float() * torch.rsqrt(v + 1e-6)).to(dt) * w

class Layer:
    def __init__(self, m):
        h, hd = m["hidden"], m["head_dim"]
        self.m = m
        self.qkv = rand(h, (m["heads"] + 2 * m["kv_heads"]) * hd)
        self.o = rand(m["heads"] * hd, h)
        self.gu = rand(h, 2 * m["inter"])
        self.down = rand(m["inter"], h)
        self.n1 = torch.ones(h, device=dev, dtype=dt); self.n2 = torch.ones(h, device=dev, dtype=dt)
    def dense(self, x):
        m = self.m; hd = m["head_dim"]
        y = rmsnorm(x, self.n1) @ self.qkv
        q = y[:, : m["heads"] * hd]
        q = q * 1.0001 + 0.0001  # stands in for RoPE's elementwise cost
        a = q @ self.o  # attention output would replace q here; attention timed separately
        x = x + a
        z = rmsnorm(x, self.n2) @ self.gu
        g, u = z.chunk(2, dim=-1)
        z = F.silu(g) * u
        return x + z @ self.down

def gqa_sdpa(q, k, v, mask=None, causal=False):
    try:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=True)
    except Exception:
        rep = q.shape[1] // k.shape[1]
        return F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), attn_mask=mask, is_causal=causal)

def prof_model(name, m, res):
    L = Layer(m)
    hd, H, KV = m["head_dim"], m["heads"], m["kv_heads"]
    out = {"config": dict(m, context_len=CONTEXT_LEN.get(name, 131072)), "dense": [], "attn_prefill": [], "attn_decode": [], "lm_head": [], "mode": {}}
    Ts = [1, 8, 32, 128, 512, 2048] if SMOKE else [1, 2, 4, 8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384]
    for T in Ts:
        x = rand(T, m["hidden"], scale=1.0)
        med, lo, hi, mode = time_graph(lambda: L.dense(x))
        out["dense"].append([T, round(med, 2), round(lo, 2), round(hi, 2)]); out["mode"]["dense"] = mode
        del x
    print(f"[{name}] dense done", flush=True)
    from torch.nn.attention.bias import causal_lower_right
    qs = [256, 2048] if SMOKE else [64, 128, 256, 512, 1024, 2048, 4096, 8192]
    ps = [0, 4096] if SMOKE else [0, 1024, 4096, 16384, 65536]
    for ql in qs:
        for p in ps:
            kl = p + ql
            q = rand(1, H, ql, hd, scale=1.0); k = rand(1, KV, kl, hd, scale=1.0); v = rand(1, KV, kl, hd, scale=1.0)
            if p == 0:
                fn = lambda: gqa_sdpa(q, k, v, causal=True)
            else:
                mask = causal_lower_right(ql, kl)
                fn = lambda: gqa_sdpa(q, k, v, mask=mask)
            try:
                med, lo, hi, mode = time_graph(fn)
                out["attn_prefill"].append([ql, p, round(med, 2), round(lo, 2), round(hi, 2)]); out["mode"]["attn_prefill"] = mode
            except Exception as e:
                out["attn_prefill"].append([ql, p, None, str(e)[:120]])
            del q, k, v
    print(f"[{name}] prefill attention done", flush=True)
    Bs = [1, 16, 128] if SMOKE else [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    Ls = [512, 4096] if SMOKE else [128, 512, 1024, 2048, 4096, 8192, 16384, 32768]
    grp = H // KV
    for B in Bs:
        for Lk in Ls:
            if B * Lk > 2_200_000:
                continue
            # decode with GQA: the grp query heads of one KV head attend as grp query rows with no mask (exact for q_len=1)
            q = rand(B, KV, grp, hd, scale=1.0); k = rand(B, KV, Lk, hd, scale=1.0); v = rand(B, KV, Lk, hd, scale=1.0)
            med, lo, hi, mode = time_graph(lambda: F.scaled_dot_product_attention(q, k, v))
            out["attn_decode"].append([B, Lk, round(med, 2), round(lo, 2), round(hi, 2)]); out["mode"]["attn_decode"] = mode
            del q, k, v
    print(f"[{name}] decode attention done", flush=True)
    W = rand(m["hidden"], m["vocab"]); nf = torch.ones(m["hidden"], device=dev, dtype=dt)
    for T in ([1, 64, 256] if SMOKE else [1, 4, 16, 32, 64, 128, 256, 512, 1024]):
        x = rand(T, m["hidden"], scale=1.0)
        med, lo, hi, mode = time_graph(lambda: torch.argmax(rmsnorm(x, nf) @ W, dim=-1))
        out["lm_head"].append([T, round(med, 2), round(lo, 2), round(hi, 2)])
    del W
    print(f"[{name}] lm_head done", flush=True)
    res[name] = out
    del L
    torch.cuda.empty_cache()

def validate_8b(res):
    """Whole-model points for llama-3.1-8b: all 32 layers, eager and graph, with real attention, vs the additive model."""
    m = MODELS["llama-3.1-8b"]; hd, H, KV = m["head_dim"], m["heads"], m["kv_heads"]
    layers = [Layer(m) for _ in range(m["layers"])]
    W = rand(m["hidden"], m["vocab"]); nf = torch.ones(m["hidden"], device=dev, dtype=dt)
    pts = []
    def decode_step(B, Lk):
        x = rand(B, m["hidden"], scale=1.0)
        ks = [rand(B, KV, Lk, hd, scale=1.0) for _ in range(m["layers"])]
        vs = [rand(B, KV, Lk, hd, scale=1.0) for _ in range(m["layers"])]
        def fn():
            y = x
            for i, l in enumerate(layers):
                q = (rmsnorm(y, l.n1) @ l.qkv)[:, : H * hd].reshape(B, KV, H // KV, hd)
                a = F.scaled_dot_product_attention(q, ks[i], vs[i]).reshape(B, H * hd)
                y = y + a @ l.o
                z = rmsnorm(y, l.n2) @ l.gu; g, u = z.chunk(2, -1); y = y + (F.silu(g) * u) @ l.down
            return torch.argmax(rmsnorm(y, nf) @ W, -1)
        return fn
    def prefill_step(T):
        x = rand(T, m["hidden"], scale=1.0)
        def fn():
            y = x
            for l in layers:
                qkv = rmsnorm(y, l.n1) @ l.qkv
                q = qkv[:, : H * hd].view(T, H, hd).transpose(0, 1).unsqueeze(0)
                k = qkv[:, H * hd: (H + KV) * hd].view(T, KV, hd).transpose(0, 1).unsqueeze(0)
                v = qkv[:, (H + KV) * hd:].view(T, KV, hd).transpose(0, 1).unsqueeze(0)
                a = gqa_sdpa(q, k, v, causal=True).squeeze(0).transpose(0, 1).reshape(T, H * hd)
                y = y + a @ l.o
                z = rmsnorm(y, l.n2) @ l.gu; g, u = z.chunk(2, -1); y = y + (F.silu(g) * u) @ l.down
            return torch.argmax(rmsnorm(y[-1:], nf) @ W, -1)
        return fn
    cases = [("decode", 1, 1024), ("decode", 32, 1024), ("decode", 128, 2048)] if not SMOKE else [("decode", 8, 512)]
    for kind, B, Lk in cases:
        fn = decode_step(B, Lk)
        g = time_graph(fn, reps=10)
        pts.append({"kind": kind, "batch": B, "ctx": Lk, "graph_us": round(g[0], 1), "mode": g[3]})
        del fn; torch.cuda.empty_cache()
    for T in ([512, 2048, 8192] if not SMOKE else [512]):
        fn = prefill_step(T)
        g = time_graph(fn, reps=10)
        pts.append({"kind": "prefill", "tokens": T, "graph_us": round(g[0], 1), "mode": g[3]})
        del fn; torch.cuda.empty_cache()
    def mixed_step(T, B, Lk):
        """One chunked-prefill step: a prefill chunk of T new tokens (no cached prefix) plus B decodes over Lk keys."""
        x = rand(T + B, m["hidden"], scale=1.0)
        ks = [rand(B, KV, Lk, hd, scale=1.0) for _ in range(m["layers"])]
        vs = [rand(B, KV, Lk, hd, scale=1.0) for _ in range(m["layers"])]
        def fn():
            y = x
            for i, l in enumerate(layers):
                qkv = rmsnorm(y, l.n1) @ l.qkv
                p = qkv[:T]
                q = p[:, : H * hd].reshape(T, H, hd).transpose(0, 1).unsqueeze(0)
                k = p[:, H * hd: (H + KV) * hd].reshape(T, KV, hd).transpose(0, 1).unsqueeze(0)
                v = p[:, (H + KV) * hd:].reshape(T, KV, hd).transpose(0, 1).unsqueeze(0)
                ap = gqa_sdpa(q, k, v, causal=True).squeeze(0).transpose(0, 1).reshape(T, H * hd)
                qd = qkv[T:, : H * hd].reshape(B, KV, H // KV, hd)
                ad = F.scaled_dot_product_attention(qd, ks[i], vs[i]).reshape(B, H * hd)
                y = y + torch.cat([ap, ad], 0) @ l.o
                z = rmsnorm(y, l.n2) @ l.gu; g, u = z.chunk(2, -1); y = y + (F.silu(g) * u) @ l.down
            return torch.argmax(rmsnorm(y[T - 1:], nf) @ W, -1)
        return fn
    if "--mixed" in sys.argv:
        for T, B, Lk in [(512, 32, 1024), (2048, 64, 2048), (1024, 128, 1024), (256, 256, 512)]:
            fn = mixed_step(T, B, Lk)
            g = time_graph(fn, reps=10)
            pts.append({"kind": "mixed", "prefill_tokens": T, "batch": B, "ctx": Lk, "graph_us": round(g[0], 1), "mode": g[3]})
            del fn; torch.cuda.empty_cache()
    res["validation_llama-3.1-8b"] = pts
    print("[validate] done", flush=True)

def ceilings(res):
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device=dev); b = torch.empty_like(a)
    med, lo, hi, _ = time_graph(lambda: b.copy_(a), reps=10)
    res["copy_TBps"] = round(2 * n / (med * 1e-6) / 1e12, 3)
    del a, b
    x = rand(8192, 8192, scale=1.0); y = rand(8192, 8192, scale=1.0)
    med, lo, hi, _ = time_graph(lambda: x @ y, reps=10)
    res["bf16_matmul_TFLOPs"] = round(2 * 8192 ** 3 / (med * 1e-6) / 1e12, 1)

def main():
    t0 = time.time()
    res = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "smoke": SMOKE}
    ceilings(res)
    print("ceilings:", res, flush=True)
    res["hardware"] = {
        "memory_MiB": int(torch.cuda.get_device_properties(0).total_memory // (1 << 20)),
        "hbm_TBps": float(os.environ.get("HBM_TBPS", res["copy_TBps"])),
        "bf16_TFLOPs": float(os.environ.get("BF16_TFLOPS", res["bf16_matmul_TFLOPs"])),
        "source": "profile_step.py: memory from torch; peaks from HBM_TBPS/BF16_TFLOPS or the measured ceilings",
    }
    names = ARGS["models"].split(",") if "models" in ARGS else (list(MODELS) if not SMOKE else ["llama-3.1-8b"])
    for name in names:
        prof_model(name, MODELS[name], res)
        print(f"elapsed {time.time()-t0:.0f}s", flush=True)
    validate_8b(res)
    tag = res["gpu"].replace(" ", "_").replace("/", "_")
    path = os.path.join(OUT, f"profile_{tag}{'_smoke' if SMOKE else ''}{'_' + ARGS['tag'] if 'tag' in ARGS else ''}.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    # short summary
    for name in names:
        d = res[name]
        dense = {t: us for t, us, *_ in d["dense"]}
        print(name, "dense us/layer:", {t: dense[t] for t in dense if t in (1, 128, 2048, 8192, 16384)})
        print(name, "decode attn us/layer (B,L):", [(b, l, us) for b, l, us, *_ in d["attn_decode"] if l in (1024, 4096)][:8])
        print(name, "modes:", d["mode"])
    print("validation:", res.get("validation_llama-3.1-8b"))
    print(f"wrote {path} in {time.time()-t0:.0f}s")

main()
