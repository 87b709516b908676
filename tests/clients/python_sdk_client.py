"""Drive proms-mcp with the official MCP Python SDK, once per protocol mode it supports.

Usage: python_sdk_client.py <mcp-url> <unix-time>

For each mode (the 2025-11-25 initialize handshake, a 2026-07-28 pin, and auto-negotiation), it
connects, lists the tools and calls `query_instant` against the `prometheus` datasource at the given
time, then prints one JSON line per mode. The Rust integration test checks the lines.
"""

import asyncio
import json
import sys

from mcp import Client


async def exercise(url: str, mode: str, time: str) -> dict:
    async with Client(url, mode=mode, raise_exceptions=True) as client:
        tools = await client.list_tools()
        result = await client.call_tool(
            "query_instant",
            {"datasource_id": "prometheus", "promql": "count(demo_items_info)", "time": time},
        )
        structured = result.structured_content or {}
        return {
            "mode": mode,
            "protocol_version": client.protocol_version,
            "tools": [t.name for t in tools.tools],
            "is_error": bool(result.is_error),
            "value": (structured.get("result") or [{}])[0].get("value"),
            "text_matches": json.loads(result.content[0].text) == structured,
        }


async def main() -> None:
    url, time = sys.argv[1], sys.argv[2]
    for mode in ("legacy", "2026-07-28", "auto"):
        print(json.dumps(await exercise(url, mode, time)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
