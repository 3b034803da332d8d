//! A component's uptime by local day, as a status page's 90-day bar shows it: for each day the
//! worst status, the time spent in each non-operational status and the incidents and maintenance
//! that touched the component, plus the uptime percentage over the whole window.
//!
//! Pure: the caller hands in the history, the page's zone and "now". Days are local days in that
//! zone, so they last 23 or 25 hours when the clocks change. Uptime follows Statuspage's rule:
//! `(total − (major + 0.3 × partial)) / total`, where `total` is the observed time outside
//! maintenance; degraded performance is not downtime.

use crate::id::Id;
use crate::model::{Component, Incident, Maintenance, StatusChange};
use crate::status::{ComponentStatus, MaintenanceStatus};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// How much a second of partial outage weighs against a second of major outage.
pub const PARTIAL_OUTAGE_WEIGHT: f64 = 0.3;

/// The days a bar covers: `days` local days in `tz`, the last of them `last_day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub last_day: NaiveDate,
    pub days: u32,
    pub tz: Tz,
}

impl Window {
    /// The `days` days ending with the local date of `now` in `tz`.
    pub fn ending_at(now: DateTime<Utc>, days: u32, tz: Tz) -> Window {
        Window {
            last_day: now.with_timezone(&tz).date_naive(),
            days,
            tz,
        }
    }

    /// The window's dates, oldest first. Dates beyond the calendar's range are left out.
    pub fn dates(&self) -> Vec<NaiveDate> {
        (0..self.days)
            .rev()
            .filter_map(|back| self.last_day.checked_sub_days(Days::new(u64::from(back))))
            .collect()
    }
}

/// The instant a local day begins: local midnight, or the first local time after it when a
/// clock change skips midnight (as in Havana or Santiago).
pub fn day_start(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..=12)
        .filter_map(|quarter| midnight.checked_add_signed(TimeDelta::minutes(quarter * 15)))
        .find_map(|local| tz.from_local_datetime(&local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// The instant the local day after `date` begins.
fn day_end(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    date.succ_opt()
        .map(|next| day_start(next, tz))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One local day of a component's record. Durations are in seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    /// Time of the day with data: after the record began and not after "now".
    pub observed: i64,
    /// The worst status in force during the observed time; `None` when there is no data.
    pub worst: Option<ComponentStatus>,
    pub major_outage: i64,
    pub partial_outage: i64,
    pub degraded_performance: i64,
    pub under_maintenance: i64,
    /// Incidents touching the component that were open during the day, in the order given.
    pub incidents: Vec<Id>,
    /// Maintenance touching the component whose window overlapped the day, in the order given.
    pub maintenances: Vec<Id>,
}

impl Day {
    fn empty(date: NaiveDate) -> Day {
        Day {
            date,
            observed: 0,
            worst: None,
            major_outage: 0,
            partial_outage: 0,
            degraded_performance: 0,
            under_maintenance: 0,
            incidents: Vec::new(),
            maintenances: Vec::new(),
        }
    }

    /// Whether the component was on record during any of the day.
    pub fn has_data(&self) -> bool {
        self.worst.is_some()
    }

    /// Time counted towards uptime: the observed time outside maintenance.
    pub fn counted(&self) -> i64 {
        self.observed - self.under_maintenance
    }

    /// Weighted downtime: a second of major outage counts 1, of partial outage 0.3.
    pub fn downtime(&self) -> f64 {
        self.major_outage as f64 + PARTIAL_OUTAGE_WEIGHT * self.partial_outage as f64
    }

    fn add(&mut self, status: ComponentStatus, seconds: i64) {
        self.observed += seconds;
        match status {
            ComponentStatus::Operational => {}
            ComponentStatus::DegradedPerformance => self.degraded_performance += seconds,
            ComponentStatus::PartialOutage => self.partial_outage += seconds,
            ComponentStatus::MajorOutage => self.major_outage += seconds,
            ComponentStatus::UnderMaintenance => self.under_maintenance += seconds,
        }
        let worse = self.worst.is_none_or(|w| status.severity() > w.severity());
        if worse {
            self.worst = Some(status);
        }
    }
}

/// A component's record over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Uptime {
    /// One per day of the window, oldest first.
    pub days: Vec<Day>,
    /// Uptime over the days with data, 0–100; `None` when no time counts.
    pub percent: Option<f64>,
}

/// Uptime over some days, 0–100; `None` when no time counts.
pub fn percent(days: &[Day]) -> Option<f64> {
    let total: i64 = days.iter().map(Day::counted).sum();
    if total <= 0 {
        return None;
    }
    let down: f64 = days.iter().map(Day::downtime).sum();
    Some(((total as f64 - down) / total as f64 * 100.0).clamp(0.0, 100.0))
}

/// When a component's record begins: local midnight of its start date when it has one, else the
/// earlier of its creation and its first recorded change.
pub fn record_start(component: &Component, changes: &[&StatusChange], tz: Tz) -> DateTime<Utc> {
    match component.start_date {
        Some(date) => day_start(date, tz),
        None => changes
            .iter()
            .map(|c| c.at)
            .fold(component.created_at, DateTime::min),
    }
}

/// A stretch of time in one status.
#[derive(Debug)]
struct Span {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    status: ComponentStatus,
}

/// Replays sorted changes into spans covering `[start, now)`. Before its first change a
/// component is taken to be in that change's old status (operational for a first status); a
/// component without changes is taken to have been in its current status throughout.
fn spans(
    changes: &[&StatusChange],
    current: ComponentStatus,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Span> {
    let mut status = match changes.first() {
        Some(first) => first.old_status.unwrap_or(ComponentStatus::Operational),
        None => current,
    };
    let mut from = start;
    let mut out = Vec::with_capacity(changes.len() + 1);
    for change in changes {
        if change.at >= now {
            break;
        }
        if change.at > from {
            out.push(Span {
                from,
                to: change.at,
                status,
            });
            from = change.at;
        }
        status = change.new_status;
    }
    if from < now {
        out.push(Span {
            from,
            to: now,
            status,
        });
    }
    out
}

/// Whether an incident or maintenance (given by its component ids and updates) involves the
/// component, by naming it or by changing its status in an update.
pub fn involves<S>(
    component_ids: &[Id],
    updates: &[crate::model::Update<S>],
    component: &Id,
) -> bool {
    component_ids.contains(component)
        || updates.iter().any(|u| {
            u.affected_components
                .iter()
                .any(|a| &a.component_id == component)
        })
}

/// When an incident was open: from its start until it was resolved (until now while unresolved).
pub fn incident_interval(
    incident: &Incident,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = incident.started_at.min(incident.created_at);
    let end = if incident.status.is_unresolved() {
        now
    } else {
        incident
            .resolved_at
            .or_else(|| incident.updates.first().map(|u| u.display_at))
            .unwrap_or(incident.created_at)
    };
    (start, end.max(start))
}

/// Computes a component's uptime over `window`, from its status changes (any order; changes of
/// other components are ignored), the page's incidents and maintenance, and the current time.
pub fn daily(
    component: &Component,
    changes: &[StatusChange],
    incidents: &[Incident],
    maintenances: &[Maintenance],
    window: Window,
    now: DateTime<Utc>,
) -> Uptime {
    let tz = window.tz;
    let mut own: Vec<&StatusChange> = changes
        .iter()
        .filter(|c| c.component_id == component.id)
        .collect();
    own.sort_by_key(|c| c.at);
    let start = record_start(component, &own, tz);
    let spans = spans(&own, component.status, start, now);

    let incidents: Vec<(&Id, DateTime<Utc>, DateTime<Utc>)> = incidents
        .iter()
        .filter(|i| involves(&i.component_ids, &i.updates, &component.id))
        .map(|i| {
            let (from, to) = incident_interval(i, now);
            (&i.id, from, to)
        })
        .collect();
    let maintenances: Vec<(&Id, DateTime<Utc>, DateTime<Utc>)> = maintenances
        .iter()
        .filter(|m| m.status != MaintenanceStatus::Scheduled || m.scheduled_for <= now)
        .filter(|m| involves(&m.component_ids, &m.updates, &component.id))
        .map(|m| {
            (
                &m.id,
                m.scheduled_for,
                m.scheduled_until.max(m.scheduled_for),
            )
        })
        .collect();
    let overlapping =
        |list: &[(&Id, DateTime<Utc>, DateTime<Utc>)], from: DateTime<Utc>, to: DateTime<Utc>| {
            list.iter()
                .filter(|(_, a, b)| *a < to && *b >= from)
                .map(|(id, _, _)| (*id).clone())
                .collect::<Vec<Id>>()
        };

    let mut next_span = 0;
    let days = window
        .dates()
        .into_iter()
        .map(|date| {
            let (day_from, day_to) = (day_start(date, tz), day_end(date, tz));
            let mut day = Day::empty(date);
            day.incidents = overlapping(&incidents, day_from, day_to);
            day.maintenances = overlapping(&maintenances, day_from, day_to);
            let (lo, hi) = (day_from.max(start), day_to.min(now));
            if lo >= hi {
                return day;
            }
            while spans.get(next_span).is_some_and(|s| s.to <= lo) {
                next_span += 1;
            }
            for span in spans[next_span.min(spans.len())..]
                .iter()
                .take_while(|s| s.from < hi)
            {
                let seconds = (span.to.min(hi) - span.from.max(lo)).num_seconds();
                if seconds > 0 {
                    day.add(span.status, seconds);
                }
            }
            day
        })
        .collect::<Vec<Day>>();
    let percent = percent(&days);
    Uptime { days, percent }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AffectedComponent, Update};
    use crate::status::{Impact, IncidentStatus};
    use ComponentStatus::*;

    const HOUR: i64 = 3600;

    fn la() -> Tz {
        crate::timefmt::zone("America/Los_Angeles").expect("known zone")
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn component(created: &str) -> Component {
        Component {
            id: Id::derive("api"),
            group_id: None,
            name: "API".into(),
            description: None,
            position: 1,
            status: Operational,
            showcase: true,
            only_show_if_degraded: false,
            start_date: None,
            created_at: t(created),
            updated_at: t(created),
        }
    }

    fn change(at: &str, old: Option<ComponentStatus>, new: ComponentStatus) -> StatusChange {
        StatusChange {
            component_id: Id::derive("api"),
            at: t(at),
            old_status: old,
            new_status: new,
            cause: "manual".into(),
        }
    }

    fn window(last: &str, days: u32, tz: Tz) -> Window {
        Window {
            last_day: date(last),
            days,
            tz,
        }
    }

    fn day<'a>(u: &'a Uptime, d: &str) -> &'a Day {
        u.days
            .iter()
            .find(|x| x.date == date(d))
            .expect("day in window")
    }

    #[test]
    fn window_dates_end_on_the_local_day_of_now() {
        // 05:00 UTC on Nov 4 is still Nov 3 in Los Angeles.
        let w = Window::ending_at(t("2022-11-04T05:00:00Z"), 90, la());
        let dates = w.dates();
        assert_eq!(dates.len(), 90);
        assert_eq!(dates.last(), Some(&date("2022-11-03")));
        assert_eq!(dates.first(), Some(&date("2022-08-06")));
    }

    #[test]
    fn a_partial_outage_is_counted_on_its_day_with_weight() {
        let history = [
            change("2022-01-01T00:00:00Z", None, Operational),
            change(
                "2022-11-03T10:00:00-07:00",
                Some(Operational),
                PartialOutage,
            ),
            change(
                "2022-11-03T13:10:00-07:00",
                Some(PartialOutage),
                Operational,
            ),
        ];
        let u = daily(
            &component("2022-01-01T00:00:00Z"),
            &history,
            &[],
            &[],
            window("2022-11-04", 2, la()),
            t("2022-11-05T07:00:00Z"),
        );
        let nov3 = day(&u, "2022-11-03");
        assert_eq!(nov3.partial_outage, 3 * HOUR + 600);
        assert_eq!(nov3.worst, Some(PartialOutage));
        assert_eq!(nov3.observed, 24 * HOUR);
        let nov4 = day(&u, "2022-11-04");
        assert_eq!((nov4.partial_outage, nov4.worst), (0, Some(Operational)));
        let total = 48.0 * HOUR as f64;
        let expected = (total - 0.3 * (3 * HOUR + 600) as f64) / total * 100.0;
        let got = u.percent.expect("has data");
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
    }

    #[test]
    fn an_outage_across_midnight_is_split_between_days() {
        let history = [
            change("2022-10-01T00:00:00Z", None, Operational),
            change("2022-10-10T22:00:00-07:00", Some(Operational), MajorOutage),
            change("2022-10-11T02:30:00-07:00", Some(MajorOutage), Operational),
        ];
        let u = daily(
            &component("2022-10-01T00:00:00Z"),
            &history,
            &[],
            &[],
            window("2022-10-12", 3, la()),
            t("2022-10-13T12:00:00Z"),
        );
        assert_eq!(day(&u, "2022-10-10").major_outage, 2 * HOUR);
        assert_eq!(day(&u, "2022-10-11").major_outage, 2 * HOUR + 1800);
        assert_eq!(day(&u, "2022-10-12").major_outage, 0);
        assert_eq!(day(&u, "2022-10-11").worst, Some(MajorOutage));
    }

    #[test]
    fn clock_changes_make_23_and_25_hour_days() {
        // Down for the whole of both days on which the clocks changed in 2022.
        let history = [
            change("2022-01-01T00:00:00Z", None, Operational),
            change("2022-03-13T00:00:00-08:00", Some(Operational), MajorOutage),
            change("2022-03-14T00:00:00-07:00", Some(MajorOutage), Operational),
            change("2022-11-06T00:00:00-07:00", Some(Operational), MajorOutage),
            change("2022-11-07T00:00:00-08:00", Some(MajorOutage), Operational),
        ];
        let c = component("2022-01-01T00:00:00Z");
        let now = t("2022-12-01T00:00:00Z");
        let spring = daily(&c, &history, &[], &[], window("2022-03-13", 1, la()), now);
        assert_eq!(spring.days[0].observed, 23 * HOUR);
        assert_eq!(spring.days[0].major_outage, 23 * HOUR);
        assert_eq!(spring.percent, Some(0.0));
        let autumn = daily(&c, &history, &[], &[], window("2022-11-07", 2, la()), now);
        assert_eq!(day(&autumn, "2022-11-06").observed, 25 * HOUR);
        assert_eq!(day(&autumn, "2022-11-06").major_outage, 25 * HOUR);
        assert_eq!(day(&autumn, "2022-11-07").major_outage, 0);
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_the_clock_jumps() {
        // Cuba moved its clocks from 00:00 to 01:00 on 13 March 2022.
        let havana = crate::timefmt::zone("America/Havana").expect("known zone");
        assert_eq!(
            day_start(date("2022-03-13"), havana),
            t("2022-03-13T05:00:00Z")
        );
        let c = component("2022-01-01T00:00:00Z");
        let u = daily(
            &c,
            &[],
            &[],
            &[],
            window("2022-03-13", 1, havana),
            t("2022-04-01T00:00:00Z"),
        );
        assert_eq!(u.days[0].observed, 23 * HOUR);
    }

    #[test]
    fn days_before_the_component_existed_have_no_data() {
        let history = [change("2022-11-02T18:00:00-07:00", None, Operational)];
        let u = daily(
            &component("2022-11-02T18:00:00-07:00"),
            &history,
            &[],
            &[],
            window("2022-11-03", 3, la()),
            t("2022-11-04T07:00:00Z"),
        );
        let first = day(&u, "2022-11-01");
        assert!(!first.has_data());
        assert_eq!(first.observed, 0);
        assert_eq!(day(&u, "2022-11-02").observed, 6 * HOUR);
        assert_eq!(day(&u, "2022-11-03").observed, 24 * HOUR);
        assert_eq!(u.percent, Some(100.0));
    }

    #[test]
    fn a_start_date_sets_where_the_record_begins() {
        let mut c = component("2022-11-03T12:00:00Z");
        c.start_date = Some(date("2022-11-01"));
        let u = daily(
            &c,
            &[],
            &[],
            &[],
            window("2022-11-03", 4, la()),
            t("2022-11-04T07:00:00Z"),
        );
        assert!(!day(&u, "2022-10-31").has_data());
        assert_eq!(day(&u, "2022-11-01").observed, 24 * HOUR);
    }

    #[test]
    fn today_is_clipped_to_now_and_ongoing_outages_count_until_now() {
        let history = [
            change("2022-01-01T00:00:00Z", None, Operational),
            change("2022-11-03T06:00:00-07:00", Some(Operational), MajorOutage),
        ];
        let u = daily(
            &component("2022-01-01T00:00:00Z"),
            &history,
            &[],
            &[],
            window("2022-11-03", 1, la()),
            t("2022-11-03T10:00:00-07:00"),
        );
        let today = &u.days[0];
        assert_eq!(today.observed, 10 * HOUR);
        assert_eq!(today.major_outage, 4 * HOUR);
        let expected = 6.0 / 10.0 * 100.0;
        assert!((u.percent.expect("data") - expected).abs() < 1e-9);
    }

    #[test]
    fn degraded_is_not_downtime_and_maintenance_is_left_out_of_the_total() {
        let history = [
            change("2022-01-01T00:00:00Z", None, Operational),
            change(
                "2022-11-03T00:00:00-07:00",
                Some(Operational),
                DegradedPerformance,
            ),
            change(
                "2022-11-03T12:00:00-07:00",
                Some(DegradedPerformance),
                UnderMaintenance,
            ),
            change(
                "2022-11-03T18:00:00-07:00",
                Some(UnderMaintenance),
                MajorOutage,
            ),
            change("2022-11-03T21:00:00-07:00", Some(MajorOutage), Operational),
        ];
        let u = daily(
            &component("2022-01-01T00:00:00Z"),
            &history,
            &[],
            &[],
            window("2022-11-03", 1, la()),
            t("2022-11-10T00:00:00Z"),
        );
        let d = &u.days[0];
        assert_eq!(d.degraded_performance, 12 * HOUR);
        assert_eq!(d.under_maintenance, 6 * HOUR);
        assert_eq!(d.major_outage, 3 * HOUR);
        assert_eq!(d.counted(), 18 * HOUR);
        assert_eq!(d.worst, Some(MajorOutage));
        let expected = (18.0 - 3.0) / 18.0 * 100.0;
        assert!((u.percent.expect("data") - expected).abs() < 1e-9);
    }

    #[test]
    fn degraded_only_is_full_uptime_but_shows_as_worst() {
        let history = [
            change("2022-01-01T00:00:00Z", None, Operational),
            change(
                "2022-11-03T05:44:00-07:00",
                Some(Operational),
                DegradedPerformance,
            ),
            change(
                "2022-11-04T07:01:00-07:00",
                Some(DegradedPerformance),
                Operational,
            ),
        ];
        let u = daily(
            &component("2020-01-01T00:00:00Z"),
            &history,
            &[],
            &[],
            window("2022-11-10", 90, la()),
            t("2022-11-10T20:00:00Z"),
        );
        assert_eq!(u.days.len(), 90);
        assert_eq!(u.percent, Some(100.0));
        assert_eq!(day(&u, "2022-11-03").worst, Some(DegradedPerformance));
        assert_eq!(day(&u, "2022-11-04").worst, Some(DegradedPerformance));
        assert_eq!(day(&u, "2022-11-05").worst, Some(Operational));
    }

    #[test]
    fn changes_of_other_components_and_unsorted_input_are_handled() {
        let mut other = change("2022-11-03T01:00:00-07:00", Some(Operational), MajorOutage);
        other.component_id = Id::derive("web");
        let history = [
            change(
                "2022-11-03T03:00:00-07:00",
                Some(PartialOutage),
                Operational,
            ),
            other,
            change(
                "2022-11-03T02:00:00-07:00",
                Some(Operational),
                PartialOutage,
            ),
        ];
        let u = daily(
            &component("2022-01-01T00:00:00Z"),
            &history,
            &[],
            &[],
            window("2022-11-03", 1, la()),
            t("2022-11-10T00:00:00Z"),
        );
        assert_eq!(u.days[0].partial_outage, HOUR);
        assert_eq!(u.days[0].major_outage, 0);
    }

    #[test]
    fn a_window_with_no_data_has_no_percentage() {
        let u = daily(
            &component("2023-01-01T00:00:00Z"),
            &[],
            &[],
            &[],
            window("2022-11-03", 5, la()),
            t("2022-11-04T00:00:00Z"),
        );
        assert_eq!(u.percent, None);
        assert!(u.days.iter().all(|d| !d.has_data()));
    }

    fn incident(id: &str, started: &str, resolved: Option<&str>) -> Incident {
        let update = |status, at: &str| Update {
            id: Id::derive(at),
            status,
            body: String::new(),
            display_at: t(at),
            created_at: t(at),
            updated_at: t(at),
            affected_components: vec![],
            deliver_notifications: false,
        };
        let mut updates = vec![update(IncidentStatus::Investigating, started)];
        if let Some(r) = resolved {
            updates.insert(0, update(IncidentStatus::Resolved, r));
        }
        Incident {
            id: Id::derive(id),
            name: id.into(),
            status: if resolved.is_some() {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Investigating
            },
            impact: Impact::Minor,
            shortlink: None,
            created_at: t(started),
            started_at: t(started),
            monitoring_at: None,
            resolved_at: resolved.map(t),
            updated_at: t(started),
            backfilled: false,
            component_ids: vec![],
            updates,
            postmortem: None,
        }
    }

    #[test]
    fn related_incidents_are_listed_on_the_days_they_were_open() {
        let mut named = incident(
            "named",
            "2022-11-03T05:00:00-07:00",
            Some("2022-11-04T07:00:00-07:00"),
        );
        named.component_ids = vec![Id::derive("api")];
        let mut via_update = incident("via update", "2022-11-05T23:00:00-07:00", None);
        via_update.updates[0]
            .affected_components
            .push(AffectedComponent {
                component_id: Id::derive("api"),
                old_status: Operational,
                new_status: PartialOutage,
            });
        let unrelated = incident("unrelated", "2022-11-03T05:00:00-07:00", None);
        let u = daily(
            &component("2022-01-01T00:00:00Z"),
            &[],
            &[via_update, named, unrelated],
            &[],
            window("2022-11-06", 5, la()),
            t("2022-11-06T12:00:00-08:00"),
        );
        let ids = |d: &str| day(&u, d).incidents.clone();
        assert_eq!(ids("2022-11-02"), Vec::<Id>::new());
        assert_eq!(ids("2022-11-03"), vec![Id::derive("named")]);
        assert_eq!(ids("2022-11-04"), vec![Id::derive("named")]);
        assert_eq!(ids("2022-11-05"), vec![Id::derive("via update")]);
        assert_eq!(ids("2022-11-06"), vec![Id::derive("via update")]);
    }

    #[test]
    fn related_maintenance_is_listed_unless_still_to_come() {
        let m = |id: &str, from: &str, to: &str, status| Maintenance {
            id: Id::derive(id),
            name: id.into(),
            status,
            impact: Impact::Maintenance,
            scheduled_for: t(from),
            scheduled_until: t(to),
            auto_start: true,
            auto_complete: true,
            created_at: t(from),
            updated_at: t(from),
            component_ids: vec![Id::derive("api")],
            updates: vec![],
        };
        let done = m(
            "done",
            "2022-11-02T02:00:00-07:00",
            "2022-11-02T04:00:00-07:00",
            MaintenanceStatus::Completed,
        );
        let later = m(
            "later",
            "2022-11-03T20:00:00-07:00",
            "2022-11-03T22:00:00-07:00",
            MaintenanceStatus::Scheduled,
        );
        let u = daily(
            &component("2022-01-01T00:00:00Z"),
            &[],
            &[],
            &[done, later],
            window("2022-11-03", 2, la()),
            t("2022-11-03T12:00:00-07:00"),
        );
        assert_eq!(day(&u, "2022-11-02").maintenances, vec![Id::derive("done")]);
        assert!(day(&u, "2022-11-03").maintenances.is_empty());
    }
}
