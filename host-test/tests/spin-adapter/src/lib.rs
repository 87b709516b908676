//! Test support: Spin's key-value store (`wasi:keyvalue@0.2.0-draft2`) and variables
//! (`wasi:config@0.2.0-draft-2024-09-27`) over the older drafts `wasmtime serve` offers
//! (`wasi:keyvalue@0.2.0-draft` with `-S keyvalue`, `wasi:config@0.2.0-rc.1` with `-S config`).
//!
//! The `server` component imports the versions released Spin links; wasmtime 48 has neither, so
//! the integration test plugs this adapter into the unchanged `server` component (wac-graph) and
//! runs the composition under `wasmtime serve`. The mapping is one to one: store `default` is
//! wasmtime's in-memory store (whose only name is the empty string), list cursors are the same
//! numbers written as text, and config errors keep their text.

mod bindings {
    wit_bindgen::generate!({
        path: ["../../../wit/deps/keyvalue", "../../../wit/deps/config", "wit"],
        world: "proms:spin-adapter/adapter",
        generate_all,
    });
}

use bindings::exports::wasi::config0_2_0_draft_2024_09_27::store as spin_config;
use bindings::exports::wasi::keyvalue0_2_0_draft2::store as spin_kv;
use bindings::wasi::config0_2_0_rc_1::store as wasmtime_config;
use bindings::wasi::keyvalue0_2_0_draft::store as wasmtime_kv;

struct Adapter;

bindings::export!(Adapter with_types_in bindings);

fn kv_error(e: wasmtime_kv::Error) -> spin_kv::Error {
    match e {
        wasmtime_kv::Error::NoSuchStore => spin_kv::Error::NoSuchStore,
        wasmtime_kv::Error::AccessDenied => spin_kv::Error::AccessDenied,
        wasmtime_kv::Error::Other(text) => spin_kv::Error::Other(text),
    }
}

/// An open wasmtime store behind a Spin `bucket`.
struct Bucket(wasmtime_kv::Bucket);

impl spin_kv::Guest for Adapter {
    type Bucket = Bucket;

    fn open(identifier: String) -> Result<spin_kv::Bucket, spin_kv::Error> {
        let name = match identifier.as_str() {
            "default" => "",
            _ => return Err(spin_kv::Error::NoSuchStore),
        };
        let bucket = wasmtime_kv::open(name).map_err(kv_error)?;
        Ok(spin_kv::Bucket::new(Bucket(bucket)))
    }
}

impl spin_kv::GuestBucket for Bucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, spin_kv::Error> {
        self.0.get(&key).map_err(kv_error)
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), spin_kv::Error> {
        self.0.set(&key, &value).map_err(kv_error)
    }

    fn delete(&self, key: String) -> Result<(), spin_kv::Error> {
        self.0.delete(&key).map_err(kv_error)
    }

    fn exists(&self, key: String) -> Result<bool, spin_kv::Error> {
        self.0.exists(&key).map_err(kv_error)
    }

    fn list_keys(&self, cursor: Option<String>) -> Result<spin_kv::KeyResponse, spin_kv::Error> {
        let cursor = match cursor {
            None => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| spin_kv::Error::Other(format!("bad cursor '{text}'")))?,
            ),
        };
        let page = self.0.list_keys(cursor).map_err(kv_error)?;
        Ok(spin_kv::KeyResponse {
            keys: page.keys,
            cursor: page.cursor.map(|c| c.to_string()),
        })
    }
}

fn config_error(e: wasmtime_config::Error) -> spin_config::Error {
    match e {
        wasmtime_config::Error::Upstream(text) => spin_config::Error::Upstream(text),
        wasmtime_config::Error::Io(text) => spin_config::Error::Io(text),
    }
}

impl spin_config::Guest for Adapter {
    fn get(key: String) -> Result<Option<String>, spin_config::Error> {
        wasmtime_config::get(&key).map_err(config_error)
    }

    fn get_all() -> Result<Vec<(String, String)>, spin_config::Error> {
        wasmtime_config::get_all().map_err(config_error)
    }
}
