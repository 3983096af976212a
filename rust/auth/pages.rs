//! The small HTML pages the loopback server shows in the browser, one per outcome.
//!
//! Pages load nothing from anywhere (a strict Content-Security-Policy says so), so the callback
//! URL, which carries the code, never leaks through a `Referer`.

/// How a page looks: good news, a cancellation, or a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Success,
    Cancelled,
    Problem,
}

/// An HTML page: `title` becomes `td-spotify — {title}`; `message` is plain text (escaped here).
pub fn page(tone: Tone, title: &str, message: &str) -> String {
    let (accent, mark) = match tone {
        Tone::Success => ("#1db954", "✓"),
        Tone::Cancelled => ("#b3b3b3", "–"),
        Tone::Problem => ("#e22134", "!"),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>td-spotify — {title}</title><style>\
body{{font:16px/1.5 system-ui,sans-serif;background:#121212;color:#eee;display:flex;\
justify-content:center;padding:10vh 1em;margin:0}}main{{max-width:34em}}\
h1{{font-size:1.4em;color:{accent}}}h1 span{{margin-right:.4em}}p{{color:#ccc}}\
</style></head><body><main><h1><span>{mark}</span>{title}</h1><p id=\"message\">{message}</p>\
<p><small>td-spotify login helper on this computer</small></p></main></body></html>\n",
        title = escape(title),
        message = escape(message),
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let html = page(Tone::Problem, "<b>x</b>", "a \"quote\" & <script>alert(1)</script>");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<title>td-spotify — &lt;b&gt;x&lt;/b&gt;</title>"));
    }
}
