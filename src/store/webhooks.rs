//! Webhook endpoints: where a tenant's events are delivered, and with which sealed secret.

use super::row::AnyRow;
use super::{Micros, SqlFragment, SqlParam, Store, StoreError, TenantId, Tx, on_tx};

/// A delivery target of a tenant's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub url: String,
    /// The signing secret, sealed with the gateway's secret key.
    pub secret_sealed: String,
    /// Event types delivered; `*` for all.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub disabled_at: Option<Micros>,
    pub disabled_reason: Option<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

const COLUMNS: &str = "id, tenant_id, url, secret_sealed, event_types, description, disabled_at, \
                       disabled_reason, created_at, updated_at";

fn endpoint_from_row(row: &AnyRow<'_>) -> Result<WebhookEndpointRecord, StoreError> {
    let types: String = row.column("event_types")?;
    Ok(WebhookEndpointRecord {
        id: row.column("id")?,
        tenant_id: row.column("tenant_id")?,
        url: row.column("url")?,
        secret_sealed: row.column("secret_sealed")?,
        event_types: serde_json::from_str(&types)
            .map_err(|e| StoreError::Corrupt(format!("webhook_endpoints.event_types: {e}")))?,
        description: row.column("description")?,
        disabled_at: row.column("disabled_at")?,
        disabled_reason: row.column("disabled_reason")?,
        created_at: row.column("created_at")?,
        updated_at: row.column("updated_at")?,
    })
}

impl Store {
    /// A tenant's endpoints, oldest first.
    pub async fn webhook_endpoints(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<WebhookEndpointRecord>, StoreError> {
        let query = SqlFragment::statement(
            format!(
                "SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id"
            ),
            vec![SqlParam::from(tenant_id)],
        );
        self.fetch_all(query, endpoint_from_row).await
    }
}

impl Tx {
    pub async fn insert_webhook_endpoint(
        &mut self,
        endpoint: &WebhookEndpointRecord,
    ) -> Result<(), StoreError> {
        let types = serde_json::Value::from(endpoint.event_types.clone()).to_string();
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, tenant_id, url, secret_sealed, event_types, description, \
                 disabled_at, disabled_reason, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&endpoint.id)
            .bind(&endpoint.tenant_id)
            .bind(&endpoint.url)
            .bind(&endpoint.secret_sealed)
            .bind(&types)
            .bind(&endpoint.description)
            .bind(endpoint.disabled_at)
            .bind(&endpoint.disabled_reason)
            .bind(endpoint.created_at)
            .bind(endpoint.updated_at)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Removes a tenant's endpoint; whether there was one.
    pub async fn delete_webhook_endpoint(
        &mut self,
        tenant_id: &TenantId,
        id: &str,
    ) -> Result<bool, StoreError> {
        on_tx!(self, |conn| {
            let done =
                sqlx::query("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            Ok(done.rows_affected() > 0)
        })
    }
}
