//! What the `server` component gets from its runtime besides WASI: a key-value store
//! (`wasi:keyvalue/store@0.2.0-draft2`) and variables (`wasi:config/store@0.2.0-draft-2024-09-27`),
//! at the versions released Spin links, so `proms-mcp serve-component` runs the component as Spin
//! would. The store named `default` lives for the life of the host process and is shared by every
//! request (Spin's default store is too), bounded in keys and value size; any other name is
//! `no-such-store`, like a Spin store the manifest did not grant. Variables come from
//! `SPIN_VARIABLE_<NAME>` environment variables, as with Spin's own environment provider.
//!
//! Not here: the plugin world (it imports neither), persistence across restarts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

mod generated {
    wasmtime::component::bindgen!({
        path: ["../wit/deps/keyvalue", "../wit/deps/config"],
        inline: "
            package proms:host-platform;
            world platform {
                import wasi:keyvalue/store@0.2.0-draft2;
                import wasi:config/store@0.2.0-draft-2024-09-27;
            }
        ",
        world: "proms:host-platform/platform",
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
        },
    });
}

use generated::wasi::config::store as config;
use generated::wasi::keyvalue::store as keyvalue;

/// The one store the host grants.
pub const DEFAULT_STORE: &str = "default";
/// Most keys the store holds; a `set` of a new key beyond this is refused.
pub const MAX_KEYS: usize = 10_000;
/// Largest value accepted.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Keys per `list-keys` page.
const PAGE: usize = 100;
/// Prefix of the environment variables that provide variables.
pub const VARIABLE_ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// The runtime services shared by every request: the store's contents and the variables.
#[derive(Debug, Default)]
pub struct Platform {
    store: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    variables: BTreeMap<String, String>,
}

impl Platform {
    /// An empty store, and the variables of `env_vars` named `SPIN_VARIABLE_<NAME>` (the variable is
    /// `<name>` in lower case).
    pub fn new(env_vars: impl IntoIterator<Item = (String, String)>) -> Platform {
        let variables = env_vars
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix(VARIABLE_ENV_PREFIX)?;
                Some((name.to_ascii_lowercase(), v))
            })
            .collect();
        Platform {
            store: Arc::default(),
            variables,
        }
    }

    /// Number of keys in the store (for tests and diagnostics).
    pub fn stored_keys(&self) -> usize {
        self.store.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// An open store (a guest `bucket` handle).
pub struct Bucket {
    data: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl Bucket {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> T) -> T {
        f(&mut self.data.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The per-call view the bindings use: the call's resource table and the shared platform.
pub struct PlatformView<'a> {
    /// The call's resource table (bucket handles live there).
    pub table: &'a mut ResourceTable,
    /// The shared services.
    pub platform: &'a Platform,
}

struct HasPlatform;

impl HasData for HasPlatform {
    type Data<'a> = PlatformView<'a>;
}

/// Adds both interfaces to `linker`; `view` finds them in the store's state.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> PlatformView<'_>,
) -> wasmtime::Result<()> {
    keyvalue::add_to_linker::<T, HasPlatform>(linker, view)?;
    config::add_to_linker::<T, HasPlatform>(linker, view)?;
    Ok(())
}

fn other(e: impl std::fmt::Display) -> keyvalue::Error {
    keyvalue::Error::Other(e.to_string())
}

impl PlatformView<'_> {
    fn bucket(&self, bucket: &Resource<Bucket>) -> Result<&Bucket, keyvalue::Error> {
        self.table.get(bucket).map_err(other)
    }
}

impl keyvalue::Host for PlatformView<'_> {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, keyvalue::Error> {
        if identifier != DEFAULT_STORE {
            return Err(keyvalue::Error::NoSuchStore);
        }
        let data = self.platform.store.clone();
        self.table.push(Bucket { data }).map_err(other)
    }
}

impl keyvalue::HostBucket for PlatformView<'_> {
    fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, keyvalue::Error> {
        Ok(self.bucket(&bucket)?.with(|m| m.get(&key).cloned()))
    }

    fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), keyvalue::Error> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(other(format!(
                "value of {} bytes is over the {MAX_VALUE_BYTES}-byte limit",
                value.len()
            )));
        }
        self.bucket(&bucket)?.with(|m| {
            if m.len() >= MAX_KEYS && !m.contains_key(&key) {
                return Err(other(format!("the store is full ({MAX_KEYS} keys)")));
            }
            m.insert(key, value);
            Ok(())
        })
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), keyvalue::Error> {
        self.bucket(&bucket)?.with(|m| m.remove(&key));
        Ok(())
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, keyvalue::Error> {
        Ok(self.bucket(&bucket)?.with(|m| m.contains_key(&key)))
    }

    /// Pages of [`PAGE`] keys in key order; the cursor is the last key of the previous page.
    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Result<keyvalue::KeyResponse, keyvalue::Error> {
        use std::ops::Bound::{Excluded, Unbounded};
        let lower = cursor.map_or(Unbounded, Excluded);
        let keys: Vec<String> = self.bucket(&bucket)?.with(|m| {
            m.range::<String, _>((lower, Unbounded))
                .take(PAGE)
                .map(|(k, _)| k.clone())
                .collect()
        });
        let cursor = (keys.len() == PAGE).then(|| keys[PAGE - 1].clone());
        Ok(keyvalue::KeyResponse { keys, cursor })
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl config::Host for PlatformView<'_> {
    fn get(&mut self, key: String) -> Result<Option<String>, config::Error> {
        Ok(self.platform.variables.get(&key).cloned())
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, config::Error> {
        Ok(self
            .platform
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
