//! Album-art palette: the cover of the current item, as five swatches that readers glide to.
//!
//! When the item changes the engine asks its source for the cover ([`Cover`]). A URL is fetched
//! by a task on the engine's runtime ([`fetch::Fetcher`]: size-capped, timed out, cached on
//! disk), decoded and clustered there; the simulator hands over image bytes it made itself. The
//! result is published in the snapshot as target colours plus the instant they changed
//! ([`ArtView`]), and each reader glides its channels towards them ([`Glide`]): a few multiplies
//! per cook, no allocation.

pub mod decode;
pub mod fetch;
pub mod palette;

use std::ffi::CString;
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::model::playback::{Item, ItemKind};
use fetch::{ArtError, Fetcher};
use palette::{Colors, VALUES};

/// Where the current item's cover comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Cover {
    /// Local files and ads have none (nor items without images).
    None,
    /// Downloaded (Spotify).
    Url(String),
    /// Already in memory (the simulator's made-up covers).
    Image(Arc<[u8]>),
}

impl Cover {
    /// The cover Spotify gives `item`: its palette-sized image, never one for local files or ads.
    pub fn of(item: &Item) -> Cover {
        match (item.kind, &item.palette_art_url) {
            (ItemKind::LocalFile | ItemKind::Ad, _) | (_, None) => Cover::None,
            (_, Some(url)) => Cover::Url(url.clone()),
        }
    }
}

/// The `art` row while nothing was asked for yet.
pub const ART_NONE: &str = "";
/// The `art` row for items without a cover.
pub const ART_NO_ART: &str = "no art";
/// The `art` row while a cover is on its way.
pub const ART_LOADING: &str = "loading";
/// The `art` row once the palette is the current item's.
pub const ART_OK: &str = "ok";

/// What readers see of the palette: the colours to glide to and since when.
#[derive(Debug, Clone)]
pub struct ArtView {
    pub colors: Colors,
    /// The CHOP values of `colors`, computed once here, not per cook.
    pub values: [f32; VALUES],
    /// Increments whenever the colours change.
    pub seq: u64,
    /// When the colours changed; the glide starts there.
    pub changed_at: Option<Instant>,
    /// The `art` row: `ok`, `loading`, `no art`, or why the cover failed.
    pub state: CString,
    /// The DAT's `Palette` mode: rank, hex, r, g, b, share.
    pub table: Arc<super::snapshot::Table>,
}

impl Default for ArtView {
    fn default() -> Self {
        ArtView::new(Colors::default(), 0, None, ART_NONE)
    }
}

impl ArtView {
    fn new(colors: Colors, seq: u64, changed_at: Option<Instant>, state: &str) -> ArtView {
        let table = colors
            .swatches
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let [r, g, b] = s.rgb;
                vec![
                    (i + 1).to_string(),
                    s.hex(),
                    format!("{r:.4}"),
                    format!("{g:.4}"),
                    format!("{b:.4}"),
                    format!("{:.4}", s.share),
                ]
            })
            .collect();
        ArtView {
            colors,
            values: colors.values(),
            seq,
            changed_at,
            state: CString::new(state.replace('\0', "")).unwrap_or_default(),
            table: Arc::new(super::snapshot::Lists::table(table)),
        }
    }

    /// The same colours with another `art` row.
    fn with_state(&self, state: &str) -> ArtView {
        ArtView { state: CString::new(state.replace('\0', "")).unwrap_or_default(), ..self.clone() }
    }
}

/// A finished cover job: its generation and its palette or why not.
type Done = (u64, Result<Colors, ArtError>);

/// The engine's side: starts a job per new cover, keeps the last good colours.
#[derive(Debug)]
pub struct ArtWorker {
    fetcher: Option<Arc<Fetcher>>,
    /// Why there is no fetcher (covers by URL then fail with this).
    fetcher_error: Option<String>,
    tx: mpsc::UnboundedSender<Done>,
    rx: mpsc::UnboundedReceiver<Done>,
    generation: u64,
    job: Option<JoinHandle<()>>,
    current: Option<Cover>,
    view: ArtView,
}

impl ArtWorker {
    /// A worker downloading with `fetcher` (`Err`: why covers by URL cannot be fetched).
    pub fn new(fetcher: Result<Fetcher, String>) -> ArtWorker {
        let (tx, rx) = mpsc::unbounded_channel();
        let (fetcher, fetcher_error) = match fetcher {
            Ok(f) => (Some(Arc::new(f)), None),
            Err(e) => (None, Some(e)),
        };
        ArtWorker {
            fetcher,
            fetcher_error,
            tx,
            rx,
            generation: 0,
            job: None,
            current: None,
            view: ArtView::default(),
        }
    }

    /// What readers should see now.
    pub fn view(&self) -> &ArtView {
        &self.view
    }

    /// The current item's cover is `cover`: starts fetching it unless it is the one shown.
    /// Must run on the engine's runtime.
    pub fn request(&mut self, cover: Cover) {
        if self.current.as_ref() == Some(&cover) {
            return;
        }
        self.generation += 1;
        if let Some(job) = self.job.take() {
            job.abort();
        }
        self.current = Some(cover.clone());
        let generation = self.generation;
        let tx = self.tx.clone();
        match cover {
            // Keep the last colours: a jump to black between tracks is rarely what a VJ wants.
            Cover::None => self.view = self.view.with_state(ART_NO_ART),
            Cover::Image(bytes) => {
                // Small and in memory: decoded here, no task needed.
                let result = decode::decode(&bytes).map(|p| palette::extract(&p)).map_err(ArtError::from);
                let _ = tx.send((generation, result));
            }
            Cover::Url(url) => match &self.fetcher {
                Some(fetcher) => {
                    self.view = self.view.with_state(ART_LOADING);
                    let fetcher = Arc::clone(fetcher);
                    self.job = Some(tokio::spawn(async move {
                        let _ = tx.send((generation, fetcher.palette(&url).await));
                    }));
                }
                None => {
                    let why = self.fetcher_error.clone().unwrap_or_default();
                    self.view = self.view.with_state(&ArtError::Client(why).user_message());
                }
            },
        }
    }

    /// Waits for the next finished job of the current cover and applies it; pending forever
    /// while none runs. Cancel safe.
    pub async fn next(&mut self) {
        loop {
            let Some((generation, result)) = self.rx.recv().await else {
                return std::future::pending().await;
            };
            if generation != self.generation {
                continue;
            }
            self.job = None;
            self.view = match result {
                Ok(colors) if colors == self.view.colors => self.view.with_state(ART_OK),
                Ok(colors) => ArtView::new(colors, self.view.seq + 1, Some(Instant::now()), ART_OK),
                Err(e) => {
                    tracing::debug!(error = ?e, "cover failed");
                    // The last colours stay; the row says why they did not change.
                    self.view.with_state(&e.user_message())
                }
            };
            return;
        }
    }
}

impl Drop for ArtWorker {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            job.abort();
        }
    }
}

/// A reader's glide from the colours it showed to the snapshot's.
#[derive(Debug, Clone, Copy)]
pub struct Glide {
    seq: u64,
    from: [f32; VALUES],
    shown: [f32; VALUES],
    /// The glide to `seq`'s colours has landed: until they change, the reader shows them as
    /// they are and a cook does no glide work.
    landed: bool,
}

impl Default for Glide {
    fn default() -> Self {
        Glide { seq: 0, from: [0.0; VALUES], shown: [0.0; VALUES], landed: false }
    }
}

impl Glide {
    /// The colours to show at `now`, gliding over `fade_s` seconds from what this reader showed
    /// when `art` changed. Never allocates.
    pub fn at(&mut self, art: &ArtView, now: Instant, fade_s: f64) -> &[f32; VALUES] {
        if self.moving(art, now, fade_s).is_none() {
            self.shown = art.values;
        }
        &self.shown
    }

    /// Like [`Glide::at`], but `None` once the glide has landed on `art`'s colours, which the
    /// reader then shows unchanged (the per-cook cost of a palette that is not changing).
    pub fn moving(&mut self, art: &ArtView, now: Instant, fade_s: f64) -> Option<&[f32; VALUES]> {
        if art.seq != self.seq {
            // Mid-glide changes start from what is on screen, so nothing ever jumps.
            self.from = self.shown;
            self.seq = art.seq;
            self.landed = false;
        }
        if self.landed {
            return None;
        }
        let elapsed = art.changed_at.map_or(f64::MAX, |at| now.saturating_duration_since(at).as_secs_f64());
        let t = if fade_s > 0.0 { (elapsed / fade_s).min(1.0) as f32 } else { 1.0 };
        if t >= 1.0 {
            self.shown = art.values;
            self.landed = true;
            return None;
        }
        // Smoothstep: starts and lands gently, like a crossfade.
        let t = t * t * (3.0 - 2.0 * t);
        for ((shown, from), to) in self.shown.iter_mut().zip(&self.from).zip(&art.values) {
            *shown = from + (to - from) * t;
        }
        Some(&self.shown)
    }
}

/// A made-up cover for the simulator: bands of five colours of random hues and widths, as PNG
/// bytes, so the simulated palette goes through the same decoder as Spotify's covers.
pub fn simulated_cover(seed: u64) -> Vec<u8> {
    const SIDE: usize = 64;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bands: Vec<([u8; 3], usize)> = (0..palette::SWATCHES)
        .map(|_| {
            let hue: f32 = rng.gen_range(0.0..360.0);
            let colour = ::palette::Hsv::new(hue, rng.gen_range(0.3..1.0), rng.gen_range(0.25..1.0));
            let rgb: ::palette::Srgb<f32> = ::palette::FromColor::from_color(colour);
            let rgb = [rgb.red, rgb.green, rgb.blue].map(|c| (c * 255.0).round() as u8);
            (rgb, rng.gen_range(4..20))
        })
        .collect();
    bands.sort_by_key(|b| std::cmp::Reverse(b.1));
    let total: usize = bands.iter().map(|b| b.1).sum();
    let mut rows = Vec::with_capacity(SIDE);
    for (colour, width) in &bands {
        let n = (width * SIDE).div_ceil(total);
        rows.extend(std::iter::repeat_n(*colour, n));
    }
    rows.truncate(SIDE);
    let rgb: Vec<u8> = rows.iter().flat_map(|c| std::iter::repeat_n(*c, SIDE)).flatten().collect();
    decode::encode_png(SIDE as u32, rows.len() as u32, &rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn view(rgb: [f32; 3], seq: u64, at: Instant) -> ArtView {
        let mut colors = Colors::default();
        colors.swatches[0].rgb = rgb;
        ArtView::new(colors, seq, Some(at), ART_OK)
    }

    #[test]
    fn glide_crosses_over_the_fade_and_lands() {
        let t0 = Instant::now();
        let mut glide = Glide::default();
        let red = view([1.0, 0.0, 0.0], 1, t0);
        assert_eq!(glide.at(&red, t0, 2.0)[0], 0.0);
        assert_eq!(glide.at(&red, t0 + Duration::from_secs(1), 2.0)[0], 0.5);
        assert_eq!(glide.at(&red, t0 + Duration::from_secs(2), 2.0)[..3], [1.0, 0.0, 0.0]);
        // A new colour mid-glide starts from what is shown, not from the old target.
        let blue = view([0.0, 0.0, 1.0], 2, t0 + Duration::from_secs(3));
        let mut glide = Glide::default();
        let halfway = *glide.at(&red, t0 + Duration::from_secs(1), 2.0);
        assert_eq!(halfway[0], 0.5);
        let start = glide.at(&blue, t0 + Duration::from_secs(3), 2.0);
        assert_eq!(start[..3], [0.5, 0.0, 0.0]);
        assert_eq!(glide.at(&blue, t0 + Duration::from_secs(9), 2.0)[..3], [0.0, 0.0, 1.0]);
        // Landed: nothing left to compute until the colours change again.
        assert!(glide.moving(&blue, t0 + Duration::from_secs(10), 2.0).is_none());
        let green = view([0.0, 1.0, 0.0], 3, t0 + Duration::from_secs(10));
        assert_eq!(
            glide.moving(&green, t0 + Duration::from_secs(10), 2.0).map(|s| s[..3].to_vec()),
            Some(vec![0.0, 0.0, 1.0])
        );
        // No fade: straight to the target.
        let mut cut = Glide::default();
        assert_eq!(cut.at(&red, t0, 0.0)[..3], [1.0, 0.0, 0.0]);
    }

    #[test]
    fn simulated_covers_differ_per_track_and_decode() {
        let a = palette::extract(&decode::decode(&simulated_cover(1)).unwrap());
        let b = palette::extract(&decode::decode(&simulated_cover(2)).unwrap());
        assert_ne!(a.swatches[0].rgb, b.swatches[0].rgb);
        assert!((a.swatches.iter().map(|s| s.share).sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(a.swatches.iter().all(|s| s.share > 0.0), "{a:?}");
        assert_eq!(simulated_cover(1), simulated_cover(1));
    }

    #[test]
    fn spotify_covers_skip_local_files_and_ads() {
        let url = Some("http://127.0.0.1/c.jpg".to_owned());
        let item = |kind| Item { kind, palette_art_url: url.clone(), ..Item::default() };
        assert_eq!(Cover::of(&item(ItemKind::Track)), Cover::Url("http://127.0.0.1/c.jpg".into()));
        assert_eq!(Cover::of(&item(ItemKind::Episode)), Cover::Url("http://127.0.0.1/c.jpg".into()));
        assert_eq!(Cover::of(&item(ItemKind::LocalFile)), Cover::None);
        assert_eq!(Cover::of(&item(ItemKind::Ad)), Cover::None);
        assert_eq!(Cover::of(&Item::default()), Cover::None);
    }

    #[tokio::test]
    async fn a_bad_cover_keeps_the_last_colours_and_says_why() {
        let mut worker = ArtWorker::new(Err("no client".into()));
        worker.request(Cover::Image(simulated_cover(3).into()));
        worker.next().await;
        let good = worker.view().clone();
        assert_eq!((good.seq, good.state.to_str().unwrap()), (1, ART_OK));
        worker.request(Cover::Image(Arc::from(&b"not an image"[..])));
        worker.next().await;
        assert_eq!(worker.view().colors, good.colors);
        assert_eq!(worker.view().seq, 1);
        assert_eq!(
            worker.view().state.to_str().unwrap(),
            "cover not loaded: the cover is unreadable: not a PNG or JPEG image"
        );
        worker.request(Cover::None);
        assert_eq!(worker.view().state.to_str().unwrap(), ART_NO_ART);
        worker.request(Cover::Url("http://127.0.0.1:9/x.png".into()));
        assert!(worker.view().state.to_str().unwrap().contains("no client"));
        assert_eq!(worker.view().table.len(), 5);
    }
}
