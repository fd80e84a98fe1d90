#!/usr/bin/env python3
"""Time one llama_decode of the given token ids with llama-cpp-python (the llama.cpp reference timing).

    python scripts/bench_llamacpp.py --model PATH --ids-json '[2, 818, 5279]' --threads 2 --repeat 7

Context: F32 K/V cache, flash attention off, output for the last token only (the batch marks only the last token),
n_ctx = n_batch = n_ubatch = max(512, tokens) so the prompt is one micro-batch. One warm-up decode, then --repeat
timed decodes, the KV cache cleared before each. Diagnostics go to stderr; stdout's last (only) line is exactly:
    llamacpp tokens=N median_ms=X

Embeddings mode: llama.cpp cannot combine embeddings (pooling NONE) with "last token only": in embeddings mode its
batch allocator marks EVERY token as an output ("embeddings required but some input tokens were not marked as
outputs -> overriding") and the LM head is then evaluated for every token. For Gemma-3 (262144-row LM head) that
costs more than the transformer itself, so it is not a fair reference for an encoder that needs no LM head.
The default is therefore embeddings OFF (one decode, last-token logits, as in the llama.cpp timings BENCHMARKS.md quotes);
pass --embeddings to time llama.cpp's embeddings mode (all-token outputs, LM head on every token) instead.
Run it with the reference venv (scripts/llamacpp_env.sh).
"""
import argparse
import json
import os
import statistics
import sys
import time

import llama_cpp
from llama_cpp import Llama
from llama_cpp._internals import LlamaBatch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="path to a .gguf file")
    ap.add_argument("--ids-json", required=True, help="JSON array of token ids (include BOS yourself if wanted)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--embeddings", action="store_true",
                    help="embeddings mode, pooling NONE (llama.cpp then outputs every token, LM head included)")
    a = ap.parse_args()

    ids = [int(i) for i in json.loads(a.ids_json)]
    if not ids:
        sys.exit("empty --ids-json")
    n_ctx = max(512, len(ids))
    t0 = time.perf_counter()
    llm = Llama(model_path=os.path.expanduser(a.model), n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                n_threads=a.threads, n_threads_batch=a.threads, embedding=a.embeddings,
                pooling_type=(llama_cpp.LLAMA_POOLING_TYPE_NONE if a.embeddings
                              else llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED),
                type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, flash_attn=False,
                logits_all=False, verbose=False)
    load_ms = (time.perf_counter() - t0) * 1e3
    ctx = llm._ctx
    batch = LlamaBatch(n_tokens=len(ids), embd=0, n_seq_max=1, verbose=False)
    batch.set_batch(ids, n_past=0, logits_all=False)  # output for the last token only
    mem = llama_cpp.llama_get_memory(ctx.ctx)

    def once() -> float:
        llama_cpp.llama_memory_clear(mem, True)
        s = time.perf_counter()
        ctx.decode(batch)
        llama_cpp.llama_synchronize(ctx.ctx)
        return (time.perf_counter() - s) * 1e3

    for _ in range(a.warmup):
        once()
    times = [once() for _ in range(a.repeat)]
    med = statistics.median(times)
    print(f"model={os.path.basename(a.model)} embeddings={a.embeddings} load_ms={load_ms:.1f} threads={a.threads} runs_ms="
          + ",".join(f"{t:.2f}" for t in times), file=sys.stderr)
    sys.stderr.flush()
    print(f"llamacpp tokens={len(ids)} median_ms={med:.3f}", flush=True)


if __name__ == "__main__":
    main()
