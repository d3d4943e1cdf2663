//! 8-bit PNG images written once for the whole project: screenshots, slice
//! previews, training curves and the tools' figures. Files are written
//! atomically (a temporary file beside the target, then a rename), so a
//! reader never sees half a picture, and every error names the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic_file::write_atomically;

/// How the samples of a pixel are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// One grey sample per pixel.
    Gray,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue, alpha.
    Rgba,
}

impl Color {
    /// Samples (bytes) per pixel.
    pub fn channels(self) -> usize {
        match self {
            Color::Gray => 1,
            Color::Rgb => 3,
            Color::Rgba => 4,
        }
    }

    fn png(self) -> ::png::ColorType {
        match self {
            Color::Gray => ::png::ColorType::Grayscale,
            Color::Rgb => ::png::ColorType::Rgb,
            Color::Rgba => ::png::ColorType::Rgba,
        }
    }
}

/// An 8-bit image: `pixels` row by row, top row first, `color.channels()`
/// bytes per pixel.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Layout of a pixel.
    pub color: Color,
    /// The samples.
    pub pixels: &'a [u8],
    /// Compress as hard as the encoder can (slower): for images kept in the
    /// repository.
    pub smallest: bool,
}

impl<'a> Image<'a> {
    /// A grey image.
    pub fn gray(width: usize, height: usize, pixels: &'a [u8]) -> Self {
        Image { width, height, color: Color::Gray, pixels, smallest: false }
    }

    /// An RGB image.
    pub fn rgb(width: usize, height: usize, pixels: &'a [u8]) -> Self {
        Image { width, height, color: Color::Rgb, pixels, smallest: false }
    }

    /// An RGBA image.
    pub fn rgba(width: usize, height: usize, pixels: &'a [u8]) -> Self {
        Image { width, height, color: Color::Rgba, pixels, smallest: false }
    }

    /// The same image, compressed as hard as the encoder can.
    pub fn smallest(self) -> Self {
        Image { smallest: true, ..self }
    }
}

/// Writing a PNG file failed: the file and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct PngError {
    /// The file being written.
    pub path: PathBuf,
    /// What went wrong: the operating system's error, the encoder's, or
    /// pixels that do not fill the image (kind `InvalidInput`).
    #[source]
    pub source: std::io::Error,
}

/// Encodes `image` as PNG into `out` (a file, a `Vec<u8>`...). Fails with
/// kind `InvalidInput` when the pixels do not fill the image exactly or a
/// side does not fit PNG's 32 bits.
pub fn encode(image: &Image, out: impl Write) -> std::io::Result<()> {
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    let expected = image.width.checked_mul(image.height).and_then(|n| n.checked_mul(image.color.channels()));
    if expected != Some(image.pixels.len()) {
        return Err(invalid(format!(
            "a {}×{} {:?} image needs {} bytes of pixels, got {}",
            image.width,
            image.height,
            image.color,
            expected.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string()),
            image.pixels.len()
        )));
    }
    let side = |n: usize| u32::try_from(n).map_err(|_| invalid(format!("an image side of {n} pixels is too large")));
    let mut enc = ::png::Encoder::new(out, side(image.width)?, side(image.height)?);
    enc.set_color(image.color.png());
    enc.set_depth(::png::BitDepth::Eight);
    if image.smallest {
        enc.set_compression(::png::Compression::High);
    }
    let mut writer = enc.write_header().map_err(into_io)?;
    writer.write_image_data(image.pixels).map_err(into_io)?;
    writer.finish().map_err(into_io)
}

/// The encoder's error as an I/O error (its own I/O errors unwrapped).
fn into_io(e: ::png::EncodingError) -> std::io::Error {
    match e {
        ::png::EncodingError::IoError(e) => e,
        other => std::io::Error::other(other),
    }
}

/// Writes `image` to `path` as PNG, atomically.
pub fn write(path: &Path, image: &Image) -> Result<(), PngError> {
    write_atomically(path, |out| encode(image, out)).map_err(|e| match e {
        crate::ScanError::Io { path, source } => PngError { path, source },
        other => PngError { path: path.to_path_buf(), source: std::io::Error::other(other.to_string()) },
    })
}

/// Writes a grey image to `path` as PNG, atomically.
pub fn write_gray(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<(), PngError> {
    write(path, &Image::gray(width, height, pixels))
}

/// Writes an RGB image to `path` as PNG, atomically.
pub fn write_rgb(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<(), PngError> {
    write(path, &Image::rgb(width, height, pixels))
}

/// Writes an RGBA image to `path` as PNG, atomically.
pub fn write_rgba(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<(), PngError> {
    write(path, &Image::rgba(width, height, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (::png::OutputInfo, Vec<u8>) {
        let mut reader = ::png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn every_layout_reads_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        for color in [Color::Gray, Color::Rgb, Color::Rgba] {
            let (w, h) = (5, 3);
            let px: Vec<u8> = (0..w * h * color.channels()).map(|n| (n * 37 % 256) as u8).collect();
            let path = dir.path().join(format!("{color:?}.png"));
            let image = Image { width: w, height: h, color, pixels: &px, smallest: color == Color::Rgb };
            write(&path, &image).unwrap();
            let (info, back) = decode(&std::fs::read(&path).unwrap());
            assert_eq!((info.width, info.height, info.color_type), (5, 3, color.png()));
            assert_eq!(info.bit_depth, ::png::BitDepth::Eight);
            assert_eq!(back, px);
        }
        // Only the three files: no temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn encode_to_memory_matches_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let px = [0u8, 64, 128, 255];
        let mut bytes = Vec::new();
        encode(&Image::gray(2, 2, &px), &mut bytes).unwrap();
        let path = dir.path().join("g.png");
        write_gray(&path, 2, 2, &px).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn short_pixels_and_bad_folders_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.png");
        std::fs::write(&path, b"old").unwrap();
        let e = write_rgb(&path, 4, 4, &[0; 47]).unwrap_err();
        assert_eq!(e.source.kind(), std::io::ErrorKind::InvalidInput);
        let msg = e.to_string();
        assert!(msg.contains("short.png") && msg.contains("48 bytes") && msg.contains("got 47"), "{msg}");
        // The old file is kept.
        assert_eq!(std::fs::read(&path).unwrap(), b"old");

        let missing = dir.path().join("no/such/folder/x.png");
        let e = write_gray(&missing, 1, 1, &[7]).unwrap_err();
        assert!(e.to_string().contains("x.png"), "{e}");
        assert_eq!(e.path, missing);
    }
}
