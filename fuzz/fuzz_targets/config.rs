//! The configuration loader: any file text and any values of the environment variables are read
//! or refused with an error naming the file or the variable.
#![no_main]

use herald::config::{Config, ENV_KEYS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Before the first NUL: the file; after it, NUL-separated values for the variables in order.
    let mut parts = text.split('\0');
    let file = parts.next().unwrap_or("");
    let env: Vec<(String, String)> = ENV_KEYS
        .iter()
        .zip(parts)
        .map(|((var, _), value)| (var.to_string(), value.to_string()))
        .collect();
    let _ = Config::from_text(Some(("fuzz.toml", file)), env);
});
