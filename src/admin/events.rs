//! `neptun-accounts events`: the account history for the operator, of one
//! account or of all, by type and age, newest first.

use serde_json::json;

use super::{Admin, AdminError, account_key};
use crate::domain::event::EventKind;
use crate::domain::time::Timestamp;
use crate::store::history::EventFilter;

/// What the operator asked for.
pub struct EventQuery<'a> {
    /// An id or an email.
    pub user: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub since: Option<Timestamp>,
    pub limit: u32,
}

impl Admin {
    pub async fn events(&self, query: EventQuery<'_>) -> Result<String, AdminError> {
        if let Some(kind) = query.kind
            && EventKind::parse(kind).is_none()
        {
            let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
            return Err(AdminError::new(format!(
                "{kind:?} is not an event type (one of {})",
                known.join(", ")
            )));
        }
        let user = match query.user {
            Some(who) => Some(self.find(&account_key(who)?).await?.user),
            None => None,
        };
        let events = self
            .store
            .list_events(EventFilter {
                user_id: user.as_ref().map(|user| user.id.clone()),
                kind: query.kind.map(str::to_owned),
                since: query.since,
                before: None,
                limit: query.limit,
            })
            .await?;
        let document = json!({
            "events": events.iter().map(|event| {
                let mut shown = event.to_json();
                shown["user_id"] = json!(event.user_id.as_str());
                shown
            }).collect::<Vec<_>>(),
        });
        Ok(self.render(&document, || {
            if events.is_empty() {
                return "no events".to_owned();
            }
            let mut lines = vec![format!(
                "{:<24}  {:<16}  {:<36}  {:<18}  detail",
                "at", "type", "user", "address"
            )];
            lines.extend(events.iter().map(|event| {
                format!(
                    "{:<24}  {:<16}  {:<36}  {:<18}  {}",
                    event.at.to_iso8601(),
                    event.kind,
                    event.user_id,
                    event.origin.address.as_deref().unwrap_or("-"),
                    event.detail
                )
            }));
            lines.join("\n")
        }))
    }
}
