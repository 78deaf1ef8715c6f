//! The body of a webhook delivery: the event as the pull feed shows it, with the tenant it
//! belongs to (the feed's URL names it; a delivery must).

use serde_json::{Value, json};

use crate::clock::datetime_of;
use crate::scim::resource::format_datetime;
use crate::store::FeedEntry;

/// The JSON body delivering `entry` of tenant `tenant_slug`; `connection` is the name of the
/// connection the change came through.
pub fn body(entry: &FeedEntry, tenant_slug: &str, connection: Option<&str>) -> String {
    let e = &entry.event;
    let resource = e.resource_type.as_ref().map(|resource_type| {
        json!({"type": resource_type, "id": e.resource_id, "version": e.resource_version})
    });
    json!({
        "id": e.id,
        "type": e.event_type,
        "time": format_datetime(datetime_of(e.at)),
        "tenant": tenant_slug,
        "actor": e.actor,
        "connection": connection,
        "resource": resource.unwrap_or(Value::Null),
        "changed": e.changed,
        "data": e.data,
    })
    .to_string()
}
