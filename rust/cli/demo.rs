//! `td-spotify demo`: the simulator cooked through the plugin's real entry points, shown as
//! TouchDesigner would receive it.

use std::error::Error;
#[cfg(all(unix, target_pointer_width = "64"))]
use std::{
    fmt::Write as _,
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

#[cfg(all(unix, target_pointer_width = "64"))]
use super::json::{FrameJson, Ordered};
#[cfg(all(unix, target_pointer_width = "64"))]
use super::td_host::{EntryPoints, Frame, Host, ParValue};

/// Options of `td-spotify demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Print one JSON object per frame (`{"channels":{…},"rows":{…}}`) instead of the live view.
    #[arg(long)]
    pub json: bool,
    /// Seed of the simulated playlist.
    #[arg(long, default_value_t = 1)]
    pub seed: u32,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Cooks per second.
    #[arg(long, default_value_t = 60.0)]
    pub fps: f64,
    /// Seconds the palette channels glide to a new cover's colours (the `Colorfade` parameter).
    #[arg(long, default_value_t = 2.0)]
    pub colorfade: f64,
}

pub fn run(args: &DemoArgs) -> Result<(), Box<dyn Error>> {
    if !(args.fps > 0.0 && args.fps <= 1000.0) {
        return Err("--fps must be between 0 and 1000".into());
    }
    cook(args)
}

/// The stand-in host lays out TouchDesigner's vtables as the Itanium C++ ABI does (the CLI's td_host).
#[cfg(not(all(unix, target_pointer_width = "64")))]
fn cook(_args: &DemoArgs) -> Result<(), Box<dyn Error>> {
    Err("`demo` runs on Linux and macOS only (its stand-in TouchDesigner host follows their C++ \
         ABI); on Windows, load td_spotify.dll in TouchDesigner, or try `td-spotify now`"
        .into())
}

#[cfg(all(unix, target_pointer_width = "64"))]
fn cook(args: &DemoArgs) -> Result<(), Box<dyn Error>> {
    let mut host = Host::new(entry_points())?;
    host.set_par("Source", ParValue::Text("Simulator".into()));
    host.set_par("Simseed", ParValue::Number(f64::from(args.seed)));
    host.set_par("Simspeed", ParValue::Number(args.speed));
    host.set_par("Colorfade", ParValue::Number(args.colorfade));
    let frame_time = Duration::from_secs_f64(1.0 / args.fps);
    let tty = std::io::stdout().is_terminal() && !args.json;
    let start = Instant::now();
    let mut last = start;
    let mut next_frame = start;
    let mut last_line = start - Duration::from_secs(1);
    let mut out = std::io::stdout().lock();
    let mut text = String::new();
    if tty {
        write!(out, "\x1b[2J")?;
    }
    loop {
        let now = Instant::now();
        let dt = now.duration_since(last).as_secs_f64();
        last = now;
        let frame = host.cook(dt);
        text.clear();
        if args.json {
            json(&frame, &mut text);
            text.push('\n');
        } else if tty {
            live_view(&frame, now.duration_since(start), &mut text);
        } else if now.duration_since(last_line) >= Duration::from_secs(1) {
            last_line = now;
            summary(&frame, &mut text);
        }
        if !text.is_empty() {
            // A closed pipe (e.g. `| head`) ends the demo quietly.
            if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
                return Ok(());
            }
        }
        if args.seconds.is_some_and(|s| now.duration_since(start).as_secs_f64() >= s) {
            return Ok(());
        }
        next_frame += frame_time;
        std::thread::sleep(next_frame.saturating_duration_since(Instant::now()));
    }
}

#[cfg(all(unix, target_pointer_width = "64"))]
fn rows<'a>(frame: &'a Frame<'_>) -> impl Iterator<Item = (&'a str, &'a str)> + Clone {
    frame.table.iter().skip(1).filter_map(|r| Some((r.first()?.as_str(), r.get(1)?.as_str())))
}

#[cfg(all(unix, target_pointer_width = "64"))]
fn value_of(frame: &Frame<'_>, name: &str) -> f32 {
    frame.names.iter().position(|n| n == name).map_or(0.0, |i| frame.values[i])
}

/// One JSON object: `{"channels":{…},"rows":{…}}`, keys in the plugin's order.
#[cfg(all(unix, target_pointer_width = "64"))]
fn json(frame: &Frame<'_>, out: &mut String) {
    let line = FrameJson {
        channels: Ordered(frame.names.iter().zip(frame.values)),
        rows: Ordered(rows(frame)),
        warning: None,
        error: None,
    }
    .line();
    out.push_str(&line);
}

/// The full-screen view: channels with a progress bar, then rows.
#[cfg(all(unix, target_pointer_width = "64"))]
fn live_view(frame: &Frame<'_>, elapsed: Duration, out: &mut String) {
    out.push_str("\x1b[H");
    let _ = writeln!(
        out,
        "td-spotify demo — simulated playback through the plugin ({:.0} s)\x1b[K",
        elapsed.as_secs_f64()
    );
    let progress = value_of(frame, "progress").clamp(0.0, 1.0);
    let width = 40;
    let filled = (progress * width as f32).round() as usize;
    let _ = writeln!(
        out,
        "\x1b[K\n[{}{}] {:5.1} %\x1b[K\n",
        "█".repeat(filled),
        "·".repeat(width - filled),
        progress * 100.0
    );
    swatches(frame, out);
    let _ = writeln!(out, "CHOP channels\x1b[K");
    for (name, value) in frame.names.iter().zip(frame.values) {
        let _ = writeln!(out, "  {name:<16} {value:>12.4}\x1b[K");
    }
    let _ = writeln!(out, "\x1b[K\nDAT rows\x1b[K");
    for (field, value) in rows(frame) {
        let _ = writeln!(out, "  {field:<24} {value}\x1b[K");
    }
    for (label, msg) in [("warning", &frame.warning), ("error", &frame.error)] {
        if let Some(m) = msg {
            let _ = writeln!(out, "\x1b[K\n{label}: {m}\x1b[K");
        }
    }
    out.push_str("\x1b[J");
}

/// The cover's five swatches as coloured blocks (24-bit colour), as they glide.
fn swatches(frame: &Frame<'_>, out: &mut String) {
    out.push_str("Palette  ");
    for i in 1..=5 {
        let [r, g, b] = ["r", "g", "b"]
            .map(|c| (value_of(frame, &format!("palette{i}_{c}")).clamp(0.0, 1.0) * 255.0).round() as u8);
        let _ = write!(out, "\x1b[48;2;{r};{g};{b}m        \x1b[0m ");
    }
    let _ = writeln!(
        out,
        " brightness {:.2}  saturation {:.2}\x1b[K\n\x1b[K",
        value_of(frame, "art_brightness"),
        value_of(frame, "art_saturation")
    );
}

/// One line per second when the output is not a terminal.
#[cfg(all(unix, target_pointer_width = "64"))]
fn summary(frame: &Frame<'_>, out: &mut String) {
    let row = |f: &str| rows(frame).find(|(k, _)| *k == f).map_or("", |(_, v)| v);
    let _ = writeln!(
        out,
        "{:<22} {:>7.2}/{:<7.2} s  tempo {:>5.1}  beat {:.2}  {} — {}",
        row("status"),
        value_of(frame, "position"),
        value_of(frame, "duration"),
        value_of(frame, "tempo"),
        value_of(frame, "beat_phase"),
        row("name"),
        row("artists"),
    );
}

/// The plugin's six entry points, linked in rather than found with dlopen.
#[cfg(all(unix, target_pointer_width = "64"))]
fn entry_points() -> EntryPoints {
    use td_spotify::ffi::entry::*;
    EntryPoints {
        fill_chop: FillCHOPPluginInfo,
        create_chop: CreateCHOPInstance,
        destroy_chop: DestroyCHOPInstance,
        fill_dat: FillDATPluginInfo,
        create_dat: CreateDATInstance,
        destroy_dat: DestroyDATInstance,
    }
}
