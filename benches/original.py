"""Throughput of the original's training pipeline on CPU, for `just bench` to set beside the project's own.

It reproduces the training step of cerysojj/blurry-to-clear-training as
`notebooks/model_training/train_alexnet_IN100.ipynb` runs it in its "Full blur training" section (cells 31 and 33
build the transform and the loaders; cells 53-58 train one blurry model with `add_blur_with` from `src/utils.py`
and `AlexNetSup` from `src/model.py`); the other four training notebooks differ only in dataset statistics, whether
RandomErasing is applied, and the number of classes. Per step:

- a shuffled `DataLoader` (`--workers` processes) over JPEG files read by PIL, then the notebook's `v2.Compose`:
  Resize((T, T)), RandomResizedCrop(S, scale (0.5, 1), bicubic), a RandomOrder of seven colour operations each
  applied with p 0.2, RandomHorizontalFlip, ToTensor, Normalize (ImageNet statistics), RandomErasing(p=0.5);
- the original's blur: one sigma drawn per image, each image blurred alone by `kornia.filters.gaussian_blur2d`
  (kernel 2*ceil(2*sigma)+1) on the normalised CPU tensor, at sigma 8 of the 224-px protocol scaled to S;
- AlexNetSup (AlexNet features, adaptive average pool 6x6, one Linear(9216, 100), Xavier-uniform weights),
  cross-entropy and Adam (lr 1e-3, weight decay 1e-4) on CPU.

Where it differs from the notebook, and why: the original decodes encoded images held in a pickle with OpenCV;
here PIL reads JPEG files from disk (ImageFolder), so that OpenCV is not needed (both decode with libjpeg). One
long shuffled stream of batches replaces the notebook's epochs, so that a tiny synthetic data set has no epoch
boundaries that a real epoch of hundreds of steps would not have. Batches are not pinned (no GPU) and the
learning-rate scheduler, which costs microseconds per step, is left out.

It also times the blur loop alone on a normalised batch, at each sigma of the protocol's figure set (1, 4, 8, 32),
scaled to S. Results go to `--out` as JSON (written to a temporary file, then renamed).

    .venv/bin/python benches/original.py --size 64 --stored 73 --batch 64 --warmup 3 --repeats 5 --out FILE.json

On a 2-core machine, `--threads 2` with 2 workers puts four busy threads on two cores, and libgomp's spin-waiting
then makes the per-image blur loop (hundreds of tiny multi-threaded calls per batch) many times slower than with
`--threads 1`; the figures are only meaningful on an otherwise idle machine, with the thread count and
OMP_WAIT_POLICY that the project's own measurement uses.

Needs torchvision 0.26 and kornia next to the torch of `.venv`: `scripts/bench-setup.sh` installs them (kornia
0.8.0, the version the notebooks' `pip install kornia` printed).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import nn

try:
    import kornia
    import numpy as np
    import PIL
    import torchvision
    from PIL import Image
    from torchvision import datasets
    from torchvision.transforms import v2
except ImportError as missing:
    print(f"error: {missing.name or missing} is missing from this Python ({sys.executable}); benches/original.py "
          "needs torchvision 0.26, kornia, numpy and Pillow: run scripts/bench-setup.sh (`just bench` does), which "
          "adds them to .venv without changing torch", file=sys.stderr)
    sys.exit(2)

ROOT = Path(__file__).resolve().parent.parent
SEED = 0
CLASSES = 100  # ImageNet-100, the paper's largest run
IMAGES_PER_CLASS = 3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PROTOCOL_SIZE = 224
TRAINING_SIGMA = 8.0
BLUR_SIGMAS = (1, 4, 8, 32)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, required=True, help="crop and model input side S, px (64 or 224)")
    parser.add_argument("--stored", type=int, required=True, help="side T of the stored images, px (73 or 256)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    parser.add_argument("--repeats", type=int, default=5, help="timed windows (median, min, max over them)")
    parser.add_argument("--steps", type=int, help="training steps per window (default: 8 at S < 128, else 3)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads of the main process")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args()
    if args.steps is None:
        args.steps = 8 if args.size < 128 else 3
    if min(args.size, args.stored, args.batch, args.repeats, args.steps) < 1 or min(args.warmup, args.workers) < 0:
        parser.error("--size, --stored, --batch, --repeats and --steps must be positive; --warmup and --workers "
                     "must not be negative")
    return args


def synthetic_image(rng, side):
    """A seeded photo-like image: a smooth random colour field with fine noise (JPEG sizes like real photos')."""
    field = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((side, side), Image.BICUBIC)
    pixels = np.asarray(field, dtype=np.float32) + rng.normal(0, 10, (side, side, 3))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def ensure_data(stored):
    """The JPEG folders (one per class) at `stored` px, written once under runs/bench/original-data/<stored>/."""
    root = ROOT / "runs" / "bench" / "original-data" / str(stored)
    if root.is_dir():
        return root
    partial = root.with_name(f"{stored}.partial")
    rng = np.random.default_rng(SEED)
    for label in range(CLASSES):
        folder = partial / f"class{label:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(IMAGES_PER_CLASS):
            synthetic_image(rng, stored).save(folder / f"{n}.jpg", quality=90)
    partial.rename(root)
    return root


def training_transform(size, stored):
    """The notebook's training `v2.Compose`, less its leading ToPILImage (ImageFolder already yields PIL images)."""
    colour = [
        v2.RandomApply([v2.ColorJitter(brightness=0.2)], p=0.2),
        v2.RandomApply([v2.ColorJitter(hue=0.2)], p=0.2),
        v2.RandomApply([v2.ColorJitter(saturation=0.2)], p=0.2),
        v2.RandomApply([v2.ColorJitter(contrast=0.2)], p=0.2),
        v2.RandomEqualize(p=0.2),
        v2.RandomPosterize(bits=4, p=0.2),
        v2.RandomAutocontrast(p=0.2),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # v2.ToTensor is deprecated, but it is what the original calls
        to_tensor = v2.ToTensor()
    return v2.Compose([
        v2.Resize((stored, stored)),
        v2.RandomResizedCrop(size, scale=(0.5, 1.0), interpolation=v2.InterpolationMode.BICUBIC),
        v2.RandomOrder(colour),
        v2.RandomHorizontalFlip(),
        to_tensor,
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        v2.RandomErasing(p=0.5),
    ])


def batch_stream(args, batches):
    """An iterator over `batches` shuffled, augmented batches from the worker processes."""
    dataset = datasets.ImageFolder(ensure_data(args.stored), transform=training_transform(args.size, args.stored))
    generator = torch.Generator().manual_seed(SEED)
    sampler = torch.utils.data.RandomSampler(dataset, num_samples=batches * args.batch, generator=generator)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, sampler=sampler, num_workers=args.workers,
                                         drop_last=True)
    return iter(loader)


def blur_per_image(images, sigmas, weights, rng):
    """The original's blur: for each image, draw a sigma, then blur that image alone with kornia (reflect border)."""
    blurred = torch.empty_like(images)
    for i, image in enumerate(images):
        sigma = float(rng.choice(sigmas, p=weights))
        if sigma == 0:
            blurred[i] = image
            continue
        kernel = 2 * math.ceil(2 * sigma) + 1
        blurred[i] = kornia.filters.gaussian_blur2d(image[None], (kernel, kernel), (sigma, sigma))[0]
    return blurred


def alexnet_sup():
    """The paper's AlexNet: torchvision's AlexNet features, a 6x6 average pool and one linear layer, Xavier init."""
    model = nn.Sequential(
        torchvision.models.alexnet(weights=None).features,
        nn.AdaptiveAvgPool2d((6, 6)),
        nn.Flatten(),
        nn.Linear(256 * 6 * 6, CLASSES),
    )
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
    return model


def summary(rates):
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates), "unit": "images/s"}


def measure_train_step(args):
    """Images/s of whole steps (next batch, blur, forward, backward, Adam) over `--repeats` windows."""
    model = alexnet_sup().train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss()
    rng = np.random.default_rng(SEED)
    sigma = TRAINING_SIGMA * args.size / PROTOCOL_SIZE

    def step():
        images, labels = next(stream)
        images = blur_per_image(images, [sigma], [1.0], rng)
        optimiser.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimiser.step()
        return loss.item()

    stream = batch_stream(args, args.warmup + args.repeats * args.steps)
    for _ in range(args.warmup):
        step()
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rates.append(args.steps * args.batch / (time.perf_counter() - start))
    return summary(rates)


def measure_blur_loop(args):
    """Images/s of the per-image blur loop on one normalised batch, per protocol sigma (one warm-up, then timed)."""
    images = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(SEED))
    rng = np.random.default_rng(SEED)
    results = {}
    for protocol_sigma in BLUR_SIGMAS:
        sigma = protocol_sigma * args.size / PROTOCOL_SIZE
        blur_per_image(images, [sigma], [1.0], rng)
        rates = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            blur_per_image(images, [sigma], [1.0], rng)
            rates.append(args.batch / (time.perf_counter() - start))
        results[str(protocol_sigma)] = summary(rates)
    return results


def write_atomically(path, report):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(partial, path)


def main():
    args = parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    # The blur alone first, while no worker process competes for the cores.
    blur_loop = measure_blur_loop(args)
    train_step = measure_train_step(args)
    report = {
        "size": args.size,
        "stored": args.stored,
        "batch": args.batch,
        "workers": args.workers,
        "threads": args.threads,
        "steps_per_window": args.steps,
        "train_step": train_step,
        "blur_loop": blur_loop,
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "kornia": kornia.__version__,
            "pillow": PIL.__version__,
        },
    }
    write_atomically(args.out, report)
    print(f"original, {args.size} px: train step {train_step['median']:.1f} images/s (median of {args.repeats}); "
          + ", ".join(f"blur sigma {s}: {r['median']:.0f}" for s, r in blur_loop.items()) + " images/s")


if __name__ == "__main__":
    main()
