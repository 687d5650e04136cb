//! A figure as a reader with deuteranopia sees it: `cargo run --example deuteranopia -- IN.png OUT.png`
//! (Machado et al. 2009 at full severity, `blurry_to_clear::figures::colour_vision`).
use anyhow::{Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        anyhow::bail!("usage: cargo run --example deuteranopia -- IN.png OUT.png");
    };
    let mut image = image::open(input).with_context(|| format!("cannot read {input}"))?.to_rgb8();
    blurry_to_clear::figures::colour_vision::simulate_deuteranopia(&mut image);
    image.save(output).with_context(|| format!("cannot write {output}"))?;
    println!("{output}: {input} as seen with deuteranopia");
    Ok(())
}
