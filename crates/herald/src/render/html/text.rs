//! Small pieces of page wording: lists of names, durations, dates, maintenance windows,
//! uptime percentages and the Statuspage rule for labelling updates.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

/// "A", "A and B", "A, B and C"; empty for no names.
pub fn join_names<S: AsRef<str>>(names: &[S]) -> String {
    match names {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let head: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), last.as_ref())
        }
    }
}

/// "3 hrs 10 mins", "1 hr", "45 mins", "1 min"; under half a minute is "less than a minute".
pub fn duration(seconds: i64) -> String {
    let minutes = (seconds.max(0) + 30) / 60;
    if minutes == 0 {
        return "less than a minute".to_string();
    }
    let (hours, minutes) = (minutes / 60, minutes % 60);
    let unit = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (hours, minutes) {
        (0, m) => unit(m, "min", "mins"),
        (h, 0) => unit(h, "hr", "hrs"),
        (h, m) => format!("{} {}", unit(h, "hr", "hrs"), unit(m, "min", "mins")),
    }
}

/// "Nov 3, 2022", as day headings and uptime cells show a date.
pub fn day(date: NaiveDate) -> String {
    date.format("%b %-d, %Y").to_string()
}

/// "November 2022".
pub fn month(date: NaiveDate) -> String {
    date.format("%B %Y").to_string()
}

/// A maintenance window in the page's zone: "Nov 9, 02:00 - 04:00 PST" when it starts and ends
/// on the same local day in the same offset, else "Nov 9, 22:00 PST - Nov 10, 02:00 PST". The
/// year is added when the window does not start in the current year.
pub fn window(from: DateTime<Utc>, until: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let (a, b) = (from.with_timezone(&tz), until.with_timezone(&tz));
    let date_format = if a.year() == now.with_timezone(&tz).year() {
        "%b %-d"
    } else {
        "%b %-d, %Y"
    };
    let start_date = a.format(date_format);
    let (start_time, end_time) = (a.format("%H:%M"), b.format("%H:%M"));
    let (start_zone, end_zone) = (a.format("%Z").to_string(), b.format("%Z").to_string());
    if a.date_naive() == b.date_naive() && start_zone == end_zone {
        format!("{start_date}, {start_time} - {end_time} {end_zone}")
    } else {
        format!(
            "{start_date}, {start_time} {start_zone} - {}, {end_time} {end_zone}",
            b.format(date_format)
        )
    }
}

/// An uptime percentage as shown under a bar: "100%" when nothing was lost, else two decimals
/// rounded down (so a bad day never shows as 100%); "No data" without one.
pub fn percent(value: Option<f64>) -> String {
    match value {
        None => "No data".to_string(),
        Some(p) if p >= 100.0 => "100%".to_string(),
        Some(p) => format!("{:.2}%", (p * 100.0).floor() / 100.0),
    }
}

/// Labels for a sequence of update statuses given oldest first: an update that keeps the status
/// of the one before it is an "Update", as Statuspage labels it; the others carry their status.
pub fn update_labels<S: PartialEq + Copy>(
    oldest_first: &[S],
    label: fn(S) -> &'static str,
) -> Vec<&'static str> {
    oldest_first
        .iter()
        .enumerate()
        .map(
            |(n, s)| match n.checked_sub(1).and_then(|p| oldest_first.get(p)) {
                Some(previous) if previous == s => "Update",
                _ => label(*s),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::IncidentStatus::{self, *};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    #[test]
    fn names_are_joined_in_english() {
        assert_eq!(join_names::<&str>(&[]), "");
        assert_eq!(join_names(&["A"]), "A");
        assert_eq!(join_names(&["A", "B"]), "A and B");
        assert_eq!(join_names(&["A", "B", "C"]), "A, B and C");
    }

    #[test]
    fn durations_read_like_status_pages() {
        assert_eq!(duration(0), "less than a minute");
        assert_eq!(duration(60), "1 min");
        assert_eq!(duration(45 * 60 + 10), "45 mins");
        assert_eq!(duration(3600), "1 hr");
        assert_eq!(duration(3 * 3600 + 600), "3 hrs 10 mins");
        assert_eq!(duration(3600 + 60), "1 hr 1 min");
    }

    #[test]
    fn dates_and_percentages() {
        let d = NaiveDate::from_ymd_opt(2022, 11, 3).expect("date");
        assert_eq!(day(d), "Nov 3, 2022");
        assert_eq!(month(d), "November 2022");
        assert_eq!(percent(None), "No data");
        assert_eq!(percent(Some(100.0)), "100%");
        assert_eq!(percent(Some(99.999)), "99.99%");
        assert_eq!(percent(Some(97.5)), "97.50%");
    }

    #[test]
    fn windows_name_their_zone() {
        let tz = herald_core::timefmt::zone("America/Los_Angeles").expect("zone");
        let now = t("2022-11-01T00:00:00Z");
        assert_eq!(
            window(
                t("2022-11-09T02:00:00-08:00"),
                t("2022-11-09T04:00:00-08:00"),
                tz,
                now
            ),
            "Nov 9, 02:00 - 04:00 PST"
        );
        assert_eq!(
            window(
                t("2022-11-05T22:00:00-07:00"),
                t("2022-11-06T02:00:00-08:00"),
                tz,
                now
            ),
            "Nov 5, 22:00 PDT - Nov 6, 02:00 PST"
        );
        assert_eq!(
            window(
                t("2021-11-09T02:00:00-08:00"),
                t("2021-11-09T04:00:00-08:00"),
                tz,
                now
            ),
            "Nov 9, 2021, 02:00 - 04:00 PST"
        );
    }

    #[test]
    fn repeated_statuses_are_labelled_update() {
        let statuses = [Identified, Identified, Identified, Monitoring, Resolved];
        let labels = update_labels(&statuses, IncidentStatus::label);
        assert_eq!(
            labels,
            ["Identified", "Update", "Update", "Monitoring", "Resolved"]
        );
        assert!(update_labels::<IncidentStatus>(&[], IncidentStatus::label).is_empty());
    }
}
