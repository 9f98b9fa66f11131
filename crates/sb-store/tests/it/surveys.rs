//! The satisfaction survey mailed at resolution, on both backends: one per ticket, stored with
//! its mail in one transaction, found only by the secret's hash; ratings from it keep the
//! `email` source (migration 0011 widened the check).

use chrono::{DateTime, Duration, TimeZone, Utc};
use sb_domain::Channel;
use sb_store::{secret_hash, Direction, NewAuditEntry, NewCustomer, NewInbound, NewOutbound};
use serde_json::json;

use crate::support::TestDb;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn survey_mail(body: &str) -> NewOutbound {
    NewOutbound { direction: Direction::Outbound, channel: Channel::Email, author_user_id: None, subject: Some("Re: parcel".into()), body: body.into(), recipient: Some("ana@example.com".into()), metadata: Some(json!({"csat_survey": true})) }
}

async fn a_ticket_gets_one_survey_with_its_mail(db: &TestDb) {
    let store = &db.store;
    let ingested = store
        .ingest(&NewInbound {
            channel: Channel::Email,
            external_id: Some("survey-1".into()),
            conversation_key: None,
            ticket_id: None,
            subject: Some("parcel".into()),
            body: "where is it".into(),
            body_is_html: false,
            content_type: "text/plain".into(),
            raw_payload: b"where is it".to_vec(),
            metadata: None,
            customer: NewCustomer { email: Some("ana@example.com".into()), ..NewCustomer::default() },
            received_at: at(0),
            claim: None,
        })
        .await
        .unwrap();
    let ticket_id = ingested.ticket_id;
    let audit = [NewAuditEntry::new("system", "csat.survey_sent", "ticket", ticket_id, json!({}))];
    let message_id = store.create_csat_survey(ticket_id, &secret_hash("sbr_first"), at(60), &survey_mail("rate us: /rate/sbr_first"), &audit, at(1)).await.unwrap();
    let message_id = message_id.expect("the first survey is stored");
    // A second survey of the same ticket stores nothing: no row, no mail, no audit entry.
    assert_eq!(store.create_csat_survey(ticket_id, &secret_hash("sbr_second"), at(60), &survey_mail("again"), &audit, at(2)).await.unwrap(), None);
    let messages = store.ticket_messages(ticket_id).await.unwrap();
    assert_eq!(messages.iter().filter(|message| message.direction == Direction::Outbound).map(|message| message.id).collect::<Vec<_>>(), vec![message_id]);
    assert_eq!(store.list_audit(Some(("ticket", &ticket_id.to_string())), 10).await.unwrap().iter().filter(|entry| entry.action == "csat.survey_sent").count(), 1);
    // The mail waits in the outbox like any email reply.
    let claimed = store.claim_outbox(Channel::Email, "sender", at(3), at(4), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|item| item.message_id).collect::<Vec<_>>(), vec![message_id]);

    let survey = store.csat_survey_by_token_hash(&secret_hash("sbr_first")).await.unwrap().unwrap();
    assert_eq!((survey.ticket_id, survey.created_at, survey.expires_at), (ticket_id, at(1), at(60)));
    assert_eq!(store.csat_survey_by_token_hash(&secret_hash("sbr_second")).await.unwrap(), None);
    assert_eq!(store.csat_survey_by_token_hash("sbr_first").await.unwrap(), None, "found by the hash only");
    let rating = store.record_csat(ticket_id, 5, Some("great"), "email", &[], at(5)).await.unwrap();
    assert_eq!(rating.source, "email");
}

conformance_tests!(a_ticket_gets_one_survey_with_its_mail);
