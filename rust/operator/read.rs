//! What a cook asks the host for: the parameters that can change what the operator does now
//! (see [`ReadWhen`]), each compared with the value in force as it arrives, so an unchanged
//! cook costs one host call and one comparison per parameter in use, and no string work.
//!
//! The library asks, rather than the shim pushing every value: which parameters matter depends
//! on values read earlier in the same cook (Source, Jukebox, Temposource), and that is logic
//! the shim must not hold.

use std::ffi::CStr;

use super::settings::ParamValues;
use super::Operator;
use crate::schema::{Param, ParamKind, ReadWhen, PARAMS};

/// Where a cook reads parameter values: TouchDesigner's `OP_Inputs` (through the shim), or a
/// table in tests. Parameters are named as TouchDesigner names them.
pub trait ParamSource {
    /// A toggle's, an integer's or a menu's value (a menu's item index).
    fn int(&self, name: &'static CStr) -> i32;
    fn float(&self, name: &'static CStr) -> f64;
    /// A string (`folder` false) or folder parameter, compared with `current`, the value in force.
    fn text(&self, name: &'static CStr, folder: bool, current: &str) -> Text<'_>;
}

/// A text parameter as the host answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text<'a> {
    /// Byte for byte the value in force.
    Same,
    Changed(&'a str),
    /// The host has no value (e.g. a null string): the value in force stays.
    Unanswered,
    /// Not UTF-8: refused, the value in force stays.
    NotUtf8,
}

/// A text parameter's value was not UTF-8 (the first such parameter of the cook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8(pub Param);

/// A parameter a cook reads, with all the read needs, so a cook touches this list only.
#[derive(Debug, Clone, Copy)]
struct Slot {
    name: &'static CStr,
    param: Param,
    kind: ParamKind,
    when: u8,
    /// A number's bits as the host gave them last: an unchanged value costs one comparison.
    seen: u64,
}

/// Bits no host value has before the first read (a NaN payload no getter returns).
const UNSEEN: u64 = u64::MAX;

impl Slot {
    /// Reads this parameter into `values`; true when it changed. Inlined into the cook's loop:
    /// an unchanged number costs a host call and a comparison.
    #[inline(always)]
    fn read(&mut self, host: &impl ParamSource, values: &mut ParamValues, bad: &mut Option<Param>) -> bool {
        match self.kind {
            ParamKind::Toggle | ParamKind::Int | ParamKind::Menu => {
                self.number(f64::from(host.int(self.name)), values)
            }
            ParamKind::Float => self.number(host.float(self.name), values),
            ParamKind::String | ParamKind::Folder => self.text(host, values, bad),
            ParamKind::Pulse => false,
        }
    }

    #[inline(never)]
    fn text(&self, host: &impl ParamSource, values: &mut ParamValues, bad: &mut Option<Param>) -> bool {
        let folder = self.kind == ParamKind::Folder;
        match host.text(self.name, folder, values.string(self.param)) {
            Text::Changed(value) => values.set_string(self.param as usize, value),
            Text::NotUtf8 => {
                bad.get_or_insert(self.param);
                false
            }
            Text::Same | Text::Unanswered => false,
        }
    }

    #[inline(always)]
    fn number(&mut self, value: f64, values: &mut ParamValues) -> bool {
        let bits = value.to_bits();
        if bits == self.seen {
            return false;
        }
        self.changed(bits, value, values)
    }

    #[cold]
    #[inline(never)]
    fn changed(&mut self, bits: u64, value: f64, values: &mut ParamValues) -> bool {
        self.seen = bits;
        values.set_number(self.param as usize, value)
    }
}

/// This family's parameters that have a value (not pulses), the ones read every cook first.
#[derive(Debug)]
pub(super) struct Reads {
    slots: Vec<Slot>,
    /// `slots[..always]` are [`ReadWhen::Always`].
    always: usize,
    /// The [`ReadWhen`] bits the values met when they last changed.
    conditions: u8,
}

impl Reads {
    pub(super) fn new(family: u32) -> Reads {
        let mut slots: Vec<Slot> = Param::ALL
            .iter()
            .map(|&param| (param, &PARAMS[param as usize]))
            .filter(|(_, p)| p.families & family != 0 && p.kind != ParamKind::Pulse)
            .map(|(param, p)| Slot {
                name: p.name,
                param,
                kind: p.kind,
                when: p.read_when as u8,
                seen: UNSEEN,
            })
            .collect();
        // Stable: table order within each group.
        slots.sort_by_key(|s| s.when != ReadWhen::Always as u8);
        let always = slots.iter().filter(|s| s.when == ReadWhen::Always as u8).count();
        Reads { slots, always, conditions: 0 }
    }

    /// Forgets what the host gave: a value set some other way is not mistaken for the host's,
    /// so the next cook's reading wins.
    pub(super) fn forget(&mut self) {
        for slot in &mut self.slots {
            slot.seen = UNSEEN;
        }
    }

    /// Reads the parameters in use into `values`; true when one changed. `dirty`: the values
    /// changed since the last read some other way.
    fn read(
        &mut self,
        host: &impl ParamSource,
        values: &mut ParamValues,
        dirty: bool,
        bad: &mut Option<Param>,
    ) -> bool {
        let (always, conditional) = self.slots.split_at_mut(self.always);
        let mut changed = false;
        for slot in always {
            changed |= slot.read(host, values, bad);
        }
        if changed || dirty {
            // Rare (a value changed): which pages are in use may have changed with it.
            self.conditions = values.read_conditions();
        }
        for slot in conditional {
            if slot.when & self.conditions != 0 {
                changed |= slot.read(host, values, bad);
            }
        }
        changed
    }
}

impl Operator {
    /// Reads this cook's parameters from `host`. A value that is not UTF-8 is refused (the one
    /// in force stays) and reported; the others are still read.
    pub fn read_params(&mut self, host: &impl ParamSource) -> Result<(), NotUtf8> {
        let mut bad = None;
        self.params_dirty |= self.reads.read(host, &mut self.params, self.params_dirty, &mut bad);
        bad.map_or(Ok(()), |param| Err(NotUtf8(param)))
    }
}
