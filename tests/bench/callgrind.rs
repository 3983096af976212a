//! Reads a callgrind output file (format version 1, event `Ir`) far enough to split a cook's
//! instructions between the plugin and the host that loaded it.
//!
//! Only what the split needs: each function's own (exclusive) instructions and each call's
//! inclusive instructions, keyed by caller and callee. Names may be compressed (`fn=(12) name`
//! once, then `fn=(12)`); `fn`/`cfn`, `ob`/`cob` share their tables.

use std::collections::HashMap;

/// One call arc: who called whom (function and object names), and what the call cost in all.
struct Call {
    caller: String,
    caller_object: String,
    callee: String,
    callee_object: String,
    inclusive: u64,
}

pub struct Profile {
    /// Exclusive instructions per function.
    own: HashMap<String, u64>,
    calls: Vec<Call>,
    total: u64,
}

/// A cook's instructions, per cook phase (all counts are sums over the counted cooks).
pub struct Split {
    pub total: u64,
    /// The host's instructions inside its own callbacks (subtracted from everything else).
    pub host: u64,
    pub params: u64,
    pub audio: u64,
    pub snapshot: u64,
}

impl Split {
    /// Instructions of td-spotify's own code.
    pub fn own(&self) -> u64 {
        self.total - self.host
    }

    /// Whatever `execute` does besides the three named phases: copying the output.
    pub fn output(&self) -> u64 {
        self.own().saturating_sub(self.params + self.audio + self.snapshot)
    }
}

impl Profile {
    pub fn parse(text: &str) -> Profile {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut objects: HashMap<String, String> = HashMap::new();
        let mut profile = Profile { own: HashMap::new(), calls: Vec::new(), total: 0 };
        let (mut object, mut function) = (String::new(), String::new());
        let (mut callee, mut callee_object): (Option<String>, Option<String>) = (None, None);
        let mut in_call = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("ob=") {
                object = resolve(&mut objects, rest);
            } else if let Some(rest) = line.strip_prefix("cob=") {
                callee_object = Some(resolve(&mut objects, rest));
            } else if let Some(rest) = line.strip_prefix("fn=") {
                function = resolve(&mut names, rest);
            } else if let Some(rest) = line.strip_prefix("cfn=") {
                callee = Some(resolve(&mut names, rest));
            } else if line.starts_with("calls=") {
                in_call = true;
            } else if let Some(rest) = line.strip_prefix("summary:").or_else(|| line.strip_prefix("totals:"))
            {
                profile.total = profile.total.max(rest.trim().parse().unwrap_or(0));
            } else if line.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '*')) {
                let cost: u64 = line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
                if in_call {
                    profile.calls.push(Call {
                        caller: function.clone(),
                        caller_object: object.clone(),
                        callee: callee.take().unwrap_or_default(),
                        callee_object: callee_object.take().unwrap_or_else(|| object.clone()),
                        inclusive: cost,
                    });
                    in_call = false;
                } else {
                    *profile.own.entry(function.clone()).or_default() += cost;
                }
            }
        }
        profile
    }

    /// Splits the profile of the `plugin` library's `execute`, loaded by the executable `host`.
    pub fn split(&self, host: &str, plugin: &str) -> Split {
        let from_plugin_into_host = |call: &&Call| call.callee_object == host && call.caller_object == plugin;
        let host_share: u64 = self.calls.iter().filter(from_plugin_into_host).map(|c| c.inclusive).sum();
        // A phase's instructions: its root functions, inclusive, minus the host callbacks they
        // make.
        let phase = |root: &str| -> u64 {
            let own: u64 = self.own.iter().filter(|(f, _)| f.contains(root)).map(|(_, n)| n).sum();
            let children: u64 = self
                .calls
                .iter()
                .filter(|c| c.caller.contains(root) && !c.callee.contains(root))
                .map(|c| if c.callee_object == host { 0 } else { c.inclusive })
                .sum();
            own + children
        };
        Split {
            total: self.total,
            host: host_share,
            // The library asks for parameters through the shim's getters, several calls below
            // the phase's root: what the host does inside them is the host's.
            params: phase("Operator::read_parameters")
                - self.host_calls_from("(anonymous namespace)::get_", host),
            audio: phase("td_spotify_push_audio"),
            snapshot: phase("td_spotify_cook"),
        }
    }
}

impl Profile {
    /// Instructions of the host's callbacks called by functions whose names contain `caller`.
    fn host_calls_from(&self, caller: &str, host: &str) -> u64 {
        self.calls
            .iter()
            .filter(|c| c.callee_object == host && c.caller.contains(caller))
            .map(|c| c.inclusive)
            .sum()
    }
}

/// `(id) name` defines a compressed name, `(id)` uses it, a bare name is itself.
fn resolve(table: &mut HashMap<String, String>, field: &str) -> String {
    let field = field.trim();
    match field.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((id, name)) if !name.trim().is_empty() => {
            table.insert(id.to_owned(), name.trim().to_owned());
            name.trim().to_owned()
        }
        Some((id, _)) => table.get(id).cloned().unwrap_or_default(),
        None => field.to_owned(),
    }
}
