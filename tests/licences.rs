//! The plugin binary links every dependency, and the project is `MIT OR Apache-2.0`: no crate
//! may force a GPL-family licence on it (`cargo tree` shows the graph; this checks it).

use std::process::Command;

#[test]
fn no_dependency_forces_a_gpl_licence() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let mut offenders = Vec::new();
    for package in meta["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or("?");
        let Some(licence) = package["license"].as_str() else {
            offenders.push(format!("{name}: no licence expression"));
            continue;
        };
        // Acceptable when at least one alternative of the expression is free of GPL terms.
        let permissive = licence
            .replace(['(', ')'], "")
            .replace('/', " OR ")
            .split(" OR ")
            .any(|alternative| !alternative.contains("GPL"));
        if !permissive {
            offenders.push(format!("{name}: {licence}"));
        }
    }
    assert!(offenders.is_empty(), "dependencies with copyleft-only licences: {offenders:#?}");
}
