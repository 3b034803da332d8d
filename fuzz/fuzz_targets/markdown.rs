//! Incident and postmortem text: any input renders, and nothing that runs script survives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = herald::render::markdown::to_html(text);
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "script survived: {html}");
    assert!(!lower.contains("javascript:"), "javascript: link survived: {html}");
    assert!(!lower.contains(" onerror="), "event handler survived: {html}");
});
