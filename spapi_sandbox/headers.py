"""ASGI middleware adding Amazon's headers: x-amzn-RequestId always, x-amzn-RateLimit-Limit on 2xx/400/404."""

from __future__ import annotations

import uuid

RATE_LIMIT_STATUSES = frozenset({400, 404})


class AmazonHeadersMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-amzn-requestid", str(uuid.uuid4()).encode()))
                status = message["status"]
                limit = state.get("rate_limit")
                if limit and (200 <= status < 300 or status in RATE_LIMIT_STATUSES):
                    headers.append((b"x-amzn-ratelimit-limit", limit.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
