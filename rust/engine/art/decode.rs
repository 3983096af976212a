//! Cover bytes → a small sample of sRGB pixels, for PNG and JPEG (what Spotify serves).
//!
//! The decoders are bounded: an image wider or taller than [`MAX_SIDE`] is refused before its
//! pixels are allocated, so a hostile cover cannot make the engine allocate gigabytes.

use std::io::Cursor;

use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Widest or tallest cover decoded (Spotify's largest is 640 px; podcasts reach 3000).
pub(crate) const MAX_SIDE: usize = 4096;
/// Pixels kept for the palette: enough for five swatches, cheap to cluster.
pub(crate) const SAMPLE_PIXELS: usize = 4096;

/// Why cover bytes gave no pixels.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a PNG or JPEG image")]
    NotAnImage,
    #[error("the image is {width}×{height} px, larger than {MAX_SIDE} px on a side")]
    TooLarge { width: usize, height: usize },
    #[error("broken PNG: {0}")]
    Png(String),
    #[error("broken JPEG: {0}")]
    Jpeg(String),
    #[error("the image has no pixels")]
    Empty,
}

/// Decodes a PNG or JPEG and returns at most [`SAMPLE_PIXELS`] of its pixels, evenly spread.
pub fn decode(bytes: &[u8]) -> Result<Vec<[u8; 3]>, DecodeError> {
    let (pixels, channels) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)?
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (decode_jpeg(bytes)?, 3)
    } else {
        return Err(DecodeError::NotAnImage);
    };
    let count = pixels.len() / channels;
    if count == 0 {
        return Err(DecodeError::Empty);
    }
    let step = count.div_ceil(SAMPLE_PIXELS);
    Ok((0..count)
        .step_by(step)
        .map(|i| {
            let p = &pixels[i * channels..(i + 1) * channels];
            match channels {
                // Grey (with or without alpha): the same value in every channel.
                1 | 2 => [p[0]; 3],
                _ => [p[0], p[1], p[2]],
            }
        })
        .collect())
}

/// Decodes to 8-bit samples; returns them and the samples per pixel (1 to 4).
fn decode_png(bytes: &[u8]) -> Result<(Vec<u8>, usize), DecodeError> {
    let png_error = |e: png::DecodingError| DecodeError::Png(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: 64 << 20 });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (width, height) = (reader.info().width as usize, reader.info().height as usize);
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(DecodeError::TooLarge { width, height });
    }
    let size = reader.output_buffer_size().ok_or(DecodeError::TooLarge { width, height })?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(png_error)?;
    buf.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        // Expanded by `normalize_to_color8`, so never seen; refuse rather than misread.
        png::ColorType::Indexed => return Err(DecodeError::Png("unexpanded palette".into())),
    };
    Ok((buf, channels))
}

fn decode_jpeg(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let mut decoder = JpegDecoder::new_with_options(Cursor::new(bytes), options);
    decoder.decode_headers().map_err(|e| DecodeError::Jpeg(format!("{e:?}")))?;
    if let Some(info) = decoder.info() {
        let (width, height) = (usize::from(info.width), usize::from(info.height));
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(DecodeError::TooLarge { width, height });
        }
    }
    decoder.decode().map_err(|e| DecodeError::Jpeg(format!("{e:?}")))
}

/// Encodes RGB pixels as a PNG (the simulator's covers and the tests' fixtures).
pub fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing to a Vec fails only if the sizes disagree, which the callers rule out.
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(rgb);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_and_sampling() {
        let rgb: Vec<u8> = (0..100 * 100).flat_map(|i| [(i % 256) as u8, 10, 200]).collect();
        let pixels = decode(&encode_png(100, 100, &rgb)).unwrap();
        assert!(pixels.len() <= SAMPLE_PIXELS && pixels.len() > SAMPLE_PIXELS / 2, "{}", pixels.len());
        assert_eq!(pixels[0], [0, 10, 200]);
        assert!(pixels.iter().all(|p| p[1] == 10 && p[2] == 200));
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        assert!(matches!(decode(b"<html>404</html>"), Err(DecodeError::NotAnImage)));
        assert!(matches!(decode(b""), Err(DecodeError::NotAnImage)));
        let mut truncated = encode_png(8, 8, &[7; 8 * 8 * 3]);
        truncated.truncate(40);
        assert!(matches!(decode(&truncated), Err(DecodeError::Png(_))));
        assert!(matches!(decode(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Err(DecodeError::Jpeg(_))));
    }

    #[test]
    fn refuses_huge_dimensions_before_allocating() {
        // A valid header claiming 10000×10000 px, with no pixel data behind it.
        let mut png = encode_png(1, 1, &[0, 0, 0]);
        png[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&10_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(decode(&png), Err(DecodeError::TooLarge { width: 10_000, height: 10_000 })));
    }

    /// The PNG chunk checksum (CRC-32, reflected, polynomial 0xEDB88320).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
