//! The schemas in `scim-schemas/` (RFC 7643 §7 representations), embedded in the binary and read
//! into an attribute model that drives validation, projection, filtering and discovery alike.

mod model;
pub use model::{AttrType, Attribute, Mutability, Returned, Schema, Uniqueness};

use serde::Deserialize;
use serde_json::Value;

use crate::scim::limits::AttributeLimits;
use crate::scim::text::strip_prefix_ignore_case;
use crate::scim::{CORE_USER_URN, ENTERPRISE_USER_URN, TENANT_USER_URN};

const USER_JSON: &str = include_str!("../../../scim-schemas/User.json");
const ENTERPRISE_USER_JSON: &str = include_str!("../../../scim-schemas/EnterpriseUser.json");
const TENANT_USER_JSON: &str = include_str!("../../../scim-schemas/TenantUser.json");
const GROUP_JSON: &str = include_str!("../../../scim-schemas/Group.json");
const RESOURCE_TYPES_JSON: &str = include_str!("../../../scim-schemas/ResourceTypes.json");
const SERVICE_PROVIDER_CONFIG_JSON: &str =
    include_str!("../../../scim-schemas/ServiceProviderConfig.json");

/// A resource type as in `ResourceTypes.json` (RFC 7643 §6).
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceType {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub schema: String,
    #[serde(default, rename = "schemaExtensions")]
    pub schema_extensions: Vec<SchemaExtension>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaExtension {
    pub schema: String,
    pub required: bool,
}

/// Every schema and resource type the gateway serves, parsed once at start.
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<Schema>,
    /// The schema documents as written in `scim-schemas/`, for discovery.
    schema_documents: Vec<Value>,
    resource_types: Vec<LoadedResourceType>,
    resource_type_documents: Vec<Value>,
    service_provider_config: Value,
    common: Vec<Attribute>,
    attribute_limits: AttributeLimits,
}

#[derive(Debug, Clone)]
struct LoadedResourceType {
    definition: ResourceType,
    core: Schema,
    extensions: Vec<Schema>,
}

/// The schemas of one resource type: the core schema and its extensions, in that order.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchemas<'a> {
    pub resource_type: &'a ResourceType,
    pub core: &'a Schema,
    pub extensions: &'a [Schema],
    /// `id` and `externalId`, which every resource has (RFC 7643 §3.1) but no schema lists.
    pub common: &'a [Attribute],
    /// The sizes of values a request may carry.
    pub limits: AttributeLimits,
}

/// The common attributes of RFC 7643 §3.1 that clients address by name (`meta` is answered
/// separately: it is never written).
const COMMON_ATTRIBUTES_JSON: &str = r#"[
  {"name": "id", "type": "string", "multiValued": false, "required": false, "caseExact": true,
   "mutability": "readOnly", "returned": "always", "uniqueness": "server"},
  {"name": "externalId", "type": "string", "multiValued": false, "required": false, "caseExact": true,
   "mutability": "readWrite", "returned": "default", "uniqueness": "none"}
]"#;

#[derive(Debug, thiserror::Error)]
#[error("schema file {file} is invalid: {source}")]
pub struct SchemaFileError {
    file: &'static str,
    source: serde_json::Error,
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, SchemaFileError> {
    serde_json::from_str(text).map_err(|source| SchemaFileError { file, source })
}

impl Registry {
    /// Reads the embedded schema files. They are part of the binary, so an error here is a build
    /// defect, caught by the unit test below.
    pub fn load() -> Result<Self, SchemaFileError> {
        let files = [
            ("User.json", USER_JSON),
            ("EnterpriseUser.json", ENTERPRISE_USER_JSON),
            ("TenantUser.json", TENANT_USER_JSON),
            ("Group.json", GROUP_JSON),
        ];
        let mut schemas = Vec::new();
        let mut schema_documents = Vec::new();
        for (file, text) in files {
            schemas.push(parse::<Schema>(file, text)?);
            schema_documents.push(parse::<Value>(file, text)?);
        }
        let definitions: Vec<ResourceType> = parse("ResourceTypes.json", RESOURCE_TYPES_JSON)?;
        let resource_type_documents: Vec<Value> = parse("ResourceTypes.json", RESOURCE_TYPES_JSON)?;
        let by_urn = |urn: &str| schemas.iter().find(|s| s.id == urn).cloned();
        let resource_types = definitions
            .into_iter()
            .filter_map(|definition| {
                let core = by_urn(&definition.schema)?;
                let extensions = definition
                    .schema_extensions
                    .iter()
                    .filter_map(|e| by_urn(&e.schema))
                    .collect();
                Some(LoadedResourceType {
                    definition,
                    core,
                    extensions,
                })
            })
            .collect();
        let service_provider_config =
            parse("ServiceProviderConfig.json", SERVICE_PROVIDER_CONFIG_JSON)?;
        Ok(Self {
            schemas,
            schema_documents,
            resource_types,
            resource_type_documents,
            service_provider_config,
            common: parse("common attributes", COMMON_ATTRIBUTES_JSON)?,
            attribute_limits: AttributeLimits::default(),
        })
    }

    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Schema documents of the served resource types (core schemas and their extensions).
    pub fn served_schema_documents(&self) -> Vec<&Value> {
        let served: Vec<&str> = self
            .resource_types
            .iter()
            .flat_map(|rt| std::iter::once(&rt.core).chain(rt.extensions.iter()))
            .map(|schema| schema.id.as_str())
            .collect();
        self.schema_documents
            .iter()
            .filter(|doc| {
                doc.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| served.iter().any(|s| s.eq_ignore_ascii_case(id)))
            })
            .collect()
    }

    pub fn resource_type_documents(&self) -> &[Value] {
        &self.resource_type_documents
    }

    pub fn service_provider_config(&self) -> &Value {
        &self.service_provider_config
    }

    /// The User resource type with its schemas. Its presence is checked by `load`'s unit test.
    pub fn user(&self) -> Option<ResourceSchemas<'_>> {
        self.resource_schemas("User")
    }

    pub fn resource_schemas(&self, id: &str) -> Option<ResourceSchemas<'_>> {
        let rt = self
            .resource_types
            .iter()
            .find(|rt| rt.definition.id == id)?;
        Some(ResourceSchemas {
            resource_type: &rt.definition,
            core: &rt.core,
            extensions: &rt.extensions,
            common: &self.common,
            limits: self.attribute_limits,
        })
    }

    /// The registry with these limits on the values a request may carry.
    pub fn with_attribute_limits(mut self, limits: AttributeLimits) -> Self {
        self.attribute_limits = limits;
        self
    }
}

impl<'a> ResourceSchemas<'a> {
    /// The extension schema whose URN matches, without regard to case.
    pub fn extension(&self, urn: &str) -> Option<&'a Schema> {
        self.extensions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// `id` or `externalId`, by name without regard to case.
    pub fn common_attribute(&self, name: &str) -> Option<&'a Attribute> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Splits `urn:…:User:attr.sub` into its schema and the rest, if the prefix is a known schema.
    pub fn split_urn<'p>(&self, path: &'p str) -> Option<(&'a Schema, &'p str)> {
        std::iter::once(self.core)
            .chain(self.extensions.iter())
            .find_map(|schema| {
                let rest = strip_prefix_ignore_case(path, &schema.id)?.strip_prefix(':')?;
                Some((schema, rest))
            })
    }
}

/// URNs of the schemas a stored user document may carry, core first.
pub const USER_SCHEMA_URNS: [&str; 3] = [CORE_USER_URN, ENTERPRISE_USER_URN, TENANT_USER_URN];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_files_parse_and_describe_users() {
        let registry = Registry::load().expect("schema files parse");
        let user = registry.user().expect("User resource type");
        assert_eq!(user.core.id, CORE_USER_URN);
        let ext: Vec<&str> = user.extensions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ext, [ENTERPRISE_USER_URN, TENANT_USER_URN]);
        assert!(user.core.attribute("USERNAME").is_some_and(|a| a.required));
        assert_eq!(registry.served_schema_documents().len(), 4);
    }

    #[test]
    fn urn_prefixed_paths_split_at_the_schema() {
        let registry = Registry::load().expect("schema files parse");
        let user = registry.user().expect("User resource type");
        let (schema, rest) = user
            .split_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
            .expect("known URN");
        assert_eq!(schema.id, ENTERPRISE_USER_URN);
        assert_eq!(rest, "manager.value");
        assert!(user.split_urn("urn:example:unknown:attr").is_none());
    }
}
