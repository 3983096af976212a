//! Five swatches of a cover, by k-means in Oklab, a perceptual space: distances there follow how
//! different two colours look, so the swatches are the colours a viewer sees, not RGB averages.

use palette::{FromColor, LinSrgb, Oklab, Srgb};

/// Swatches per cover (`palette1` … `palette5`).
pub(crate) const SWATCHES: usize = 5;
/// Values per palette as the CHOP shows them: `art_r/g/b`, `art_brightness`, `art_saturation`,
/// then `palette1_r` … `palette5_b`.
pub(crate) const VALUES: usize = 5 + 3 * SWATCHES;
/// Oklab chroma of the most saturated sRGB primary (blue, about 0.31): `art_saturation` is 1 there.
const FULL_CHROMA: f32 = 0.32;
const ITERATIONS: usize = 16;

/// One swatch: its colour (sRGB, 0–1) and the share of the cover it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Swatch {
    pub rgb: [f32; 3],
    pub share: f32,
}

impl Swatch {
    /// `#rrggbb`, as TouchDesigner's colour fields and the web write it.
    pub fn hex(&self) -> String {
        let [r, g, b] = self.rgb.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// A cover's palette: swatches sorted by share, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Colors {
    pub swatches: [Swatch; SWATCHES],
    /// Mean Oklab lightness of the cover, 0 (black) – 1 (white).
    pub brightness: f32,
    /// Mean Oklab chroma of the cover, scaled so a pure sRGB primary is about 1.
    pub saturation: f32,
}

impl Colors {
    /// The CHOP values, in the order of [`VALUES`].
    pub fn values(&self) -> [f32; VALUES] {
        let mut out = [0.0; VALUES];
        out[..3].copy_from_slice(&self.swatches[0].rgb);
        out[3] = self.brightness;
        out[4] = self.saturation;
        for (i, s) in self.swatches.iter().enumerate() {
            out[5 + 3 * i..8 + 3 * i].copy_from_slice(&s.rgb);
        }
        out
    }
}

/// Extracts the palette of `pixels` (sRGB bytes). Deterministic: the same pixels, the same
/// palette. A cover with fewer than five colours repeats its dominant one with share 0.
pub fn extract(pixels: &[[u8; 3]]) -> Colors {
    if pixels.is_empty() {
        return Colors::default();
    }
    let lab: Vec<[f32; 3]> = pixels
        .iter()
        .map(|&[r, g, b]| {
            let c = Oklab::from_color(Srgb::new(r, g, b).into_format::<f32>().into_linear());
            [c.l, c.a, c.b]
        })
        .collect();
    let n = lab.len() as f32;
    let brightness = lab.iter().map(|p| p[0]).sum::<f32>() / n;
    let chroma = lab.iter().map(|p| p[1].hypot(p[2])).sum::<f32>() / n;

    let mut centres = initial_centres(&lab);
    let mut members = vec![0usize; lab.len()];
    for _ in 0..ITERATIONS {
        let mut changed = false;
        for (p, m) in lab.iter().zip(&mut members) {
            let nearest = nearest(&centres, p);
            changed |= *m != nearest;
            *m = nearest;
        }
        let mut sums = [[0.0f32; 4]; SWATCHES];
        for (p, &m) in lab.iter().zip(&members) {
            let s = &mut sums[m];
            s[0] += p[0];
            s[1] += p[1];
            s[2] += p[2];
            s[3] += 1.0;
        }
        for (c, s) in centres.iter_mut().zip(&sums) {
            if s[3] > 0.0 {
                *c = [s[0] / s[3], s[1] / s[3], s[2] / s[3]];
            }
        }
        if !changed {
            break;
        }
    }
    let mut counts = [0usize; SWATCHES];
    for &m in &members {
        counts[m] += 1;
    }
    let mut order: [usize; SWATCHES] = std::array::from_fn(|i| i);
    // Stable: equal shares keep the order the centres were found in.
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    let dominant = centres[order[0]];
    let swatches = order.map(|i| {
        let centre = if counts[i] == 0 { dominant } else { centres[i] };
        Swatch { rgb: to_srgb(centre), share: counts[i] as f32 / n }
    });
    Colors {
        swatches,
        brightness: brightness.clamp(0.0, 1.0),
        saturation: (chroma / FULL_CHROMA).clamp(0.0, 1.0),
    }
}

/// Farthest-point seeding: the pixel nearest the mean, then each time the pixel farthest from
/// every centre so far. Deterministic, and it finds small but distinct accents.
fn initial_centres(lab: &[[f32; 3]]) -> [[f32; 3]; SWATCHES] {
    let n = lab.len() as f32;
    let mean = lab.iter().fold([0.0; 3], |acc, p| [acc[0] + p[0] / n, acc[1] + p[1] / n, acc[2] + p[2] / n]);
    let first = lab.iter().copied().min_by(|a, b| distance(a, &mean).total_cmp(&distance(b, &mean)));
    let mut centres = [first.unwrap_or_default(); SWATCHES];
    for k in 1..SWATCHES {
        let far = lab.iter().copied().max_by(|a, b| {
            let da = centres[..k].iter().map(|c| distance(a, c)).fold(f32::MAX, f32::min);
            let db = centres[..k].iter().map(|c| distance(b, c)).fold(f32::MAX, f32::min);
            da.total_cmp(&db)
        });
        centres[k] = far.unwrap_or(centres[0]);
    }
    centres
}

fn nearest(centres: &[[f32; 3]; SWATCHES], p: &[f32; 3]) -> usize {
    let mut best = (0, f32::MAX);
    for (i, c) in centres.iter().enumerate() {
        let d = distance(p, c);
        // Strictly less: of equal centres the first wins, so duplicates stay empty.
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

fn distance(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

fn to_srgb([l, a, b]: [f32; 3]) -> [f32; 3] {
    let c: Srgb<f32> = Srgb::from_linear(LinSrgb::from_color(Oklab::new(l, a, b)));
    [c.red, c.green, c.blue].map(|v| v.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 3], b: [u8; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x * 255.0 - f32::from(y)).abs() < 1.5)
    }

    /// Stripes of known colours and widths give those colours back, largest share first.
    #[test]
    fn known_stripes_give_known_swatches() {
        let stripes: [([u8; 3], usize); 5] = [
            ([200, 30, 40], 40),
            ([20, 20, 20], 25),
            ([250, 250, 240], 15),
            ([30, 90, 200], 12),
            ([240, 200, 0], 8),
        ];
        let pixels: Vec<[u8; 3]> =
            stripes.iter().flat_map(|&(c, n)| std::iter::repeat_n(c, n * 10)).collect();
        let colors = extract(&pixels);
        for (swatch, (colour, width)) in colors.swatches.iter().zip(stripes) {
            assert!(close(swatch.rgb, colour), "{:?} vs {colour:?}", swatch.rgb);
            assert!((swatch.share - width as f32 / 100.0).abs() < 1e-4, "{} vs {width}", swatch.share);
        }
        assert_eq!(colors.swatches[0].hex(), "#c81e28");
        assert_eq!(colors.values()[..3], colors.swatches[0].rgb);
        assert_eq!(colors.values()[5 + 3 * 4..], colors.swatches[4].rgb);
    }

    #[test]
    fn grey_covers_have_no_saturation_and_their_lightness() {
        let black = extract(&[[0, 0, 0]; 64]);
        assert_eq!((black.brightness, black.saturation), (0.0, 0.0));
        let white = extract(&[[255, 255, 255]; 64]);
        assert!((white.brightness - 1.0).abs() < 1e-3 && white.saturation < 1e-3);
        let blue = extract(&[[0, 0, 255]; 64]);
        assert!(blue.saturation > 0.9, "{}", blue.saturation);
    }

    /// Two colours: two swatches share the cover; the other three repeat the dominant at 0.
    #[test]
    fn few_colours_repeat_the_dominant_with_no_share() {
        let mut pixels = vec![[255, 0, 0]; 70];
        pixels.extend(vec![[0, 0, 255]; 30]);
        let colors = extract(&pixels);
        assert!(close(colors.swatches[0].rgb, [255, 0, 0]));
        assert!(close(colors.swatches[1].rgb, [0, 0, 255]));
        assert!((colors.swatches[0].share - 0.7).abs() < 1e-6);
        for s in &colors.swatches[2..] {
            assert_eq!((s.rgb, s.share), (colors.swatches[0].rgb, 0.0));
        }
        assert_eq!(extract(&[]), Colors::default());
    }

    /// Perceptual, not RGB: two dark blues that look alike fall in one swatch, apart from a
    /// small but vivid accent.
    #[test]
    fn a_small_vivid_accent_keeps_its_own_swatch() {
        let mut pixels = Vec::new();
        for i in 0..90u8 {
            pixels.push([10, 10 + i / 10, 60 + i / 5]);
        }
        pixels.extend([[255, 120, 0]; 10]);
        let colors = extract(&pixels);
        assert!(colors.swatches.iter().any(|s| close(s.rgb, [255, 120, 0]) && (s.share - 0.1).abs() < 1e-6));
        assert!(colors.swatches[0].rgb[2] > colors.swatches[0].rgb[0]);
    }
}
