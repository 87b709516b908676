//! Any JSON arguments to any tool give a result or a clear error, never a panic. The backend is a
//! stub that answers every request with the same bytes (also fuzzed), so shaping is covered too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proms_mcp::http::{HttpClient, HttpError, HttpRequest, HttpResponse};

struct Stub(Vec<u8>);

impl HttpClient for Stub {
    fn send(&self, _request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse {
            status: 200,
            body: self.0.clone(),
        })
    }
}

fuzz_target!(|input: (u8, &str, &[u8])| {
    let (tool, arguments, answer) = input;
    let Ok(arguments) = serde_json::from_str::<serde_json::Value>(arguments) else {
        return;
    };
    let set = proms_mcp::datasources::parse(
        "datasources:\n- name: p\n  type: prometheus\n  url: http://127.0.0.1:9090\n",
        "fuzz.yaml",
        &|_| None,
    )
    .unwrap();
    let stub = Stub(answer.to_vec());
    let ctx = proms_mcp::tools::Context {
        datasources: &set,
        http: &stub,
        now: 1_763_719_200.0,
        timeout: std::time::Duration::from_secs(1),
    };
    let name = proms_mcp::tools::TOOLS[tool as usize % proms_mcp::tools::TOOLS.len()].name;
    let result = proms_mcp::tools::call(&ctx, name, arguments).unwrap();
    assert!(result["isError"].is_boolean());
});
