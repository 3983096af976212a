//! The structure the README promises, checked by scanning the sources (issue 12).
//!
//! - **One-way layers**: a file in `rust/` may only name modules of a lower layer (or its own):
//!   model ← config ← schema ← api ← auth ← engine ← jukebox ← operator ← ffi. The scan looks
//!   at every `crate::…` path, `use crate::{…}` groups included, tests inside the file too: a
//!   test that needs a higher layer belongs to that layer.
//! - **Sizes a reader can hold**: no source file over 600 lines and no function over 80.
//! - **`rust/ffi` is the C ABI only**: under 1,000 lines.
//!
//! A plain text scan is enough because `cargo fmt` fixes the layout it relies on (a function's
//! closing brace sits alone at the indentation of its signature).

use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The layers, lowest first. A module may import from modules before it in this list only.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["config"],
    &["schema"],
    &["api"],
    &["auth"],
    &["engine"],
    &["jukebox"],
    &["operator"],
    &["ffi", "docs"],
];

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;
const MAX_FFI_LINES: usize = 1000;

/// Sources whose size is ours to keep small (generated headers and lock files are not).
const SOURCE_EXTENSIONS: &[&str] = &["rs", "cpp", "h", "py", "js", "mjs"];
const SOURCE_DIRS: &[&str] = &["rust", "cpp", "tests", "tools", "TouchDesigner", "build.rs"];
const GENERATED: &[&str] = &["include/td_spotify.h"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn files_under(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = fs::read_dir(path) else { return };
    for entry in entries.flatten() {
        let p = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "node_modules" || name == "target" || name == "__pycache__" {
            continue;
        }
        files_under(&p, out);
    }
}

fn sources() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in SOURCE_DIRS {
        files_under(&Path::new(ROOT).join(dir), &mut all);
    }
    all.retain(|p| {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        SOURCE_EXTENSIONS.contains(&ext) && !GENERATED.iter().any(|g| p.ends_with(g))
    });
    all.sort();
    all
}

fn relative(p: &Path) -> String {
    p.strip_prefix(ROOT).unwrap_or(p).display().to_string()
}

/// Top-level modules named by `crate::` paths in `text`, `use crate::{a, b::c}` groups included.
fn crate_modules(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                found.extend(group_heads(group).into_iter().map(|m| (n + 1, m)));
            } else {
                found.push((n + 1, ident(after)));
            }
            rest = after;
        }
        // A `use crate::{` group may span lines: its later lines start with a module name.
        if code.trim_start().starts_with("use crate::{") && !code.contains('}') {
            let inner: String =
                text.lines().skip(n + 1).take_while(|l| !l.trim_start().starts_with('}')).collect();
            found.extend(group_heads(&inner).into_iter().map(|m| (n + 1, m)));
        }
    }
    found.retain(|(_, m)| !m.is_empty() && m != "self");
    found
}

fn ident(s: &str) -> String {
    s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// The first path segment of each item in a `{a::b, c, d::{e, f}}` group (`inner` starts after
/// the opening brace and may run past the closing one), nested groups skipped.
fn group_heads(inner: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item_start = true;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            c if at_item_start && depth == 0 && !c.is_whitespace() => {
                heads.push(ident(&inner[i..]));
                at_item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level module a file of `rust/` belongs to (`None` for the crate root and the CLI,
/// which is its own crate on the library's public API).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(Path::new(ROOT).join("rust")).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy().into_owned();
    let module = first.trim_end_matches(".rs").to_string();
    (module != "lib" && module != "cli").then_some(module)
}

#[test]
fn no_file_imports_from_a_layer_above_its_own() {
    let mut back = Vec::new();
    let mut unknown = Vec::new();
    for file in sources().into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        let Some(module) = module_of(&file) else { continue };
        let Some(own) = layer_of(&module) else {
            unknown.push(format!("{} (module `{module}` is in no layer)", relative(&file)));
            continue;
        };
        let text = fs::read_to_string(&file).unwrap();
        for (line, used) in crate_modules(&text) {
            if used == module {
                continue;
            }
            match layer_of(&used) {
                Some(layer) if layer < own => {}
                Some(_) => back.push(format!("{}:{line}: `{module}` imports `{used}`", relative(&file))),
                None => unknown.push(format!("{}:{line}: `crate::{used}` is in no layer", relative(&file))),
            }
        }
    }
    assert!(unknown.is_empty(), "add these modules to LAYERS:\n{}", unknown.join("\n"));
    assert!(back.is_empty(), "imports that point up the layers:\n{}", back.join("\n"));
}

#[test]
fn the_scanner_reads_groups_and_paths() {
    let text = "use crate::{api::x, engine::{a, b}, model};\nlet s = crate::schema::X; // crate::ffi\n\
                use crate::{\n    auth::y,\n    config,\n};\n";
    let mut names: Vec<String> = crate_modules(text).into_iter().map(|(_, m)| m).collect();
    names.sort();
    assert_eq!(names, ["api", "auth", "config", "engine", "model", "schema"]);
}

#[test]
fn no_source_file_is_over_600_lines() {
    let over: Vec<String> = sources()
        .iter()
        .filter_map(|f| {
            let lines = fs::read_to_string(f).ok()?.lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines", relative(f)))
        })
        .collect();
    assert!(over.is_empty(), "files over {MAX_FILE_LINES} lines:\n{}", over.join("\n"));
}

/// Lines of each function in `text`: from the signature to the brace that closes it at the
/// signature's indentation. Declarations (`;`) and one-line bodies are skipped.
fn function_lengths(text: &str, cpp: bool) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = (if cpp { cpp_function(&lines, i) } else { rust_function(line) }) else {
            continue;
        };
        let indent = &line[..line.len() - line.trim_start().len()];
        let close = format!("{indent}}}");
        let Some(end) =
            (i + 1..lines.len()).find(|&j| lines[j] == close || lines[j].starts_with(&format!("{close};")))
        else {
            continue;
        };
        // A signature that ends in `;` before its body would start is a declaration.
        let head: String = lines[i..=end].iter().take_while(|l| !l.contains('{')).copied().collect();
        if head.trim_end().ends_with(';') {
            continue;
        }
        out.push((i + 1, end - i + 1, name));
    }
    out
}

fn rust_function(line: &str) -> Option<String> {
    let t = line.trim_start();
    let t = t
        .strip_prefix("pub(crate) ")
        .or_else(|| t.strip_prefix("pub(super) "))
        .or_else(|| t.strip_prefix("pub "))
        .unwrap_or(t);
    let t = ["const ", "async ", "unsafe ", "extern \"C\" "]
        .iter()
        .fold(t, |t, p| t.strip_prefix(p).unwrap_or(t));
    let name = ident(t.strip_prefix("fn ")?);
    let one_line = line.trim_end().ends_with('}') && line.contains('{');
    (!name.is_empty() && !one_line && !line.trim_end().ends_with(';')).then_some(name)
}

/// A C++ function definition: a line at some indentation that opens a parameter list and is not
/// a statement, a type or a lambda, whose signature ends with `{`.
fn cpp_function(lines: &[&str], i: usize) -> Option<String> {
    let line = lines[i];
    let t = line.trim_start();
    const KEYWORDS: &[&str] = &[
        "if",
        "for",
        "while",
        "switch",
        "return",
        "else",
        "do",
        "case",
        "catch",
        "static_assert",
        "using",
        "typedef",
        "class",
        "struct",
        "namespace",
        "enum",
        "union",
        "template",
    ];
    let keyword =
        |k: &&str| t.starts_with(k) && !t[k.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
    if t.is_empty() || t.starts_with(['#', '/', '*', '}', '{']) || KEYWORDS.iter().any(keyword) {
        return None;
    }
    // A definition starts a statement: the line before it ends one (or is blank, a comment, a label).
    let prev = if i == 0 { "" } else { lines[i - 1].trim() };
    let starts_statement = prev.is_empty()
        || prev.ends_with(['}', ';', '{', ':'])
        || prev.ends_with("*/")
        || prev.starts_with("//")
        || prev.starts_with('#')
        || prev.starts_with("template");
    if !starts_statement {
        return None;
    }
    let paren = t.find('(')?;
    let before = &t[..paren];
    let constructor =
        before.split("::").collect::<Vec<_>>().windows(2).any(|w| w[1].trim_start_matches('~') == w[0]);
    if before.contains('=') || before.contains('[') || !before.contains(' ') && !constructor {
        return None;
    }
    // The signature ends at the first line with `{` (a definition) or `;` (a declaration).
    let sig_end = (i..lines.len().min(i + 8))
        .find(|&j| lines[j].contains('{') || lines[j].trim_end().ends_with(';'))?;
    let opens = lines[sig_end].trim_end().ends_with('{') && !lines[sig_end].trim_end().ends_with(";");
    let one_line = lines[sig_end].trim_end().ends_with('}');
    (opens && !one_line).then(|| ident(before.rsplit([' ', ':', '*', '&']).next().unwrap_or("")))
}

/// Lines of each Python `def`: from the signature to its last non-blank line, where the next
/// line as indented as the `def` (or less) begins.
fn python_function_lengths(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("def ").or_else(|| t.strip_prefix("async def ")) else { continue };
        let own = indent(line);
        let body_end = (i + 1..lines.len())
            .find(|&j| {
                !lines[j].trim().is_empty()
                    && indent(lines[j]) <= own
                    && !lines[j].trim_start().starts_with(')')
            })
            .unwrap_or(lines.len());
        let last = (i..body_end).rev().find(|&j| !lines[j].trim().is_empty()).unwrap_or(i);
        out.push((i + 1, last - i + 1, ident(rest)));
    }
    out
}

#[test]
fn no_function_is_over_80_lines() {
    let mut over = Vec::new();
    for file in sources() {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let text = fs::read_to_string(&file).unwrap();
        let lengths = match ext {
            "rs" => function_lengths(&text, false),
            "cpp" | "h" => function_lengths(&text, true),
            "py" => python_function_lengths(&text),
            _ => continue,
        };
        for (line, len, name) in lengths {
            if len > MAX_FN_LINES {
                over.push(format!("{}:{line}: `{name}` is {len} lines", relative(&file)));
            }
        }
    }
    assert!(over.is_empty(), "functions over {MAX_FN_LINES} lines:\n{}", over.join("\n"));
}

#[test]
fn the_function_scanner_measures_rust_and_cpp() {
    let rust = "fn a() {\n    x();\n}\n\npub fn b() -> u8 { 1 }\n    pub(crate) async fn c(\n        y: u8,\n    ) {\n        z();\n    }\n";
    assert_eq!(function_lengths(rust, false), [(1, 3, "a".into()), (6, 5, "c".into())]);
    let cpp = "int run(int a,\n        int b) {\n    if (a) {\n        f();\n    }\n    return 0;\n}\nvoid decl(int);\n";
    assert_eq!(function_lengths(cpp, true), [(1, 7, "run".into())]);
    let py = "def a(x):\n    if x:\n        return 1\n\n    return 2\n\n\ndef b():\n    pass\n";
    assert_eq!(python_function_lengths(py), [(1, 5, "a".into()), (8, 2, "b".into())]);
}

#[test]
fn ffi_is_the_abi_only_in_size() {
    let mut files = Vec::new();
    files_under(&Path::new(ROOT).join("rust/ffi"), &mut files);
    let total: usize = files.iter().map(|f| fs::read_to_string(f).unwrap().lines().count()).sum();
    assert!(total < MAX_FFI_LINES, "rust/ffi has {total} lines; the C ABI alone fits in {MAX_FFI_LINES}");
}
