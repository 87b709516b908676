-- wrk script: POSTs $BODY (one JSON-RPC request) to the MCP endpoint, as tests/bench/memory.py describes.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.body = os.getenv("BODY")
