//! `td-spotify demo`: the simulator through the plugin, as TouchDesigner would see it.

use std::error::Error;

/// Options of `td-spotify demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Print one JSON object per frame (`{"channels":{…},"rows":{…}}`) instead of the live view.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &DemoArgs) -> Result<(), Box<dyn Error>> {
    let _ = args;
    Ok(())
}
