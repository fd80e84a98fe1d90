"""Train the LI-DiT twin on exported shards, one process or many (torchrun), CPU or GPU.

    torchrun --standalone --nproc_per_node=N -m lidit_torch.train \\
        --data SHARDS --run-dir RUN [--init-from models/lidit-shapes.safetensors] [--steps S] [--batch B] \\
        [--fsdp] [--export model.safetensors]

- DDP by default (gradients averaged over ranks); `--fsdp` shards parameters, gradients and the
  optimizer state with FSDP2 (`fully_shard`) for models that do not fit one device.
- Backend: nccl when CUDA is available (one GPU per local rank), gloo on CPU. bf16 autocast on
  GPU (`--precision`), float32 master weights, moments and EMA.
- AdamW + EMA + warmup/cosine schedule as `lidit train` (`optim.py`); the global batch is the
  training configuration's `batchSize` (or `--batch`), split evenly over the ranks.
- RUN/checkpoint.safetensors: the studio's checkpoint layout (F32 `weights`, `adam_m`, `adam_v`,
  `ema`, flat in the model file's order) plus the step; written atomically every
  `--checkpoint-every` steps and at the end. Running the same command again resumes exactly.
- `--export FILE` writes the EMA weights in fp16 with the configuration: the file
  `lidit generate --model FILE` and the studio open.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from .data import ShardStream
from .model import LIDiT, load_flat, noisy_images, prediction_loss, swift_name
from .modelfile import (ModelFile, layout_fingerprint, optimizer_settings, read_safetensors, swift_json,
                        training_settings, write_model_file, write_safetensors)
from .optim import AdamWEMA, learning_rate


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="lidit_torch.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a folder written by `lidit dataset export`")
    p.add_argument("--run-dir", required=True, help="run folder (checkpoint.safetensors, loss.csv, config.json)")
    p.add_argument("--init-from", help="start a new run from these weights (a model file); default: fresh initialisation")
    p.add_argument("--steps", type=int, help="total steps (default: the configuration's optimizer.totalSteps)")
    p.add_argument("--batch", type=int, help="global batch size (default: the configuration's batchSize)")
    p.add_argument("--lr", type=float, help="peak learning rate of a new run")
    p.add_argument("--warmup", type=int, help="warmup steps of a new run")
    p.add_argument("--fsdp", action="store_true", help="shard parameters and optimizer state (FSDP2) instead of DDP")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="autocast dtype: auto = bf16 on GPU, fp32 on CPU")
    p.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--export", help="write the EMA weights (fp16 model file) here when done")
    p.add_argument("--threads", type=int, help="torch CPU threads per process")
    p.add_argument("--dump-first-step", help=argparse.SUPPRESS)  # tests: batch + averaged gradient of the first step
    return p.parse_args(argv)


def log(msg):
    if not dist.is_initialized() or dist.get_rank() == 0:
        print(f"lidit-torch: {msg}", file=sys.stderr, flush=True)


def setup():
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend)
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def training_config(args, stream: ShardStream) -> dict:
    """The run's TrainingConfig (JSON object): the init model's or the dataset's, with overrides."""
    if args.init_from:
        cfg = json.loads(ModelFile.read(args.init_from).training_config_json)
        data_cfg = json.loads(stream.training_config_json)
        if [b["name"] for b in cfg["model"]["refiner"]["branches"]] != stream.encoders:
            raise SystemExit(f"{args.init_from}: its LLM branches differ from the dataset's encoders {stream.encoders}")
        for b, d in zip(cfg["model"]["refiner"]["branches"], data_cfg["model"]["refiner"]["branches"]):
            if b["instructionTokens"] != d["instructionTokens"]:
                raise SystemExit(f"{args.init_from}: branch {b['name']} crops {b['instructionTokens']} instruction tokens, "
                                 f"the dataset's template has {d['instructionTokens']}")
        cfg["data"] = data_cfg.get("data", cfg.get("data", {}))
    else:
        cfg = json.loads(stream.training_config_json)
    cfg.setdefault("optimizer", {})
    if args.steps:
        cfg["optimizer"]["totalSteps"] = args.steps
    if args.lr:
        cfg["optimizer"]["learningRate"] = args.lr
    if args.warmup is not None:
        cfg["optimizer"]["warmupSteps"] = args.warmup
    if args.batch:
        cfg["batchSize"] = args.batch
    return cfg


class Run:
    def __init__(self, args):
        self.args = args
        self.rank, self.world = setup()
        if args.threads:
            torch.set_num_threads(args.threads)
        self.device = torch.device(f"cuda:{torch.cuda.current_device()}") if torch.cuda.is_available() else torch.device("cpu")
        os.makedirs(args.run_dir, exist_ok=True)
        self.ckpt_path = os.path.join(args.run_dir, "checkpoint.safetensors")
        config_path = os.path.join(args.run_dir, "config.json")
        probe = ShardStream(args.data, self.rank, self.world)
        if os.path.exists(config_path):
            with open(config_path) as f:
                self.cfg = json.load(f)
            if args.steps:
                self.cfg["optimizer"]["totalSteps"] = args.steps
        else:
            self.cfg = training_config(args, probe)
        self.config_json = swift_json(self.cfg)
        t = training_settings(self.cfg)
        self.opt_cfg = optimizer_settings(self.cfg)
        self.global_batch = int(t["batchSize"])
        if self.global_batch % self.world:
            raise SystemExit(f"global batch {self.global_batch} does not split over {self.world} ranks")
        self.local_batch = self.global_batch // self.world
        self.stream = ShardStream(args.data, self.rank, self.world, seed=int(t["seed"]),
                                  timestep_mean=float(t["timestepMean"]), timestep_std=float(t["timestepStd"]),
                                  caption_dropout=float(t["captionDropout"]))
        torch.manual_seed(int(t["seed"]))
        self.model = LIDiT(self.cfg["model"])
        self.step = 0
        self.elapsed = 0.0
        resume = os.path.exists(self.ckpt_path)
        state = None
        if resume:
            tensors, meta = read_safetensors(self.ckpt_path)
            if meta.get("lidit.layout") != layout_fingerprint(self.model.layout):
                raise SystemExit(f"{self.ckpt_path} was written for a different parameter layout")
            load_flat(self.model, tensors["weights"])
            state = tensors
            self.step = int(meta["lidit.step"])
            self.elapsed = float(meta.get("lidit.elapsed_seconds", 0))
        elif args.init_from:
            load_flat(self.model, ModelFile.read(args.init_from).weights)
        if self.rank == 0 and not os.path.exists(config_path):
            with open(config_path + ".tmp", "w") as f:
                json.dump(self.cfg, f, indent=2, sort_keys=True)
            os.replace(config_path + ".tmp", config_path)
        self.model.to(self.device)
        self.wrap()
        self.optimizer = AdamWEMA(self.named_params(), self.opt_cfg)
        if state is not None:
            self.load_optimizer_state(state)
        if self.device.type == "cuda":
            use_bf16 = args.precision in ("auto", "bf16")
        else:
            use_bf16 = args.precision == "bf16"
        self.autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_bf16)
        log(f"{'resumed at step %d' % self.step if resume else 'new run'}: {sum(p.numel() for p in self.model.parameters())} "
            f"parameters, world {self.world} ({'FSDP' if args.fsdp else 'DDP'}, {self.device.type}, "
            f"{'bf16' if use_bf16 else 'fp32'}), global batch {self.global_batch}, "
            f"{self.stream.total} samples on rank 0")

    # -------------------------------------------------------------- wrapping

    def wrap(self):
        self.net = self.model
        if self.world == 1 and not self.args.fsdp:
            return
        if self.args.fsdp:
            from torch.distributed.fsdp import fully_shard
            for blk in self.model.dit.blocks:
                fully_shard(blk)
            for br in self.model.encoder.branches.values():
                for blk in list(br.refiner.blocks) + list(br.collaborative):
                    fully_shard(blk)
            fully_shard(self.model)
        else:
            from torch.nn.parallel import DistributedDataParallel as DDP
            self.net = DDP(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def named_params(self):
        named = dict((swift_name(n), p) for n, p in self.model.named_parameters())
        return [(n, named[n]) for n, _ in self.model.layout]

    # -------------------------------------------------------------- state

    def _gather(self, tensors):
        """Flat float32 numpy vector (model-file order) of per-parameter tensors (DTensor shards gathered)."""
        parts = [(t.full_tensor() if hasattr(t, "full_tensor") else t).detach().reshape(-1).float().cpu() for t in tensors]
        return torch.cat(parts).numpy()

    def _scatter(self, flat, targets):
        flat = torch.from_numpy(np.asarray(flat, dtype=np.float32))
        o = 0
        for t in targets:
            k = int(np.prod(t.shape))
            full = flat[o:o + k].view(t.shape).to(self.device)
            if hasattr(t, "device_mesh"):
                from torch.distributed.tensor import distribute_tensor
                full = distribute_tensor(full, t.device_mesh, t.placements)
            with torch.no_grad():
                t.copy_(full)
            o += k

    def load_optimizer_state(self, tensors):
        self._scatter(tensors["adam_m"], self.optimizer.m)
        self._scatter(tensors["adam_v"], self.optimizer.v)
        self._scatter(tensors["ema"], self.optimizer.ema)
        if self.args.fsdp:
            self._scatter(tensors["weights"], self.optimizer.params)

    def save_checkpoint(self):
        w = self._gather(self.optimizer.params)
        m = self._gather(self.optimizer.m)
        v = self._gather(self.optimizer.v)
        e = self._gather(self.optimizer.ema)
        if self.rank == 0:
            write_safetensors(self.ckpt_path, [("weights", w), ("adam_m", m), ("adam_v", v), ("ema", e)], {
                "lidit.step": str(self.step), "lidit.elapsed_seconds": repr(self.elapsed),
                "lidit.layout": layout_fingerprint(self.model.layout), "lidit.training_config": self.config_json,
                "lidit.trainer": f"lidit_torch world={self.world}"})
        if dist.is_initialized():
            dist.barrier()

    def export(self, path):
        e = self._gather(self.optimizer.ema)
        if self.rank == 0:
            digest = hashlib.sha256(e.astype(np.float32).tobytes()).hexdigest()[:8]
            domain = os.path.basename(self.cfg.get("data", {}).get("folder") or "shapes")
            write_model_file(path, self.config_json, e, f"lidit-torch-{domain}-{self.step}-{digest}", self.step)
            log(f"exported {path}")
        if dist.is_initialized():
            dist.barrier()

    # -------------------------------------------------------------- loop

    def forward_backward(self, b):
        b = b.to(self.device)
        with self.autocast:
            out = self.net(noisy_images(b.images, b.noise, b.sigmas), b.sigmas, b.features, b.masks, drop=b.drop)
        loss, per_sample = prediction_loss(self.cfg["model"], out, b.images, b.noise, b.sigmas)
        loss.backward()
        return loss

    def train(self):
        total = int(self.opt_cfg["totalSteps"])
        loss_log = os.path.join(self.args.run_dir, "loss.csv")
        if self.rank == 0 and not os.path.exists(loss_log):
            with open(loss_log, "w") as f:
                f.write("step,loss,lr,grad_norm,samples_per_s,elapsed_s\n")
        window = []
        t_window = time.time()
        while self.step < total:
            t0 = time.time()
            b = self.stream.batch(self.step, self.local_batch)
            for p in self.model.parameters():
                p.grad = None
            loss = self.forward_backward(b)
            if self.args.dump_first_step:
                self.dump(b)
                return
            norm = self.optimizer.step(self.step)
            l = loss.detach()
            if dist.is_initialized():
                dist.all_reduce(l)
                l /= self.world
            window.append(float(l))
            self.step += 1
            self.elapsed += time.time() - t0
            if self.step % self.args.log_every == 0 or self.step == total:
                dt = time.time() - t_window
                sps = len(window) * self.global_batch / max(dt, 1e-9)
                lr = learning_rate(self.opt_cfg, self.step - 1)
                mean = sum(window) / len(window)
                log(f"step {self.step}/{total}  loss {mean:.4f}  lr {lr:.2e}  |g| {norm:.2f}  {sps:.1f} samples/s")
                if self.rank == 0:
                    with open(loss_log, "a") as f:
                        f.write(f"{self.step},{mean:.6f},{lr:.6g},{norm:.4f},{sps:.1f},{self.elapsed:.1f}\n")
                window = []
                t_window = time.time()
            if self.step % self.args.checkpoint_every == 0:
                self.save_checkpoint()
        self.save_checkpoint()
        log(f"checkpoint at step {self.step}: {self.ckpt_path}")
        if self.args.export:
            self.export(self.args.export)

    def dump(self, b):
        """Tests: this rank's batch, and (rank 0) the averaged gradient in the model file's order."""
        g = self._gather([p.grad for p in self.optimizer.params])
        tensors = [("images", b.images.numpy()), ("noise", b.noise.numpy()), ("sigmas", b.sigmas.numpy()),
                   ("drop", b.drop.float().numpy())]
        for name, f, m in zip(self.stream.encoders, b.features, b.masks):
            tensors += [(f"text.{name}.features", f.numpy()), (f"text.{name}.mask", m.float().numpy())]
        if self.rank == 0:
            tensors.append(("gradients", g))
        write_safetensors(f"{self.args.dump_first_step}.rank{self.rank}.safetensors", tensors,
                          {"lidit.world": str(self.world)})
        if dist.is_initialized():
            dist.barrier()


def main(argv=None):
    args = parse_args(argv)
    run = Run(args)
    try:
        run.train()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
