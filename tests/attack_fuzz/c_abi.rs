//! The C ABI the way a confused host calls it: nulls, tiny buffers, wrong order, hostile values.

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::support::{self, param_index};
use td_spotify::ffi::api_version::td_spotify_api_version;
use td_spotify::ffi::*;

use super::{cases, runner, temp_dir};

/// Nothing may reach the internet or the user's own login: every instance gets a private token
/// folder and local (closed) base URLs before its first cook.
fn sandbox() -> PathBuf {
    std::env::set_var("TD_SPOTIFY_API_URL", "http://127.0.0.1:9");
    std::env::set_var("TD_SPOTIFY_ACCOUNTS_URL", "http://127.0.0.1:9");
    std::env::set_var("TD_SPOTIFY_NO_BROWSER", "1");
    temp_dir("fuzz-ffi")
}

#[derive(Debug, Clone)]
enum Call {
    Number(u32, f64),
    Str(u32, Vec<u8>),
    NullStr(u32),
    Pulse(Vec<u8>),
    NullPulse,
    Cook,
    Channels(u32),
    NullChannels,
    TableSize(bool, bool),
    Cell(u32, u32, usize),
    Messages(usize),
    Info(u32),
    Audio(u32, u32, f64),
    NullAudio,
    Statics(u32, u32),
}

fn hostile_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e300),
        Just(-1e300),
        Just(65536.0),
        Just(f64::MIN_POSITIVE),
        -10.0..1000.0f64,
        (0u32..6).prop_map(f64::from),
    ]
}

fn hostile_bytes(names: Vec<&'static str>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::sample::select(names).prop_map(|s| s.as_bytes().to_vec()),
        ".{0,16}".prop_map(String::into_bytes),
        proptest::collection::vec(1u8..=255, 0..24),
        (1usize..(1 << 20)).prop_map(|n| vec![b'x'; n]),
        Just(vec![0xC3]),
        Just(b"\xED\xA0\x80".to_vec()),
    ]
}

fn calls() -> impl Strategy<Value = Vec<Call>> {
    let n = td_spotify_param_count() + 3;
    let names = vec![
        "Login",
        "Logout",
        "Playpause",
        "Next",
        "Previous",
        "Resetcounters",
        "Tap",
        "Spotify",
        "Simulator",
        "queue",
        "recent",
        "devices",
        "status",
        "nowplaying",
        "",
        "Active",
    ];
    let index = prop_oneof![0..n, Just(u32::MAX), Just(n + 1000)];
    let call = prop_oneof![
        4 => (index.clone(), hostile_f64()).prop_map(|(i, v)| Call::Number(i, v)),
        4 => (index.clone(), hostile_bytes(names.clone())).prop_map(|(i, s)| Call::Str(i, s)),
        1 => index.clone().prop_map(Call::NullStr),
        2 => hostile_bytes(names).prop_map(Call::Pulse),
        1 => Just(Call::NullPulse),
        4 => Just(Call::Cook),
        1 => prop_oneof![Just(0u32), Just(1), Just(64), Just(u32::MAX)].prop_map(Call::Channels),
        1 => Just(Call::NullChannels),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Call::TableSize(a, b)),
        2 => (prop_oneof![0u32..40, Just(u32::MAX)], prop_oneof![0u32..12, Just(u32::MAX)], 0usize..300)
            .prop_map(|(r, c, cap)| Call::Cell(r, c, cap)),
        1 => (0usize..300).prop_map(Call::Messages),
        1 => prop_oneof![0u32..40, Just(u32::MAX)].prop_map(Call::Info),
        1 => (0u32..9, prop_oneof![Just(0u32), 1u32..2048], hostile_f64())
            .prop_map(|(c, s, r)| Call::Audio(c, s, r)),
        1 => Just(Call::NullAudio),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Call::Statics(a, b)),
    ];
    proptest::collection::vec(call, 1..40)
}

/// One call as a hostile host makes it; every buffer passed really has the size passed.
///
/// # Safety
/// `inst` is null or live.
unsafe fn perform(inst: *mut TdsInstance, call: &Call, cache: &Path, cache_index: u32) {
    match call {
        Call::Number(i, v) => {
            td_spotify_set_param_number(inst, *i, *v);
        }
        Call::Str(i, s) => {
            // The token folder stays inside the sandbox whatever the fuzzer writes.
            let bytes = if *i == cache_index {
                let mut p = cache.as_os_str().as_encoded_bytes().to_vec();
                p.push(b'/');
                p.extend(s.iter().filter(|&&b| b != b'/' && b != b'.'));
                p
            } else {
                s.clone()
            };
            let c = CString::new(bytes.into_iter().filter(|&b| b != 0).collect::<Vec<u8>>()).unwrap();
            td_spotify_set_param_string(inst, *i, c.as_ptr());
        }
        Call::NullStr(i) => {
            td_spotify_set_param_string(inst, *i, std::ptr::null());
        }
        Call::Pulse(s) => {
            let c = CString::new(s.iter().copied().filter(|&b| b != 0).collect::<Vec<u8>>()).unwrap();
            td_spotify_pulse(inst, c.as_ptr());
        }
        Call::NullPulse => {
            td_spotify_pulse(inst, std::ptr::null());
        }
        Call::Cook => {
            td_spotify_cook(inst);
        }
        Call::Audio(channels, samples, rate) => {
            let data = vec![0.25f32; *samples as usize];
            // At least one pointer, so a zero channel count still passes a valid array.
            let ptrs: Vec<*const f32> = (0..(*channels).max(1)).map(|_| data.as_ptr()).collect();
            td_spotify_push_audio(inst, ptrs.as_ptr(), *channels, *samples, *rate);
        }
        Call::NullAudio => {
            td_spotify_push_audio(inst, std::ptr::null(), 2, 512, 44100.0);
            let nulls = [std::ptr::null::<f32>(); 2];
            td_spotify_push_audio(inst, nulls.as_ptr(), 2, 512, 44100.0);
        }
        Call::Statics(a, b) => {
            let _ = td_spotify_channel_name(*a);
            let _ = td_spotify_row_name(*a);
            let _ = td_spotify_info_name(*a);
            let mut info = std::mem::MaybeUninit::<TdsParamInfo>::uninit();
            td_spotify_param_info(*a, info.as_mut_ptr());
            td_spotify_param_info(*a, std::ptr::null_mut());
            let (mut n, mut l) = (std::ptr::null(), std::ptr::null());
            td_spotify_param_menu_item(*a, *b, &mut n, &mut l);
            td_spotify_param_menu_item(*a, *b, std::ptr::null_mut(), std::ptr::null_mut());
            let _ = td_spotify_api_version(*a, *b as i32, (*a ^ *b) as i32);
        }
        _ => read_back(inst, call),
    }
}

/// The calls that read an instance back into caller buffers, each of the size it says.
///
/// # Safety
/// `inst` is null or live.
unsafe fn read_back(inst: *mut TdsInstance, call: &Call) {
    let big = [0f32; 64];
    match call {
        Call::Channels(cap) => {
            let mut out = big;
            let cap = (*cap).min(out.len() as u32);
            let n = td_spotify_channels(inst, out.as_mut_ptr(), cap);
            assert!(n <= cap, "wrote {n} floats into {cap}");
        }
        Call::NullChannels => {
            assert_eq!(td_spotify_channels(inst, std::ptr::null_mut(), 64), 0);
        }
        Call::TableSize(r, c) => {
            let (mut rows, mut cols) = (0u32, 0u32);
            let rp = if *r { &mut rows as *mut u32 } else { std::ptr::null_mut() };
            let cp = if *c { &mut cols as *mut u32 } else { std::ptr::null_mut() };
            td_spotify_table_size(inst, rp, cp);
        }
        Call::Cell(r, c, cap) => {
            let mut buf = vec![0x55 as c_char; *cap];
            let ptr = if *cap == 0 { std::ptr::null_mut() } else { buf.as_mut_ptr() };
            td_spotify_table_cell(inst, *r, *c, ptr, *cap);
            if *cap > 0 {
                assert!(buf.contains(&0), "cell not NUL-terminated within {cap} bytes");
                let s = std::ffi::CStr::from_ptr(buf.as_ptr());
                assert!(s.to_str().is_ok(), "cell cut inside a UTF-8 character");
            }
        }
        Call::Messages(cap) => {
            let mut buf = vec![0 as c_char; *cap];
            let ptr = if *cap == 0 { std::ptr::null_mut() } else { buf.as_mut_ptr() };
            td_spotify_warning(inst, ptr, *cap);
            td_spotify_error(inst, ptr, *cap);
            td_spotify_info_popup(inst, ptr, *cap);
        }
        Call::Info(i) => {
            let v = td_spotify_info_value(inst, *i);
            let _ = v;
        }
        // The calls that change the instance are `perform`'s.
        _ => {}
    }
}

#[test]
fn c_abi_survives_hostile_hosts() {
    // Sets the environment overrides every instance reads, and starts engines.
    if !support::isolation::own_process() {
        return;
    }
    let dir = sandbox();
    let cache_index = param_index("Tokencache");
    let strategy =
        (prop_oneof![Just(TDS_FAMILY_CHOP), Just(TDS_FAMILY_DAT), Just(0u32), Just(7u32)], calls());
    runner(cases(256) / 4 + 1)
        .run(&strategy, |(family, calls)| {
            let inst = td_spotify_instance_new(family);
            prop_assert!(!inst.is_null());
            // SAFETY: `inst` is live until freed below; null is allowed everywhere.
            unsafe {
                // Set before anything could read the user's own token folder.
                let cache = CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
                prop_assert_eq!(
                    td_spotify_set_param_string(inst, cache_index, cache.as_ptr()),
                    TdsResult::Ok
                );
                for call in &calls {
                    perform(inst, call, &dir, cache_index);
                    perform(std::ptr::null_mut(), call, &dir, cache_index);
                }
                // Whatever happened, the instance still answers and reports no internal error.
                let mut buf = [0 as c_char; 512];
                td_spotify_error(inst, buf.as_mut_ptr(), buf.len());
                let error = std::ffi::CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
                prop_assert!(!error.contains("internal error"), "a call panicked: {}", error);
                let started = Instant::now();
                td_spotify_instance_free(inst);
                prop_assert!(started.elapsed() < Duration::from_secs(5), "free took {:?}", started.elapsed());
            }
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
