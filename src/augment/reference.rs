//! Test support: the reference values in `tests/fixtures/augment/reference.json`, computed once with torchvision
//! on PIL images (see the README there).
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use tch::Tensor;

#[derive(Deserialize)]
pub(crate) struct Reference {
    images: BTreeMap<String, Image>,
    pub colour: Vec<ColourCase>,
    pub resized_crop: Vec<CropCase>,
}

#[derive(Deserialize)]
struct Image {
    shape: Vec<i64>,
    data: Vec<u8>,
}

#[derive(Deserialize)]
pub(crate) struct ColourCase {
    pub op: String,
    pub image: String,
    pub factor: Option<f64>,
    pub output: Vec<u8>,
}

#[derive(Deserialize)]
pub(crate) struct CropCase {
    pub top: i64,
    pub left: i64,
    pub height: i64,
    pub width: i64,
    pub side: i64,
    pub output: Vec<u8>,
}

impl Reference {
    pub(crate) fn load() -> Reference {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/augment/reference.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid: {e}", path.display()))
    }

    /// A reference image as uint8 `[1, C, H, W]`.
    pub(crate) fn image(&self, name: &str) -> Tensor {
        let image = &self.images[name];
        Tensor::from_slice(&image.data).view([1, image.shape[0], image.shape[1], image.shape[2]])
    }
}
