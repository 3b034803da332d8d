//! Showing instants in the page's time zone, with the abbreviation right for each date
//! (PDT in early November, PST after the clocks change).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Parses an IANA zone name.
pub fn zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// "Nov 03, 2022 - 05:44 PDT", as status pages print an update's time.
pub fn posted(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%b %d, %Y - %H:%M %Z")
        .to_string()
}

/// "2022-11-03 05:44:00": the wall-clock time in the zone, as a timeline row shows it.
pub fn wall_clock(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The zone abbreviation in force at `at`, e.g. "PDT".
pub fn abbreviation(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Z").to_string()
}

/// RFC 3339 with milliseconds and `Z`, the format of every Statuspage API timestamp.
pub fn api(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviation_follows_the_date() {
        let tz = zone("America/Los_Angeles").expect("known zone");
        let before: DateTime<Utc> = "2022-11-03T12:44:00Z".parse().expect("time");
        let after: DateTime<Utc> = "2022-11-14T19:37:00Z".parse().expect("time");
        assert_eq!(posted(before, tz), "Nov 03, 2022 - 05:44 PDT");
        assert_eq!(posted(after, tz), "Nov 14, 2022 - 11:37 PST");
        assert_eq!(wall_clock(before, tz), "2022-11-03 05:44:00");
        assert_eq!(api(before), "2022-11-03T12:44:00.000Z");
        assert!(zone("Mars/Olympus").is_none());
    }
}
