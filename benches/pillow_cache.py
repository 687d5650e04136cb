"""Pillow's side of `just bench`'s cache measurement: decode each JPEG from memory and resize it as the training
split's cache does, torchvision's `Resize((side, side))` on a PIL image (Pillow's bilinear resize), into planar
uint8 RGB. One thread; every file is read before the clock starts. Prints nothing; writes JSON to --out:
{"images": n, "passes": [images/s, ...], "median": images/s, "passes_cpu": [images per CPU-second, ...],
"median_cpu": ..., "pillow": version, "libjpeg_turbo": bool}. CPU time is the thread's (user + system), which a
loaded machine distorts less than the wall clock.

Usage: .venv/bin/python benches/pillow_cache.py --files LIST --side 256 --passes 3 --out OUT.json
(LIST: a text file naming one image per line).
"""
import argparse
import io
import json
import statistics
import time

import numpy as np
import PIL
from PIL import Image, features


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", required=True)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.files) as f:
        paths = [line.strip() for line in f if line.strip()]
    blobs = []
    for path in paths:
        with open(path, "rb") as f:
            blobs.append(f.read())
    rates, cpu_rates = [], []
    for _ in range(args.passes + 1):
        started, cpu = time.perf_counter(), time.thread_time()
        for blob in blobs:
            image = Image.open(io.BytesIO(blob)).convert("RGB")
            image = image.resize((args.side, args.side), Image.BILINEAR)
            np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1))
        rates.append(len(blobs) / (time.perf_counter() - started))
        cpu_rates.append(len(blobs) / (time.thread_time() - cpu))
    # The first pass warms the caches, as the Rust side's does.
    rates, cpu_rates = rates[1:], cpu_rates[1:]
    with open(args.out, "w") as f:
        json.dump({"images": len(blobs), "passes": rates, "median": statistics.median(rates),
                   "passes_cpu": cpu_rates, "median_cpu": statistics.median(cpu_rates),
                   "pillow": PIL.__version__, "libjpeg_turbo": bool(features.check_feature("libjpeg_turbo"))}, f)


if __name__ == "__main__":
    main()
