//! Input-pipeline speed: images/s of `augment::train_batch` and of the Gaussian blur that follows it in training
//! (`blur::blur_uniform` at the strongest training sigma, 8 px of the 224-px protocol, scaled to the resolution),
//! at the `mini` (64 px from 73 px stored) and `paper` (224 px from 256 px stored) sizes, batch 64.
//! Runs on CPU, and on CUDA too when libtorch sees a GPU. Prints numbers; asserts nothing about time.
//!
//! `cargo bench --bench augment` (or `--profile dev` to reuse the test build; the work is inside libtorch).
use std::time::Instant;

use anyhow::Result;
use blurry_to_clear::augment::{train_batch, AugmentSpec};
use blurry_to_clear::blur::blur_uniform;
use tch::{Device, Kind, Tensor};

const BATCH: i64 = 64;
/// Strongest training sigma of the paper, in pixels of the 224-px protocol.
const PAPER_SIGMA: f64 = 8.0;

fn main() -> Result<()> {
    // One CPU thread as well as all of them: on a shared machine, libtorch's spinning worker threads can make
    // the multi-threaded figure many times worse than the single-threaded one.
    let all_threads = tch::get_num_threads();
    let mut settings: Vec<(Device, i32)> = vec![(Device::Cpu, 1)];
    if all_threads > 1 {
        settings.push((Device::Cpu, all_threads));
    }
    if tch::Cuda::is_available() {
        settings.push((Device::Cuda(0), all_threads));
    }
    println!("batch {BATCH}");
    for (device, threads) in settings {
        tch::set_num_threads(threads);
        for (size, stored, batches) in [(64, 73, 20), (224, 256, 4)] {
            measure(device, threads, size, stored, batches)?;
        }
    }
    Ok(())
}

/// Time `batches` batches (after one warm-up) of augmentation, then of blur, and print images/s for each and both.
fn measure(device: Device, threads: i32, size: i64, stored: i64, batches: u32) -> Result<()> {
    let spec = AugmentSpec { size, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], random_erasing: true };
    let sigma = PAPER_SIGMA * size as f64 / 224.0;
    tch::manual_seed(0);
    let images = Tensor::randint(256, [BATCH, 3, stored, stored], (Kind::Uint8, device));
    let augmented = train_batch(&images, &spec)?;
    let _ = blur_uniform(&augmented, sigma)?;
    synchronise(device);

    let start = Instant::now();
    for _ in 0..batches {
        let _ = train_batch(&images, &spec)?;
    }
    synchronise(device);
    let augment_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..batches {
        let _ = blur_uniform(&augmented, sigma)?;
    }
    synchronise(device);
    let blur_s = start.elapsed().as_secs_f64();

    let images_done = f64::from(batches) * BATCH as f64;
    println!(
        "{device:?} ({threads} threads) {size:>3} px (stored {stored}): augment {:>7.0} img/s, blur sigma {sigma:.2} {:>7.0} img/s, \
         both {:>7.0} img/s",
        images_done / augment_s,
        images_done / blur_s,
        images_done / (augment_s + blur_s)
    );
    Ok(())
}

fn synchronise(device: Device) {
    if let Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}
