//! Alert payloads from Alertmanager, Grafana, Sentry and the generic format: any body is read or
//! refused with an error naming the field.
#![no_main]

use herald_core::monitor::alerts::parse_payload;
use herald_core::monitor::IntegrationKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in [
        IntegrationKind::Alertmanager,
        IntegrationKind::Grafana,
        IntegrationKind::Sentry,
        IntegrationKind::Generic,
    ] {
        let _ = parse_payload(kind, data);
    }
});
