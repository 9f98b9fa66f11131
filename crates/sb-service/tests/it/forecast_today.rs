//! Today's volume against the forecast on a real SQLite store: the forecast learns from the
//! weeks before today only (messages of today change the actuals, never the forecast), and says
//! why there is none when the history is too short.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sb_domain::Channel;
use sb_service::Service;

use crate::service;
use sb_store::{NewCustomer, NewInbound};

/// A Wednesday, 14:30 UTC.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 4, 14, 30, 0).unwrap()
}

async fn arrive(service: &Service, idx: usize, received_at: DateTime<Utc>) {
    let inbound = NewInbound {
        channel: Channel::Chat,
        external_id: Some(format!("arrival-{idx}")),
        conversation_key: None,
        ticket_id: None,
        subject: None,
        body: "where is my order".into(),
        body_is_html: false,
        content_type: "text/plain".into(),
        raw_payload: b"where is my order".to_vec(),
        metadata: None,
        customer: NewCustomer::default(),
        received_at,
        claim: None,
    };
    service.store().ingest(&inbound).await.unwrap();
}

#[tokio::test]
async fn the_forecast_of_today_reads_only_the_weeks_before_it() {
    let (service, _dir) = service().await;
    let day_start = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
    let utc = sb_store::parse_time_zone(None).unwrap();

    // Nothing yet: every hour is there, with no forecast and the reason.
    let empty = service.forecast_today(utc, now()).await.unwrap();
    assert_eq!((empty.hours.len(), empty.day_start, empty.history_weeks), (24, day_start, 0));
    assert!(empty.missing.as_deref().unwrap_or_default().starts_with("no arrivals"), "{:?}", empty.missing);
    assert_eq!(empty.hours.iter().filter(|hour| hour.actual.is_some()).count(), 15, "hours 0 to 14 have begun");

    // Two weeks of one message at 10:00 and two at 11:00 every day, on a new service (the first
    // answer is kept for the day).
    let (service, _dir) = self::service().await;
    let mut idx = 0;
    for day in 1..=14 {
        for (hour, count) in [(10, 1), (11, 2)] {
            for _ in 0..count {
                arrive(&service, idx, day_start - Duration::days(day) + Duration::hours(hour) + Duration::minutes(idx as i64 % 50)).await;
                idx += 1;
            }
        }
    }
    let first = service.forecast_today(utc, now()).await.unwrap();
    assert_eq!((first.history_weeks, first.missing.as_deref()), (2, None));
    let expected: Vec<f64> = first.hours.iter().map(|hour| hour.forecast.unwrap()).collect();
    assert!((expected[10] - 1.0).abs() < 0.5 && (expected[11] - 2.0).abs() < 0.5 && expected[3].abs() < 0.5, "the daily pattern: {expected:?}");
    assert!(first.hours.iter().all(|hour| hour.lo95.unwrap() <= hour.forecast.unwrap() && hour.forecast.unwrap() <= hour.hi95.unwrap()));
    assert_eq!(first.hours[10].actual, Some(0));

    // Today's messages move the actuals, not the forecast.
    for minute in [5, 20, 40] {
        arrive(&service, idx, day_start + Duration::hours(10) + Duration::minutes(minute)).await;
        idx += 1;
    }
    let second = service.forecast_today(utc, now()).await.unwrap();
    assert_eq!(second.hours[10].actual, Some(3));
    assert_eq!(second.hours.iter().map(|hour| hour.forecast.unwrap()).collect::<Vec<_>>(), expected);
}
