//! Markdown reference tables generated from [`crate::schema`], for README.md and the artists'
//! guide. `tests/docs.rs` fails when a committed document drifts from them.

use std::fmt::Write;

use crate::schema::{
    ParamKind, Status, CHANNELS, DEVICE_COLUMNS, INFOS, PALETTE_COLUMNS, PARAMS, QUEUE_COLUMNS,
    RECENT_COLUMNS, ROWS, STATUS_FIELDS, VISITOR_COLUMNS,
};

/// Every generated block, by the name used in its `<!-- generated:NAME -->` markers.
pub fn blocks() -> [(&'static str, String); 6] {
    [
        ("channels", channels()),
        ("tables", tables()),
        ("rows", rows()),
        ("status", statuses()),
        ("parameters", parameters()),
        ("info", infos()),
    ]
}

/// The CHOP channel reference.
pub fn channels() -> String {
    let mut out = String::from("| # | channel | unit | range | meaning |\n|---|---|---|---|---|\n");
    for (i, c) in CHANNELS.iter().enumerate() {
        let _ = writeln!(out, "| {i} | `{}` | {} | {} | {} |", c.name, c.unit, c.range, c.help);
    }
    out
}

/// The `Now playing` DAT reference.
pub fn rows() -> String {
    let mut out = String::from("| field | value |\n|---|---|\n");
    for r in ROWS {
        let _ = writeln!(out, "| `{}` | {} |", r.name, r.help);
    }
    out
}

/// The DAT's other modes and their columns.
pub fn tables() -> String {
    let join = |cols: &[&std::ffi::CStr]| {
        cols.iter().map(|c| format!("`{}`", c.to_string_lossy())).collect::<Vec<_>>().join(", ")
    };
    let mut out = String::from("| `Mode` | header row / fields |\n|---|---|\n");
    let _ = writeln!(out, "| Now playing | `field`, `value`; one row per field above |");
    let _ = writeln!(out, "| Queue | {} |", join(QUEUE_COLUMNS));
    let _ = writeln!(out, "| Recently played | {} |", join(RECENT_COLUMNS));
    let _ = writeln!(out, "| Devices | {} |", join(DEVICE_COLUMNS));
    let _ = writeln!(out, "| Status | `field`, `value`; fields {} |", join(STATUS_FIELDS));
    let _ = writeln!(out, "| Palette | {} (five rows, the largest share first) |", join(PALETTE_COLUMNS));
    let _ = writeln!(
        out,
        "| Visitors | {} (Juke-V-Box: the line, `playing` first, then who left and why) |",
        join(VISITOR_COLUMNS)
    );
    out
}

/// What the `status` channel's numbers mean.
pub fn statuses() -> String {
    let mut out = String::from("| `status` | meaning |\n|---|---|\n");
    for s in Status::all() {
        let _ = writeln!(out, "| {} | {} |", s as u8, s.text());
    }
    out
}

/// The parameter reference.
pub fn parameters() -> String {
    let mut out =
        String::from("| parameter | label | page | type | default | meaning |\n|---|---|---|---|---|---|\n");
    for p in PARAMS {
        let (kind, default) = match p.kind {
            ParamKind::Toggle => ("toggle", if p.default >= 0.5 { "On" } else { "Off" }.to_owned()),
            ParamKind::Int => ("integer", format!("{}", p.default)),
            ParamKind::Float => ("float", format!("{}", p.default)),
            ParamKind::Menu => ("menu", format!("`{}`", p.default_str.to_string_lossy())),
            ParamKind::String => ("string", format!("`{}`", p.default_str.to_string_lossy())),
            ParamKind::Folder => ("folder", format!("`{}`", p.default_str.to_string_lossy())),
            ParamKind::Pulse => ("pulse", String::from("—")),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {kind} | {default} | {} |",
            p.name_str(),
            p.label.to_string_lossy(),
            p.page.to_string_lossy(),
            p.help.to_string_lossy()
        );
    }
    out
}

/// The Info CHOP / Info DAT reference.
pub fn infos() -> String {
    let mut out = String::from("| info channel | meaning |\n|---|---|\n");
    for i in INFOS {
        let _ = writeln!(out, "| `{}` | {} |", i.name, i.help);
    }
    out
}

/// Replaces every `<!-- generated:NAME -->` … `<!-- end:NAME -->` block of `doc` with the fresh
/// table. Blocks the document does not have are left out.
pub fn refresh(doc: &str) -> String {
    let mut out = doc.to_owned();
    for (name, table) in blocks() {
        let begin = format!("<!-- generated:{name} -->\n");
        let end = format!("<!-- end:{name} -->");
        if let (Some(b), Some(e)) = (out.find(&begin), out.find(&end)) {
            if b < e {
                out.replace_range(b + begin.len()..e, &table);
            }
        }
    }
    out
}
